package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/cognito-m2m/operator/api/v1alpha1"
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

// recordSecretAge publishes the current secret's creation time, or removes the
// series of a deleted object.
func recordSecretAge(obj *v1alpha1.M2MClient, deleted bool) {
	if deleted {
		secretCreated.DeletePartialMatch(prometheus.Labels{"namespace": obj.Namespace, "name": obj.Name})
		return
	}
	r := obj.Status.Rotation
	if r == nil || r.CurrentSecretCreated == nil || obj.Status.ClientID == "" {
		return
	}
	secretCreated.WithLabelValues(obj.Namespace, obj.Name, obj.Status.ClientID).Set(float64(r.CurrentSecretCreated.Unix()))
}
