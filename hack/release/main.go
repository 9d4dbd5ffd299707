//go:build linux

// Command release writes a release into dist/, offline (make release
// VERSION=v0.1.0, as root):
//
//   - dist/images/<name>.oci.tar: the Dockerfile's five images (operator,
//     cognito-emulator, weather, bff, auth-sidecar) for linux/amd64 and linux/arm64, each
//     an OCI archive of one multi-platform image index, built with BuildKit
//     offline (internal/imagebuild, which the local-node test's release
//     uses too), with SOURCE_DATE_EPOCH the commit's time, so a rebuild of
//     the same commit gives the same digests;
//   - dist/cognito-m2m-operator-<version>.tgz: the chart at that version,
//     whose appVersion, and so default image tag, is the release's tag, its
//     files stamped with the commit's time, so it too is the same when rebuilt;
//   - dist/install.yaml: the namespace, the CRDs and the operator as the
//     chart renders them with its defaults, for kubectl apply -f;
//   - dist/SHA256SUMS of all of them.
//
// It checks each archive before writing the sums: both platforms listed,
// each holding its binary as a static program for its machine.
package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cognito-m2m/operator/internal/imagebuild"
)

// Platforms of a release. The local-node test (test/e2elocal) makes its
// release for this machine's platform only (--platforms): the other one
// would double the images' compile time and is checked here.
var Platforms = []string{"linux/amd64", "linux/arm64"}

// The images by Dockerfile stage: the repository name under the registry,
// and the binary each holds.
var stages = []struct{ stage, name, binary string }{
	{"manager", "operator", "/usr/local/bin/manager"},
	{"cognito-emulator", "cognito-emulator", "/usr/local/bin/cognito-emulator"},
	{"weather", "weather", "/usr/local/bin/weather"},
	{"bff", "bff", "/usr/local/bin/bff"},
	{"auth-sidecar", "auth-sidecar", "/usr/local/bin/auth-sidecar"},
}

const (
	chartName = "cognito-m2m-operator"
	namespace = "cognito-m2m-system"
)

var semver = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$`)

func main() {
	version := flag.String("version", "", "the release's version, a tag such as v0.1.0")
	out := flag.String("out", "dist", "the directory to write (emptied first)")
	registry := flag.String("registry", "ghcr.io/cognito-m2m", "the registry path the images are named under")
	helm := flag.String("helm", "bin/helm", "the helm binary")
	platforms := flag.String("platforms", strings.Join(Platforms, ","), "the platforms to build the images for")
	state := flag.String("state", "", "buildkitd's state directory (default: the per-user cache the local node uses; a new empty one rebuilds from nothing)")
	flag.Parse()
	Platforms = strings.Split(*platforms, ",")
	start := time.Now()
	// Ctrl-C ends the build, and the image builder is still closed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *version, *out, *registry, *helm, *state); err != nil {
		fmt.Fprintf(os.Stderr, "release: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("==> release: %s written to %s in %s\n", *version, *out, time.Since(start).Round(time.Second))
}

func run(ctx context.Context, version, out, registry, helm, state string) error {
	if !semver.MatchString(version) {
		return fmt.Errorf("VERSION %q is not a version tag such as v0.1.0", version)
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "Dockerfile")); err != nil {
		return fmt.Errorf("run from the repository's root: %w", err)
	}
	epoch, err := commitTime(root)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	imgDir := filepath.Join(out, "images")
	if err := os.MkdirAll(imgDir, 0o755); err != nil {
		return err
	}

	// The images.
	if state == "" {
		if state, err = imagebuild.CacheDir(); err != nil {
			return err
		}
	}
	logf := func(format string, args ...any) { fmt.Printf("    "+format+"\n", args...) }
	t0 := time.Now()
	b, err := imagebuild.Start(ctx, imagebuild.Options{Root: root, BinDir: filepath.Join(root, "bin", "node"), StateDir: state,
		Platforms: Platforms, SourceDateEpoch: epoch, Logf: logf})
	defer func() {
		if err := b.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "release: closing the image builder: %v\n", err)
		}
	}()
	if err != nil {
		return err
	}
	for _, s := range stages {
		t1 := time.Now()
		archive := filepath.Join(imgDir, s.name+".oci.tar")
		ref := registry + "/" + s.name + ":" + version
		if err := b.Build(ctx, imagebuild.Target{Stage: s.stage, Ref: ref, Archive: archive}); err != nil {
			return err
		}
		dgst, err := imagebuild.CheckPlatforms(archive, s.binary, Platforms)
		if err != nil {
			return err
		}
		fmt.Printf("==> release: %s@%s (%s) in %s\n", ref, dgst, strings.Join(Platforms, ", "), time.Since(t1).Round(time.Second))
	}
	fmt.Printf("==> release: images built in %s\n", time.Since(t0).Round(time.Second))

	tgz, err := packageChart(ctx, helm, root, version, epoch, out)
	if err != nil {
		return err
	}

	// install.yaml: what the chart installs with its defaults, test hooks left out.
	rendered, err := exec.CommandContext(ctx, helm, "template", chartName, tgz, "--namespace", namespace, "--skip-tests").Output()
	if err != nil {
		return fmt.Errorf("helm template: %w", err)
	}
	manifest := fmt.Sprintf("# cognito-m2m-operator %s: kubectl apply --server-side -f install.yaml\n"+
		"# The chart's defaults rendered by helm template; for other settings install the chart.\n"+
		"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n%s", version, namespace, rendered)
	if err := os.WriteFile(filepath.Join(out, "install.yaml"), []byte(manifest), 0o644); err != nil {
		return err
	}

	return writeSums(out)
}

// packageChart packages the chart at version into out and returns the archive's
// path. Its appVersion, and so its default image tag, is the release's tag. Helm
// stamps every file in the archive with SOURCE_DATE_EPOCH, the commit's time, so
// that a rebuild of the same commit gives the same bytes (by default it stamps
// each file's time on disk, which differs between clones).
func packageChart(ctx context.Context, helm, root, version string, epoch int64, out string) (string, error) {
	chartVersion := strings.TrimPrefix(version, "v")
	cmd := exec.CommandContext(ctx, helm, "package", filepath.Join(root, "charts", chartName),
		"--version", chartVersion, "--app-version", version, "--destination", out)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(epoch, 10))
	if o, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("helm package: %w: %s", err, o)
	}
	return filepath.Join(out, chartName+"-"+chartVersion+".tgz"), nil
}

// commitTime is HEAD's commit time, the SOURCE_DATE_EPOCH of the images.
func commitTime(root string) (int64, error) {
	cmd := exec.Command("git", "log", "-1", "--format=%ct")
	cmd.Dir = root
	b, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("git log (the release is stamped with the commit's time): %w", err)
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// writeSums writes SHA256SUMS of every file under dir, as sha256sum -c reads it.
func writeSums(dir string) error {
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("%x  %s", h.Sum(nil), filepath.ToSlash(rel)))
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(lines, func(a, b string) int { return strings.Compare(a[66:], b[66:]) })
	return os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}
