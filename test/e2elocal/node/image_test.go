package node

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestImagesMatchDockerfile checks that the images the local node assembles
// have the configuration of the Dockerfile's final stages: same binary at
// the same path, user, entrypoint and ports.
func TestImagesMatchDockerfile(t *testing.T) {
	want, err := DockerfileStages(filepath.Join("..", "..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 4 {
		t.Fatalf("the Dockerfile has %d final stages, want 4: %v", len(want), want)
	}
	dir := t.TempDir()
	got := map[string]Stage{}
	for _, img := range ProjectImages(dir, map[string]string{}) {
		if err := os.WriteFile(img.Binary, []byte("binary of "+img.Target), 0o755); err != nil {
			t.Fatal(err)
		}
		var archive bytes.Buffer
		if err := img.WriteOCI(&archive, runtime.GOARCH); err != nil {
			t.Fatal(err)
		}
		cfg, _, files, err := ReadArchive(&archive, runtime.GOARCH)
		if err != nil {
			t.Fatal(err)
		}
		if string(files[strings.TrimPrefix(img.Path, "/")]) != "binary of "+img.Target {
			t.Errorf("image %s: %s does not hold the binary", img.Target, img.Path)
		}
		for _, f := range []string{"etc/passwd", "etc/ssl/certs/ca-certificates.crt"} {
			if len(files[f]) == 0 {
				t.Errorf("image %s has no %s", img.Target, f)
			}
		}
		if !strings.Contains(string(files["etc/passwd"]), ":65532:65532:") {
			t.Errorf("image %s: /etc/passwd has no user 65532", img.Target)
		}
		got[img.Target] = ImageStage(cfg, filepath.Base(img.Binary), img.Path)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("assembled images differ from the Dockerfile's final stages (-Dockerfile +assembled):\n%s", diff)
	}
}
