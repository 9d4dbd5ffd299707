package controllers

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// granted reports whether a resource server lets M2MClients in namespace ns have
// scope s. The server's own namespace is always granted; other namespaces need the
// server's allowedNamespaces, narrowed by the scope's own when it has one. A grant
// that cannot be read (a malformed selector) grants nothing.
func granted(rs *v1alpha1.ResourceServer, s v1alpha1.ResourceServerScope, ns *corev1.Namespace) bool {
	if ns.Name == rs.Namespace {
		return true
	}
	if !matches(rs.Spec.AllowedNamespaces, ns) {
		return false
	}
	return s.AllowedNamespaces == nil || matches(s.AllowedNamespaces, ns)
}

// grantsAny reports whether the resource server grants namespace ns at least one of
// the named scopes: only then may ns learn anything about the server.
func grantsAny(rs *v1alpha1.ResourceServer, names []string, ns *corev1.Namespace) bool {
	offered := offeredScopes(rs)
	for _, n := range names {
		if s, ok := offered[n]; ok && granted(rs, s, ns) {
			return true
		}
	}
	return false
}

func offeredScopes(rs *v1alpha1.ResourceServer) map[string]v1alpha1.ResourceServerScope {
	offered := make(map[string]v1alpha1.ResourceServerScope, len(rs.Spec.Scopes))
	for _, s := range rs.Spec.Scopes {
		offered[s.Name] = s
	}
	return offered
}

func matches(g *v1alpha1.NamespaceGrant, ns *corev1.Namespace) bool {
	if g == nil {
		return false
	}
	if slices.Contains(g.Names, ns.Name) {
		return true
	}
	if g.Selector == nil {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(g.Selector.LabelSelector())
	if err != nil {
		return false
	}
	return sel.Matches(labels.Set(ns.Labels))
}

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
