package auth_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// consumer is a service that calls and serves with the auth packages.
const consumer = `package main

import (
	"fmt"

	"github.com/cognito-m2m/operator/auth/authprom"
	"github.com/cognito-m2m/operator/auth/client"
	"github.com/cognito-m2m/operator/auth/credentials"
	"github.com/cognito-m2m/operator/auth/verify"
)

func main() {
	ts, err := client.New(client.Config{Credentials: credentials.Static{}})
	v, err2 := verify.New(verify.Config{Issuer: "https://issuer.example"})
	fmt.Println(ts, v, err, err2, authprom.NewVerifierCollector)
}
`

// TestConsumerModuleGraph builds a throwaway service module that imports the
// auth packages, as a service outside this repository would, and checks its
// module graph: the auth module is a module of its own so that a service does
// not inherit the operator's dependencies (Kubernetes, controller-runtime, the
// AWS SDK).
func TestConsumerModuleGraph(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build a consumer module: %v", err)
	}
	authDir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gomod := "module example.com/service\n\ngo 1.26.0\n\n" +
		"require github.com/cognito-m2m/operator/auth v0.0.0\n\n" +
		"replace github.com/cognito-m2m/operator/auth => " + authDir + "\n"
	for name, content := range map[string]string{"go.mod": gomod, "main.go": consumer} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(goBin, args...)
		cmd.Dir = dir
		// The module cache and proxy settings are the caller's; no workspace.
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("mod", "tidy")
	run("build", "-o", os.DevNull, ".")
	graph := run("list", "-m", "all")
	t.Logf("module graph of a service importing auth/client, auth/verify, auth/credentials and auth/authprom:\n%s", graph)

	modules := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(graph), "\n") {
		modules[strings.Fields(line)[0]] = true
	}
	for _, want := range []string{"github.com/cognito-m2m/operator/auth", "github.com/golang-jwt/jwt/v5", "golang.org/x/oauth2", "github.com/prometheus/client_golang"} {
		if !modules[want] {
			t.Errorf("module graph lacks %s", want)
		}
	}
	for m := range modules {
		for _, banned := range []string{"k8s.io/", "sigs.k8s.io/", "github.com/aws/"} {
			if strings.HasPrefix(m, banned) {
				t.Errorf("module graph holds %s: a service would inherit the operator's dependencies", m)
			}
		}
		if m == "github.com/cognito-m2m/operator" {
			t.Errorf("module graph holds the operator's module")
		}
	}
}
