// Package workflows checks the GitHub Actions workflows in .github/workflows,
// which cannot run here, with actionlint: syntax, expressions and their
// types, contexts, permissions, action inputs, and the shell scripts' use of
// untrusted input.
package workflows

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/rhysd/actionlint"

	"github.com/cognito-m2m/operator/test/e2e/scenario"
)

func TestActionlint(t *testing.T) {
	root, err := scenario.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ci.yml", "release.yml"} {
		if _, err := os.Stat(filepath.Join(root, ".github", "workflows", want)); err != nil {
			t.Errorf("workflow %s: %v", want, err)
		}
	}
	var out bytes.Buffer
	l, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.LintFiles(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("%s:%d:%d: %s [%s]", e.Filepath, e.Line, e.Column, e.Message, e.Kind)
	}
	if len(files) < 2 {
		t.Errorf("linted %d workflow files, want the two", len(files))
	}
}
