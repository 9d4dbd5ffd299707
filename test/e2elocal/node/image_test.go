package node

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWriteOCIReadsBack writes an assembled image as an OCI archive and
// reads it back as ctr and the image tests read archives: its name, config
// and files.
func TestWriteOCIReadsBack(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(bin, []byte("the program"), 0o755); err != nil {
		t.Fatal(err)
	}
	img := Image{
		Ref: "docker.io/example/app:1", Target: "app", Binary: bin, Path: "/usr/local/bin/app",
		User: "65532:65532", Entrypoint: []string{"/usr/local/bin/app"}, Ports: []string{"8081/tcp", "8080/tcp"},
	}
	archive := filepath.Join(t.TempDir(), "app.tar")
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := img.WriteOCI(f, runtime.GOARCH); err != nil {
		t.Fatal(err)
	}
	cfg, ref, files, err := ReadArchive(archive, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	if ref != img.Ref {
		t.Errorf("ref = %q, want %q", ref, img.Ref)
	}
	want := Stage{Binary: "app", Path: "/usr/local/bin/app", User: "65532:65532",
		Entrypoint: []string{"/usr/local/bin/app"}, Ports: []string{"8080/tcp", "8081/tcp"}}
	if diff := cmp.Diff(want, ImageStage(cfg, "app", img.Path)); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s", cfg.OS, cfg.Architecture)
	}
	if got := string(files["usr/local/bin/app"]); got != "the program" {
		t.Errorf("usr/local/bin/app holds %q", got)
	}
	if !strings.Contains(string(files["etc/passwd"]), ":65532:65532:") {
		t.Error("/etc/passwd has no user 65532")
	}
	if len(files["etc/ssl/certs/ca-certificates.crt"]) == 0 {
		t.Error("no CA bundle")
	}
}

// TestDockerfileStages reads the project's Dockerfile: five final stages,
// each one binary under /usr/local/bin run as 65532 with its ports.
func TestDockerfileStages(t *testing.T) {
	got, err := DockerfileStages(filepath.Join("..", "..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stage := func(bin string, ports ...string) Stage {
		return Stage{Binary: bin, Path: "/usr/local/bin/" + bin, User: "65532:65532",
			Entrypoint: []string{"/usr/local/bin/" + bin}, Ports: ports}
	}
	want := map[string]Stage{
		"weather":          stage("weather", "8080/tcp"),
		"bff":              stage("bff", "8080/tcp"),
		"cognito-emulator": stage("cognito-emulator", "9229/tcp"),
		"manager":          stage("manager", "8081/tcp", "8443/tcp"),
		"auth-sidecar":     stage("auth-sidecar", "9901/tcp"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("final stages (-want +got):\n%s", diff)
	}
}
