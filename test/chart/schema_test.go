package chart

import (
	"encoding/json"
	"slices"
	"sort"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestSchemaMatchesValues keeps values.schema.json and values.yaml one
// description of the chart's values: every key values.yaml sets has a
// schema entry of a type that admits its default, and every key the schema
// declares is in values.yaml (where users read what they can set), except
// the entries of maps values.yaml leaves empty for users to fill. helm lint
// (TestLint) checks that the defaults validate; TestBadValuesFailWithTheirName
// that bad values are refused.
func TestSchemaMatchesValues(t *testing.T) {
	var values map[string]any
	if err := yaml.Unmarshal([]byte(readFile(t, chartRel+"/values.yaml")), &values); err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal([]byte(readFile(t, chartRel+"/values.schema.json")), &schema); err != nil {
		t.Fatal(err)
	}
	checked := 0
	var walk func(path string, v any, s map[string]any)
	walk = func(path string, v any, s map[string]any) {
		checked++
		if !typeAdmits(s["type"], v) {
			t.Errorf("%s: values.yaml has %T %v, the schema's type is %v", path, v, v, s["type"])
		}
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		props, _ := s["properties"].(map[string]any)
		if s["additionalProperties"] != false && props == nil {
			return // a free-form map (annotations, labels, global)
		}
		for _, k := range sortedKeys(m) {
			ps, ok := props[k].(map[string]any)
			if !ok {
				t.Errorf("%s.%s is in values.yaml but not in the schema", path, k)
				continue
			}
			walk(path+"."+k, m[k], ps)
		}
		if len(m) == 0 {
			return // a map for users to fill, such as rateLimits.categories
		}
		for _, k := range sortedKeys(props) {
			if _, ok := m[k]; !ok && k != "global" {
				t.Errorf("%s.%s is in the schema but not in values.yaml: document it there with its default", path, k)
			}
		}
	}
	walk("values", values, schema)
	if checked < 50 {
		t.Errorf("only %d values checked: the walk is broken", checked)
	}
}

// typeAdmits reports whether a JSON schema type (a name or a list) admits
// a value decoded from YAML.
func typeAdmits(typ any, v any) bool {
	var types []string
	switch tt := typ.(type) {
	case nil:
		return true
	case string:
		types = []string{tt}
	case []any:
		for _, x := range tt {
			s, _ := x.(string)
			types = append(types, s)
		}
	}
	var got []string
	switch x := v.(type) {
	case map[string]any:
		got = []string{"object"}
	case []any:
		got = []string{"array"}
	case string:
		got = []string{"string"}
	case bool:
		got = []string{"boolean"}
	case float64:
		got = []string{"number"}
		if x == float64(int64(x)) {
			got = append(got, "integer")
		}
	case nil:
		got = []string{"null"}
	}
	for _, g := range got {
		if slices.Contains(types, g) {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
