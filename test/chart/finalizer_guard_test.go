package chart

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// TestFinalizerGuard: only the operator (its ServiceAccount, authenticated with
// a real token) and cluster admins may remove the operator's finalizer from a
// ResourceServer or an M2MClient. A tenant that could would delete its object
// with the finalizer gone and leave its app client in Cognito, counted by no
// bound (--max-retained-per-namespace counts what the operator retains), and
// could repeat that until the pool is full. It is checked on a real API server
// with RBAC, for the guard as the chart installs it (and that
// tenancy.guardFinalizers=false turns it off) and as config/admission ships it.
func TestFinalizerGuard(t *testing.T) {
	ctrllog.SetLogger(logr.Discard()) // envtest logs through it
	srv, err := newAPIServer(root(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.stop(); err != nil {
			t.Errorf("stopping the API server: %v", err)
		}
	})
	kube := kubernetes.NewForConfigOrDie(srv.config)
	const opNS = "cognito-m2m-system"

	t.Run("chart", func(t *testing.T) {
		values := []string{"--namespace", opNS, "--kubeconfig", srv.kubeconfig, "--wait=hookOnly"}
		mustHelm(t, append([]string{"install", "guard", chartDir(t), "--create-namespace"}, values...)...)
		for _, name := range crdNames {
			waitEstablished(t, dynamicFor(t, srv), name)
		}
		checkFinalizerGuard(t, srv, kube, "team-chart", opNS, "guard-cognito-m2m-operator")

		mustHelm(t, append([]string{"upgrade", "guard", chartDir(t), "--set", "tenancy.guardFinalizers=false"}, values...)...)
		tenant := tenantClient(t, srv, kube, "team-chart-off")
		obj := finalized(t, srv, "team-chart-off", &v1alpha1.M2MClient{}, "off")
		eventually(t, 30*time.Second, func() error { return removeFinalizer(tenant, obj) })
		mustHelm(t, "uninstall", "guard", "--namespace", opNS, "--kubeconfig", srv.kubeconfig, "--wait")
	})

	t.Run("config", func(t *testing.T) {
		// As an install from config/ is made: the manager's ClusterRole and the
		// guard, bound to the manager's ServiceAccount.
		const sa = "cognito-m2m-operator"
		if _, err := kube.CoreV1().ServiceAccounts(opNS).Create(context.Background(),
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, file := range []string{"config/rbac/role.yaml", "config/admission/finalizer-guard.yaml"} {
			for _, doc := range readYAMLDocs(t, file) {
				u := &unstructured.Unstructured{Object: doc}
				createUnstructured(t, srv, u)
				if u.GetKind() == "ClusterRole" {
					bindClusterRole(t, kube, u.GetName(), rbacv1.Subject{Kind: "ServiceAccount", Name: sa, Namespace: opNS})
				}
			}
		}
		checkFinalizerGuard(t, srv, kube, "team-config", opNS, sa)
	})
}

// checkFinalizerGuard runs the attempts on both kinds in a tenant namespace.
func checkFinalizerGuard(t *testing.T, srv *apiServer, kube kubernetes.Interface, tenantNS, saNS, sa string) {
	t.Helper()
	ctx := context.Background()
	tenant := tenantClient(t, srv, kube, tenantNS)
	operator := saClient(t, srv, kube, saNS, sa)
	// A platform admin bound to cluster-admin, not in system:masters.
	platform := "platform-admin-" + tenantNS
	bindClusterRole(t, kube, "cluster-admin", rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: platform})
	admin := impersonating(t, srv, platform)
	masters := adminClient(t, srv)

	// The policy takes effect when the API server has loaded it.
	probe := finalized(t, srv, tenantNS, &v1alpha1.M2MClient{}, "probe")
	eventually(t, 30*time.Second, func() error {
		err := removeFinalizer(tenant, probe)
		if err == nil {
			finalizeAgain(t, masters, probe)
			return fmt.Errorf("the tenant removed the finalizer: the guard is not in force (yet)")
		}
		return nil
	})

	for _, kind := range []client.Object{&v1alpha1.M2MClient{}, &v1alpha1.ResourceServer{}} {
		kindName := fmt.Sprintf("%T", kind)[len("*v1alpha1."):]
		t.Run(kindName, func(t *testing.T) {
			obj := finalized(t, srv, tenantNS, kind, "tenant")
			refused := func(how string, err error) {
				t.Helper()
				if !apierrors.IsForbidden(err) {
					t.Errorf("the tenant %s: got %v, want Forbidden", how, err)
				} else if msg := err.Error(); !strings.Contains(msg, v1alpha1.Finalizer) || !strings.Contains(msg, "docs/install.md") {
					t.Errorf("the refusal does not name the finalizer and where to read on: %v", err)
				}
			}
			// The tenant's Role allows every verb on these objects in its
			// namespace, "remove-finalizer" included: a namespaced grant is not
			// enough.
			refused("clearing the finalizers with a merge patch", removeFinalizer(tenant, obj))
			refused("replacing the finalizer with an update", func() error {
				cur := kind.DeepCopyObject().(client.Object)
				if err := tenant.Get(ctx, client.ObjectKeyFromObject(obj), cur); err != nil {
					return err
				}
				cur.SetFinalizers([]string{"example.com/other"})
				return tenant.Update(ctx, cur)
			}())
			// Through the status subresource (were a tenant granted it): the API
			// server keeps the metadata of a status write as it was.
			_ = masters.Status().Patch(ctx, obj.DeepCopyObject().(client.Object),
				client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`)))
			if err := masters.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil || !slices.Contains(obj.GetFinalizers(), v1alpha1.Finalizer) {
				t.Errorf("a status write removed the finalizer: %v, finalizers %v", err, obj.GetFinalizers())
			}
			// Other edits keep working.
			if err := tenant.Patch(ctx, obj, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"labels":{"app":"x"}}}`))); err != nil {
				t.Errorf("the tenant labelling its object: %v", err)
			}
			// Deleted, the object waits for the operator; the tenant still cannot
			// let it go.
			if err := tenant.Delete(ctx, obj); err != nil {
				t.Fatal(err)
			}
			refused("clearing the finalizers of its deleted object", removeFinalizer(tenant, obj))
			if err := tenant.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil || obj.GetDeletionTimestamp() == nil {
				t.Fatalf("the deleted object should wait on its finalizer: %v", err)
			}
			// The operator's ServiceAccount removes it.
			if err := removeFinalizer(operator, obj); err != nil {
				t.Errorf("the operator's ServiceAccount removing its finalizer: %v", err)
			}
			waitGone(t, masters, obj)

			// Cluster admins may, for the uninstall with the operator gone.
			for _, by := range []struct {
				who, obj string
				c        client.Client
			}{{"a cluster-admin", "by-cluster-admin", admin}, {"a member of system:masters", "by-masters", masters}} {
				o := finalized(t, srv, tenantNS, kind, by.obj)
				if err := tenant.Delete(ctx, o); err != nil {
					t.Fatal(err)
				}
				if err := removeFinalizer(by.c, o); err != nil {
					t.Errorf("%s removing the finalizer: %v", by.who, err)
				}
				waitGone(t, masters, o)
			}
		})
	}
}

var finalizedScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = v1alpha1.AddToScheme(s)
	return s
}()

// finalized creates, as an admin, an object of kind from the samples with the
// operator's finalizer, as the operator leaves it once it holds a Cognito
// resource. No operator runs: only admission is under test.
func finalized(t *testing.T, srv *apiServer, namespace string, kind client.Object, name string) client.Object {
	t.Helper()
	file := "config/samples/cognito_v1alpha1_m2mclient.yaml"
	if _, ok := kind.(*v1alpha1.ResourceServer); ok {
		file = "config/samples/cognito_v1alpha1_resourceserver.yaml"
	}
	obj := kind.DeepCopyObject().(client.Object)
	if err := yaml.Unmarshal([]byte(readFile(t, file)), obj); err != nil {
		t.Fatal(err)
	}
	obj.SetNamespace(namespace)
	obj.SetName(name)
	obj.SetFinalizers([]string{v1alpha1.Finalizer})
	if err := adminClient(t, srv).Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

func finalizeAgain(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"finalizers":[%q]}}`, v1alpha1.Finalizer)
	if err := c.Patch(context.Background(), obj, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
}

// removeFinalizer clears the finalizers with the patch docs/install.md gives.
func removeFinalizer(c client.Client, obj client.Object) error {
	o := obj.DeepCopyObject().(client.Object)
	return c.Patch(context.Background(), o, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`)))
}

func adminClient(t *testing.T, srv *apiServer) client.Client {
	t.Helper()
	c, err := client.New(srv.config, client.Options{Scheme: finalizedScheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func impersonating(t *testing.T, srv *apiServer, user string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(srv.config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	c, err := client.New(cfg, client.Options{Scheme: finalizedScheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tenantClient creates a namespace and a user whose Role allows every verb on
// the project's objects there, and nothing else, and returns that user's client.
func tenantClient(t *testing.T, srv *apiServer, kube kubernetes.Interface, namespace string) client.Client {
	t.Helper()
	ctx := context.Background()
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	user := "tenant-" + namespace
	if _, err := kube.RbacV1().Roles(namespace).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "team"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{v1alpha1.GroupVersion.Group},
			Resources: []string{"resourceservers", "m2mclients"}, Verbs: []string{"*"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.RbacV1().RoleBindings(namespace).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "team"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "team"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return impersonating(t, srv, user)
}

// saClient authenticates as a ServiceAccount with a token from the
// TokenRequest API, as the operator's pod does.
func saClient(t *testing.T, srv *apiServer, kube kubernetes.Interface, namespace, name string) client.Client {
	t.Helper()
	tr, err := kube.CoreV1().ServiceAccounts(namespace).CreateToken(context.Background(), name,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a token for ServiceAccount %s/%s: %v", namespace, name, err)
	}
	cfg := &rest.Config{Host: srv.config.Host, BearerToken: tr.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: srv.config.CAData}}
	c, err := client.New(cfg, client.Options{Scheme: finalizedScheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func bindClusterRole(t *testing.T, kube kubernetes.Interface, role string, subject rbacv1.Subject) {
	t.Helper()
	name := role + "-" + strings.ToLower(subject.Kind) + "-" + subject.Name
	if _, err := kube.RbacV1().ClusterRoleBindings().Create(context.Background(), &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{subject},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// createUnstructured creates an object of config/ as kubectl apply would.
func createUnstructured(t *testing.T, srv *apiServer, u *unstructured.Unstructured) {
	t.Helper()
	gvk := u.GroupVersionKind()
	resources := map[schema.GroupVersionKind]string{
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}:                         "clusterroles",
		{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingAdmissionPolicy"}:        "validatingadmissionpolicies",
		{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingAdmissionPolicyBinding"}: "validatingadmissionpolicybindings",
	}
	res, ok := resources[gvk]
	if !ok {
		t.Fatalf("config/ holds a %v this test does not know how to create", gvk)
	}
	if _, err := dynamicFor(t, srv).Resource(gvk.GroupVersion().WithResource(res)).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating %s %s: %v", gvk.Kind, u.GetName(), err)
	}
}

func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %v", timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
