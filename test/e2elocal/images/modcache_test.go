//go:build linux

package images

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cognito-m2m/operator/test/e2e/scenario"
)

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
	root, err := scenario.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	host := t.TempDir()
	t.Setenv("GOMODCACHE", host)
	t.Setenv("GOFLAGS", "-modcacherw") // t.TempDir's cleanup removes it
	// What a build leaves: the modules of the packages compiled, and the
	// go.mod files of the pruned graph it loaded.
	for _, mod := range []string{".", "auth"} {
		list := exec.CommandContext(ctx, "go", "list", "-deps", "-test", "./...")
		list.Dir = filepath.Join(root, mod)
		list.Env = append(os.Environ(), "GOFLAGS=-mod=readonly -modcacherw")
		if out, err := list.CombinedOutput(); err != nil {
			t.Fatalf("go list in %s: %v: %s", mod, err, out)
		}
	}
	const spew = "cache/download/github.com/davecgh/go-spew/@v/v1.1.1.mod"
	if _, err := os.Stat(filepath.Join(host, spew)); err == nil {
		t.Fatalf("the host's cache already has %s after a build: the test no longer reproduces a built-only host", spew)
	}

	dst := filepath.Join(t.TempDir(), "modcache")
	if err := ModuleCache(ctx, root, dst); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, spew)); err != nil {
		t.Errorf("the image's module cache lacks %s: %v", spew, err)
	}
	// The Dockerfile's step, as the image runs it: no network, only the
	// download cache the image carries.
	for _, mod := range []string{".", "auth"} {
		cmd := exec.CommandContext(ctx, "go", "mod", "download")
		cmd.Dir = filepath.Join(root, mod)
		cmd.Env = append(os.Environ(), "GOMODCACHE="+filepath.Join(t.TempDir(), "image"),
			"GOPROXY=file://"+filepath.Join(dst, "cache", "download"), "GOSUMDB=off",
			"GOFLAGS=-mod=readonly -modcacherw", "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("go mod download in %s from the image's module cache: %v: %s", mod, err, strings.TrimSpace(string(out)))
		}
	}
}
