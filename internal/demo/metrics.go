package demo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	certutil "k8s.io/client-go/util/cert"
)

// MetricsReader is the ServiceAccount, in the demo's namespace, that scrapes the
// operator's /metrics as Prometheus would: bound to a ClusterRole that allows GET
// /metrics and nothing else.
const MetricsReader = "metrics-reader"

// metricsAccess is what a scrape of the operator's /metrics needs: the operator
// serves it over HTTPS and only to bearer tokens the API server authorizes.
type metricsAccess struct {
	certDir string       // the operator's serving certificate, made here
	client  *http.Client // trusts that certificate only
	token   string       // MetricsReader's; never printed
}

// prepareMetrics makes the operator's serving certificate and MetricsReader's
// RBAC and token, once.
func (e *Env) prepareMetrics(ctx context.Context) (*metricsAccess, error) {
	if e.metrics != nil {
		return e.metrics, nil
	}
	dir := filepath.Join(e.RunDir, "metrics-certs")
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey("127.0.0.1", []net.IP{net.IPv4(127, 0, 0, 1)}, nil)
	if err != nil {
		return nil, fmt.Errorf("making the operator's metrics certificate: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := errors.Join(os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600),
		os.WriteFile(filepath.Join(dir, "tls.key"), keyPEM, 0o600)); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(certPEM) {
		return nil, errors.New("reading back the operator's metrics certificate")
	}
	kube, err := kubernetes.NewForConfig(e.RESTConfig())
	if err != nil {
		return nil, err
	}
	token, err := metricsReaderToken(ctx, kube, e.opts.Namespace)
	if err != nil {
		return nil, fmt.Errorf("setting up ServiceAccount %s to read the operator's metrics: %w", MetricsReader, err)
	}
	e.metrics = &metricsAccess{certDir: dir, token: token, client: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}}
	return e.metrics, nil
}

// metricsReaderToken creates MetricsReader, its ClusterRole and binding (as the
// chart's metrics-reader), and returns a token for it.
func metricsReaderToken(ctx context.Context, kube kubernetes.Interface, ns string) (string, error) {
	name := "demo-" + MetricsReader
	create := func(err error) error {
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	_, err := kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: MetricsReader}}, metav1.CreateOptions{})
	if err := create(err); err != nil {
		return "", err
	}
	_, err = kube.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
	}, metav1.CreateOptions{})
	if err := create(err); err != nil {
		return "", err
	}
	_, err = kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: MetricsReader}},
	}, metav1.CreateOptions{})
	if err := create(err); err != nil {
		return "", err
	}
	expiry := int64((24 * time.Hour).Seconds())
	tr, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, MetricsReader, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return tr.Status.Token, nil
}

// scrape reads the operator's /metrics with MetricsReader's token.
func (m *metricsAccess) scrape(ctx context.Context, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+m.token)
	resp, err := m.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, body, err
}

// MetricsCommand is a shell command that scrapes the operator's /metrics as
// MetricsReader, with a fresh token, verifying the operator's certificate.
func (e *Env) MetricsCommand(kubectl string) string {
	if e.metrics == nil {
		return ""
	}
	return fmt.Sprintf(`curl -s --cacert %s -H "Authorization: Bearer $(%s create token %s -n %s)" %s`,
		filepath.Join(e.metrics.certDir, "tls.crt"), kubectl, MetricsReader, e.opts.Namespace, e.OperatorMetricsURL)
}
