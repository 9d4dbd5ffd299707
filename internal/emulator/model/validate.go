package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Violation is one request member that breaks a constraint of the model, in the
// words AWS's validation messages use.
type Violation struct {
	// Path is the member as AWS names it in messages: lower-camel member names,
	// list entries as "<list>.<n>.member" (from 1), map entries under the map.
	Path string
	// Value is the offending value as AWS quotes it; empty for a missing or
	// sensitive member.
	Value string
	// Constraint is AWS's wording, such as "Member must not be null" or
	// "Member must have length less than or equal to 128".
	Constraint string
	// Null: the member is required and missing.
	Null bool
}

// String renders the violation as AWS's validation messages do.
func (v Violation) String() string {
	switch {
	case v.Null:
		return fmt.Sprintf("Value null at '%s' failed to satisfy constraint: %s", v.Path, v.Constraint)
	case v.Value == "":
		return fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", v.Path, v.Constraint)
	}
	return fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", v.Value, v.Path, v.Constraint)
}

// Message renders violations as one AWS validation message:
// "2 validation errors detected: ...; ...".
func Message(vs []Violation) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	noun := "errors"
	if len(vs) == 1 {
		noun = "error"
	}
	return fmt.Sprintf("%d validation %s detected: %s", len(vs), noun, strings.Join(parts, "; "))
}

// TypeError is a request member of the wrong JSON type, which AWS answers with
// a SerializationException rather than a validation error.
type TypeError struct {
	Path, Want string
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("cannot deserialize the value at '%s': want %s", e.Path, e.Want)
}

// ValidateInput checks an operation's JSON request body against its input shape.
// It returns the violations in member order, or a *TypeError (or a JSON syntax
// error) when the body does not have the shape's types at all. skip names
// members, as "Shape.Member", whose model constraints the caller checks itself.
func ValidateInput(op string, body []byte, skip map[string]bool) ([]Violation, error) {
	o := operations[op]
	if o == nil {
		return nil, fmt.Errorf("operation %s is not in the model", op)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var out []Violation
	if err := check(shapes[o.Input], v, "", skip, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Check validates one value (as decoded from JSON, numbers as json.Number or
// Go numbers) against the shape, as the member at path.
func (s *Shape) Check(v any, path string) ([]Violation, error) {
	var out []Violation
	err := check(s, v, path, nil, &out)
	return out, err
}

// memberPath is how AWS names a member in messages: its name with a lower-case
// first letter, under its parent.
func memberPath(parent, member string) string {
	r, n := utf8.DecodeRuneInString(member)
	name := strings.ToLower(string(r)) + member[n:]
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func check(s *Shape, v any, path string, skip map[string]bool, out *[]Violation) error {
	if v == nil {
		return nil // JSON null is a missing member
	}
	switch s.Type {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			return &TypeError{path, "an object"}
		}
		for _, name := range s.MemberNames() {
			p := memberPath(path, name)
			mv, present := obj[name]
			if skip[s.Name+"."+name] {
				continue
			}
			if !present || mv == nil {
				if s.IsRequired(name) {
					*out = append(*out, Violation{Path: p, Constraint: "Member must not be null", Null: true})
				}
				continue
			}
			if err := check(shapes[s.Members[name]], mv, p, skip, out); err != nil {
				return err
			}
		}
	case "list":
		arr, ok := v.([]any)
		if !ok {
			return &TypeError{path, "an array"}
		}
		s.checkSize(len(arr), path, "", out)
		member := shapes[s.Member]
		if len(member.Enum) > 0 {
			// AWS reports enum violations of list members once, on the list.
			for _, e := range arr {
				if str, ok := e.(string); ok && !member.allows(str) {
					*out = append(*out, Violation{Path: path, Value: listValue(arr),
						Constraint: "Member must satisfy constraint: [" + member.enumConstraint() + "]"})
					break
				}
			}
		}
		for i, e := range arr {
			if e == nil {
				continue
			}
			p := path + "." + strconv.Itoa(i+1) + ".member"
			if len(member.Enum) > 0 {
				if _, ok := e.(string); !ok {
					return &TypeError{p, "a string"}
				}
				continue
			}
			if err := check(member, e, p, skip, out); err != nil {
				return err
			}
		}
	case "map":
		obj, ok := v.(map[string]any)
		if !ok {
			return &TypeError{path, "an object"}
		}
		s.checkSize(len(obj), path, "", out)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		key, val := shapes[s.Key], shapes[s.Value]
		for _, k := range keys {
			var kv []Violation
			key.checkString(k, path, &kv)
			for _, x := range kv {
				*out = append(*out, Violation{Path: path, Constraint: "Map keys must satisfy constraint: [" + x.Constraint + "]"})
			}
			if obj[k] == nil {
				continue
			}
			var vv []Violation
			if err := check(val, obj[k], path, skip, &vv); err != nil {
				return err
			}
			for _, x := range vv {
				*out = append(*out, Violation{Path: path, Constraint: "Map value must satisfy constraint: [" + x.Constraint + "]"})
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return &TypeError{path, "a string"}
		}
		s.checkString(str, path, out)
	case "integer", "long":
		n, ok := integer(v)
		if !ok {
			return &TypeError{path, "an integer"}
		}
		val := strconv.FormatInt(n, 10)
		if s.Min != nil && n < *s.Min {
			*out = append(*out, Violation{Path: path, Value: val, Constraint: "Member must have value greater than or equal to " + strconv.FormatInt(*s.Min, 10)})
		}
		if s.Max != nil && n > *s.Max {
			*out = append(*out, Violation{Path: path, Value: val, Constraint: "Member must have value less than or equal to " + strconv.FormatInt(*s.Max, 10)})
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return &TypeError{path, "a boolean"}
		}
	case "timestamp":
		if _, ok := integer(v); !ok {
			if _, isNum := v.(json.Number); !isNum {
				return &TypeError{path, "a timestamp"}
			}
		}
	}
	return nil
}

// checkString applies a string shape's enum, length and pattern.
func (s *Shape) checkString(str, path string, out *[]Violation) {
	quoted := str
	if s.Sensitive {
		quoted = ""
	}
	if len(s.Enum) > 0 {
		if !s.allows(str) {
			*out = append(*out, Violation{Path: path, Value: quoted, Constraint: s.enumConstraint()})
		}
		return
	}
	s.checkSize(utf8.RuneCountInString(str), path, quoted, out)
	if s.re != nil && !s.re.MatchString(str) {
		*out = append(*out, Violation{Path: path, Value: quoted, Constraint: "Member must satisfy regular expression pattern: " + s.Pattern})
	}
}

// checkSize applies length bounds: characters of a string, entries of a list
// or map.
func (s *Shape) checkSize(n int, path, quoted string, out *[]Violation) {
	if s.Min != nil && int64(n) < *s.Min {
		*out = append(*out, Violation{Path: path, Value: quoted, Constraint: "Member must have length greater than or equal to " + strconv.FormatInt(*s.Min, 10)})
	}
	if s.Max != nil && int64(n) > *s.Max {
		*out = append(*out, Violation{Path: path, Value: quoted, Constraint: "Member must have length less than or equal to " + strconv.FormatInt(*s.Max, 10)})
	}
}

func (s *Shape) allows(v string) bool {
	for _, e := range s.Enum {
		if e == v {
			return true
		}
	}
	return false
}

func (s *Shape) enumConstraint() string {
	return "Member must satisfy enum value set: [" + strings.Join(s.Enum, ", ") + "]"
}

func listValue(arr []any) string {
	parts := make([]string, len(arr))
	for i, e := range arr {
		parts[i] = fmt.Sprint(e)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// integer reads a whole JSON number; a fraction or an out-of-range value is not
// one.
func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := strconv.ParseInt(string(n), 10, 64)
		return i, err == nil
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		if n == float64(int64(n)) {
			return int64(n), true
		}
	}
	return 0, false
}
