package docs

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// ModulePath is the operator's Go module; docs may name its packages by it.
const ModulePath = "github.com/cognito-m2m/operator"

// ChartDir is the chart whose values the docs set.
const ChartDir = "charts/cognito-m2m-operator"

// Repo is what exists in the repository, read from its own sources.
type Repo struct {
	Root string
	// topLevel holds the repository's top-level files and directories, except
	// the build outputs .gitignore names (bin/, tmp/): a path in the docs is a
	// repository path when its first element is one of these.
	topLevel map[string]bool
	// targets are the Makefile's targets.
	targets map[string]bool
	// flags are the flags of each command in cmd/, by the command's name.
	flags map[string]map[string]bool
	// values is the chart's values.yaml.
	values map[string]any
	// anchors caches the heading anchors of Markdown files, by path.
	anchors map[string]map[string]bool
}

// FindRoot returns the directory of the operator's go.mod at or above dir.
func FindRoot(dir string) (string, error) {
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			sc := bufio.NewScanner(bytes.NewReader(b))
			for sc.Scan() {
				if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "module" && f[1] == ModulePath {
					return dir, nil
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of module %s at or above the working directory", ModulePath)
		}
		dir = parent
	}
}

// LoadRepo reads the repository at root: its top-level entries, the Makefile's
// targets, the flags of each command in cmd/, and the chart's values.
func LoadRepo(root string) (*Repo, error) {
	r := &Repo{Root: root, anchors: map[string]map[string]bool{}}
	var errs []error
	var err error
	if r.topLevel, err = readTopLevel(root); err != nil {
		errs = append(errs, err)
	}
	if r.targets, err = readMakeTargets(filepath.Join(root, "Makefile")); err != nil {
		errs = append(errs, err)
	}
	if r.flags, err = readCommandFlags(filepath.Join(root, "cmd")); err != nil {
		errs = append(errs, err)
	}
	if r.values, err = readValues(filepath.Join(root, ChartDir, "values.yaml")); err != nil {
		errs = append(errs, err)
	}
	return r, errors.Join(errs...)
}

func readTopLevel(root string) (map[string]bool, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("listing the repository: %w", err)
	}
	ignored := map[string]bool{}
	if b, err := os.ReadFile(filepath.Join(root, ".gitignore")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, ok := strings.CutPrefix(strings.TrimSpace(line), "/"); ok {
				ignored[strings.TrimSuffix(name, "/")] = true
			}
		}
	}
	out := map[string]bool{}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") && !ignored[e.Name()] {
			out[e.Name()] = true
		}
	}
	return out, nil
}

var makeRuleRe = regexp.MustCompile(`^([A-Za-z0-9_./%-]+(?:[ \t]+[A-Za-z0-9_./%-]+)*)[ \t]*:(?:[^=]|$)`)

// readMakeTargets returns the targets of the Makefile's rules and .PHONY lines.
// Rules whose target is a variable ($(HELM)) are files, not commands to document.
func readMakeTargets(path string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the Makefile: %w", err)
	}
	out := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, ".PHONY:"); ok {
			for _, t := range strings.Fields(rest) {
				out[t] = true
			}
			continue
		}
		if m := makeRuleRe.FindStringSubmatch(line); m != nil {
			for _, t := range strings.Fields(m[1]) {
				if !strings.HasPrefix(t, ".") {
					out[t] = true
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no targets found in %s", path)
	}
	return out, nil
}

// flagDefiners are the flag package's functions and FlagSet methods that define
// a flag; the flag's name is their first string literal argument.
var flagDefiners = map[string]bool{
	"Bool": true, "BoolVar": true, "BoolFunc": true, "Duration": true, "DurationVar": true,
	"Float64": true, "Float64Var": true, "Func": true, "Int": true, "IntVar": true,
	"Int64": true, "Int64Var": true, "String": true, "StringVar": true, "TextVar": true,
	"Uint": true, "UintVar": true, "Uint64": true, "Uint64Var": true, "Var": true,
}

// readCommandFlags returns the flags each command in cmdDir defines, read from
// its Go source. A command that binds controller-runtime's zap options
// (BindFlags) also gets those, read from zap itself.
func readCommandFlags(cmdDir string) (map[string]map[string]bool, error) {
	dirs, err := os.ReadDir(cmdDir)
	if err != nil {
		return nil, fmt.Errorf("listing commands: %w", err)
	}
	out := map[string]map[string]bool{}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		flags := map[string]bool{}
		fset := token.NewFileSet()
		files, err := filepath.Glob(filepath.Join(cmdDir, d.Name(), "*.go"))
		if err != nil {
			return nil, err
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return nil, fmt.Errorf("parsing %s: %w", path, err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if sel.Sel.Name == "BindFlags" {
					for name := range zapFlags() {
						flags[name] = true
					}
				}
				if !flagDefiners[sel.Sel.Name] {
					return true
				}
				for _, arg := range call.Args {
					if lit, ok := arg.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if name, err := strconv.Unquote(lit.Value); err == nil {
							flags[name] = true
						}
						break
					}
				}
				return true
			})
		}
		if len(flags) > 0 {
			out[d.Name()] = flags
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no command in %s defines a flag", cmdDir)
	}
	return out, nil
}

// zapFlags are the logging flags controller-runtime's zap options bind.
func zapFlags() map[string]bool {
	fs := flag.NewFlagSet("zap", flag.ContinueOnError)
	(&zap.Options{}).BindFlags(fs)
	out := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { out[f.Name] = true })
	return out
}

func readValues(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the chart's values: %w", err)
	}
	var v map[string]any
	if err := utilyaml.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return v, nil
}

// anchorsOf returns the heading anchors of a Markdown file of the repository.
func (r *Repo) anchorsOf(path string) (map[string]bool, error) {
	if a, ok := r.anchors[path]; ok {
		return a, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	a := anchorSet(ParseMarkdown(string(b)).Headings)
	r.anchors[path] = a
	return a, nil
}

// anchorSet is the anchors of headings; a repeated heading gets -1, -2, ... as on
// GitHub.
func anchorSet(headings []string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, h := range headings {
		a := Anchor(h)
		if n := seen[a]; n > 0 {
			out[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}
