package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cognito-m2m/operator/internal/sidecar"
)

// TestCommandLine: the exit codes and messages of the command, and that it
// refuses to start rather than run open.
func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	valid := file("valid.yaml", `
service:
  listen: 127.0.0.1:0
  upstream: http://127.0.0.1:8081
  issuer: https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X
  routes:
    - {path: /, scopes: [a/read]}
`)
	open := file("open.yaml", `
service:
  listen: :8080
  upstream: http://127.0.0.1:8081
  issuer: https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X
`)
	noCreds := file("nocreds.yaml", `
caller:
  credentialsDir: `+filepath.Join(dir, "missing")+`
  upstreams:
    - {name: a, listen: "127.0.0.1:0", url: "http://a"}
`)
	tests := []struct {
		name       string
		args       []string
		code       int
		out, inErr string
	}{
		{"help", []string{"-h"}, 0, "", "Usage of auth-sidecar"},
		{"no config", nil, exitUsage, "", "--config is required"},
		{"argument", []string{"--config", valid, "extra"}, exitUsage, "", `unexpected argument "extra"`},
		{"bad log level", []string{"--config", valid, "--log-level", "loud"}, exitUsage, "", `--log-level "loud"`},
		{"bad log format", []string{"--config", valid, "--log-format", "xml"}, exitUsage, "", `--log-format "xml"`},
		{"missing file", []string{"--config", filepath.Join(dir, "none.yaml")}, exitUsage, "", "read configuration"},
		{"check a valid file", []string{"--config", valid, "--check"}, 0, "is valid", ""},
		{"refuses to run open", []string{"--config", open, "--check"}, exitUsage, "", "service.routes: at least one route is required"},
		{"unreadable credentials", []string{"--config", noCreds, "--admin-listen", "127.0.0.1:0"}, exitFailure, "", "caller.credentialsDir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr, sidecar.Options{})
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, &stderr)
			}
			if !strings.Contains(stdout.String(), tt.out) {
				t.Errorf("stdout %q does not contain %q", &stdout, tt.out)
			}
			if !strings.Contains(stderr.String(), tt.inErr) {
				t.Errorf("stderr %q does not contain %q", &stderr, tt.inErr)
			}
		})
	}
}
