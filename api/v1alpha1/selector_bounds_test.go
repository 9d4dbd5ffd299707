package v1alpha1_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/kubetest"
)

// A ResourceServer's namespace selector is a tenant's input that the operator
// holds in memory and evaluates against every namespace: the CRD bounds it as
// Kubernetes bounds labels (at most 16 matchLabels and 16 matchExpressions of at
// most 64 values; keys and values with the label rules' lengths), and the API
// server's refusal names the field. The selectors at those bounds are accepted.
func TestSelectorBoundsAtApply(t *testing.T) {
	c := crdServer(t)
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}); err != nil {
		t.Fatal(err)
	}
	labels := func(n int) map[string]v1alpha1.LabelValue {
		m := map[string]v1alpha1.LabelValue{}
		for i := range n {
			m[fmt.Sprintf("example.com/k%02d", i)] = "v"
		}
		return m
	}
	values := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("team-%d", i))
		}
		return out
	}
	exprs := func(n int) []v1alpha1.NamespaceSelectorRequirement {
		var out []v1alpha1.NamespaceSelectorRequirement
		for i := range n {
			out = append(out, v1alpha1.NamespaceSelectorRequirement{Key: fmt.Sprintf("k%d", i), Operator: metav1.LabelSelectorOpExists})
		}
		return out
	}
	in := func(vals ...string) []v1alpha1.NamespaceSelectorRequirement {
		var vs []v1alpha1.LabelValue
		for _, v := range vals {
			vs = append(vs, v1alpha1.LabelValue(v))
		}
		return []v1alpha1.NamespaceSelectorRequirement{{Key: "team", Operator: metav1.LabelSelectorOpIn, Values: vs}}
	}
	longPrefix := strings.Repeat("a", 250) + ".io" // 253
	server := func(name string, sel *v1alpha1.NamespaceSelector, onScope bool) *v1alpha1.ResourceServer {
		rs := &v1alpha1.ResourceServer{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name},
			Spec: v1alpha1.ResourceServerSpec{Identifier: name, Name: name,
				Scopes: []v1alpha1.ResourceServerScope{{Name: "read", Description: "read"}}},
		}
		if onScope {
			rs.Spec.Scopes[0].AllowedNamespaces = &v1alpha1.NamespaceGrant{Selector: sel}
		} else {
			rs.Spec.AllowedNamespaces = &v1alpha1.NamespaceGrant{Selector: sel}
		}
		return rs
	}
	const top, scoped = "spec.allowedNamespaces.selector", "spec.scopes[0].allowedNamespaces.selector"

	refused := []struct {
		name    string
		sel     *v1alpha1.NamespaceSelector
		onScope bool
		field   string
	}{
		{"17 matchLabels", &v1alpha1.NamespaceSelector{MatchLabels: labels(17)}, false, top + ".matchLabels"},
		{"17 matchLabels on a scope", &v1alpha1.NamespaceSelector{MatchLabels: labels(17)}, true, scoped + ".matchLabels"},
		{"a label value of 64 characters", &v1alpha1.NamespaceSelector{MatchLabels: map[string]v1alpha1.LabelValue{"team": v1alpha1.LabelValue(strings.Repeat("a", 64))}}, false, top + ".matchLabels"},
		{"a label key's name of 64 characters", &v1alpha1.NamespaceSelector{MatchLabels: map[string]v1alpha1.LabelValue{strings.Repeat("k", 64): "a"}}, false, top + ".matchLabels"},
		{"a label key's prefix of 254 characters", &v1alpha1.NamespaceSelector{MatchLabels: map[string]v1alpha1.LabelValue{"b" + longPrefix + "/k": "a"}}, false, top + ".matchLabels"},
		{"a label key that is a path", &v1alpha1.NamespaceSelector{MatchLabels: map[string]v1alpha1.LabelValue{"a/../b": "a"}}, false, top + ".matchLabels"},
		{"a megabyte label value", &v1alpha1.NamespaceSelector{MatchLabels: map[string]v1alpha1.LabelValue{"team": v1alpha1.LabelValue(strings.Repeat("a", 1<<20))}}, false, top + ".matchLabels"},
		{"17 matchExpressions", &v1alpha1.NamespaceSelector{MatchExpressions: exprs(17)}, false, top + ".matchExpressions"},
		{"17 matchExpressions on a scope", &v1alpha1.NamespaceSelector{MatchExpressions: exprs(17)}, true, scoped + ".matchExpressions"},
		{"an expression of 65 values", &v1alpha1.NamespaceSelector{MatchExpressions: in(values(65)...)}, false, top + ".matchExpressions"},
		{"an expression value of 64 characters", &v1alpha1.NamespaceSelector{MatchExpressions: in("a", strings.Repeat("a", 64))}, false, top + ".matchExpressions"},
		{"an unknown operator", &v1alpha1.NamespaceSelector{MatchExpressions: []v1alpha1.NamespaceSelectorRequirement{
			{Key: "team", Operator: "Bogus"}}}, false, top + ".matchExpressions[0].operator"},
		{"In without values", &v1alpha1.NamespaceSelector{MatchExpressions: []v1alpha1.NamespaceSelectorRequirement{
			{Key: "team", Operator: metav1.LabelSelectorOpIn}}}, false, top + ".matchExpressions[0]"},
		{"Exists with values", &v1alpha1.NamespaceSelector{MatchExpressions: []v1alpha1.NamespaceSelectorRequirement{
			{Key: "team", Operator: metav1.LabelSelectorOpExists, Values: []v1alpha1.LabelValue{"a"}}}}, true, scoped + ".matchExpressions[0]"},
		{"an expression key's name of 64 characters", &v1alpha1.NamespaceSelector{MatchExpressions: []v1alpha1.NamespaceSelectorRequirement{
			{Key: strings.Repeat("k", 64), Operator: metav1.LabelSelectorOpExists}}}, false, top + ".matchExpressions"},
	}
	for i, tc := range refused {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			err := c.Create(ctx, server(fmt.Sprintf("refused-%d", i), tc.sel, tc.onScope))
			if err == nil {
				t.Fatalf("accepted; want a refusal naming %s", tc.field)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("the refusal does not name %s: %.600s", tc.field, err)
			}
		})
	}

	accepted := []struct {
		name    string
		sel     *v1alpha1.NamespaceSelector
		onScope bool
	}{
		{"16 matchLabels with 253-character prefixes and 63-character names and values", &v1alpha1.NamespaceSelector{MatchLabels: func() map[string]v1alpha1.LabelValue {
			m := map[string]v1alpha1.LabelValue{}
			for i := range 16 {
				m[fmt.Sprintf("%s/%s%02d", longPrefix, strings.Repeat("k", 61), i)] = v1alpha1.LabelValue(strings.Repeat("v", 63))
			}
			return m
		}()}, false},
		{"an empty label value", &v1alpha1.NamespaceSelector{MatchLabels: map[string]v1alpha1.LabelValue{"team": ""}}, false},
		{"16 expressions of 64 values of 63 characters, on a scope", &v1alpha1.NamespaceSelector{MatchExpressions: func() []v1alpha1.NamespaceSelectorRequirement {
			var out []v1alpha1.NamespaceSelectorRequirement
			for i := range 16 {
				var vals []v1alpha1.LabelValue
				for j := range 64 {
					vals = append(vals, v1alpha1.LabelValue(fmt.Sprintf("%s%03d", strings.Repeat("v", 60), j)))
				}
				out = append(out, v1alpha1.NamespaceSelectorRequirement{Key: fmt.Sprintf("example.com/k%d", i), Operator: metav1.LabelSelectorOpNotIn, Values: vals})
			}
			return out
		}()}, true},
		{"an empty selector", &v1alpha1.NamespaceSelector{}, false},
	}
	for i, tc := range accepted {
		t.Run("accepts "+tc.name, func(t *testing.T) {
			if err := c.Create(ctx, server(fmt.Sprintf("accepted-%d", i), tc.sel, tc.onScope)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// crdServer starts a real etcd and kube-apiserver with the project's CRDs.
func crdServer(t *testing.T) client.Client {
	t.Helper()
	logf.SetLogger(logr.Discard())
	cfg, _ := kubetest.Start(t, true)
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
