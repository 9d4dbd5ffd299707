package authprom_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cognito-m2m/operator/auth/authprom"
	"github.com/cognito-m2m/operator/auth/authtest"
	"github.com/cognito-m2m/operator/auth/client"
	"github.com/cognito-m2m/operator/auth/credentials"
	"github.com/cognito-m2m/operator/auth/verify"
)

// gather returns the value of every metric series, keyed by name and labels.
func gather(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.GetCounter() != nil:
				got[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				got[key] = m.GetGauge().GetValue()
			}
		}
	}
	return got
}

func TestCollectors(t *testing.T) {
	srv := authtest.NewServer(t)
	srv.AddClient("c", "s", "api/read")
	ts, err := client.New(client.Config{Credentials: credentials.Static{ClientID: "c", ClientSecret: "s", TokenEndpoint: srv.TokenEndpoint}})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	got := gather(t, authprom.NewClientCollector("weather", ts))
	pick := map[string]float64{}
	for _, k := range []string{
		"m2m_client_token_endpoint_requests_total client=weather",
		"m2m_client_token_renewals_total client=weather",
		"m2m_client_token_failures_total client=weather reason=invalid_client",
	} {
		pick[k] = got[k]
	}
	want := map[string]float64{
		"m2m_client_token_endpoint_requests_total client=weather":              1,
		"m2m_client_token_renewals_total client=weather":                       1,
		"m2m_client_token_failures_total client=weather reason=invalid_client": 0,
	}
	if diff := cmp.Diff(want, pick); diff != "" {
		t.Errorf("client metrics (-want +got):\n%s", diff)
	}
	if got["m2m_client_token_expires_in_seconds client=weather"] <= 3500 {
		t.Errorf("token_expires_in_seconds = %v, want about 3600", got["m2m_client_token_expires_in_seconds client=weather"])
	}

	v, err := verify.New(verify.Config{Issuer: srv.Issuer})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	v.Verify(t.Context(), tok.AccessToken)
	v.Verify(t.Context(), tok.AccessToken)
	v.Verify(t.Context(), "garbage")
	got = gather(t, authprom.NewVerifierCollector("weather", v))
	want = map[string]float64{
		"m2m_verifier_tokens_verified_total verifier=weather":           1,
		"m2m_verifier_cache_hits_total verifier=weather":                1,
		"m2m_verifier_keys verifier=weather":                            1,
		"m2m_verifier_jwks_fetches_total verifier=weather":              1,
		"m2m_verifier_rejected_total reason=malformed verifier=weather": 1,
	}
	pick = map[string]float64{}
	for k := range want {
		pick[k] = got[k]
	}
	if diff := cmp.Diff(want, pick); diff != "" {
		t.Errorf("verifier metrics (-want +got):\n%s", diff)
	}
}
