package controllers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

func TestGranted(t *testing.T) {
	ns := func(name string, labels map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	sel := &v1alpha1.NamespaceSelector{MatchLabels: map[string]v1alpha1.LabelValue{"team": "a"}}
	tests := map[string]struct {
		server *v1alpha1.NamespaceGrant
		scope  *v1alpha1.NamespaceGrant
		ns     *corev1.Namespace
		want   bool
	}{
		"own namespace always":             {nil, &v1alpha1.NamespaceGrant{}, ns("home", nil), true},
		"no grant":                         {nil, nil, ns("other", nil), false},
		"by name":                          {&v1alpha1.NamespaceGrant{Names: []string{"other"}}, nil, ns("other", nil), true},
		"by label":                         {&v1alpha1.NamespaceGrant{Selector: sel}, nil, ns("x", map[string]string{"team": "a"}), true},
		"label does not match":             {&v1alpha1.NamespaceGrant{Selector: sel}, nil, ns("x", map[string]string{"team": "b"}), false},
		"empty selector selects all":       {&v1alpha1.NamespaceGrant{Selector: &v1alpha1.NamespaceSelector{}}, nil, ns("x", nil), true},
		"scope narrows the server's grant": {&v1alpha1.NamespaceGrant{Names: []string{"x", "y"}}, &v1alpha1.NamespaceGrant{Names: []string{"y"}}, ns("x", nil), false},
		"scope grant alone grants nothing": {nil, &v1alpha1.NamespaceGrant{Names: []string{"x"}}, ns("x", nil), false},
		"malformed selector grants nothing": {&v1alpha1.NamespaceGrant{Selector: &v1alpha1.NamespaceSelector{MatchExpressions: []v1alpha1.NamespaceSelectorRequirement{{Key: "team", Operator: "Bogus"}}}},
			nil, ns("x", map[string]string{"team": "a"}), false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rs := &v1alpha1.ResourceServer{ObjectMeta: metav1.ObjectMeta{Namespace: "home"}, Spec: v1alpha1.ResourceServerSpec{AllowedNamespaces: tc.server}}
			s := v1alpha1.ResourceServerScope{Name: "read", AllowedNamespaces: tc.scope}
			if got := granted(rs, s, tc.ns); got != tc.want {
				t.Errorf("granted = %v, want %v", got, tc.want)
			}
		})
	}
}
