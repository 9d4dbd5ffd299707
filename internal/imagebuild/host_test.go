//go:build linux

package imagebuild

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cognito-m2m/operator/test/e2e/scenario"
)

// The tests of this file need neither root nor BuildKit: they run in make test.

// goCmd runs the go command in dir with env added to the test's.
func goCmd(dir string, env []string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s in %s: %w: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := scenario.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestModuleCacheFromABuiltOnlyHost reproduces a fresh machine's first
// image build: the host's module cache holds only what building and testing
// the project downloaded, which lacks go.mod files of modules never compiled
// (github.com/davecgh/go-spew@v1.1.1, which go-logr/zapr requires). The
// image's module cache must still be complete: the Dockerfile's `go mod
// download` resolves the whole module graph.
//
// It uses the Go module proxy, as a build on a fresh machine does (about
// 250 MB, seconds to a minute).
func TestModuleCacheFromABuiltOnlyHost(t *testing.T) {
	root := repoRoot(t)
	host := t.TempDir()
	t.Setenv("GOMODCACHE", host)
	t.Setenv("GOFLAGS", "-modcacherw") // t.TempDir's cleanup removes it
	// What a build leaves: the modules of the packages compiled, and the
	// go.mod files of the pruned graph it loaded.
	for _, mod := range []string{".", "auth"} {
		if err := goCmd(filepath.Join(root, mod), []string{"GOFLAGS=-mod=readonly -modcacherw"}, "list", "-deps", "-test", "./..."); err != nil {
			t.Fatal(err)
		}
	}
	const spew = "cache/download/github.com/davecgh/go-spew/@v/v1.1.1.mod"
	if _, err := os.Stat(filepath.Join(host, spew)); err == nil {
		t.Fatalf("the host's cache already has %s after a build: the test no longer reproduces a built-only host", spew)
	}

	dst := filepath.Join(t.TempDir(), "modcache")
	if err := ModuleCache(t.Context(), root, dst); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, spew)); err != nil {
		t.Errorf("the image's module cache lacks %s: %v", spew, err)
	}
	// The Dockerfile's step, as the image runs it: no network, only the
	// download cache the image carries.
	for _, mod := range []string{".", "auth"} {
		if err := goCmd(filepath.Join(root, mod), []string{"GOMODCACHE=" + filepath.Join(t.TempDir(), "image"),
			"GOPROXY=file://" + filepath.Join(dst, "cache", "download"), "GOSUMDB=off",
			"GOFLAGS=-mod=readonly -modcacherw", "GOTOOLCHAIN=local"}, "mod", "download"); err != nil {
			t.Errorf("from the image's module cache: %v", err)
		}
	}
}

// TestCheckPlatforms runs the release's check on multi-platform archives
// made here from a real program cross-compiled for both platforms: it
// passes when each platform's image holds a static program for its machine,
// and names what is wrong otherwise.
func TestCheckPlatforms(t *testing.T) {
	root := repoRoot(t)
	bins := map[string]string{}
	for _, arch := range []string{"amd64", "arm64"} {
		bins[arch] = filepath.Join(t.TempDir(), "pause")
		if err := goCmd(root, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + arch}, "build", "-trimpath", "-o", bins[arch], "./test/e2elocal/pause"); err != nil {
			t.Fatal(err)
		}
	}
	const binary = "/usr/local/bin/pause"
	archive := func(t *testing.T, arches map[string]string) string {
		t.Helper()
		var imgs []OCIImage
		for _, arch := range []string{"amd64", "arm64"} {
			if src, ok := arches[arch]; ok {
				prog, err := os.ReadFile(src)
				if err != nil {
					t.Fatal(err)
				}
				imgs = append(imgs, OCIImage{Ref: "example/pause:v0.0.1", Arch: arch,
					Layers: []Layer{append(Dirs(binary), File{Name: strings.TrimPrefix(binary, "/"), Mode: 0o755, Data: prog})}})
			}
		}
		p := filepath.Join(t.TempDir(), "image.oci.tar")
		if err := WriteArchive(p, true, imgs...); err != nil {
			t.Fatal(err)
		}
		return p
	}
	both := []string{"linux/amd64", "linux/arm64"}

	if _, err := CheckPlatforms(archive(t, bins), binary, both); err != nil {
		t.Errorf("a correct archive: %v", err)
	}
	for _, tc := range []struct {
		name   string
		arches map[string]string
		want   string
	}{
		{"one platform missing", map[string]string{"amd64": bins["amd64"]}, "lists platforms [linux/amd64], want [linux/amd64 linux/arm64]"},
		{"arm64 image with an amd64 program", map[string]string{"amd64": bins["amd64"], "arm64": bins["amd64"]}, "linux/arm64: /usr/local/bin/pause is an ELF program for EM_X86_64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckPlatforms(archive(t, tc.arches), binary, both)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// A builder killed before its Close leaves its work directory behind; the
// next builder's start removes it, and never the directory of a builder
// still running, which holds its lock.
func TestStartSweepsWhatAKilledBuilderLeft(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	killed, err := os.MkdirTemp("", workPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(killed, "buildkitd.log"), []byte("log"), 0o644); err != nil {
		t.Fatal(err)
	}
	running, err := os.MkdirTemp("", workPrefix)
	if err != nil {
		t.Fatal(err)
	}
	lock, err := lockDir(running)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()

	if err := sweepKilled(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(killed); !os.IsNotExist(err) {
		t.Errorf("the killed builder's directory is still there (%v)", err)
	}
	if _, err := os.Stat(running); err != nil {
		t.Errorf("the running builder's directory was removed: %v", err)
	}
}
