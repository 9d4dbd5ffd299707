package sidecar

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the sidecar's own counters, beside the auth packages' (authprom).
type metrics struct {
	service        *prometheus.CounterVec
	serviceUpErr   prometheus.Counter
	callerRequests *prometheus.CounterVec
	callerErrors   *prometheus.CounterVec
	tokenEndpoint  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		service: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "m2m_sidecar_service_requests_total",
			Help: "Requests to the service side by outcome: forwarded (valid token with the route's scopes), public, unauthorized (401), forbidden (403, scope), no_route (403), bad_path (400).",
		}, []string{"outcome"}),
		serviceUpErr: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "m2m_sidecar_service_upstream_errors_total",
			Help: "Requests the service side could not pass to the application.",
		}),
		callerRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "m2m_sidecar_caller_requests_total",
			Help: "Requests forwarded to an upstream with a token.",
		}, []string{"upstream"}),
		callerErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "m2m_sidecar_caller_errors_total",
			Help: "Requests to an upstream that failed, by reason: no_token (503) or upstream (502, 504).",
		}, []string{"upstream", "reason"}),
		tokenEndpoint: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "m2m_sidecar_token_endpoint_requests_total",
			Help: "Requests to the local token endpoint by outcome: served or no_token.",
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.service, m.serviceUpErr, m.callerRequests, m.callerErrors, m.tokenEndpoint)
	return m
}

// serviceMetrics holds the service side's counters, resolved once so that a
// request costs no label lookup.
type serviceMetrics struct {
	byOutcome      map[string]prometheus.Counter
	upstreamErrors prometheus.Counter
}

func (m *metrics) forService() *serviceMetrics {
	s := &serviceMetrics{byOutcome: map[string]prometheus.Counter{}, upstreamErrors: m.serviceUpErr}
	for _, o := range []string{outcomeForwarded, outcomePublic, outcomeUnauthorized, outcomeForbidden, outcomeNoRoute, outcomeBadPath} {
		s.byOutcome[o] = m.service.WithLabelValues(o)
	}
	return s
}

func (s *serviceMetrics) count(outcome string) { s.byOutcome[outcome].Inc() }

// callerMetrics holds one upstream's counters.
type callerMetrics struct {
	forwarded, noToken, upstreamErrors prometheus.Counter
}

func (m *metrics) forUpstream(name string) *callerMetrics {
	return &callerMetrics{
		forwarded:      m.callerRequests.WithLabelValues(name),
		noToken:        m.callerErrors.WithLabelValues(name, "no_token"),
		upstreamErrors: m.callerErrors.WithLabelValues(name, "upstream"),
	}
}

// tokenMetrics holds the token endpoint's counters.
type tokenMetrics struct {
	served, noToken prometheus.Counter
}

func (m *metrics) forTokenEndpoint() *tokenMetrics {
	return &tokenMetrics{
		served:  m.tokenEndpoint.WithLabelValues("served"),
		noToken: m.tokenEndpoint.WithLabelValues("no_token"),
	}
}
