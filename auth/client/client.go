// Package client is the calling side of machine-to-machine auth: a TokenSource
// that obtains Cognito access tokens with the client-credentials grant and keeps
// one warm, and an http.RoundTripper that attaches it to requests.
//
// Cognito bills and rate-limits every token request, so the design spends as few
// as it can: one token is shared by all requests and renewed in the background at
// about 75% of its lifetime (with jitter, so that replicas do not renew together);
// however many requests are in flight, only one renewal runs; a failed renewal
// keeps serving the cached token until it really expires and retries with
// exponential backoff and jitter; and a 401 from the called service triggers at
// most one renewal per token, within a budget. The hot path is one atomic load.
//
// The client authenticates with client_secret_basic only, never probing for the
// style, and its token requests follow no redirect. Neither the client secret
// nor the access token is printed or logged: a TokenSource and its Config
// format and log as what identifies them. Credentials come from a
// credentials.Source; a credentials.Dir is re-read
// before every token request, so a rotated Secret is picked up without a restart,
// and when Cognito answers invalid_client the previous secret of a rotation in
// progress is tried.
package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/cognito-m2m/operator/auth/credentials"
	"github.com/cognito-m2m/operator/auth/internal/clock"
)

// Clock is the time source of a TokenSource, the same type as verify.Clock; tests
// replace it with a fake (authtest.Clock).
type Clock = clock.Clock

// Config holds what a TokenSource depends on. Only Credentials is required; the
// tuning of renewals, backoff and retries is given as Options.
type Config struct {
	// Credentials gives the client id, secrets, token endpoint and scopes.
	Credentials credentials.Source
	// HTTPClient sends the token requests; default a client with no extra
	// settings. Token requests never follow a redirect, whatever its
	// CheckRedirect says.
	HTTPClient *http.Client
	// Clock defaults to the system clock.
	Clock Clock
}

// Option tunes a TokenSource. The defaults suit Cognito.
type Option func(*options)

type options struct {
	fetchTimeout           time.Duration
	renewAt, renewJitter   float64
	expiryMargin           time.Duration
	minBackoff, maxBackoff time.Duration
	retryBudget            int
	retryRefill            time.Duration
}

func defaultOptions() options {
	return options{
		fetchTimeout: 10 * time.Second,
		renewAt:      0.75,
		renewJitter:  0.05,
		expiryMargin: 10 * time.Second,
		minBackoff:   time.Second,
		maxBackoff:   time.Minute,
		retryBudget:  3,
		retryRefill:  time.Minute,
	}
}

// WithFetchTimeout bounds one renewal, all attempts included; default 10
// seconds. It is independent of any caller's context.
func WithFetchTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.fetchTimeout = d
		}
	}
}

// WithRenewal sets when a token is renewed: after the fraction at of its
// lifetime (default 0.75, kept within (0, 1)), spread by plus or minus jitter of
// the lifetime (default 0.05, so that replicas do not renew together; at most
// half the distance of at to 0 or 1).
func WithRenewal(at, jitter float64) Option {
	return func(o *options) {
		if at > 0 && at < 1 {
			o.renewAt = at
		}
		if jitter > 0 {
			o.renewJitter = jitter
		}
	}
}

// WithExpiryMargin sets how long before its expiry a token stops being handed
// out, so that it does not expire in flight; default 10 seconds, and at most a
// quarter of the lifetime whatever is set.
func WithExpiryMargin(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.expiryMargin = d
		}
	}
}

// WithBackoff bounds the wait between failed renewals; defaults 1 second and 1
// minute.
func WithBackoff(lo, hi time.Duration) Option {
	return func(o *options) {
		if lo > 0 {
			o.minBackoff = lo
		}
		if hi > 0 {
			o.maxBackoff = hi
		}
	}
}

// WithRetryBudget sets how many renewals 401 responses can trigger in a burst
// (default 3) and how often one more is allowed (default every minute).
func WithRetryBudget(burst int, refill time.Duration) Option {
	return func(o *options) {
		if burst > 0 {
			o.retryBudget = burst
		}
		if refill > 0 {
			o.retryRefill = refill
		}
	}
}

// Token lifetime assumed when the token endpoint gives no expires_in: Cognito's
// shortest access-token validity.
const assumedLifetime = 5 * time.Minute

// Errors returned by a TokenSource besides *FetchError.
var (
	// ErrBackoff: no usable token, and the last renewal failed too recently to
	// try again; it wraps the last failure.
	ErrBackoff = errors.New("token renewal backing off after a failure")
	// ErrRetryBudget: a 401 asked for a renewal but the retry budget is spent.
	ErrRetryBudget = errors.New("token retry budget exhausted")
	// ErrClosed: the TokenSource was closed.
	ErrClosed = errors.New("token source closed")
)

// cachedToken is one access token and its schedule.
type cachedToken struct {
	tok         *oauth2.Token
	header      string // "Bearer <token>"
	obtained    time.Time
	expiry      time.Time
	usableUntil time.Time
	renewAt     time.Time
}

// call is one renewal that callers can wait for.
type call struct {
	done chan struct{}
	tok  *cachedToken
	err  error
}

// TokenSource obtains, caches and renews access tokens. It implements
// oauth2.TokenSource and is safe for concurrent use.
//
// Its state is behind a pointer that never changes: fmt, when it prints a value
// field by field without asking its Format method (as it does for a verb that
// does not fit, or for an unexported field of the caller's struct), then shows
// an address, not the credentials or the token, and reads nothing that a
// renewal writes.
type TokenSource struct{ *state }

type state struct {
	cfg   *Config
	opt   options
	clock Clock
	http  *http.Client // cfg.HTTPClient, following no redirects

	cur         atomic.Pointer[cachedToken]
	nextAttempt atomic.Int64 // unix nanoseconds before which no renewal starts after a failure
	renewing    atomic.Bool  // a renewal is in flight; lets the hot path skip the lock

	mu        sync.Mutex
	inflight  *call
	failures  int
	lastErr   error
	stopTimer func() bool
	closed    bool
	budget    float64
	budgetAt  time.Time

	stats clientStats
}

// New returns a TokenSource. It requests nothing until a token is first needed.
func New(cfg Config, opts ...Option) (*TokenSource, error) {
	if cfg.Credentials == nil {
		return nil, errors.New("token source needs credentials")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	o.renewJitter = min(o.renewJitter, o.renewAt/2, (1-o.renewAt)/2)
	o.maxBackoff = max(o.maxBackoff, o.minBackoff)
	ts := &TokenSource{&state{cfg: &cfg, opt: o, clock: cfg.Clock, http: noRedirects(cfg.HTTPClient), budget: float64(o.retryBudget)}}
	ts.budgetAt = ts.clock.Now()
	return ts, nil
}

// Token returns a valid access token, waiting at most the fetch timeout for a renewal.
func (ts *TokenSource) Token() (*oauth2.Token, error) {
	return ts.TokenContext(context.Background())
}

// TokenContext returns a valid access token. ctx bounds only this caller's wait:
// a renewal it started goes on for the others.
func (ts *TokenSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	t, err := ts.token(ctx)
	if err != nil {
		return nil, err
	}
	tok := *t.tok
	tok.Expiry = t.expiry
	return &tok, nil
}

// token is the hot path: a valid cached token costs one atomic load and a clock read.
func (ts *TokenSource) token(ctx context.Context) (*cachedToken, error) {
	now := ts.clock.Now()
	if t := ts.cur.Load(); t != nil && now.Before(t.usableUntil) {
		if !now.Before(t.renewAt) && !ts.renewing.Load() && now.UnixNano() >= ts.nextAttempt.Load() {
			// The background timer normally does this; a request that sees the
			// renewal overdue starts it without waiting for it.
			ts.mu.Lock()
			if ts.inflight == nil && !ts.closed {
				ts.startLocked()
			}
			ts.mu.Unlock()
		}
		return t, nil
	}
	ts.mu.Lock()
	if t := ts.cur.Load(); t != nil && now.Before(t.usableUntil) {
		// A renewal landed since the load above.
		ts.mu.Unlock()
		return t, nil
	}
	c := ts.inflight
	if c == nil {
		if err := ts.refuseLocked(now); err != nil {
			ts.mu.Unlock()
			return nil, err
		}
		c = ts.startLocked()
	}
	ts.mu.Unlock()
	return wait(ctx, c)
}

// refuseLocked says why no renewal may start now, if so.
func (ts *TokenSource) refuseLocked(now time.Time) error {
	if ts.closed {
		return ErrClosed
	}
	if now.UnixNano() < ts.nextAttempt.Load() {
		return fmt.Errorf("%w: %w", ErrBackoff, ts.lastErr)
	}
	return nil
}

func wait(ctx context.Context, c *call) (*cachedToken, error) {
	select {
	case <-c.done:
		return c.tok, c.err
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for access token: %w", ctx.Err())
	}
}

// renewAfterReject is called when the service rejected rejected with a 401. If the
// token was already renewed, the new one is returned; otherwise one renewal is
// started (or joined), if the retry budget allows.
func (ts *TokenSource) renewAfterReject(ctx context.Context, rejected *cachedToken) (*cachedToken, error) {
	now := ts.clock.Now()
	ts.mu.Lock()
	if cur := ts.cur.Load(); cur != nil && cur != rejected && now.Before(cur.usableUntil) {
		ts.mu.Unlock()
		return cur, nil
	}
	c := ts.inflight
	if c == nil {
		if err := ts.refuseLocked(now); err != nil {
			ts.mu.Unlock()
			return nil, err
		}
		if !ts.takeBudgetLocked(now) {
			ts.mu.Unlock()
			ts.stats.budgetExhausted.Add(1)
			return nil, ErrRetryBudget
		}
		ts.stats.forcedRenewals.Add(1)
		c = ts.startLocked()
	}
	ts.mu.Unlock()
	return wait(ctx, c)
}

// takeBudgetLocked takes one forced renewal from a token bucket.
func (ts *TokenSource) takeBudgetLocked(now time.Time) bool {
	ts.budget = min(float64(ts.opt.retryBudget), ts.budget+float64(now.Sub(ts.budgetAt))/float64(ts.opt.retryRefill))
	ts.budgetAt = now
	if ts.budget < 1 {
		return false
	}
	ts.budget--
	return true
}

func (ts *TokenSource) startLocked() *call {
	c := &call{done: make(chan struct{})}
	ts.inflight = c
	ts.renewing.Store(true)
	go ts.renew(c)
	return c
}

func (ts *TokenSource) renew(c *call) {
	ctx, cancel := context.WithTimeout(context.Background(), ts.opt.fetchTimeout)
	t, err := ts.fetch(ctx)
	cancel()
	now := ts.clock.Now()

	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.inflight = nil
	ts.renewing.Store(false)
	c.tok, c.err = t, err
	defer close(c.done)
	if err == nil {
		ts.cur.Store(t)
		ts.failures, ts.lastErr = 0, nil
		ts.nextAttempt.Store(0)
		ts.stats.renewals.Add(1)
		ts.scheduleLocked(t.renewAt.Sub(now))
		return
	}
	ts.failures++
	ts.lastErr = err
	b := backoff(ts.failures, ts.opt.minBackoff, ts.opt.maxBackoff)
	ts.nextAttempt.Store(now.Add(b).UnixNano())
	if cur := ts.cur.Load(); cur != nil && now.Add(b).Before(cur.usableUntil) {
		ts.scheduleLocked(b)
	}
}

// scheduleLocked arms the one background renewal timer.
func (ts *TokenSource) scheduleLocked(d time.Duration) {
	if ts.closed {
		return
	}
	if ts.stopTimer != nil {
		ts.stopTimer()
	}
	ts.stopTimer = ts.clock.AfterFunc(d, func() {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		if ts.inflight == nil && !ts.closed {
			ts.startLocked()
		}
	})
}

// backoff returns the wait after n consecutive failures: exponential from min,
// capped at max, with jitter over its upper half.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}

// Close stops background renewals. Cached tokens are still handed out until they
// expire; nothing new is requested.
func (ts *TokenSource) Close() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.closed = true
	if ts.stopTimer != nil {
		ts.stopTimer()
	}
}

// fetch obtains a new token with the current credentials, trying the previous
// secret of a rotation in progress when the current one is rejected.
func (ts *TokenSource) fetch(ctx context.Context) (*cachedToken, error) {
	var reloadErr error
	if r, ok := ts.cfg.Credentials.(credentials.Reloader); ok {
		if _, err := r.Reload(); err != nil {
			reloadErr = err // keep using the last good credentials
		}
	}
	c := ts.cfg.Credentials.Credentials()
	if err := c.Validate(); err != nil {
		ts.stats.fail(ReasonCredentials)
		return nil, &FetchError{Reason: ReasonCredentials, ClientID: c.ClientID, Endpoint: c.TokenEndpoint, err: errors.Join(err, reloadErr)}
	}
	secrets := []credentials.Secret{c.ClientSecret}
	if c.PreviousSecret != "" && c.PreviousSecret != c.ClientSecret {
		secrets = append(secrets, c.PreviousSecret)
	}
	var err error
	for _, s := range secrets {
		var t *cachedToken
		t, err = ts.exchange(ctx, c, s)
		if err == nil {
			return t, nil
		}
		var fe *FetchError
		if !errors.As(err, &fe) || fe.Reason != ReasonInvalidClient {
			break
		}
	}
	if reloadErr != nil {
		err = fmt.Errorf("%w (and reloading credentials failed: %w)", err, reloadErr)
	}
	return nil, err
}

// exchange makes one token request.
func (ts *TokenSource) exchange(ctx context.Context, c credentials.Credentials, secret credentials.Secret) (*cachedToken, error) {
	cc := clientcredentials.Config{
		ClientID:     c.ClientID,
		ClientSecret: secret.Reveal(),
		TokenURL:     c.TokenEndpoint,
		Scopes:       c.Scopes,
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	obtained := ts.clock.Now()
	ts.stats.requests.Add(1)
	tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, ts.http))
	if err != nil {
		fe := newFetchError(err, c, secret)
		ts.stats.fail(fe.Reason)
		return nil, fe
	}
	if !strings.EqualFold(tok.Type(), "Bearer") {
		ts.stats.fail(ReasonBadResponse)
		return nil, &FetchError{Reason: ReasonBadResponse, ClientID: c.ClientID, Endpoint: c.TokenEndpoint, Description: "token type " + tok.Type()}
	}
	lifetime := lifetimeOf(tok)
	margin := min(ts.opt.expiryMargin, lifetime/4)
	frac := ts.opt.renewAt - ts.opt.renewJitter + 2*ts.opt.renewJitter*rand.Float64()
	expiry := obtained.Add(lifetime)
	return &cachedToken{
		tok:         tok,
		header:      "Bearer " + tok.AccessToken,
		obtained:    obtained,
		expiry:      expiry,
		usableUntil: expiry.Add(-margin),
		renewAt:     obtained.Add(time.Duration(frac * float64(lifetime))),
	}, nil
}

// noRedirects returns a copy of c that follows no redirect. A token request
// carries the client's credentials, and net/http keeps the Authorization header
// on a redirect to the same host name whatever the port, and resends the body
// (which may hold them too) on a 307 or 308: a token endpoint that redirects is
// an error, never a hop. The redirect comes back as the response, which x/oauth2
// turns into a RetrieveError with its status.
func noRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// Client returns an http.Client whose requests carry the token.
func (ts *TokenSource) Client(base http.RoundTripper) *http.Client {
	return &http.Client{Transport: &Transport{Source: ts, Base: base}}
}

// lifetimeOf returns the token's lifetime, read rather than taken from Expiry
// against the clock so that a fake clock sees it whole. x/oauth2 reports the
// response's expires_in as Token.ExpiresIn on the flows that fill it in, and
// always turns it into an Expiry on the system clock, set as the response is
// parsed; clientcredentials (x/oauth2 v0.38.0) fills in only the Expiry. The
// time left until that Expiry, read just after, is then expires_in less a few
// microseconds, which rounding to the second (expires_in counts whole seconds)
// gives back exactly.
func lifetimeOf(tok *oauth2.Token) time.Duration {
	if tok.ExpiresIn > 0 {
		return time.Duration(tok.ExpiresIn) * time.Second
	}
	if !tok.Expiry.IsZero() {
		if left := time.Until(tok.Expiry).Round(time.Second); left > 0 {
			return left
		}
	}
	return assumedLifetime
}
