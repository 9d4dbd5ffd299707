package client

import (
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/cognito-m2m/operator/auth/authtest"
	"github.com/cognito-m2m/operator/auth/credentials"
)

// noop is a base transport that answers at once, so that only the auth
// transport's own cost is measured.
type noop struct{ resp *http.Response }

func (n noop) RoundTrip(*http.Request) (*http.Response, error) { return n.resp, nil }

func warmSource(b *testing.B) *TokenSource {
	srv := authtest.NewServer(b)
	srv.AddClient(clientID, secret1, scope)
	ts, err := New(Config{Credentials: credentials.Static{ClientID: clientID, ClientSecret: secret1, TokenEndpoint: srv.TokenEndpoint}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(ts.Close)
	if _, err := ts.Token(); err != nil {
		b.Fatal(err)
	}
	return ts
}

// BenchmarkTransport measures the per-request cost of attaching a warm token:
// the bare base transport, this package's Transport, and x/oauth2's Transport
// over the same token source for comparison.
func BenchmarkTransport(b *testing.B) {
	base := noop{&http.Response{StatusCode: 200, Body: http.NoBody}}
	req, _ := http.NewRequest("GET", "http://weather.example/weatherforecast", nil)
	run := func(b *testing.B, rt http.RoundTripper) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := rt.RoundTrip(req); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("bare", func(b *testing.B) { run(b, base) })
	b.Run("auth-transport", func(b *testing.B) { run(b, &Transport{Source: warmSource(b), Base: base}) })
	b.Run("x-oauth2-transport", func(b *testing.B) {
		run(b, &oauth2.Transport{Source: oauth2.ReuseTokenSource(nil, warmSource(b)), Base: base})
	})
	b.Run("auth-transport-parallel", func(b *testing.B) {
		rt := &Transport{Source: warmSource(b), Base: base}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := rt.RoundTrip(req); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkTokenCalls1000Goroutines has 1,000 goroutines make requests through
// one Transport while one-second tokens come and go, on the real clock, and
// reports how many token-endpoint calls that cost. Renewing at 75% of the
// lifetime, the ideal is one call per 0.75 s (1.33 per lifetime) plus the first;
// run it with -benchtime of a few seconds to span several lifetimes.
func BenchmarkTokenCalls1000Goroutines(b *testing.B) {
	srv := authtest.NewServer(b)
	srv.SetTokenLifetime(time.Second)
	srv.AddClient(clientID, secret1, scope)
	ts, err := New(Config{Credentials: credentials.Static{ClientID: clientID, ClientSecret: secret1, TokenEndpoint: srv.TokenEndpoint}})
	if err != nil {
		b.Fatal(err)
	}
	defer ts.Close()
	rt := &Transport{Source: ts, Base: noop{&http.Response{StatusCode: 200, Body: http.NoBody}}}
	req, _ := http.NewRequest("GET", "http://weather.example/weatherforecast", nil)
	var failed atomic.Int64
	b.SetParallelism(max(1, 1000/runtime.GOMAXPROCS(0))) // 1,000 goroutines in all
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := rt.RoundTrip(req); err != nil {
				failed.Add(1)
			}
		}
	})
	elapsed := time.Since(start)
	calls := float64(ts.Stats().TokenEndpointRequests)
	b.ReportMetric(calls, "token-calls")
	b.ReportMetric(calls/elapsed.Seconds(), "token-calls/lifetime")
	b.ReportMetric(float64(failed.Load()), "failed-requests")
}
