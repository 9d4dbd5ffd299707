// Package kubetest starts a real kube-apiserver (with etcd, through
// controller-runtime's envtest) for the tests of packages that need one outside
// the controllers' suite, and gives them the RBAC and ServiceAccount steps those
// tests share: the metrics endpoint's authentication, the CRDs' validation.
package kubetest

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// root is the repository's root, found from this file so that a test in any
// package finds bin/ and config/.
var root = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}()

// Start runs etcd and kube-apiserver from $KUBEBUILDER_ASSETS (else bin/, which
// `make tools` fills) until the test ends; withCRDs installs the project's CRDs
// from config/crd/bases.
func Start(t *testing.T, withCRDs bool) (*rest.Config, kubernetes.Interface) {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, "bin")
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	if withCRDs {
		env.CRDDirectoryPaths = []string{filepath.Join(root, "config", "crd", "bases")}
		env.ErrorIfCRDPathMissing = true
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the test API server (run `make tools`): %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	return cfg, kubernetes.NewForConfigOrDie(cfg)
}

// ServiceAccount creates a ServiceAccount and returns its user name.
func ServiceAccount(t *testing.T, kube kubernetes.Interface, ns, name string) string {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := kube.CoreV1().ServiceAccounts(ns).Create(context.Background(), sa, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ServiceAccount %s/%s: %v", ns, name, err)
	}
	return "system:serviceaccount:" + ns + ":" + name
}

// Token is a ten-minute token of the ServiceAccount ns/name.
func Token(t *testing.T, kube kubernetes.Interface, ns, name string) string {
	t.Helper()
	tr, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a token for %s/%s: %v", ns, name, err)
	}
	return tr.Status.Token
}

// Bind creates a ClusterRole and binds subject to it.
func Bind(t *testing.T, kube kubernetes.Interface, role *rbacv1.ClusterRole, subject rbacv1.Subject) {
	t.Helper()
	ctx := context.Background()
	if _, err := kube.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ClusterRole %s: %v", role.Name, err)
	}
	if _, err := kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{subject},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("bind ClusterRole %s: %v", role.Name, err)
	}
}

// Namespaces creates the namespaces named.
func Namespaces(t *testing.T, kube kubernetes.Interface, names ...string) {
	t.Helper()
	for _, ns := range names {
		if _, err := kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create namespace %s: %v", ns, err)
		}
	}
}
