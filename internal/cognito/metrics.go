package cognito

import (
	"errors"
	"time"

	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Every Cognito call is counted here, by operation and outcome, because request
// quotas are the operator's limit in production: these show how close it runs to
// them and what each kind of object costs.
var (
	requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cognito_m2m_cognito_requests_total",
		Help: "Cognito API requests (HTTP attempts, retries included) by operation and outcome (ok, throttled, client_error, server_error).",
	}, []string{"operation", "outcome"})
	latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "cognito_m2m_cognito_request_duration_seconds",
		Help:    "Latency of Cognito API requests by operation, waiting for the rate limit excluded.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
	}, []string{"operation"})
	rateWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "cognito_m2m_cognito_rate_limit_wait_seconds",
		Help:    "Time Cognito API requests waited for the operator's own rate limit, by operation (each attempt waits).",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	}, []string{"operation"})
	rateInForce = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "cognito_m2m_cognito_rate_limit_per_second",
		Help: "The request rate in force for one Cognito operation on one user pool: the configured rate, or less while Cognito throttles (adaptive pacing).",
	}, []string{"operation", "user_pool"})
)

func init() {
	metrics.Registry.MustRegister(requests, latency, rateWait, rateInForce)
}

// Outcomes of a Cognito request.
const (
	OutcomeOK          = "ok"
	OutcomeThrottled   = "throttled"
	OutcomeClientError = "client_error"
	// OutcomeServerError is a 5xx, or no answer at all (a timeout, a reset).
	OutcomeServerError = "server_error"
)

// Outcome classifies a request's error for the metrics.
func Outcome(err error) string {
	var ae smithy.APIError
	switch {
	case err == nil:
		return OutcomeOK
	case IsThrottled(err):
		return OutcomeThrottled
	case errors.As(err, &ae) && ae.ErrorFault() == smithy.FaultClient:
		return OutcomeClientError
	}
	return OutcomeServerError
}

func record(op string, err error, d time.Duration) {
	requests.WithLabelValues(op, Outcome(err)).Inc()
	latency.WithLabelValues(op).Observe(d.Seconds())
}

func recordWait(op string, d time.Duration) {
	rateWait.WithLabelValues(op).Observe(d.Seconds())
}

func recordRate(op, pool string, r float64) {
	rateInForce.WithLabelValues(op, pool).Set(r)
}
