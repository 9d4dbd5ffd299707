// Command gen writes the model package's tables (zz_generated.go) from
// cognito-idp.json, the subset of AWS's API model for Cognito user pools that
// the emulator serves. With -from it first takes that subset afresh from a
// whole botocore service-2.json.
//
//	go run ./gen                      # in internal/emulator/model (go generate)
//	go run ./gen -from service-2.json -commit <sha> -date <YYYY-MM-DD>
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/format"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// servedOperations are the operations the emulator serves; the emulator's
// tests check that this list and its own agree.
var servedOperations = []string{
	"CreateUserPool", "DescribeUserPool", "ListUserPools", "DeleteUserPool",
	"CreateUserPoolDomain", "DescribeUserPoolDomain", "DeleteUserPoolDomain",
	"CreateResourceServer", "DescribeResourceServer", "UpdateResourceServer", "DeleteResourceServer", "ListResourceServers",
	"CreateUserPoolClient", "DescribeUserPoolClient", "UpdateUserPoolClient", "DeleteUserPoolClient", "ListUserPoolClients",
	"AddUserPoolClientSecret", "ListUserPoolClientSecrets", "DeleteUserPoolClientSecret",
}

const (
	subsetFile    = "cognito-idp.json"
	generatedFile = "zz_generated.go"
)

func main() {
	from := flag.String("from", "", "whole botocore `service-2.json` to take the subset from (default: regenerate from "+subsetFile+")")
	commit := flag.String("commit", "", "botocore commit the -from file is at")
	date := flag.String("date", "", "that commit's date, YYYY-MM-DD")
	dir := flag.String("dir", ".", "the model package's directory")
	flag.Parse()
	if err := run(*dir, *from, *commit, *date); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(dir, from, commit, date string) error {
	subsetPath := filepath.Join(dir, subsetFile)
	if from != "" {
		if commit == "" || date == "" {
			return fmt.Errorf("-from needs -commit and -date, to record where the model came from")
		}
		whole, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		sub, err := subset(whole, source{
			Repository: "github.com/boto/botocore",
			Path:       "botocore/data/cognito-idp/2016-04-18/service-2.json",
			Commit:     commit, Date: date,
		})
		if err != nil {
			return err
		}
		if err := os.WriteFile(subsetPath, sub, 0o644); err != nil {
			return err
		}
	}
	sub, err := os.ReadFile(subsetPath)
	if err != nil {
		return err
	}
	out, err := generate(sub)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, generatedFile), out, 0o644)
}

type source struct {
	Repository string `json:"repository"`
	Path       string `json:"path"`
	Commit     string `json:"commit"`
	Date       string `json:"date"`
}

// subset keeps the served operations (input and errors), the shapes their
// inputs reach, and the service metadata, without documentation.
func subset(whole []byte, src source) ([]byte, error) {
	var m struct {
		Metadata   map[string]any            `json:"metadata"`
		Operations map[string]map[string]any `json:"operations"`
		Shapes     map[string]map[string]any `json:"shapes"`
	}
	if err := json.Unmarshal(whole, &m); err != nil {
		return nil, fmt.Errorf("parse model: %w", err)
	}
	ops := map[string]any{}
	keep := map[string]bool{}
	var walk func(string) error
	walk = func(name string) error {
		if keep[name] {
			return nil
		}
		s, ok := m.Shapes[name]
		if !ok {
			return fmt.Errorf("shape %s is not in the model", name)
		}
		keep[name] = true
		switch s["type"] {
		case "structure":
			for _, mem := range s["members"].(map[string]any) {
				if err := walk(mem.(map[string]any)["shape"].(string)); err != nil {
					return err
				}
			}
		case "list":
			return walk(s["member"].(map[string]any)["shape"].(string))
		case "map":
			if err := walk(s["key"].(map[string]any)["shape"].(string)); err != nil {
				return err
			}
			return walk(s["value"].(map[string]any)["shape"].(string))
		}
		return nil
	}
	for _, name := range servedOperations {
		op, ok := m.Operations[name]
		if !ok {
			return nil, fmt.Errorf("operation %s is not in the model", name)
		}
		input := op["input"].(map[string]any)["shape"].(string)
		var errs []string
		for _, e := range op["errors"].([]any) {
			errs = append(errs, e.(map[string]any)["shape"].(string))
		}
		errRefs := make([]any, len(errs))
		for i, e := range errs {
			errRefs[i] = map[string]any{"shape": e}
		}
		ops[name] = map[string]any{"name": name, "input": map[string]any{"shape": input}, "errors": errRefs}
		if err := walk(input); err != nil {
			return nil, err
		}
	}
	shapes := map[string]any{}
	for name := range keep {
		shapes[name] = stripDocs(m.Shapes[name])
	}
	meta := map[string]any{}
	for _, k := range []string{"apiVersion", "endpointPrefix", "jsonVersion", "protocol", "serviceFullName", "serviceId", "signatureVersion", "targetPrefix", "uid"} {
		if v, ok := m.Metadata[k]; ok {
			meta[k] = v
		}
	}
	out, err := json.MarshalIndent(map[string]any{
		"source": src, "metadata": meta, "operations": ops, "shapes": shapes,
	}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

func stripDocs(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range t {
			if k == "documentation" || k == "documentationUrl" {
				continue
			}
			out[k] = stripDocs(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = stripDocs(e)
		}
		return out
	}
	return v
}

type ref struct {
	Shape string `json:"shape"`
}

type shape struct {
	Type      string         `json:"type"`
	Min       *int64         `json:"min"`
	Max       *int64         `json:"max"`
	Pattern   string         `json:"pattern"`
	Enum      []string       `json:"enum"`
	Sensitive bool           `json:"sensitive"`
	Required  []string       `json:"required"`
	Members   map[string]ref `json:"members"`
	Member    *ref           `json:"member"`
	Key       *ref           `json:"key"`
	Value     *ref           `json:"value"`
}

// generate renders the Go tables of a subset.
func generate(sub []byte) ([]byte, error) {
	var m struct {
		Source     source `json:"source"`
		Operations map[string]struct {
			Input  ref   `json:"input"`
			Errors []ref `json:"errors"`
		} `json:"operations"`
		Shapes map[string]shape `json:"shapes"`
	}
	dec := json.NewDecoder(bytes.NewReader(sub))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", subsetFile, err)
	}
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("// Code generated by ./gen from %s; DO NOT EDIT.\n\n", subsetFile)
	p("package model\n\n")
	p("// Source is where the model subset comes from.\n")
	p("var Source = SourceInfo{Repository: %q, Path: %q, Commit: %q, Date: %q}\n\n",
		m.Source.Repository, m.Source.Path, m.Source.Commit, m.Source.Date)
	p("var operations = map[string]*Operation{\n")
	for _, name := range slices.Sorted(maps.Keys(m.Operations)) {
		o := m.Operations[name]
		errs := make([]string, len(o.Errors))
		for i, e := range o.Errors {
			errs[i] = e.Shape
		}
		p("\t%q: {Input: %q, Errors: %s},\n", name, o.Input.Shape, strs(errs))
	}
	p("}\n\n")
	p("var shapes = map[string]*Shape{\n")
	for _, name := range slices.Sorted(maps.Keys(m.Shapes)) {
		s := m.Shapes[name]
		var f []string
		f = append(f, "Type: "+strconv.Quote(s.Type))
		if s.Min != nil {
			f = append(f, fmt.Sprintf("Min: ptr(%d)", *s.Min))
		}
		if s.Max != nil {
			f = append(f, fmt.Sprintf("Max: ptr(%d)", *s.Max))
		}
		if s.Pattern != "" {
			goPat, err := translatePattern(s.Pattern)
			if err != nil {
				return nil, fmt.Errorf("shape %s: %w", name, err)
			}
			if _, err := regexp.Compile(goPat); err != nil {
				return nil, fmt.Errorf("shape %s: translated pattern %q: %w", name, goPat, err)
			}
			f = append(f, "Pattern: "+strconv.Quote(s.Pattern), "GoPattern: "+strconv.Quote(goPat))
		}
		if len(s.Enum) > 0 {
			f = append(f, "Enum: "+strs(s.Enum))
		}
		if s.Sensitive {
			f = append(f, "Sensitive: true")
		}
		if s.Type == "structure" {
			var ms []string
			for _, mn := range slices.Sorted(maps.Keys(s.Members)) {
				ms = append(ms, fmt.Sprintf("%q: %q", mn, s.Members[mn].Shape))
			}
			f = append(f, "Members: map[string]string{"+strings.Join(ms, ", ")+"}")
			if len(s.Required) > 0 {
				f = append(f, "Required: "+strs(s.Required))
			}
		}
		if s.Member != nil {
			f = append(f, "Member: "+strconv.Quote(s.Member.Shape))
		}
		if s.Key != nil {
			f = append(f, "Key: "+strconv.Quote(s.Key.Shape), "Value: "+strconv.Quote(s.Value.Shape))
		}
		p("\t%q: {%s},\n", name, strings.Join(f, ", "))
	}
	p("}\n\n")
	p("func ptr(v int64) *int64 { return &v }\n")
	return format.Source(b.Bytes())
}

func strs(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = strconv.Quote(s)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}

// Java's \s: space, \t, \n, \x0B, \f, \r (Go's \s lacks \x0B).
const javaSpace = `\t\n\x0B\f\r `

// Java's '.' without DOTALL matches anything but its line terminators.
const javaDot = `[^\n\r\x{85}\x{2028}\x{2029}]`

// translatePattern turns a model (Java) pattern into an anchored Go pattern
// that accepts the same strings as Java's Pattern.matches. It handles the
// constructs the model uses and refuses any other backslash class it does
// not know, so that a new construct is a generator error, not a silent
// difference.
func translatePattern(java string) (string, error) {
	dotAll := false
	src := java
	if rest, ok := strings.CutPrefix(src, "(?s)"); ok {
		dotAll, src = true, rest
	}
	// Anchors are implied by whole-value matching; the model writes them on some.
	src = strings.TrimPrefix(src, "^")
	if strings.HasSuffix(src, "$") && !strings.HasSuffix(src, `\$`) {
		src = strings.TrimSuffix(src, "$")
	}
	var out strings.Builder
	inClass := false
	classStart := 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\\':
			if i+1 >= len(src) {
				return "", fmt.Errorf("pattern %q ends with a backslash", java)
			}
			n := src[i+1]
			switch n {
			case 's':
				if inClass {
					out.WriteString(javaSpace)
				} else {
					out.WriteString("[" + javaSpace + "]")
				}
				i++
			case 'S':
				// [\S] alone is the one in-class use the model has.
				if inClass {
					if src[classStart:i] != "[" || i+2 >= len(src) || src[i+2] != ']' {
						return "", fmt.Errorf("pattern %q: \\S inside a larger class is not supported", java)
					}
					// Replace the "[" already written with the negated class.
					s := out.String()
					out.Reset()
					out.WriteString(s[:len(s)-1] + "[^" + javaSpace + "]")
					inClass = false
					i += 2
					continue
				}
				out.WriteString("[^" + javaSpace + "]")
				i++
			case 'w', 'd', 'x', '-', '{', '}', '.', '\\', '[', ']', '(', ')', '*', '+', '?', '/', '^', '$', '|':
				out.WriteByte('\\')
				out.WriteByte(n)
				i++
			case 'p':
				j := strings.IndexByte(src[i:], '}')
				if j < 0 {
					return "", fmt.Errorf("pattern %q: unterminated \\p", java)
				}
				out.WriteString(src[i : i+j+1])
				i += j
			default:
				return "", fmt.Errorf("pattern %q: unsupported escape \\%c", java, n)
			}
		case c == '[' && !inClass:
			inClass, classStart = true, i
			out.WriteByte(c)
		case c == ']' && inClass:
			inClass = false
			out.WriteByte(c)
		case c == '.' && !inClass && !dotAll:
			out.WriteString(javaDot)
		default:
			out.WriteByte(c)
		}
	}
	prefix := "^(?:"
	if dotAll {
		prefix = "(?s)^(?:"
	}
	return prefix + out.String() + `)$`, nil
}
