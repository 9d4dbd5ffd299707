package chart

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// TestArgoCDHealthChecks runs the Argo CD health checks docs/install.md gives
// for both kinds, as Argo CD runs them (a Lua script with the object as the
// global obj), against the samples in config/samples in each state the
// operator reports.
func TestArgoCDHealthChecks(t *testing.T) {
	scripts := argoHealthScripts(t)
	samples := map[string]string{
		"ResourceServer": "config/samples/cognito_v1alpha1_resourceserver.yaml",
		"M2MClient":      "config/samples/cognito_v1alpha1_m2mclient.yaml",
	}
	cond := func(typ string, status metav1.ConditionStatus, reason, msg string, gen int64) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen,
			LastTransitionTime: metav1.Now()}
	}
	type state struct {
		name       string
		generation int64
		status     *v1alpha1.ResourceServerStatus // the fields both kinds share
		want       string
		message    string // a part of the message Argo CD shows
	}
	states := []state{
		{name: "just created", generation: 1, want: "Progressing", message: "Waiting for the operator"},
		{name: "ready", generation: 2, status: &v1alpha1.ResourceServerStatus{ObservedGeneration: 2,
			Conditions: []metav1.Condition{cond(v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReconciled, "in sync with Cognito", 2)}},
			want: "Healthy", message: "in sync with Cognito"},
		{name: "ready, retrying a throttled check", generation: 2, status: &v1alpha1.ResourceServerStatus{ObservedGeneration: 2,
			Conditions: []metav1.Condition{
				cond(v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReconciled, "in sync", 2),
				cond(v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonThrottled, "TooManyRequestsException", 2),
			}},
			want: "Healthy"},
		{name: "spec changed, not yet reconciled", generation: 3, status: &v1alpha1.ResourceServerStatus{ObservedGeneration: 2,
			Conditions: []metav1.Condition{cond(v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReconciled, "in sync", 2)}},
			want: "Progressing", message: "generation 3"},
		{name: "waiting", generation: 1, status: &v1alpha1.ResourceServerStatus{
			Conditions: []metav1.Condition{
				cond(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonScopesUnavailable, "resource server weather is not Ready", 1),
				cond(v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonScopesUnavailable, "resource server weather is not Ready", 1),
			}},
			want: "Progressing", message: "ScopesUnavailable: resource server weather is not Ready"},
		{name: "stalled", generation: 4, status: &v1alpha1.ResourceServerStatus{ObservedGeneration: 4,
			Conditions: []metav1.Condition{
				cond(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonUserPoolDenied, "spec.userPoolId eu-west-1_x is not allowed", 4),
				cond(v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonUserPoolDenied, "spec.userPoolId eu-west-1_x is not allowed", 4),
			}},
			want: "Degraded", message: "UserPoolNotAllowed: spec.userPoolId eu-west-1_x is not allowed"},
	}
	for kind, sample := range samples {
		script, ok := scripts[kind]
		if !ok {
			t.Errorf("docs/install.md has no health check for %s", kind)
			continue
		}
		var base map[string]any
		if err := yaml.Unmarshal([]byte(readFile(t, sample)), &base); err != nil {
			t.Fatal(err)
		}
		if base["kind"] != kind {
			t.Fatalf("%s is a %v, want %s", sample, base["kind"], kind)
		}
		for _, s := range states {
			t.Run(kind+"/"+s.name, func(t *testing.T) {
				obj := deepCopyJSON(t, base)
				obj["metadata"].(map[string]any)["generation"] = float64(s.generation)
				if s.status != nil {
					obj["status"] = deepCopyJSON(t, s.status)
				}
				status, message := runHealth(t, script, obj)
				if status != s.want || !strings.Contains(message, s.message) {
					t.Errorf("health %s %q, want %s with a message containing %q", status, message, s.want, s.message)
				}
			})
		}
	}
}

// argoHealthScripts are the Lua scripts of docs/install.md's argocd-cm
// snippet, by kind.
func argoHealthScripts(t *testing.T) map[string]string {
	t.Helper()
	doc := readFile(t, "docs/install.md")
	const key = "resource.customizations.health.cognito.m2m.dev_"
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(doc, -1)
	for _, b := range blocks {
		if !strings.Contains(b[1], key) {
			continue
		}
		var cm struct{ Data map[string]string }
		if err := yaml.Unmarshal([]byte(b[1]), &cm); err != nil {
			t.Fatalf("docs/install.md: the argocd-cm snippet is not YAML: %v", err)
		}
		out := map[string]string{}
		for k, v := range cm.Data {
			if kind, ok := strings.CutPrefix(k, key); ok {
				out[kind] = v
			}
		}
		return out
	}
	t.Fatalf("docs/install.md has no yaml block with %s<Kind> keys", key)
	return nil
}

// runHealth runs a health script as Argo CD does and returns hs.status and
// hs.message.
func runHealth(t *testing.T, script string, obj map[string]any) (string, string) {
	t.Helper()
	L := lua.NewState(lua.Options{SkipOpenLibs: false})
	defer L.Close()
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(script); err != nil {
		t.Fatalf("the script fails: %v", err)
	}
	hs, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("the script returned %v, want a table", L.Get(-1))
	}
	return hs.RawGetString("status").String(), hs.RawGetString("message").String()
}

// toLua converts decoded JSON as Argo CD does: objects and arrays to tables,
// numbers to Lua numbers.
func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		tb := L.NewTable()
		for k, e := range v {
			tb.RawSetString(k, toLua(L, e))
		}
		return tb
	case []any:
		tb := L.NewTable()
		for _, e := range v {
			tb.Append(toLua(L, e))
		}
		return tb
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case bool:
		return lua.LBool(v)
	case nil:
		return lua.LNil
	}
	panic("unexpected JSON value")
}

// deepCopyJSON is v as decoded JSON (maps, slices, float64).
func deepCopyJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
