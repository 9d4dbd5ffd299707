package tools

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// releaseLine is one line of hack/tools/releases.txt.
type releaseLine struct{ tool, version, platform, algo, sum string }

func readReleases(t *testing.T, path string) []releaseLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []releaseLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) != 5 {
			t.Fatalf("%s: %q has %d fields, want tool, version, platform, algorithm and checksum", path, sc.Text(), len(fields))
		}
		lines = append(lines, releaseLine{fields[0], fields[1], fields[2], fields[3], fields[4]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// requiredVersion returns the version a go.mod requires of a module, without the v.
func requiredVersion(t *testing.T, gomod, module string) string {
	t.Helper()
	b, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(module) + `\s+v(\S+)`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("%s requires no %s", gomod, module)
	}
	return m[1]
}

func minor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	return parts[0] + "." + parts[1]
}

// TestReleasePinsAgreeWithModules keeps the downloads and the source builds on the
// same tools: envtest and kubectl of the Kubernetes minor that hack/tools/k8s builds,
// Helm of the version hack/tools/helm builds, and checksums of the right length.
func TestReleasePinsAgreeWithModules(t *testing.T) {
	root := repoRoot(t)
	lines := readReleases(t, filepath.Join(root, "hack/tools/releases.txt"))
	k8s := requiredVersion(t, filepath.Join(root, "hack/tools/k8s/go.mod"), "k8s.io/kubernetes")
	helm := requiredVersion(t, filepath.Join(root, "hack/tools/helm/go.mod"), "helm.sh/helm/v4")

	want := map[string]func(string) bool{
		"envtest": func(v string) bool { return v == envtestVersion && minor(v) == minor(k8s) },
		"kubectl": func(v string) bool { return v == kubectlVersion && minor(v) == minor(k8s) },
		"helm":    func(v string) bool { return v == helmVersion && v == helm },
	}
	hexOf := map[string]*regexp.Regexp{
		"sha256": regexp.MustCompile(`^[0-9a-f]{64}$`),
		"sha512": regexp.MustCompile(`^[0-9a-f]{128}$`),
	}
	seen := map[string]bool{}
	for _, l := range lines {
		ok, known := want[l.tool]
		if !known {
			t.Errorf("releases.txt: unknown tool %q", l.tool)
			continue
		}
		if !ok(l.version) {
			t.Errorf("releases.txt: %s %s on %s does not match the source pins (k8s.io/kubernetes v%s, helm v%s) or this test's constants", l.tool, l.version, l.platform, k8s, helm)
		}
		re, known := hexOf[l.algo]
		if !known || !re.MatchString(l.sum) {
			t.Errorf("releases.txt: %s %s: %q is not a %s checksum", l.tool, l.platform, l.sum, l.algo)
		}
		if (l.tool == "envtest") != (l.algo == "sha512") {
			t.Errorf("releases.txt: %s uses %s; envtest archives are checked with sha512 (setup-envtest's index), the others with sha256", l.tool, l.algo)
		}
		key := l.tool + " " + l.platform
		if seen[key] {
			t.Errorf("releases.txt: two lines for %s", key)
		}
		seen[key] = true
	}
	// Helm may have no line: then it is always built from source.
	for _, tool := range []string{"envtest", "kubectl"} {
		if !seen[tool+" linux-amd64"] {
			t.Errorf("releases.txt: no linux-amd64 line for %s", tool)
		}
	}

	// setup-envtest comes from the controller-runtime release the project uses.
	se := requiredVersion(t, filepath.Join(root, "hack/tools/setup-envtest/go.mod"), "sigs.k8s.io/controller-runtime/tools/setup-envtest")
	cr := requiredVersion(t, filepath.Join(root, "go.mod"), "sigs.k8s.io/controller-runtime")
	if minor(se) != minor(cr) {
		t.Errorf("setup-envtest v%s is not of the controller-runtime minor the project uses (v%s)", se, cr)
	}
}
