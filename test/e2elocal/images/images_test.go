//go:build e2elocal && linux

package images

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-m2m/operator/test/e2e/scenario"
	"github.com/cognito-m2m/operator/test/e2elocal/node"
)

var (
	outDir   = flag.String("out", "", "write the four image archives into this directory (make images-local) instead of a temporary one")
	useCache = flag.Bool("cache", false, "keep buildkitd's state in the per-user cache (CacheDir), as the local-node test does, instead of a temporary directory")
)

// TestDockerfileBuildsOffline builds the Dockerfile's four final stages with
// BuildKit and no network, and checks what it built: each image's user,
// entrypoint and ports are its stage's, its binary is a static program that
// runs, and neither buildkitd nor a RUN step had any network but loopback.
// Afterwards nothing of the builder is left on the host.
func TestDockerfileBuildsOffline(t *testing.T) {
	root := repoRoot(t)
	want, err := node.DockerfileStages(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t0 := time.Now()
	opts := Options{Root: root, BinDir: filepath.Join(root, "bin", "node"), Logf: t.Logf}
	if *useCache {
		if opts.StateDir, err = CacheDir(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := Start(ctx, opts)
	var closeOnce sync.Once
	closeBuilder := func() {
		closeOnce.Do(func() {
			if err := b.Close(); err != nil {
				t.Errorf("closing the builder: %v", err)
			}
		})
	}
	t.Cleanup(func() {
		closeBuilder()
		if left := b.Leftovers(); len(left) > 0 {
			t.Errorf("left on the host after Close: %s", strings.Join(left, "; "))
		}
	})
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		if _, ok := <-sig; ok {
			closeBuilder()
			os.Exit(1)
		}
	}()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("buildkitd has loopback only", func(t *testing.T) {
		ifs, err := b.Interfaces()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"lo"}, ifs); diff != "" {
			t.Errorf("buildkitd's network interfaces (-want +got):\n%s", diff)
		}
	})

	t.Run("a RUN step has loopback only and no module proxy", func(t *testing.T) {
		dir, out := t.TempDir(), t.TempDir()
		dockerfile := fmt.Sprintf(`FROM golang:%s AS probe
RUN mkdir -p /probe/net && cat /proc/net/dev > /probe/net/dev && go env GOPROXY GOTOOLCHAIN > /probe/go-env
FROM scratch
COPY --from=probe /probe /
`, b.GoVersion)
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := b.BuildFile(ctx, "probe", dir, out); err != nil {
			t.Fatal(err)
		}
		ifs, err := Interfaces(out)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"lo"}, ifs); diff != "" {
			t.Errorf("a RUN step's network interfaces (-want +got):\n%s", diff)
		}
		goEnv, err := os.ReadFile(filepath.Join(out, "go-env"))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Fields(string(goEnv)); !cmp.Equal(got, []string{"off", "local"}) {
			t.Errorf("go env GOPROXY GOTOOLCHAIN in the build image = %q, want off, local", got)
		}
	})

	dir := *outDir
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	refs := map[string]string{}
	for _, img := range scenario.Images {
		refs[img.Target] = "docker.io/" + img.Ref()
	}
	targets := ProjectTargets(dir, refs)
	build := func(label string) {
		t.Helper()
		t1 := time.Now()
		for _, tg := range targets {
			t2 := time.Now()
			if err := b.Build(ctx, tg); err != nil {
				t.Fatal(err)
			}
			t.Logf("images: %s built (%s) in %s", tg.Stage, label, time.Since(t2).Round(100*time.Millisecond))
		}
		t.Logf("images: the four images built %s in %s", label, time.Since(t1).Round(100*time.Millisecond))
	}
	build("first")
	// Again in the same builder: every step is cached, as in a later run
	// with the state kept (-cache).
	build("again")
	t.Logf("images: start, base images and both builds took %s", time.Since(t0).Round(100*time.Millisecond))

	got := map[string]node.Stage{}
	for _, tg := range targets {
		s, ok := want[tg.Stage]
		if !ok {
			t.Fatalf("the Dockerfile has no final stage %s", tg.Stage)
		}
		cfg, ref, files, err := node.ReadArchive(tg.Archive, runtime.GOARCH)
		if err != nil {
			t.Fatalf("%s: %v", tg.Archive, err)
		}
		if ref != tg.Ref {
			t.Errorf("%s names its image %q, want %q", tg.Archive, ref, tg.Ref)
		}
		got[tg.Stage] = node.ImageStage(cfg, s.Binary, s.Path)
		if !strings.Contains(string(files["etc/passwd"]), ":65532:65532:") {
			t.Errorf("image %s: /etc/passwd has no user 65532", tg.Stage)
		}
		if len(files["etc/ssl/certs/ca-certificates.crt"]) == 0 {
			t.Errorf("image %s has no CA bundle", tg.Stage)
		}
		bin := files[strings.TrimPrefix(s.Path, "/")]
		if err := StaticELF(bin); err != nil {
			t.Errorf("image %s: %s: %v", tg.Stage, s.Path, err)
			continue
		}
		// The program runs: its usage names its flags.
		p := filepath.Join(t.TempDir(), s.Binary)
		if err := os.WriteFile(p, bin, 0o755); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command(p, "-h").CombinedOutput()
		if !strings.Contains(string(out), "Usage of") {
			t.Errorf("image %s: %s -h printed no usage:\n%s", tg.Stage, s.Path, out)
		}
	}
	for stage := range want {
		if _, ok := got[stage]; !ok {
			t.Errorf("the Dockerfile's stage %s was not built", stage)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("built images differ from the Dockerfile's final stages (-Dockerfile +built):\n%s", diff)
	}
}
