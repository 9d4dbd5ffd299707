package client

import (
	"sync/atomic"
	"time"
)

type clientStats struct {
	requests        atomic.Uint64
	renewals        atomic.Uint64
	forcedRenewals  atomic.Uint64
	retries         atomic.Uint64
	budgetExhausted atomic.Uint64
	failures        [12]atomic.Uint64 // by index in allReasons
}

func (s *clientStats) fail(reason string) {
	for i, r := range allReasons {
		if r == reason {
			s.failures[i].Add(1)
			return
		}
	}
}

// Stats are the counters of a TokenSource, for metrics. TokenEndpointRequests is
// the cost signal: Cognito bills each one.
type Stats struct {
	// TokenEndpointRequests counts HTTP requests to the token endpoint.
	TokenEndpointRequests uint64
	// Renewals counts tokens obtained.
	Renewals uint64
	// ForcedRenewals counts renewals started by a 401 from the called service.
	ForcedRenewals uint64
	// Retries counts requests sent again after a 401.
	Retries uint64
	// BudgetExhausted counts 401s that could not trigger a renewal.
	BudgetExhausted uint64
	// Failures counts failed token requests by reason.
	Failures map[string]uint64
	// ConsecutiveFailures counts renewals failed since the last success.
	ConsecutiveFailures int
	// HasToken reports whether a token is cached; TokenAge is how long ago it was
	// obtained and TokenExpiresIn how long it remains valid.
	HasToken                 bool
	TokenAge, TokenExpiresIn time.Duration
}

// Stats returns the token source's counters.
func (ts *TokenSource) Stats() Stats {
	s := Stats{
		TokenEndpointRequests: ts.stats.requests.Load(),
		Renewals:              ts.stats.renewals.Load(),
		ForcedRenewals:        ts.stats.forcedRenewals.Load(),
		Retries:               ts.stats.retries.Load(),
		BudgetExhausted:       ts.stats.budgetExhausted.Load(),
		Failures:              make(map[string]uint64, len(allReasons)),
	}
	for i, r := range allReasons {
		s.Failures[r] = ts.stats.failures[i].Load()
	}
	ts.mu.Lock()
	s.ConsecutiveFailures = ts.failures
	ts.mu.Unlock()
	if t := ts.cur.Load(); t != nil {
		now := ts.clock.Now()
		s.HasToken = true
		s.TokenAge = now.Sub(t.obtained)
		s.TokenExpiresIn = max(0, t.expiry.Sub(now))
	}
	return s
}
