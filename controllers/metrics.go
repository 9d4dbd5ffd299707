package controllers

import (
	"crypto/tls"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/metricsauth"
)

// secretCreated is the creation time of each app client's current secret, as a Unix
// timestamp: `time() - cognito_m2m_client_secret_created_timestamp_seconds` is the
// secret's age, to alert on secrets that outlive their rotation policy.
var secretCreated = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "cognito_m2m_client_secret_created_timestamp_seconds",
	Help: "Creation time of the current client secret of each M2MClient, in seconds since the epoch.",
}, []string{"namespace", "name", "client_id"})

func init() {
	metrics.Registry.MustRegister(secretCreated)
}

// secretAgeClients is the client id each object's series is published under, so
// that a series goes when its client does (a new id, or none), not only when its
// object does.
var secretAgeClients sync.Map // types.NamespacedName -> string

// recordSecretAge publishes the current secret's creation time, or removes the
// object's series when it is deleted or has no client (or no known secret) any more.
func recordSecretAge(obj *v1alpha1.M2MClient, deleted bool) {
	key := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name}
	r := obj.Status.Rotation
	if deleted || r == nil || r.CurrentSecretCreated == nil || obj.Status.ClientID == "" {
		forgetSecretAge(key)
		return
	}
	if old, ok := secretAgeClients.Swap(key, obj.Status.ClientID); ok && old != obj.Status.ClientID {
		secretCreated.DeleteLabelValues(key.Namespace, key.Name, old.(string))
	}
	secretCreated.WithLabelValues(key.Namespace, key.Name, obj.Status.ClientID).Set(float64(r.CurrentSecretCreated.Unix()))
}

// forgetSecretAge removes every series of an object: called also when the object
// is found gone, because its deletion pass may never have run here (its finalizer
// removed by hand, or run by another manager).
func forgetSecretAge(key types.NamespacedName) {
	secretAgeClients.Delete(key)
	secretCreated.DeletePartialMatch(prometheus.Labels{"namespace": key.Namespace, "name": key.Name})
}

// The manager checks each scrape of /metrics with the API server: who the bearer
// token belongs to (a TokenReview) and whether they may get /metrics (a
// SubjectAccessReview; the chart's metrics-reader ClusterRole grants it).
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// MetricsOptions serves /metrics on addr ("0" turns it off). Served securely, it is
// HTTPS (with the certificate and key in certDir, tls.crt and tls.key, reloaded
// when they change; a self-signed one when certDir is empty or holds none) and
// answers only requests whose bearer token the API server authenticates and
// authorizes for GET /metrics: the series name every namespace's objects and app
// clients. Insecure serving is plain HTTP for anyone who can connect, for local
// development only.
func MetricsOptions(addr string, secure bool, certDir string) metricsserver.Options {
	if !secure {
		return metricsserver.Options{BindAddress: addr}
	}
	return metricsserver.Options{
		BindAddress:    addr,
		SecureServing:  true,
		FilterProvider: metricsauth.WithAuthenticationAndAuthorization,
		CertDir:        certDir,
		// HTTP/1.1 only: HTTP/2's stream reset and rapid-reset weaknesses
		// (CVE-2023-44487, CVE-2023-39325) need no exposure for one scrape.
		TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }},
	}
}
