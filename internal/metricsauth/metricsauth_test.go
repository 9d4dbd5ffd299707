package metricsauth_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/cognito-m2m/operator/controllers"
	"github.com/cognito-m2m/operator/internal/kubetest"
	"github.com/cognito-m2m/operator/internal/metricsauth"
)

// The metrics endpoint's answers, with a real API server doing the reviews: a
// client's missing or unacceptable token is 401 (controller-runtime's filter
// answers 500 to every token the API server does not accept), a token of a user
// not allowed GET /metrics is 403, a reader's is 200, and 500 is left for reviews
// the manager could not make (it may not create TokenReviews, or
// SubjectAccessReviews).
func TestMetricsAnswers(t *testing.T) {
	logf.SetLogger(logr.Discard())
	cfg, kube := kubetest.Start(t, false)
	ctx := context.Background()
	kubetest.Namespaces(t, kube, "cognito-system", "monitoring", "team-a")
	manager := kubetest.ServiceAccount(t, kube, "cognito-system", "manager")
	kubetest.Bind(t, kube, generatedClusterRole(t), rbacv1.Subject{Kind: "ServiceAccount", Namespace: "cognito-system", Name: "manager"})
	kubetest.Bind(t, kube, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics-reader"},
		Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
	}, rbacv1.Subject{Kind: "ServiceAccount", Namespace: "monitoring", Name: "prometheus"})
	kubetest.ServiceAccount(t, kube, "monitoring", "prometheus")
	// A manager without the reviews' RBAC, and one that may review tokens only.
	unreviewed := kubetest.ServiceAccount(t, kube, "cognito-system", "no-reviews")
	tokensOnly := kubetest.ServiceAccount(t, kube, "cognito-system", "token-reviews-only")
	kubetest.Bind(t, kube, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "token-reviews-only"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}}},
	}, rbacv1.Subject{Kind: "ServiceAccount", Namespace: "cognito-system", Name: "token-reviews-only"})
	kubetest.ServiceAccount(t, kube, "team-a", "deployer")
	if _, err := kube.RbacV1().RoleBindings("team-a").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "deployer-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "team-a", Name: "deployer"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	reader := kubetest.Token(t, kube, "monitoring", "prometheus")
	tenant := kubetest.Token(t, kube, "team-a", "deployer")
	// A token the API server once issued, of a ServiceAccount since deleted.
	kubetest.ServiceAccount(t, kube, "team-a", "gone")
	stale := kubetest.Token(t, kube, "team-a", "gone")
	if err := kube.CoreV1().ServiceAccounts("team-a").Delete(ctx, "gone", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	ours := serve(t, cfg, manager, metricsauth.WithAuthenticationAndAuthorization)
	managers := serveManagerMetrics(t, cfg, manager)
	for _, tc := range []struct {
		name, url, token string
		want             int
	}{
		{"no token", ours, "", http.StatusUnauthorized},
		{"a made-up token", ours, "not-a-token", http.StatusUnauthorized},
		{"a JWT the API server did not sign", ours, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", http.StatusUnauthorized},
		{"the token of a deleted ServiceAccount", ours, stale, http.StatusUnauthorized},
		{"a tenant's token", ours, tenant, http.StatusForbidden},
		{"the metrics reader's token", ours, reader, http.StatusOK},
		{"a manager that may not review tokens", serve(t, cfg, unreviewed, metricsauth.WithAuthenticationAndAuthorization), reader, http.StatusInternalServerError},
		{"a manager that may not review access", serve(t, cfg, tokensOnly, metricsauth.WithAuthenticationAndAuthorization), reader, http.StatusInternalServerError},
		// The manager's metrics server, as controllers.MetricsOptions sets it up
		// (HTTPS, self-signed).
		{"the manager's endpoint, a made-up token", managers, "not-a-token", http.StatusUnauthorized},
		{"the manager's endpoint, a tenant's token", managers, tenant, http.StatusForbidden},
		{"the manager's endpoint, the metrics reader's token", managers, reader, http.StatusOK},
		// What controller-runtime's own filter answers a made-up token, the
		// reason for this package: when it answers 401, use it instead.
		{"controller-runtime's filter, a made-up token", serve(t, cfg, manager, filters.WithAuthenticationAndAuthorization), "not-a-token", http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, body := get(t, tc.url, tc.token); got != tc.want {
				t.Errorf("got %d, want %d: %.200s", got, tc.want, body)
			} else if got != http.StatusOK && body == "metrics" {
				t.Error("the metrics were served")
			}
		})
	}
}

// serveManagerMetrics runs controller-runtime's metrics server with the manager's
// options, acting as user.
func serveManagerMetrics(t *testing.T, cfg *rest.Config, user string) string {
	t.Helper()
	as := rest.CopyConfig(cfg)
	as.Impersonate = rest.ImpersonationConfig{UserName: user}
	hc, err := rest.HTTPClientFor(as)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	srv, err := metricsserver.NewServer(controllers.MetricsOptions(addr, true, ""), as, hc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("metrics server: %v", err)
		}
	})
	url := "https://" + addr + "/metrics"
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			return url
		} else if time.Now().After(deadline) {
			t.Fatalf("the metrics server does not answer: %v", err)
		}
	}
}

// client accepts the self-signed certificate: what is checked is who gets in.
var client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

// serve runs provider's filter, acting as user, in front of a handler that
// answers "metrics", on loopback.
func serve(t *testing.T, cfg *rest.Config, user string, provider func(*rest.Config, *http.Client) (metricsserver.Filter, error)) string {
	t.Helper()
	as := rest.CopyConfig(cfg)
	as.Impersonate = rest.ImpersonationConfig{UserName: user}
	hc, err := rest.HTTPClientFor(as)
	if err != nil {
		t.Fatal(err)
	}
	filter, err := provider(as, hc)
	if err != nil {
		t.Fatal(err)
	}
	h, err := filter(logr.Discard(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "metrics") }))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// generatedClusterRole is the manager's ClusterRole as controller-gen writes it,
// which grants the reviews.
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
	return role
}
