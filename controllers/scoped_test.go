package controllers_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// withNamespaceScopedRBAC runs the manager as an install with --watch-namespaces
// would: watching only the test's namespace, as a user holding what the chart
// grants in that mode (read access to Namespaces cluster-wide; config/rbac's other
// rules in a Role in the namespace) and nothing else.
func withNamespaceScopedRBAC(t *testing.T) envOption {
	return func(e *testEnv) {
		ctx := context.Background()
		data, err := os.ReadFile(filepath.Join("..", "config", "rbac", "role.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var generated rbacv1.ClusterRole
		if err := yaml.Unmarshal(data, &generated); err != nil {
			t.Fatal(err)
		}
		var cluster, namespaced []rbacv1.PolicyRule
		for _, r := range generated.Rules {
			for _, res := range r.Resources {
				rule := r
				rule.Resources = []string{res}
				if res == "namespaces" {
					cluster = append(cluster, rule)
				} else {
					namespaced = append(namespaced, rule)
				}
			}
		}
		e.user, e.watchNamespaces = "operator-"+e.ns, []string{e.ns}
		subject := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: e.user}}
		objs := []client.Object{
			&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: e.user}, Rules: cluster},
			&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: e.user}, Subjects: subject,
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: e.user}},
			&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: "operator"}, Rules: namespaced},
			&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: "operator"}, Subjects: subject,
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "operator"}},
		}
		for _, o := range objs {
			if err := k8s.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// A namespace-scoped install works with only the permissions it is given, and
// leaves other namespaces' objects alone.
func TestNamespaceScopedInstall(t *testing.T) {
	e := newEnv(t, withNamespaceScopedRBAC(t))
	readyPair(t, e)
	c := newClient(e.ns, "scoped", "weather", "read")
	mustCreate(t, c)
	waitReady(t, c)
	if _, err := tokenFrom(getSecret(t, e.ns, c.SecretName())); err != nil {
		t.Errorf("token with the credentials a namespace-scoped operator wrote: %v", err)
	}

	other := e.ns + "-unwatched"
	newNamespace(t, other, nil)
	ignored := newRS(other, "ignored", "ignored-"+e.ns, "read")
	mustCreate(t, ignored)
	t.Cleanup(func() {
		ignored.Finalizers = nil
		_ = k8s.Update(context.Background(), ignored)
		_ = k8s.Delete(context.Background(), ignored)
	})
	time.Sleep(3 * time.Second)
	if err := k8s.Get(context.Background(), keyOf(ignored), ignored); err != nil {
		t.Fatal(err)
	}
	if len(ignored.Status.Conditions) != 0 || slices.Contains(ignored.Finalizers, v1alpha1.Finalizer) {
		t.Errorf("a namespace-scoped operator reconciled an object outside its namespaces: %+v", ignored.Status)
	}
	if _, err := describeRS(t, e.pool, ignored.Spec.Identifier); err == nil {
		t.Error("a namespace-scoped operator created a resource server for an unwatched namespace")
	}
}
