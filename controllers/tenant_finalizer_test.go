package controllers_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// withFinalizerGuard runs the manager as the operator's ServiceAccount with the
// generated ClusterRole and the finalizer guard's (config/admission), and puts
// the guard's policy in force for the tenant's namespace (the test's namespace
// with "-tenant") only, so that the suite's other tests, which play a tenant
// removing finalizers to test what the operator does then, are not refused.
func withFinalizerGuard(t *testing.T) envOption {
	return func(e *testEnv) {
		ctx := context.Background()
		tenantNS := e.ns + "-tenant"
		e.user = "system:serviceaccount:" + e.ns + ":cognito-m2m-operator"
		subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: e.ns, Name: "cognito-m2m-operator"}}
		var objs []client.Object
		for _, file := range []string{"rbac/role.yaml", "admission/finalizer-guard.yaml"} {
			data, err := os.ReadFile(filepath.Join("..", "config", file))
			if err != nil {
				t.Fatal(err)
			}
			for _, doc := range strings.Split(string(data), "\n---\n") {
				var meta metav1.TypeMeta
				if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
					t.Fatal(err)
				}
				var obj client.Object
				switch meta.Kind {
				case "ClusterRole":
					obj = &rbacv1.ClusterRole{}
				case "ValidatingAdmissionPolicy":
					obj = &admissionv1.ValidatingAdmissionPolicy{}
				case "ValidatingAdmissionPolicyBinding":
					obj = &admissionv1.ValidatingAdmissionPolicyBinding{}
				default:
					t.Fatalf("config/%s holds a %q", file, meta.Kind)
				}
				if err := utilyaml.Unmarshal([]byte(doc), obj); err != nil {
					t.Fatal(err)
				}
				obj.SetName(obj.GetName() + "-" + e.ns)
				switch o := obj.(type) {
				case *rbacv1.ClusterRole:
					objs = append(objs, o, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: o.Name}, Subjects: subject,
						RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: o.Name}})
				case *admissionv1.ValidatingAdmissionPolicyBinding:
					o.Spec.PolicyName += "-" + e.ns
					o.Spec.MatchResources = &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
						MatchLabels: map[string]string{"kubernetes.io/metadata.name": tenantNS}}}
					objs = append(objs, o)
				default:
					objs = append(objs, o)
				}
			}
		}
		for _, o := range objs {
			if err := k8s.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = k8s.Delete(context.Background(), o) })
		}
	}
}

// The retain bound (--max-retained-per-namespace) counts what the operator
// leaves in Cognito; a tenant that removed the finalizer of a Ready M2MClient and
// deleted it would leave its app client there counted by nothing, and could
// repeat that until the pool's 1,000 app clients are gone for every team. With
// the finalizer guard the tenant cannot remove it, and deleting the object
// deletes the app client: the operator, as its ServiceAccount, may remove the
// finalizer.
func TestTenantCannotOrphanAppClients(t *testing.T) {
	e := newEnv(t, withFinalizerGuard(t))
	ctx := context.Background()
	tn := newTenant(t, e.ns+"-tenant")
	rs := newRS(tn.ns, "own", "own-"+e.ns, "read")
	tn.create(t, rs)
	waitReady(t, rs)
	c := newClient(tn.ns, "app", "own", "read")
	tn.create(t, c)
	waitReady(t, c)
	if _, err := describeClient(e.pool, c.Status.ClientID); err != nil {
		t.Fatalf("the app client is not in Cognito: %v", err)
	}

	// The API server loads a new policy within moments. Admission runs for
	// dry-run requests too, so the tenant's removal is tried as a dry run until
	// the policy refuses it; only then is it sent for real, and it must be
	// refused.
	clear := client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`))
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		err := tn.c.Patch(ctx, c.DeepCopy(), clear, client.DryRunAll)
		if apierrors.IsForbidden(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the finalizer guard was not in force after 20s: the tenant's dry-run removal got %v", err)
		}
	}
	err := tn.c.Patch(ctx, c.DeepCopy(), clear)
	if err == nil {
		if err := tn.c.Get(ctx, keyOf(c), c); err != nil {
			t.Fatal(err)
		}
		if len(c.Finalizers) == 0 {
			t.Fatal("the tenant removed the operator's finalizer from its Ready M2MClient")
		}
	}
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), v1alpha1.Finalizer) {
		t.Fatalf("the tenant removing the finalizer: got %v, want Forbidden naming %s", err, v1alpha1.Finalizer)
	}
	if err := tn.c.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := tn.c.Patch(ctx, c.DeepCopy(), clear); !apierrors.IsForbidden(err) {
		t.Errorf("the tenant removing the finalizer of its deleted M2MClient: got %v, want Forbidden", err)
	}
	// The operator, as its ServiceAccount, deletes the app client and then
	// removes the finalizer.
	waitGone(t, c)
	if _, err := describeClient(e.pool, c.Status.ClientID); err == nil {
		t.Error("the app client of the deleted M2MClient is still in Cognito")
	}
	if err := tn.c.Delete(ctx, rs); err != nil {
		t.Fatal(err)
	}
	waitGone(t, rs)
	if _, err := describeRS(t, e.pool, rs.Spec.Identifier); err == nil {
		t.Error("the resource server of the deleted ResourceServer is still in Cognito")
	}
}
