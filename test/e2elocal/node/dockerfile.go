package node

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Stage is what a final stage of the Dockerfile says about its image.
type Stage struct {
	// Binary and Path come from its COPY --from=build /out/<Binary> <Path>.
	Binary, Path string
	User         string
	Entrypoint   []string
	// Ports are exposed ports as in an image config ("8080/tcp"), sorted.
	Ports []string
}

// DockerfileStages reads the final stages of the Dockerfile at path (those
// FROM the runtime image), keyed by stage name: what an image built or
// assembled for a stage must be configured with.
func DockerfileStages(path string) (map[string]Stage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	stages := map[string]Stage{}
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
				stages[name] = Stage{}
			}
		case "COPY", "USER", "EXPOSE", "ENTRYPOINT":
			if name == "" {
				continue
			}
			s := stages[name]
			switch f[0] {
			case "COPY":
				if len(f) != 4 || f[1] != "--from=build" || !strings.HasPrefix(f[2], "/out/") {
					return nil, fmt.Errorf("stage %s: unexpected %q", name, sc.Text())
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
				slices.Sort(s.Ports)
			case "ENTRYPOINT":
				if err := json.Unmarshal([]byte(strings.TrimSpace(strings.TrimPrefix(sc.Text(), "ENTRYPOINT"))), &s.Entrypoint); err != nil {
					return nil, fmt.Errorf("stage %s: ENTRYPOINT is not exec form: %w", name, err)
				}
			}
			stages[name] = s
		}
	}
	return stages, sc.Err()
}

// ImageStage is what an image's config says about the Dockerfile stage it
// stands for; binary and path are the stage's, given.
func ImageStage(cfg Config, binary, path string) Stage {
	s := Stage{Binary: binary, Path: path, User: cfg.Config.User, Entrypoint: cfg.Config.Entrypoint}
	for p := range cfg.Config.ExposedPorts {
		s.Ports = append(s.Ports, p)
	}
	slices.Sort(s.Ports)
	return s
}
