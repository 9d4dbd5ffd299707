package controllers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// boundsNamespace is a namespace for tests that need only the API server.
func boundsNamespace(t *testing.T) string {
	t.Helper()
	needSuite(t)
	ns := fmt.Sprintf("b%d", nsCounter.Add(1))
	mustCreate(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	t.Cleanup(func() {
		_ = k8s.DeleteAllOf(context.Background(), &v1alpha1.M2MClient{}, client.InNamespace(ns))
		_ = k8s.DeleteAllOf(context.Background(), &v1alpha1.ResourceServer{}, client.InNamespace(ns))
	})
	return ns
}

// sizedMap has n entries whose keys and values add up to exactly total bytes of
// UTF-8; values use a two-byte character, so that a bound counted in characters
// would let twice as much through. Keys are short DNS-label-like names.
func sizedMap(n, total int) map[string]string {
	m := map[string]string{}
	per := total / n
	for i := range n {
		k := fmt.Sprintf("k%02d", i)
		size := per
		if i == n-1 {
			size = total - per*(n-1)
		}
		v := strings.Repeat("é", (size-len(k))/2) + strings.Repeat("x", (size-len(k))%2)
		m[k] = v
	}
	return m
}

func mapBytes(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	return n
}

// The CRDs bound what a tenant can make the operator hold in memory: the labels and
// annotations an M2MClient asks for on its Secret (count and bytes), and references
// to namespaces and objects (RFC 1123 names, as Kubernetes itself requires of them).
func TestSizeBoundsAtApply(t *testing.T) {
	ns := boundsNamespace(t)
	ctx := context.Background()
	m2m := func(name string, edit func(*v1alpha1.M2MClient)) *v1alpha1.M2MClient {
		c := newClient(ns, name, "weather", "read")
		edit(c)
		return c
	}
	server := func(name string, edit func(*v1alpha1.ResourceServer)) *v1alpha1.ResourceServer {
		rs := newRS(ns, name, name, "read")
		edit(rs)
		return rs
	}
	names := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("team-%d", i))
		}
		return out
	}
	for _, total := range []int{4096, 8192, 8194} {
		if got := mapBytes(sizedMap(16, total)); got != total {
			t.Fatalf("sizedMap(16, %d) made %d bytes", total, got)
		}
	}

	refused := map[string]struct {
		obj   client.Object
		field string
	}{
		"17 labels": {m2m("labels-count", func(c *v1alpha1.M2MClient) { c.Spec.Secret.Labels = sizedMap(17, 1000) }), "spec.secret.labels"},
		"labels over 4 KiB": {m2m("labels-bytes", func(c *v1alpha1.M2MClient) {
			c.Spec.Secret.Labels = map[string]string{"a": strings.Repeat("x", 4096)}
		}), "spec.secret.labels"},
		"17 annotations": {m2m("annotations-count", func(c *v1alpha1.M2MClient) { c.Spec.Secret.Annotations = sizedMap(17, 1000) }), "spec.secret.annotations"},
		// About 4,100 characters but 8,194 bytes: counted in characters it would pass.
		"annotations over 8 KiB in bytes": {m2m("annotations-bytes", func(c *v1alpha1.M2MClient) { c.Spec.Secret.Annotations = sizedMap(16, 8194) }), "spec.secret.annotations"},
		"namespace reference with a path": {m2m("ns-path", func(c *v1alpha1.M2MClient) {
			c.Spec.Scopes[0].ResourceServer.Namespace = "../x"
		}), "spec.scopes[0].resourceServer.namespace"},
		"namespace reference in capitals": {m2m("ns-caps", func(c *v1alpha1.M2MClient) {
			c.Spec.Scopes[0].ResourceServer.Namespace = "Team-A"
		}), "spec.scopes[0].resourceServer.namespace"},
		"namespace reference over 63": {m2m("ns-long", func(c *v1alpha1.M2MClient) {
			c.Spec.Scopes[0].ResourceServer.Namespace = strings.Repeat("a", 64)
		}), "spec.scopes[0].resourceServer.namespace"},
		"server reference with a path": {m2m("rs-path", func(c *v1alpha1.M2MClient) {
			c.Spec.Scopes[0].ResourceServer.Name = "../weather"
		}), "spec.scopes[0].resourceServer.name"},
		"granted namespace with a path": {server("grant-path", func(rs *v1alpha1.ResourceServer) {
			rs.Spec.AllowedNamespaces = &v1alpha1.NamespaceGrant{Names: []string{"team-a", "../x"}}
		}), "spec.allowedNamespaces.names[1]"},
		"scope's granted namespace over 63": {server("grant-long", func(rs *v1alpha1.ResourceServer) {
			rs.Spec.Scopes[0].AllowedNamespaces = &v1alpha1.NamespaceGrant{Names: []string{strings.Repeat("a", 64)}}
		}), "spec.scopes[0].allowedNamespaces.names[0]"},
		"65 granted namespaces": {server("grant-count", func(rs *v1alpha1.ResourceServer) {
			rs.Spec.AllowedNamespaces = &v1alpha1.NamespaceGrant{Names: names(65)}
		}), "spec.allowedNamespaces.names"},
	}
	for name, tc := range refused {
		t.Run("refuses "+name, func(t *testing.T) {
			err := k8s.Create(ctx, tc.obj)
			if err == nil {
				t.Fatalf("accepted; want a rejection naming %s", tc.field)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error does not name %s: %v", tc.field, err)
			}
		})
	}

	accepted := map[string]client.Object{
		"labels and annotations at their bounds": m2m("at-bounds", func(c *v1alpha1.M2MClient) {
			c.Spec.Secret.Labels = sizedMap(16, 4096)
			c.Spec.Secret.Annotations = sizedMap(16, 8192)
			c.Spec.Scopes[0].ResourceServer = v1alpha1.ObjectReference{Namespace: strings.Repeat("a", 63), Name: "weather.v2"}
		}),
		"64 granted namespaces": server("grant-64", func(rs *v1alpha1.ResourceServer) {
			rs.Spec.AllowedNamespaces = &v1alpha1.NamespaceGrant{Names: names(64)}
		}),
	}
	for name, obj := range accepted {
		t.Run("accepts "+name, func(t *testing.T) {
			if err := k8s.Create(ctx, obj); err != nil {
				t.Fatal(err)
			}
		})
	}
}
