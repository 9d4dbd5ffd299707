//go:build linux

package images

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cognito-m2m/operator/test/e2e/scenario"
	"github.com/cognito-m2m/operator/test/e2elocal/node"
)

// TestCheckPlatforms runs the release's check on multi-platform archives
// made here from a real program cross-compiled for both platforms: it
// passes when each platform's image holds a static program for its machine,
// and names what is wrong otherwise.
func TestCheckPlatforms(t *testing.T) {
	root, err := scenario.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bins := map[string]string{}
	for _, arch := range []string{"amd64", "arm64"} {
		out := filepath.Join(t.TempDir(), "pause")
		cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./test/e2elocal/pause")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build for %s: %v: %s", arch, err, b)
		}
		bins[arch] = out
	}
	const binary = "/usr/local/bin/pause"
	archive := func(t *testing.T, arches map[string]string) string {
		t.Helper()
		var imgs []node.OCIImage
		for _, arch := range []string{"amd64", "arm64"} {
			src, ok := arches[arch]
			if !ok {
				continue
			}
			imgs = append(imgs, node.OCIImage{Ref: "example/pause:v0.0.1", Arch: arch, Gzip: true,
				Layers: []node.Layer{append(node.Dirs(binary), node.File{Name: strings.TrimPrefix(binary, "/"), Mode: 0o755, Src: src})}})
		}
		p := filepath.Join(t.TempDir(), "image.oci.tar")
		if err := node.WriteArchive(p, true, imgs...); err != nil {
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
