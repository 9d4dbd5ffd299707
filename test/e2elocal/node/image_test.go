package node

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// stage is what a final stage of the Dockerfile says about its image.
type stage struct {
	Binary     string // COPY --from=build /out/<Binary> <Path>
	Path       string
	User       string
	Entrypoint []string
	Ports      []string
}

// dockerfileStages reads the Dockerfile's final stages (those FROM the
// runtime image), keyed by stage name.
func dockerfileStages(t *testing.T) map[string]stage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages := map[string]stage{}
	var name string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "FROM":
			name = ""
			if f[1] == "${RUNTIME_IMAGE}" && len(f) == 4 && f[2] == "AS" {
				name = f[3]
				stages[name] = stage{}
			}
		case "COPY", "USER", "EXPOSE", "ENTRYPOINT":
			if name == "" {
				continue
			}
			s := stages[name]
			switch f[0] {
			case "COPY":
				if len(f) != 4 || f[1] != "--from=build" || !strings.HasPrefix(f[2], "/out/") {
					t.Fatalf("stage %s: unexpected %q", name, sc.Text())
				}
				s.Binary, s.Path = strings.TrimPrefix(f[2], "/out/"), f[3]
			case "USER":
				s.User = f[1]
			case "EXPOSE":
				for _, p := range f[1:] {
					if !strings.Contains(p, "/") {
						p += "/tcp"
					}
					s.Ports = append(s.Ports, p)
				}
			case "ENTRYPOINT":
				if err := json.Unmarshal([]byte(strings.TrimSpace(strings.TrimPrefix(sc.Text(), "ENTRYPOINT"))), &s.Entrypoint); err != nil {
					t.Fatalf("stage %s: ENTRYPOINT is not exec form: %v", name, err)
				}
			}
			stages[name] = s
		}
	}
	return stages
}

// TestImagesMatchDockerfile checks that the images the local node assembles
// have the configuration of the Dockerfile's final stages: same binary at
// the same path, user, entrypoint and ports.
func TestImagesMatchDockerfile(t *testing.T) {
	want := dockerfileStages(t)
	if len(want) != 4 {
		t.Fatalf("the Dockerfile has %d final stages, want 4: %v", len(want), want)
	}
	dir := t.TempDir()
	got := map[string]stage{}
	for _, img := range ProjectImages(dir, map[string]string{}) {
		if err := os.WriteFile(img.Binary, []byte("binary of "+img.Target), 0o755); err != nil {
			t.Fatal(err)
		}
		var archive bytes.Buffer
		if err := img.WriteOCI(&archive, runtime.GOARCH); err != nil {
			t.Fatal(err)
		}
		cfg, files := readOCI(t, archive.Bytes())
		s := stage{Path: img.Path, User: cfg.Config.User, Entrypoint: cfg.Config.Entrypoint}
		for p := range cfg.Config.ExposedPorts {
			s.Ports = append(s.Ports, p)
		}
		slices.Sort(s.Ports)
		s.Binary = filepath.Base(img.Binary)
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
		got[img.Target] = s
	}
	for _, s := range want {
		slices.Sort(s.Ports)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("assembled images differ from the Dockerfile's final stages (-Dockerfile +assembled):\n%s", diff)
	}
}

// readOCI reads an OCI layout archive of one image: its config, and the
// files of its layers.
func readOCI(t *testing.T, archive []byte) (Config, map[string][]byte) {
	t.Helper()
	entries := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		entries[h.Name] = b
	}
	blob := func(d string) []byte {
		b, ok := entries["blobs/sha256/"+strings.TrimPrefix(d, "sha256:")]
		if !ok {
			t.Fatalf("blob %s missing", d)
		}
		if digest(b) != d {
			t.Fatalf("blob %s has digest %s", d, digest(b))
		}
		return b
	}
	var index struct{ Manifests []descriptor }
	if err := json.Unmarshal(entries["index.json"], &index); err != nil || len(index.Manifests) != 1 {
		t.Fatalf("index.json: %v %s", err, entries["index.json"])
	}
	var manifest struct {
		Config descriptor
		Layers []descriptor
	}
	if err := json.Unmarshal(blob(index.Manifests[0].Digest), &manifest); err != nil {
		t.Fatal(err)
	}
	var cfg Config
	if err := json.Unmarshal(blob(manifest.Config.Digest), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.RootFS.DiffIDs) != len(manifest.Layers) {
		t.Fatalf("%d diff ids for %d layers", len(cfg.RootFS.DiffIDs), len(manifest.Layers))
	}
	files := map[string][]byte{}
	for _, l := range manifest.Layers {
		layerFiles(t, blob(l.Digest), files)
	}
	return cfg, files
}

func layerFiles(t *testing.T, gz []byte, files map[string][]byte) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			files[h.Name], _ = io.ReadAll(tr)
		}
	}
}
