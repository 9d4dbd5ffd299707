// Package authprom exports the counters of the auth packages as Prometheus
// metrics. It is separate so that services that do not use Prometheus do not
// depend on it; the same numbers are readable in Go through the Stats methods.
package authprom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cognito-m2m/operator/auth/client"
	"github.com/cognito-m2m/operator/auth/verify"
)

type metric struct {
	desc  *prometheus.Desc
	typ   prometheus.ValueType
	value float64
}

// collector reads one Stats snapshot per scrape; scrapes may run concurrently.
type collector struct {
	snapshot func() ([]metric, map[string]uint64)
	byReason *prometheus.Desc
	descs    []*prometheus.Desc
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
	ch <- c.byReason
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	fixed, reasons := c.snapshot()
	for _, m := range fixed {
		ch <- prometheus.MustNewConstMetric(m.desc, m.typ, m.value)
	}
	for reason, n := range reasons {
		ch <- prometheus.MustNewConstMetric(c.byReason, prometheus.CounterValue, float64(n), reason)
	}
}

// NewClientCollector returns a collector of a token source's metrics, labelled
// client=name: token age and remaining lifetime, renewals, token-endpoint
// requests (each one is billed by Cognito), 401 retries and failures by reason.
func NewClientCollector(name string, ts *client.TokenSource) prometheus.Collector {
	labels := prometheus.Labels{"client": name}
	d := func(n, help string) *prometheus.Desc {
		return prometheus.NewDesc("m2m_client_"+n, help, nil, labels)
	}
	var (
		age      = d("token_age_seconds", "Age of the cached access token.")
		left     = d("token_expires_in_seconds", "Time until the cached access token expires.")
		renewals = d("token_renewals_total", "Access tokens obtained.")
		forced   = d("token_forced_renewals_total", "Renewals started by a 401 from the called service.")
		requests = d("token_endpoint_requests_total", "Requests sent to the token endpoint; Cognito bills each one.")
		retries  = d("request_retries_total", "Requests sent again with a renewed token after a 401.")
		budget   = d("retry_budget_exhausted_total", "401 responses that could not trigger a renewal because the retry budget was spent.")
	)
	c := &collector{
		byReason: prometheus.NewDesc("m2m_client_token_failures_total", "Failed token requests by reason.", []string{"reason"}, labels),
		descs:    []*prometheus.Desc{age, left, renewals, forced, requests, retries, budget},
	}
	c.snapshot = func() ([]metric, map[string]uint64) {
		s := ts.Stats()
		return []metric{
			{age, prometheus.GaugeValue, s.TokenAge.Seconds()},
			{left, prometheus.GaugeValue, s.TokenExpiresIn.Seconds()},
			{renewals, prometheus.CounterValue, float64(s.Renewals)},
			{forced, prometheus.CounterValue, float64(s.ForcedRenewals)},
			{requests, prometheus.CounterValue, float64(s.TokenEndpointRequests)},
			{retries, prometheus.CounterValue, float64(s.Retries)},
			{budget, prometheus.CounterValue, float64(s.BudgetExhausted)},
		}, s.Failures
	}
	return c
}

// NewVerifierCollector returns a collector of a verifier's metrics, labelled
// verifier=name: tokens verified and served from cache, rejections by reason,
// JWKS fetches and failures, and the number of trusted keys.
func NewVerifierCollector(name string, v *verify.Verifier) prometheus.Collector {
	labels := prometheus.Labels{"verifier": name}
	d := func(n, help string) *prometheus.Desc {
		return prometheus.NewDesc("m2m_verifier_"+n, help, nil, labels)
	}
	var (
		verified = d("tokens_verified_total", "Tokens verified with a signature check.")
		hits     = d("cache_hits_total", "Tokens accepted from the verified-token cache.")
		entries  = d("cache_entries", "Verified tokens in the cache.")
		fetches  = d("jwks_fetches_total", "JWKS downloads.")
		failures = d("jwks_failures_total", "Failed JWKS downloads.")
		keys     = d("keys", "Trusted signing keys.")
	)
	c := &collector{
		byReason: prometheus.NewDesc("m2m_verifier_rejected_total", "Rejected requests by reason.", []string{"reason"}, labels),
		descs:    []*prometheus.Desc{verified, hits, entries, fetches, failures, keys},
	}
	c.snapshot = func() ([]metric, map[string]uint64) {
		s := v.Stats()
		return []metric{
			{verified, prometheus.CounterValue, float64(s.Verified)},
			{hits, prometheus.CounterValue, float64(s.CacheHits)},
			{entries, prometheus.GaugeValue, float64(s.CacheEntries)},
			{fetches, prometheus.CounterValue, float64(s.JWKSFetches)},
			{failures, prometheus.CounterValue, float64(s.JWKSFailures)},
			{keys, prometheus.GaugeValue, float64(s.Keys)},
		}, s.Rejected
	}
	return c
}
