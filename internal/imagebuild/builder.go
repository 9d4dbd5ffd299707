//go:build linux

package imagebuild

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/cognito-m2m/operator/internal/childproc"
)

// Names the builder gives its base images; the Dockerfile's build arguments
// point at them.
const (
	// RuntimeImage is the value of the Dockerfile's RUNTIME_IMAGE.
	RuntimeImage = "localhost/cognito-m2m/runtime-base:1"
	// syntaxImage is what the Dockerfile's first line asks for.
	syntaxImage = "docker/dockerfile:1"
	// workPrefix names the builder's temporary directory, its cgroups and
	// so its processes (their command lines hold the directory).
	workPrefix = "cognito-m2m-buildkit-"
)

// Options say where the sources and binaries are.
type Options struct {
	// Root is the repository: its Dockerfile, go.mod and sources.
	Root string
	// BinDir holds buildkitd, buildctl and dockerfile-frontend
	// (hack/node/build.sh OUT_DIR buildkit).
	BinDir string
	// StateDir, when set, is buildkitd's root, kept between runs as Go's
	// build cache is: its build cache (and the go build cache the
	// Dockerfile mounts) make a later build of unchanged sources take
	// seconds instead of minutes. Only data stays there; processes,
	// mounts and cgroups go with Close. Unset, the root is temporary.
	StateDir string
	// Platforms, when set, are the platforms to build for (linux/amd64,
	// linux/arm64): the build stage cross-compiles on this machine's
	// platform, and the runtime base is made for each. Unset: this
	// machine's platform only.
	Platforms []string
	// SourceDateEpoch, when set, makes a build reproducible: it is the
	// Dockerfile's SOURCE_DATE_EPOCH, the images' creation time, and every
	// file's time in the layers (BuildKit's rewrite-timestamp), so the same
	// sources give the same digests.
	SourceDateEpoch int64
	// Logf reports progress.
	Logf func(format string, args ...any)
}

// CacheDir is the per-user state directory for Options.StateDir, next to
// the project's other caches.
func CacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "cognito-m2m-operator", "buildkit"), nil
}

// Builder is a buildkitd of its own with the base images ready.
type Builder struct {
	opts Options
	// dir holds everything: buildkitd's root and socket, the base images'
	// layouts, logs. Removed by Close.
	dir  string
	lock *os.File // held on dir while the builder lives (see sweepKilled)
	// cgroup holds buildkitd and everything it runs (the build's
	// containers, which runc puts under it as their parent).
	cgroup childproc.Cgroup
	cmd    *exec.Cmd
	cancel context.CancelFunc // SIGTERM to buildkitd, SIGKILL 30s later
	done   chan struct{}
	err    error
	// GoVersion is the Go toolchain of the build stage (GO_VERSION).
	GoVersion string
	bases     map[string]base
}

// base is a base image in an OCI layout given to buildctl (--oci-layout).
type base struct{ name, dir, digest string }

func (b *Builder) logf(format string, args ...any) {
	if b.opts.Logf != nil {
		b.opts.Logf(format, args...)
	}
}

// Start starts buildkitd and makes the base images. On error the caller
// still calls Close.
func Start(ctx context.Context, opts Options) (*Builder, error) {
	b := &Builder{opts: opts, bases: map[string]base{}}
	if os.Geteuid() != 0 {
		return b, errors.New("the image builder needs root (buildkitd with runc, namespaces, mounts)")
	}
	for _, bin := range []string{"buildkitd", "buildctl", "dockerfile-frontend"} {
		if _, err := os.Stat(filepath.Join(opts.BinDir, bin)); err != nil {
			return b, fmt.Errorf("BuildKit binary missing (hack/node/build.sh %s buildkit builds it): %w", opts.BinDir, err)
		}
	}
	for _, bin := range []string{"runc", "nsenter", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			return b, fmt.Errorf("%s missing (hack/node/deps.sh installs it): %w", bin, err)
		}
	}
	if err := sweepKilled(); err != nil {
		return b, err
	}
	dir, err := os.MkdirTemp("", workPrefix)
	if err != nil {
		return b, err
	}
	b.dir = dir
	if b.lock, err = lockDir(dir); err != nil {
		return b, err
	}
	b.cgroup = childproc.Cgroup(filepath.Base(dir))
	t0 := time.Now()
	if err := b.startDaemon(ctx); err != nil {
		return b, err
	}
	b.logf("images: buildkitd up in %s", time.Since(t0).Round(100*time.Millisecond))
	t0 = time.Now()
	if err := b.makeBases(ctx); err != nil {
		return b, fmt.Errorf("base images: %w", err)
	}
	b.logf("images: base images made in %s (Go %s)", time.Since(t0).Round(100*time.Millisecond), b.GoVersion)
	return b, nil
}

func (b *Builder) makeBases(ctx context.Context) error {
	golang, err := b.goBase(ctx)
	if err != nil {
		return err
	}
	b.bases["golang"] = golang
	// The runtime base: its files (CA bundle, /etc/passwd) are the same for
	// every architecture, so one image per platform built for.
	var runtimeImgs []OCIImage
	for _, arch := range b.arches() {
		img, err := RuntimeBase(RuntimeImage, arch)
		if err != nil {
			return err
		}
		runtimeImgs = append(runtimeImgs, img)
	}
	// The frontend image as BuildKit's release Dockerfile makes it
	// (frontend/dockerfile/cmd/dockerfile-frontend/Dockerfile): the program,
	// its entrypoint, and labels that run it without network and say which
	// requests it handles.
	frontendBin, err := os.ReadFile(filepath.Join(b.opts.BinDir, "dockerfile-frontend"))
	if err != nil {
		return err
	}
	frontend := OCIImage{
		Ref: syntaxImage, Arch: runtime.GOARCH,
		Layers: []Layer{append(Dirs("/bin/dockerfile-frontend"),
			File{Name: "bin/dockerfile-frontend", Mode: 0o755, Data: frontendBin})},
		Config: v1.Config{
			Entrypoint: []string{"/bin/dockerfile-frontend"},
			Labels: map[string]string{
				"moby.buildkit.frontend.network.none": "true",
				"moby.buildkit.frontend.caps":         "moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts,moby.buildkit.frontend.gitquerystring,moby.buildkit.frontend.contexts.zstd",
			},
		},
	}
	for name, imgs := range map[string][]OCIImage{"runtime": runtimeImgs, "dockerfile": {frontend}} {
		d := filepath.Join(b.dir, "layouts", name)
		var dgst string
		var err error
		if name == "runtime" && len(b.opts.Platforms) > 0 {
			// The final stages are built for each platform from this one.
			dgst, err = WriteIndexLayout(d, imgs...)
		} else {
			// The frontend runs on this machine.
			dgst, err = imgs[0].WriteLayout(d)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		b.bases[name] = base{name: name, dir: d, digest: dgst}
	}
	return nil
}

// arches are the GOARCH values of Options.Platforms, or this machine's.
func (b *Builder) arches() []string {
	if len(b.opts.Platforms) == 0 {
		return []string{runtime.GOARCH}
	}
	var out []string
	for _, p := range b.opts.Platforms {
		out = append(out, path.Base(p))
	}
	return out
}

// goBase builds golang:${GO_VERSION} with BuildKit from files on this
// machine: the toolchain of the go command on PATH as the Go module proxy
// serves it (golang.org/toolchain, in the module cache), busybox as /bin/sh,
// and a module cache holding the project's modules. GOPROXY=off: a module
// missing from it fails the build instead of reaching the network. The
// layers' times are fixed (rewrite-timestamp), so the same files give the
// same digest and the build stage stays cached between runs.
func (b *Builder) goBase(ctx context.Context) (base, error) {
	env, err := goEnv(ctx, b.opts.Root, "GOVERSION", "GOMODCACHE")
	if err != nil {
		return base{}, err
	}
	b.GoVersion = strings.TrimPrefix(env[0], "go")
	toolchain := filepath.Join(env[1], "golang.org", fmt.Sprintf("toolchain@v0.0.1-go%s.linux-%s", b.GoVersion, runtime.GOARCH))
	if _, err := os.Stat(filepath.Join(toolchain, "bin", "go")); err != nil {
		return base{}, fmt.Errorf("the Go toolchain go%s is not in the module cache (hack/node/build.sh downloads it from the module proxy): %w", b.GoVersion, err)
	}
	dir := filepath.Join(b.dir, "golang")
	modcache := filepath.Join(dir, "modcache")
	if err := ModuleCache(ctx, b.opts.Root, modcache); err != nil {
		return base{}, err
	}
	root := filepath.Join(dir, "root")
	if err := shellRoot(root); err != nil {
		return base{}, err
	}
	// Module zips carry no modes: --chmod makes the toolchain's programs
	// executable, as the go command does when it switches toolchains. Only
	// the download cache: `go mod download` in the build extracts it, as it
	// would fill an empty cache from the network.
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(fmt.Sprintf(`FROM scratch
COPY . /
COPY --from=toolchain --chmod=755 . /usr/local/go/
COPY --from=modules . /go/pkg/mod/cache/download/
ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENV GOLANG_VERSION=%s GOPATH=/go GOTOOLCHAIN=local GOPROXY=off
WORKDIR /go
`, b.GoVersion)), 0o644); err != nil {
		return base{}, err
	}
	l := base{name: "golang", dir: filepath.Join(b.dir, "layouts", "golang")}
	if err := b.build(ctx, "golang", []string{"--local", "context=" + root, "--local", "dockerfile=" + dir,
		"--local", "toolchain=" + toolchain, "--local", "modules=" + filepath.Join(modcache, "cache", "download"),
		"--opt", "context:toolchain=local:toolchain", "--opt", "context:modules=local:modules",
		"--opt", "build-arg:SOURCE_DATE_EPOCH=1",
		"--output", "type=oci,tar=false,rewrite-timestamp=true,name=golang:" + b.GoVersion + ",dest=" + l.dir}); err != nil {
		return base{}, err
	}
	_, top, err := readLayout(l.dir)
	if err != nil {
		return base{}, fmt.Errorf("the golang base's layout: %w", err)
	}
	l.digest = top.Digest.String()
	return l, nil
}

// ModuleCache fills dst, a module cache of its own, with every module file
// that `go mod download` needs in the repository's two modules (root and
// root/auth): the zips of the modules their packages use and the go.mod
// files of the whole module graph.
//
// The files are copied from the host's module cache by the go command itself
// (a file:// proxy), so they are checked against go.sum on the way. A host
// that has only built the project lacks go.mod files of modules it never
// compiled (github.com/davecgh/go-spew@v1.1.1, required by go-logr/zapr, is
// one), and a file:// proxy fails on the first one missing: so first
// FillHostModuleCache fetches what is missing. The image build itself never
// sees a network.
func ModuleCache(ctx context.Context, root, dst string) error {
	host, err := FillHostModuleCache(ctx, root)
	if err != nil {
		return err
	}
	for _, mod := range []string{".", "auth"} {
		cp := exec.CommandContext(ctx, "go", "mod", "download")
		cp.Dir = filepath.Join(root, mod)
		cp.Env = append(os.Environ(), "GOMODCACHE="+dst, "GOPROXY=file://"+filepath.Join(host, "cache", "download"),
			// Writable, so that any user can remove the copy.
			"GOSUMDB=off", "GOFLAGS=-mod=readonly -modcacherw", "GOTOOLCHAIN=local")
		if out, err := cp.CombinedOutput(); err != nil {
			return fmt.Errorf("module cache of %s from the host's: %w: %s", mod, err, out)
		}
	}
	return nil
}

// FillHostModuleCache runs `go mod download` in both modules with the host's
// own settings, which fetches from the module proxy what the host's module
// cache lacks (seconds when nothing is), and returns that cache's path.
func FillHostModuleCache(ctx context.Context, root string) (string, error) {
	host, err := goEnv(ctx, root, "GOMODCACHE", "GOPROXY")
	if err != nil {
		return "", err
	}
	for _, mod := range []string{".", "auth"} {
		fill := exec.CommandContext(ctx, "go", "mod", "download")
		fill.Dir = filepath.Join(root, mod)
		fill.Env = append(os.Environ(), "GOFLAGS=-mod=readonly")
		if out, err := fill.CombinedOutput(); err != nil {
			return "", fmt.Errorf("filling the host's module cache %s for %s from the module proxy (GOPROXY=%s): %w: %s",
				host[0], mod, host[1], err, out)
		}
	}
	return host[0], nil
}

// shellRoot writes the golang base's own files into dir: Debian's
// busybox-static as /bin/busybox with its applets (sh first among them)
// linked to it in /bin, the accounts, and the directories Go's image has.
func shellRoot(dir string) error {
	const src = "/bin/busybox"
	bb, err := os.ReadFile(src)
	if err == nil {
		err = StaticELF(bb)
	}
	if err != nil {
		return fmt.Errorf("%s is not a static busybox (hack/node/deps.sh installs Debian's busybox-static): %w", src, err)
	}
	out, err := exec.Command(src, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	for _, d := range []string{"bin", "etc", "root", "tmp", "go/bin"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	for name, data := range map[string]string{"bin/busybox": string(bb), "etc/passwd": passwd, "etc/group": group} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o755); err != nil {
			return err
		}
	}
	applets := strings.Fields(string(out))
	if !slices.Contains(applets, "sh") {
		return errors.New("busybox has no sh applet")
	}
	for _, a := range applets {
		if a != "busybox" && !strings.Contains(a, "/") {
			if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil {
				return err
			}
		}
	}
	return os.Chmod(filepath.Join(dir, "tmp"), 0o1777)
}

// StaticELF fails unless the data is an ELF executable with no program
// interpreter and no shared libraries: it runs on scratch.
func StaticELF(data []byte) error {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return err
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return errors.New("it is dynamically linked (has a program interpreter)")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		return fmt.Errorf("it needs shared libraries %v", libs)
	}
	return nil
}

func goEnv(ctx context.Context, dir string, names ...string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "go", append([]string{"env"}, names...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	vals := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(vals) != len(names) {
		return nil, fmt.Errorf("go env %v: %q", names, out)
	}
	return vals, nil
}

func (b *Builder) socket() string { return filepath.Join(b.dir, "buildkitd.sock") }

// startDaemon runs buildkitd in new network and mount namespaces. In the
// network namespace only loopback comes up: the worker's "host" network,
// which every RUN step gets, is this namespace, so nothing the build runs
// can reach off the machine, or anything on it but itself. The mount
// namespace is private: buildkitd's snapshot and container mounts vanish
// with its last process.
//
// This host lacks CAP_SYS_RESOURCE (see the node's notes): runc fails on a
// negative oom_score_adj or a raised rlimit. BuildKit's OCI executor sets
// neither: its spec has no oomScoreAdj, and it drops the default rlimits
// unless a build asks for ulimits (executor/oci/spec.go), which the
// Dockerfile does not.
func (b *Builder) startDaemon(ctx context.Context) error {
	runc, _ := exec.LookPath("runc")
	cfg := filepath.Join(b.dir, "buildkitd.toml")
	// A configuration of its own, nothing from /etc/buildkit; runc puts the
	// build's containers under a cgroup named after the builder's directory.
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("[worker.oci]\n  defaultCgroupParent = %q\n", b.cgroup)), 0o644); err != nil {
		return err
	}
	root := filepath.Join(b.dir, "root")
	if b.opts.StateDir != "" {
		root = b.opts.StateDir
		if err := os.MkdirAll(root, 0o700); err != nil {
			return err
		}
	}
	if err := b.cgroup.Create(); err != nil {
		return err
	}
	log, err := os.Create(filepath.Join(b.dir, "buildkitd.log"))
	if err != nil {
		return err
	}
	dctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(dctx, filepath.Join(b.opts.BinDir, "buildkitd"),
		"--config", cfg,
		"--root", root,
		"--addr", "unix://"+b.socket(),
		"--containerd-worker=false",
		"--oci-worker=true",
		"--oci-worker-binary", runc,
		"--oci-worker-net", "host",
	)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(runc)+":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:   syscall.CLONE_NEWNET,
		Unshareflags: syscall.CLONE_NEWNS, // the go runtime then makes / private
		Setpgid:      true,
		Pdeathsig:    syscall.SIGKILL,
	}
	started, err := b.cgroup.IntoCgroup(cmd)
	if err == nil {
		err = childproc.Fork(cmd)
		started()
	}
	if err != nil {
		cancel()
		log.Close()
		return fmt.Errorf("start buildkitd: %w", err)
	}
	b.cmd, b.cancel, b.done = cmd, cancel, make(chan struct{})
	go func() {
		b.err = cmd.Wait()
		log.Close()
		close(b.done)
	}()
	if out, err := exec.CommandContext(ctx, "nsenter", "--target", strconv.Itoa(cmd.Process.Pid), "--net", "ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		return fmt.Errorf("loopback in buildkitd's network namespace: %w: %s", err, out)
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := b.buildctl(ctx, "debug", "workers")
		select {
		case <-b.done:
			return false, fmt.Errorf("buildkitd exited: %v", b.err)
		default:
			return err == nil, nil
		}
	}); err != nil {
		log, _ := os.ReadFile(filepath.Join(b.dir, "buildkitd.log"))
		return fmt.Errorf("buildkitd not answering: %w: %s", err, lastLines(log, 20))
	}
	return nil
}

func (b *Builder) buildctl(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(b.opts.BinDir, "buildctl"), append([]string{"--addr", "unix://" + b.socket()}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("buildctl %s: %w", args[0], err)
	}
	return out, nil
}

// Target is one image to build: a Dockerfile stage, the name containerd
// gives it, and the OCI archive to write.
type Target struct {
	Stage, Ref, Archive string
}

// Build builds the Dockerfile's stage with the local base images and writes
// it as an OCI archive (the exporter's oci type) naming the image ref.
func (b *Builder) Build(ctx context.Context, t Target) error {
	args := b.contextArgs()
	args = append(args,
		"--local", "context="+b.opts.Root, "--local", "dockerfile="+b.opts.Root,
		"--opt", "target="+t.Stage,
	)
	output := fmt.Sprintf("type=oci,dest=%s,name=%s", t.Archive, t.Ref)
	if b.opts.SourceDateEpoch > 0 {
		output += ",rewrite-timestamp=true"
	}
	args = append(args, "--output", output)
	return b.build(ctx, t.Stage, args)
}

// contextArgs map the Dockerfile's external images to the local layouts.
func (b *Builder) contextArgs() []string {
	args := []string{"--opt", "build-arg:GO_VERSION=" + b.GoVersion,
		"--opt", "build-arg:RUNTIME_IMAGE=" + RuntimeImage}
	if len(b.opts.Platforms) > 0 {
		args = append(args, "--opt", "platform="+strings.Join(b.opts.Platforms, ","))
	}
	if b.opts.SourceDateEpoch > 0 {
		args = append(args, "--opt", fmt.Sprintf("build-arg:SOURCE_DATE_EPOCH=%d", b.opts.SourceDateEpoch))
	}
	for name, image := range map[string]string{"golang": "golang:" + b.GoVersion, "runtime": RuntimeImage, "dockerfile": syntaxImage} {
		l := b.bases[name]
		args = append(args, "--oci-layout", l.name+"="+l.dir,
			"--opt", fmt.Sprintf("context:%s=oci-layout://%s@%s", image, l.name, l.digest))
	}
	return args
}

// build runs a Dockerfile build with BuildKit's own frontend; its output
// goes to a log in the builder's directory and, on failure, to the error.
func (b *Builder) build(ctx context.Context, name string, args []string) error {
	out, err := b.buildctl(ctx, append([]string{"build", "--frontend", "dockerfile.v0", "--progress", "plain"}, args...)...)
	_ = os.WriteFile(filepath.Join(b.dir, "build-"+name+".log"), out, 0o644)
	if err != nil {
		return fmt.Errorf("build %s: %w\n%s", name, err, lastLines(out, 40))
	}
	return nil
}

// sweepKilled removes what builders killed before their Close left: a
// work directory (hundreds of MB) and its cgroup. A running builder holds
// a lock on its directory, which the kernel drops when it dies.
func sweepKilled() error {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), workPrefix+"*"))
	var errs []error
	for _, d := range dirs {
		if lock, err := lockDir(d); err == nil {
			errs = append(errs, childproc.Cgroup(filepath.Base(d)).Remove(), os.RemoveAll(d))
			lock.Close()
		}
	}
	return errors.Join(errs...)
}

// lockDir takes the builder's lock on its directory, or fails at once if
// another process holds it.
func lockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// lastLines are the last n lines of b.
func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Close stops buildkitd and removes everything the builder made: its
// processes, cgroups and directory. Its mounts were in its own mount
// namespace. It is safe to call after a failed Start.
func (b *Builder) Close() error {
	if b.cmd != nil {
		b.cancel()
		<-b.done
	}
	if b.dir == "" {
		return nil
	}
	errs := []error{b.cgroup.Remove(), os.RemoveAll(b.dir)}
	if b.lock != nil {
		b.lock.Close()
	}
	if left := b.Leftovers(); len(left) > 0 {
		errs = append(errs, fmt.Errorf("left on the host: %s", strings.Join(left, "; ")))
	}
	return errors.Join(errs...)
}

// Leftovers lists what of the builder is still on the host: nothing after
// Close.
func (b *Builder) Leftovers() []string {
	if b.dir == "" {
		return nil
	}
	left := b.cgroup.Leftovers()
	if _, err := os.Stat(b.dir); err == nil {
		left = append(left, "directory "+b.dir)
	}
	return left
}
