//go:build tools

// Package tools records the commands this module builds so that go mod tidy keeps them.
package tools

import (
	_ "github.com/moby/buildkit/cmd/buildctl"
	_ "github.com/moby/buildkit/cmd/buildkitd"
	_ "github.com/moby/buildkit/frontend/dockerfile/cmd/dockerfile-frontend"
)
