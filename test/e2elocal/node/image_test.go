package node

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPauseImageReadsBack writes the sandbox image as an OCI archive and
// reads it back as ctr and the image tests read archives: its name, config
// and files.
func TestPauseImageReadsBack(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "pause")
	if err := os.WriteFile(bin, []byte("the program"), 0o755); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "pause.tar")
	if err := WriteArchive(archive, false, PauseImage(bin)); err != nil {
		t.Fatal(err)
	}
	cfg, ref, files, err := ReadArchive(archive, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	if ref != PauseRef {
		t.Errorf("ref = %q, want %q", ref, PauseRef)
	}
	want := Stage{Binary: "pause", Path: "/pause", User: "65535:65535", Entrypoint: []string{"/pause"}}
	if diff := cmp.Diff(want, ImageStage(cfg, "pause", "/pause")); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s", cfg.OS, cfg.Architecture)
	}
	if got := string(files["pause"]); got != "the program" {
		t.Errorf("/pause holds %q", got)
	}
	if !strings.Contains(string(files["etc/passwd"]), ":65532:65532:") {
		t.Error("/etc/passwd has no user 65532")
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
