package node

import (
	"fmt"
	"os"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/command"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
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
// assembled for a stage must be configured with. The Dockerfile is read by
// BuildKit's own parser, the one that builds it.
func DockerfileStages(path string) (map[string]Stage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	stages := map[string]Stage{}
	var name string
	for _, n := range res.AST.Children {
		var args []string
		for a := n.Next; a != nil; a = a.Next {
			args = append(args, a.Value)
		}
		instruction := strings.ToLower(n.Value) // the parser keeps the case as written
		if instruction == command.From {
			name = ""
			if len(args) == 3 && args[0] == "${RUNTIME_IMAGE}" && strings.EqualFold(args[1], "AS") {
				name = args[2]
				stages[name] = Stage{}
			}
			continue
		}
		s, ok := stages[name]
		if !ok {
			continue
		}
		switch instruction {
		case command.Copy:
			if len(args) != 2 || !slices.Equal(n.Flags, []string{"--from=build"}) || !strings.HasPrefix(args[0], "/out/") {
				return nil, fmt.Errorf("stage %s: unexpected %q", name, n.Original)
			}
			s.Binary, s.Path = strings.TrimPrefix(args[0], "/out/"), args[1]
		case command.User:
			s.User = args[0]
		case command.Expose:
			for _, p := range args {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				s.Ports = append(s.Ports, p)
			}
			slices.Sort(s.Ports)
		case command.Entrypoint:
			if !n.Attributes["json"] {
				return nil, fmt.Errorf("stage %s: ENTRYPOINT is not exec form: %q", name, n.Original)
			}
			s.Entrypoint = args
		}
		stages[name] = s
	}
	return stages, nil
}

// ImageStage is what an image's config says about the Dockerfile stage it
// stands for; binary and path are the stage's, given.
func ImageStage(cfg *v1.ConfigFile, binary, path string) Stage {
	s := Stage{Binary: binary, Path: path, User: cfg.Config.User, Entrypoint: cfg.Config.Entrypoint}
	for p := range cfg.Config.ExposedPorts {
		s.Ports = append(s.Ports, p)
	}
	slices.Sort(s.Ports)
	return s
}
