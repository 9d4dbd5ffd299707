package docs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Problem is one broken reference or block, at a line of a document.
type Problem struct {
	Line int
	Msg  string
}

func (p Problem) String() string { return fmt.Sprintf("line %d: %s", p.Line, p.Msg) }

// otherToolFlags are flags of Helm, kubectl and the AWS CLI that the docs name
// in inline code. Any other `--flag` in prose must be one of the manager's, the
// emulator's or the demo's.
var otherToolFlags = map[string]bool{
	"set": true, "set-string": true, "values": true, "namespace": true, "create-namespace": true,
	"reuse-values": true, "overwrite": true, "for": true, "timeout": true, "all-namespaces": true,
}

// Check returns the problems of one document. rel is its path from the
// repository's root, which relative links are resolved against.
func (r *Repo) Check(rel, text string) []Problem {
	md := ParseMarkdown(text)
	var out []Problem
	add := func(line int, msgs ...string) {
		for _, m := range msgs {
			out = append(out, Problem{Line: line, Msg: m})
		}
	}
	own := anchorSet(md.Headings)
	for _, l := range md.Links {
		add(l.Line, r.checkLink(rel, own, l.Target)...)
	}
	for _, s := range md.Spans {
		add(s.Line, r.checkSpan(s.Text)...)
	}
	for _, b := range md.Blocks {
		for _, p := range r.checkBlock(b) {
			add(b.Line+p.Line, p.Msg)
		}
	}
	return out
}

var schemeRe = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)

func (r *Repo) checkLink(rel string, own map[string]bool, target string) []string {
	if schemeRe.MatchString(target) {
		return nil // a URL: not this repository's to check offline
	}
	file, anchor, _ := strings.Cut(target, "#")
	anchors := own
	if file != "" {
		p := filepath.Join(r.Root, filepath.Dir(rel), filepath.FromSlash(file))
		if _, err := os.Stat(p); err != nil {
			return []string{fmt.Sprintf("link %q: %s does not exist", target, r.relative(p))}
		}
		if anchor == "" || !strings.HasSuffix(file, ".md") {
			return nil
		}
		a, err := r.anchorsOf(p)
		if err != nil {
			return []string{fmt.Sprintf("link %q: %v", target, err)}
		}
		anchors = a
	}
	if anchor != "" && !anchors[anchor] {
		return []string{fmt.Sprintf("link %q: no heading with anchor #%s", target, anchor)}
	}
	return nil
}

func (r *Repo) relative(p string) string {
	if rel, err := filepath.Rel(r.Root, p); err == nil {
		return filepath.ToSlash(rel)
	}
	return p
}

var (
	valuePathRe = regexp.MustCompile(`^([a-z][A-Za-z0-9]*)((?:\.(?:[A-Za-z0-9_-]+|"[^"]*"))+)(=.*)?$`)
	domainRe    = regexp.MustCompile(`\.(dev|com|io|org|net)$`)
)

// checkSpan checks an inline code span: a repository path, a flag, a chart value
// path, or a command line.
func (r *Repo) checkSpan(s string) []string {
	if strings.ContainsAny(s, " \t") {
		return r.checkCommands(s)
	}
	var out []string
	if p, ok := r.repoPath(s); ok {
		out = append(out, r.checkPath(p)...)
	}
	if name, ok := strings.CutPrefix(s, "--"); ok {
		name, _, _ = strings.Cut(name, "=")
		if name != "" && !otherToolFlags[name] && !r.anyCommandHasFlag(name) {
			out = append(out, fmt.Sprintf("`--%s` is not a flag of %s (a flag of another tool belongs in otherToolFlags)", name, r.commandList()))
		}
	}
	if m := valuePathRe.FindStringSubmatch(s); m != nil && !strings.Contains(s, "/") && !domainRe.MatchString(m[1]+m[2]) {
		if _, ok := r.values[m[1]]; ok {
			key, _, _ := strings.Cut(s, "=")
			out = append(out, r.checkValueKey(key)...)
		}
	}
	return out
}

func (r *Repo) anyCommandHasFlag(pattern string) bool {
	for _, flags := range r.flags {
		for f := range flags {
			if ok, _ := path.Match(pattern, f); ok {
				return true
			}
		}
	}
	return false
}

func (r *Repo) commandList() string {
	var names []string
	for n := range r.flags {
		names = append(names, "cmd/"+n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// repoPath reports whether s names a file of the repository, and which: a path
// whose first element is a top-level entry (docs/install.md, ./cmd/manager,
// test/..., examples/*/deploy.yaml) or a package of the module by import path.
func (r *Repo) repoPath(s string) (string, bool) {
	s = strings.Trim(s, `"'`)
	if rest, ok := strings.CutPrefix(s, ModulePath+"/"); ok {
		return rest, true
	}
	if s == "" || strings.ContainsAny(s, "$<>{}` \t") || strings.Contains(s, "://") || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "~") {
		return "", false
	}
	s = strings.TrimPrefix(s, "./")
	first, _, ok := strings.Cut(s, "/")
	if !ok || !r.topLevel[first] {
		return "", false
	}
	return s, true
}

func (r *Repo) checkPath(p string) []string {
	p = strings.TrimSuffix(strings.TrimSuffix(p, "/..."), "/")
	full := filepath.Join(r.Root, filepath.FromSlash(p))
	if strings.ContainsAny(p, "*?[") {
		if m, err := filepath.Glob(full); err != nil || len(m) == 0 {
			return []string{fmt.Sprintf("%s matches no file", p)}
		}
		return nil
	}
	if _, err := os.Stat(full); err != nil {
		return []string{fmt.Sprintf("%s does not exist", p)}
	}
	return nil
}

// checkValueKey checks a Helm --set key (a.b."c\.d"[0].e) against values.yaml.
func (r *Repo) checkValueKey(key string) []string {
	segs := splitValueKey(key)
	if !valueExists(r.values, segs) {
		return []string{fmt.Sprintf("chart value %s is not in %s/values.yaml", key, ChartDir)}
	}
	return nil
}

var indexRe = regexp.MustCompile(`\[\d+\]$`)

// splitValueKey splits a --set key on the dots that are not escaped or quoted.
func splitValueKey(key string) []string {
	var segs []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '\\' && i+1 < len(key):
			i++
			cur.WriteByte(key[i])
		case c == '"':
			quoted = !quoted
		case c == '.' && !quoted:
			segs = append(segs, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	segs = append(segs, cur.String())
	for i, s := range segs {
		segs[i] = indexRe.ReplaceAllString(s, "")
	}
	return segs
}

// valueExists walks values.yaml along a key. Maps left empty in values.yaml
// (annotations, categories), lists and empty values take any key below them.
func valueExists(values map[string]any, segs []string) bool {
	var cur any = values
	for _, s := range segs {
		switch c := cur.(type) {
		case map[string]any:
			if len(c) == 0 {
				return true
			}
			v, ok := c[s]
			if !ok {
				return false
			}
			cur = v
		case []any, nil:
			return true
		default:
			return false
		}
	}
	return true
}

// checkValuesTree checks every key of a values file against values.yaml.
func checkValuesTree(values map[string]any, doc map[string]any, prefix string) []string {
	var out []string
	for k, v := range doc {
		def, ok := values[k]
		if !ok {
			if len(values) > 0 {
				out = append(out, fmt.Sprintf("chart value %s%s is not in %s/values.yaml", prefix, k, ChartDir))
			}
			continue
		}
		sub, isMap := v.(map[string]any)
		defMap, defIsMap := def.(map[string]any)
		if isMap && defIsMap && len(defMap) > 0 {
			out = append(out, checkValuesTree(defMap, sub, prefix+k+".")...)
		}
	}
	slices.Sort(out)
	return out
}

// checkBlock checks a fenced block by its language. Problems' lines are relative
// to the opening fence.
func (r *Repo) checkBlock(b Block) []Problem {
	var out []Problem
	add := func(line int, msgs ...string) {
		for _, m := range msgs {
			out = append(out, Problem{Line: line, Msg: m})
		}
	}
	switch b.Lang {
	case "yaml", "yml":
		docs, err := parseYAMLDocs(b.Body)
		if err != nil {
			add(0, fmt.Sprintf("yaml block does not parse: %v", err))
			break
		}
		if isValuesBlock(b.Body) {
			for _, d := range docs {
				m, ok := d.(map[string]any)
				if !ok {
					add(0, "values block is not a map")
					continue
				}
				add(0, checkValuesTree(r.values, m, "")...)
			}
		}
	case "json":
		if !json.Valid([]byte(b.Body)) {
			var v any
			add(0, fmt.Sprintf("json block does not parse: %v", json.Unmarshal([]byte(b.Body), &v)))
		}
	case "sh", "bash", "shell":
		if err := bashSyntax(b.Body); err != nil {
			add(0, fmt.Sprintf("%s block fails bash -n: %v", b.Lang, err))
		}
		for _, l := range logicalLines(b.Body) {
			add(l.n, r.checkCommands(l.text)...)
		}
	case "console":
		var cmds []string
		for i, line := range strings.Split(b.Body, "\n") {
			if cmd, ok := strings.CutPrefix(line, "$ "); ok {
				cmds = append(cmds, cmd)
				add(i+1, r.checkCommands(cmd)...)
			}
		}
		if err := bashSyntax(strings.Join(cmds, "\n")); err != nil {
			add(0, fmt.Sprintf("console block's commands fail bash -n: %v", err))
		}
	case "go":
		for _, p := range checkGo(b.Body) {
			add(p.Line, p.Msg)
		}
	}
	return out
}

var valuesCommentRe = regexp.MustCompile(`^#\s*values\.yaml\b`)

// isValuesBlock: a yaml block whose first line is a `# values.yaml ...` comment
// holds chart values.
func isValuesBlock(body string) bool {
	first, _, _ := strings.Cut(strings.TrimLeft(body, "\n"), "\n")
	return valuesCommentRe.MatchString(strings.TrimSpace(first))
}

// parseYAMLDocs parses every document of a YAML stream.
func parseYAMLDocs(s string) ([]any, error) {
	rd := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(s)))
	var out []any
	for {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		var v any
		if err := utilyaml.Unmarshal(doc, &v); err != nil {
			return nil, err
		}
		if v != nil {
			out = append(out, v)
		}
	}
}

// bashSyntax runs bash -n over a script.
func bashSyntax(script string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-n")
	cmd.Stdin = strings.NewReader(script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

type logicalLine struct {
	n    int // line of its first physical line, 1-based
	text string
}

// logicalLines joins lines continued with a trailing backslash.
func logicalLines(body string) []logicalLine {
	var out []logicalLine
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(body, "\n") {
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\"))
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(line)
		out = append(out, logicalLine{n: start, text: cur.String()})
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, logicalLine{n: start, text: cur.String()})
	}
	return out
}

// checkCommands checks the commands of one shell line: make targets, the flags
// given to the manager, the emulator or the demo, Helm's --set keys, and
// repository paths.
func (r *Repo) checkCommands(line string) []string {
	var out []string
	for _, words := range splitCommands(line) {
		for i, w := range words {
			if arg, ok := strings.CutPrefix(w, "--set"); ok && (arg == "" || arg == "-string" || strings.HasPrefix(arg, "=") || strings.HasPrefix(arg, "-string=")) {
				_, val, inline := strings.Cut(w, "=")
				if !inline {
					if i+1 >= len(words) {
						continue
					}
					val = words[i+1]
				}
				for _, kv := range splitSetList(val) {
					key, _, _ := strings.Cut(kv, "=")
					out = append(out, r.checkValueKey(key)...)
				}
			}
			cand := w
			if strings.HasPrefix(w, "-") || assignRe.MatchString(w) {
				_, cand, _ = strings.Cut(w, "=")
			}
			cand = strings.TrimPrefix(cand, "file://")
			if p, ok := r.repoPath(cand); ok {
				out = append(out, r.checkPath(p)...)
			}
		}
		for len(words) > 0 && (assignRe.MatchString(words[0]) || words[0] == "sudo") {
			words = words[1:]
		}
		if len(words) == 0 {
			continue
		}
		if words[0] == "make" {
			for _, w := range words[1:] {
				if !strings.HasPrefix(w, "-") && !assignRe.MatchString(w) && !r.targets[w] {
					out = append(out, fmt.Sprintf("make target %q is not in the Makefile", w))
				}
			}
			continue
		}
		if prog, args, ok := r.program(words); ok {
			for _, a := range args {
				name, isFlag := strings.CutPrefix(a, "-")
				if !isFlag {
					continue
				}
				name, _, _ = strings.Cut(strings.TrimPrefix(name, "-"), "=")
				if name != "h" && name != "help" && !r.flags[prog][name] {
					out = append(out, fmt.Sprintf("%s is not a flag of cmd/%s", a, prog))
				}
			}
		}
	}
	return out
}

var assignRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// program finds an invocation of one of the repository's commands (go run
// ./cmd/X, bin/X, or X on the PATH) and returns its arguments.
func (r *Repo) program(words []string) (string, []string, bool) {
	if len(words) >= 3 && words[0] == "go" && words[1] == "run" {
		for i, w := range words[2:] {
			if strings.HasPrefix(w, "-") {
				continue
			}
			if name, ok := strings.CutPrefix(strings.TrimPrefix(w, "./"), "cmd/"); ok {
				if _, known := r.flags[strings.TrimSuffix(name, "/")]; known {
					return strings.TrimSuffix(name, "/"), words[3+i:], true
				}
			}
			return "", nil, false
		}
		return "", nil, false
	}
	base := path.Base(words[0])
	if _, known := r.flags[base]; known && (strings.Contains(words[0], "/") || base == "cognito-emulator") {
		return base, words[1:], true
	}
	return "", nil, false
}

// splitSetList splits a --set value into its comma-separated assignments,
// leaving commas inside {lists} and escaped commas alone.
func splitSetList(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// splitCommands splits a shell line into commands (at ; & | ( ) and newlines)
// and each command into words, removing quotes as the shell does and dropping
// comments. It is enough for the docs' one-line commands, not a shell parser.
func splitCommands(line string) [][]string {
	var cmds [][]string
	var words []string
	var cur strings.Builder
	inWord := false
	endWord := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
			words = nil
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			inWord = true
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				j = len(line) - i - 1
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			for i++; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte("$`\"\\", line[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(line[i])
			}
			inWord = true
		case c == '#' && !inWord:
			i = len(line)
		case c == ' ' || c == '\t':
			endWord()
		case strings.IndexByte(";&|()\n", c) >= 0:
			endCmd()
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	endCmd()
	return cmds
}

// checkGo parses a Go block (a whole file, or statements that are wrapped in a
// function) and reports calls whose last result, the error by convention, is
// assigned to the blank identifier.
func checkGo(body string) []Problem {
	src, offset := body, 0
	if !regexp.MustCompile(`(?m)^package \w+`).MatchString(body) {
		src, offset = "package snippet\n\nfunc _() {\n"+body+"\n}\n", 3
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "snippet.go", src, 0)
	if err != nil {
		return []Problem{{Line: 0, Msg: fmt.Sprintf("go block does not parse: %v", err)}}
	}
	var out []Problem
	ast.Inspect(f, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) < 2 || len(as.Rhs) != 1 {
			return true
		}
		if _, call := as.Rhs[0].(*ast.CallExpr); !call {
			return true
		}
		if id, ok := as.Lhs[len(as.Lhs)-1].(*ast.Ident); ok && id.Name == "_" {
			out = append(out, Problem{
				Line: fset.Position(as.Pos()).Line - offset,
				Msg:  "go block drops an error (" + strconv.Quote(nodeText(src, fset, as)) + "): handle it, as readers copy snippets",
			})
		}
		return true
	})
	return out
}

func nodeText(src string, fset *token.FileSet, n ast.Node) string {
	return src[fset.Position(n.Pos()).Offset:fset.Position(n.End()).Offset]
}
