// Package logging builds the slog logger of the project's small commands (the
// Cognito emulator and the auth sidecar) from their --log-level and
// --log-format flags, so both read the flags the same way.
package logging

import (
	"fmt"
	"io"
	"log/slog"
)

// New returns a logger writing to w at level (debug, info, warn or error), as
// JSON or as text (format "json" or "text").
func New(level, format string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want json or text", format)
}
