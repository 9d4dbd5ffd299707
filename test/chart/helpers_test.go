// Package chart tests the Helm chart in charts/cognito-m2m-operator: helm lint,
// helm template with the values users set, the values schema's refusals, and
// helm install into a real kube-apiserver (envtest), where every manifest must
// be accepted although no pod ever starts.
//
// It runs the repository's pinned binaries: bin/helm, and etcd and
// kube-apiserver from $KUBEBUILDER_ASSETS or bin/ (make tools builds them).
package chart

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

const (
	modulePath = "github.com/cognito-m2m/operator"
	chartRel   = "charts/cognito-m2m-operator"
)

// helmHome holds Helm's cache, config and data directories for this test
// binary, so that the tests never read or write the user's.
var helmHome string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chart-test-helm-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	helmHome = dir
	code := m.Run()
	stopAPIServer()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot finds the module root from the test's working directory.
var repoRoot = sync.OnceValues(func() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			sc := bufio.NewScanner(bytes.NewReader(b))
			for sc.Scan() {
				if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "module" && f[1] == modulePath {
					return dir, nil
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of module %s above the working directory", modulePath)
		}
		dir = parent
	}
})

func root(t testing.TB) string {
	t.Helper()
	r, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func chartDir(t testing.TB) string { return filepath.Join(root(t), chartRel) }

// helmBinary is <root>/bin/helm; the test fails, never skips, without it.
func helmBinary(t testing.TB) string {
	t.Helper()
	p := filepath.Join(root(t), "bin", "helm")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("helm not found at %s: run `make tools`", p)
	}
	return p
}

// helm runs bin/helm and returns its stdout; stderr is part of the error.
func helm(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helmBinary(t), args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(helmHome, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(helmHome, "config"),
		"HELM_DATA_HOME="+filepath.Join(helmHome, "data"),
		"KUBECONFIG="+filepath.Join(helmHome, "no-kubeconfig"), // only --kubeconfig counts
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// mustHelm is helm that fails the test on error.
func mustHelm(t testing.TB, args ...string) string {
	t.Helper()
	out, err := helm(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// manifests is the output of helm template, one object per document.
type manifests []*unstructured.Unstructured

func parseManifests(t testing.TB, s string) manifests {
	t.Helper()
	docs, err := decodeDocs(s)
	if err != nil {
		t.Fatalf("helm template output is not YAML: %v", err)
	}
	var out manifests
	for _, d := range docs {
		out = append(out, &unstructured.Unstructured{Object: d})
	}
	return out
}

// decodeDocs parses a multi-document YAML stream, skipping empty documents.
// Numbers decode as they do in unstructured objects read from the API.
func decodeDocs(s string) ([]map[string]any, error) {
	var out []map[string]any
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(s), 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if len(obj) > 0 {
			out = append(out, obj)
		}
	}
}

// get returns the object of that kind and name, or nil.
func (m manifests) get(kind, name string) *unstructured.Unstructured {
	for _, o := range m {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// inventory lists the objects as "Kind/name", in order.
func (m manifests) inventory() []string {
	var out []string
	for _, o := range m {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	return out
}

// deployment converts the named Deployment to its typed form.
func (m manifests) deployment(t testing.TB, name string) *appsv1.Deployment {
	t.Helper()
	u := m.get("Deployment", name)
	if u == nil {
		t.Fatalf("no Deployment %s in %v", name, m.inventory())
	}
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d); err != nil {
		t.Fatalf("Deployment %s: %v", name, err)
	}
	return &d
}

// readYAMLDocs parses every document of a YAML file of the repository.
func readYAMLDocs(t testing.TB, rel string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), rel))
	if err != nil {
		t.Fatalf("%v (run `make generate`)", err)
	}
	docs, err := decodeDocs(string(b))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return docs
}
