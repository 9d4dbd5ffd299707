package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/yaml"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/kubetest"
)

// The manager, configured as the binary configures it (managerOptions),
// serves /metrics only over TLS and only to a bearer token that the API server
// authenticates and authorizes for GET /metrics: a scrape without a token gets 401,
// a tenant's token (all rights in its namespace) 403, and a ServiceAccount bound to
// a metrics-reader ClusterRole gets the metrics. The manager runs as a ServiceAccount
// with exactly the generated ClusterRole (config/rbac/role.yaml), so the test also
// shows that role lets it check scrapes.
func TestMetricsNeedAnAuthorizedToken(t *testing.T) {
	cfg, kube := kubetest.Start(t, true)
	ctx := context.Background()
	kubetest.Namespaces(t, kube, "cognito-system", "monitoring", "team-a")
	managerUser := kubetest.ServiceAccount(t, kube, "cognito-system", "manager")
	kubetest.Bind(t, kube, generatedClusterRole(t), rbacv1.Subject{Kind: "ServiceAccount", Namespace: "cognito-system", Name: "manager"})
	// As the chart's metrics-reader ClusterRole.
	kubetest.Bind(t, kube, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics-reader"},
		Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
	}, rbacv1.Subject{Kind: "ServiceAccount", Namespace: "monitoring", Name: "prometheus"})
	kubetest.ServiceAccount(t, kube, "monitoring", "prometheus")
	kubetest.ServiceAccount(t, kube, "team-a", "deployer")
	if _, err := kube.RbacV1().RoleBindings("team-a").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "deployer-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "team-a", Name: "deployer"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	addr := freeAddr(t)
	// --metrics-secure is on by default.
	f := flags{region: "us-east-1", metricsAddr: addr, metricsSecure: true, probeAddr: "0", maxConcurrent: 2}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	managerCfg := rest.CopyConfig(cfg)
	managerCfg.Impersonate = rest.ImpersonationConfig{UserName: managerUser}
	mgr, err := ctrl.NewManager(managerCfg, managerOptions(scheme, f))
	if err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})

	scrape := func(token string) (int, string) {
		t.Helper()
		// The certificate is self-signed; what is checked here is who gets in.
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		var (
			resp *http.Response
			err  error
		)
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/metrics", nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			if resp, err = c.Do(req); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("scraping https://%s/metrics: %v", addr, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	if status, _ := scrape(""); status != http.StatusUnauthorized {
		t.Errorf("a scrape without a token got %d, want 401", status)
	}
	// A token the API server does not accept is 401, as the API server answers
	// it (internal/metricsauth), not controller-runtime's 500.
	if status, body := scrape("not-a-token"); status != http.StatusUnauthorized || strings.Contains(body, "cognito_m2m_") {
		t.Errorf("a scrape with a made-up token got %d, want 401: %.200s", status, body)
	}
	if status, body := scrape(kubetest.Token(t, kube, "team-a", "deployer")); status != http.StatusForbidden {
		t.Errorf("a tenant's token got %d, want 403: %.200s", status, body)
	}
	status, body := scrape(kubetest.Token(t, kube, "monitoring", "prometheus"))
	if status != http.StatusOK || !strings.Contains(body, "cognito_m2m_drift_period_seconds") {
		t.Errorf("the metrics reader's token got %d, want 200 with the operator's metrics: %.200s", status, body)
	}
	// Plain HTTP is not served.
	if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP got the metrics")
		}
	}
}

// generatedClusterRole is the manager's ClusterRole as controller-gen writes it.
func generatedClusterRole(t *testing.T) *rbacv1.ClusterRole {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.Unmarshal(b, role); err != nil {
		t.Fatal(err)
	}
	if len(role.Rules) == 0 {
		t.Fatal("config/rbac/role.yaml has no rules")
	}
	return role
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
