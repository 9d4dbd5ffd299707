package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/cognito-m2m/operator/auth/authtest"
	"github.com/cognito-m2m/operator/auth/credentials"
)

const (
	clientID = "bff-client"
	secret1  = "first-secret-value"
	secret2  = "second-secret-value"
	scope    = "MyService/weather_read"
)

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	srv   *authtest.Server
	clock *authtest.Clock
	ts    *TokenSource
}

func newFixture(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	srv := authtest.NewServer(t)
	clock := authtest.NewClock(start)
	srv.SetClock(clock.Now)
	srv.AddClient(clientID, secret1, scope)
	cfg := Config{
		Credentials: credentials.Static{ClientID: clientID, ClientSecret: secret1, TokenEndpoint: srv.TokenEndpoint, Scopes: []string{scope}},
		Clock:       clock,
	}
	ts, err := New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Close)
	return &fixture{srv, clock, ts}
}

// waitFor waits until cond holds: for a background renewal to land.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (f *fixture) waitRenewals(t *testing.T, n uint64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d renewals", n), func() bool { return f.ts.Stats().Renewals >= n })
}

func (f *fixture) waitFailures(t *testing.T, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d failures", n), func() bool { return f.ts.Stats().ConsecutiveFailures >= n })
}

// concurrently runs n goroutines that each take a token, and returns the distinct
// access tokens they got.
func concurrently(t *testing.T, ts *TokenSource, n int) map[string]bool {
	t.Helper()
	var mu sync.Mutex
	got := map[string]bool{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			tok, err := ts.TokenContext(context.Background())
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
			got[tok.AccessToken] = true
		})
	}
	wg.Wait()
	return got
}

func TestOneTokenRequestPerLifetime(t *testing.T) {
	f := newFixture(t)
	const lifetimes = 5
	for i := range lifetimes {
		if got := concurrently(t, f.ts, 1000); len(got) != 1 {
			t.Fatalf("lifetime %d: 1000 callers saw %d tokens, want 1", i, len(got))
		}
		// Past the renewal point (70-80% of the lifetime) but before expiry: the
		// background timer renews once.
		f.clock.Advance(51 * time.Minute)
		f.waitRenewals(t, uint64(i+2))
	}
	s := f.ts.Stats()
	if s.TokenEndpointRequests != lifetimes+1 || f.srv.TokenRequests() != lifetimes+1 {
		t.Errorf("token requests: client counted %d, server saw %d; want %d", s.TokenEndpointRequests, f.srv.TokenRequests(), lifetimes+1)
	}
}

func TestTokenAndStats(t *testing.T) {
	f := newFixture(t)
	tok, err := f.ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.Type() != "Bearer" || !tok.Expiry.Equal(start.Add(time.Hour)) || tok.AccessToken == "" {
		t.Errorf("token type %q expiry %v", tok.Type(), tok.Expiry)
	}
	f.clock.Advance(10 * time.Minute)
	s := f.ts.Stats()
	want := Stats{
		TokenEndpointRequests: 1, Renewals: 1, Failures: s.Failures,
		HasToken: true, TokenAge: 10 * time.Minute, TokenExpiresIn: 50 * time.Minute,
	}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
	for r, n := range s.Failures {
		if n != 0 {
			t.Errorf("failures[%s] = %d, want 0", r, n)
		}
	}
}

func TestFailedRenewalKeepsCachedToken(t *testing.T) {
	f := newFixture(t)
	first, err := f.ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	f.srv.FailTokenRequests(http.StatusServiceUnavailable, "")
	f.clock.Advance(50 * time.Minute)
	f.waitFailures(t, 1)
	tok, err := f.ts.Token()
	if err != nil || tok.AccessToken != first.AccessToken {
		t.Fatalf("during an outage: %v; want the cached token", err)
	}
	if got := f.srv.TokenRequests(); got != 2 {
		t.Errorf("token requests after one failed renewal = %d, want 2", got)
	}
	// Within the backoff no request is made however many callers ask.
	f.clock.Advance(400 * time.Millisecond)
	concurrently(t, f.ts, 100)
	if got := f.srv.TokenRequests(); got != 2 {
		t.Errorf("token requests within the backoff = %d, want 2", got)
	}
	// The backoff timer retries.
	f.clock.Advance(time.Second)
	f.waitFailures(t, 2)
	if got := f.ts.Stats().Failures[ReasonServerError]; got != 2 {
		t.Errorf("server_error failures = %d, want 2", got)
	}
	// The endpoint recovers: the next retry renews.
	f.srv.FailTokenRequests(0, "")
	f.clock.Advance(2 * time.Second)
	f.waitRenewals(t, 2)
	tok, err = f.ts.Token()
	if err != nil || tok.AccessToken == first.AccessToken {
		t.Errorf("after recovery: %v; want a new token", err)
	}

	// An outage outlasting the token: once it really expires, callers get an
	// error that says what failed.
	f.srv.FailTokenRequests(http.StatusBadRequest, "invalid_client")
	f.clock.Advance(2 * time.Hour)
	_, err = f.ts.Token()
	var fe *FetchError
	if !errors.As(err, &fe) || fe.Reason != ReasonInvalidClient {
		t.Fatalf("after expiry: %v, want a FetchError invalid_client", err)
	}
	if msg := err.Error(); !strings.Contains(msg, clientID) || !strings.Contains(msg, "invalid_client") || strings.Contains(msg, secret1) {
		t.Errorf("error %q should name the client and reason and not the secret", msg)
	}
	// Right after that failure callers fail fast instead of hammering the endpoint.
	n := f.srv.TokenRequests()
	if _, err := f.ts.Token(); !errors.Is(err, ErrBackoff) {
		t.Errorf("within the backoff: %v, want ErrBackoff", err)
	}
	if f.srv.TokenRequests() != n {
		t.Error("a caller within the backoff reached the token endpoint")
	}
}

func TestCallerContextBoundsOnlyItsWait(t *testing.T) {
	release := make(chan struct{})
	var requests sync.WaitGroup
	requests.Add(1)
	srv := authtest.NewServer(t)
	srv.AddClient(clientID, secret1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Done()
		<-release
		fwd, _ := http.NewRequest("POST", srv.TokenEndpoint, r.Body)
		fwd.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(fwd)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer slow.Close()
	ts, _ := New(Config{Credentials: credentials.Static{ClientID: clientID, ClientSecret: secret1, TokenEndpoint: slow.URL}})
	ts.http = &http.Client{Transport: basicForwarder{}}

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := ts.TokenContext(ctx)
		errc <- err
	}()
	requests.Wait()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v, want context.Canceled", err)
	}
	close(release)
	if _, err := ts.TokenContext(context.Background()); err != nil {
		t.Fatalf("second caller: %v", err)
	}
	if got := ts.Stats().TokenEndpointRequests; got != 1 {
		t.Errorf("token requests = %d, want 1: the cancelled caller's fetch is the one reused", got)
	}
}

// basicForwarder sends requests unchanged; it exists so the test above can swap
// the token source's HTTP client.
type basicForwarder struct{}

func (basicForwarder) RoundTrip(r *http.Request) (*http.Response, error) {
	return http.DefaultTransport.RoundTrip(r)
}

func TestRotationFallsBackToOtherSecret(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t)
	write := func(files map[string]string) {
		t.Helper()
		files["client_id"] = clientID
		files["token_endpoint"] = f.srv.TokenEndpoint
		files["scopes"] = scope
		if err := authtest.WriteSecretDir(dir, files); err != nil {
			t.Fatal(err)
		}
	}
	write(map[string]string{"client_secret": secret1})
	d, err := credentials.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	f.ts.cfg.Credentials = d

	type uses struct{ Old, New int }
	steps := []struct {
		name   string
		server func()
		files  map[string]string
		want   uses // cumulative token requests per secret
	}{
		{name: "before rotation", files: map[string]string{"client_secret": secret1}, want: uses{1, 0}},
		{
			name:  "Secret written before Cognito knows the new secret: fall back",
			files: map[string]string{"client_secret": secret2, "client_secret_previous": secret1},
			want:  uses{2, 1},
		},
		{
			name:   "both secrets active",
			server: func() { f.srv.AddSecret(clientID, secret2) },
			files:  map[string]string{"client_secret": secret2, "client_secret_previous": secret1},
			want:   uses{2, 2},
		},
		{
			name:   "old secret revoked while still listed as previous",
			server: func() { f.srv.RevokeSecret(clientID, secret1) },
			files:  map[string]string{"client_secret": secret2, "client_secret_previous": secret1},
			want:   uses{2, 3},
		},
		{name: "rotation done", files: map[string]string{"client_secret": secret2}, want: uses{2, 4}},
	}
	for i, s := range steps {
		if s.server != nil {
			s.server()
		}
		write(s.files)
		if i > 0 {
			f.clock.Advance(55 * time.Minute)
			f.waitRenewals(t, uint64(i+1))
		}
		if _, err := f.ts.Token(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got := uses{f.srv.SecretUses(clientID, secret1), f.srv.SecretUses(clientID, secret2)}
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("%s: secret uses (-want +got):\n%s", s.name, diff)
		}
	}
}

func TestFetchErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantReason string
	}{
		{"invalid_client 400", 400, `{"error":"invalid_client"}`, ReasonInvalidClient},
		{"failed basic auth 401 without body", 401, ``, ReasonInvalidClient},
		{"invalid_scope", 400, `{"error":"invalid_scope"}`, ReasonInvalidScope},
		{"unknown code", 400, `{"error":"slow_down"}`, ReasonOAuthError},
		{"server error", 502, `bad gateway`, ReasonServerError},
		{"other status", 404, `not found`, ReasonHTTPStatus},
		{"description echoes the secret", 400, `{"error":"invalid_request","error_description":"secret ` + secret1 + ` is wrong"}`, ReasonInvalidRequest},
		{"token type not bearer", 200, `{"access_token":"x","token_type":"mac","expires_in":3600}`, ReasonBadResponse},
		{"no access token", 200, `{"token_type":"Bearer"}`, ReasonBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, pw, ok := r.BasicAuth(); !ok || pw != secret1 {
					t.Errorf("token request without client_secret_basic")
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			ts, _ := New(Config{Credentials: credentials.Static{ClientID: clientID, ClientSecret: secret1, TokenEndpoint: srv.URL}})
			_, err := ts.Token()
			var fe *FetchError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FetchError", err)
			}
			if fe.Reason != tt.wantReason {
				t.Errorf("reason %q, want %q (%v)", fe.Reason, tt.wantReason, err)
			}
			if strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, fe), secret1) {
				t.Errorf("error prints the secret: %v", err)
			}
			if got := ts.Stats().Failures[tt.wantReason]; got != 1 {
				t.Errorf("failures[%s] = %d, want 1", tt.wantReason, got)
			}
		})
	}
}

func TestNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	ts, _ := New(Config{Credentials: credentials.Static{ClientID: clientID, ClientSecret: secret1, TokenEndpoint: url}})
	_, err := ts.Token()
	var fe *FetchError
	if !errors.As(err, &fe) || fe.Reason != ReasonNetwork {
		t.Errorf("closed endpoint: %v, want reason network", err)
	}
}

// rejecting is a service that answers 401 to the tokens in reject.
type rejecting struct {
	mu     sync.Mutex
	reject map[string]bool
	bodies []string
}

func (s *rejecting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok == "" || s.reject[tok] || s.reject["*"] {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	s.bodies = append(s.bodies, string(body))
	io.WriteString(w, "ok")
}

func TestTransportRetriesOnce(t *testing.T) {
	f := newFixture(t)
	first, err := f.ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	svc := &rejecting{reject: map[string]bool{first.AccessToken: true}}
	backend := httptest.NewServer(svc)
	defer backend.Close()
	c := f.ts.Client(nil)

	// Many requests see the revoked token at once: one renewal serves them all.
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			resp, err := c.Post(backend.URL, "text/plain", strings.NewReader("payload"))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("status %d after retry, want 200", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	s := f.ts.Stats()
	if s.TokenEndpointRequests != 2 || s.ForcedRenewals != 1 {
		t.Errorf("token requests %d, forced renewals %d; want 2 and 1", s.TokenEndpointRequests, s.ForcedRenewals)
	}
	for _, b := range svc.bodies {
		if b != "payload" {
			t.Errorf("retried body %q, want the original", b)
		}
	}

	// A request whose body cannot be replayed gets the 401 back.
	svc.mu.Lock()
	svc.reject["*"] = true
	svc.mu.Unlock()
	req, _ := http.NewRequest("POST", backend.URL, io.NopCloser(bytes.NewReader([]byte("once"))))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || f.ts.Stats().TokenEndpointRequests != 2 {
		t.Errorf("unreplayable request: status %d, token requests %d; want 401 and no renewal", resp.StatusCode, f.ts.Stats().TokenEndpointRequests)
	}
}

func TestRetryBudget(t *testing.T) {
	f := newFixture(t, WithRetryBudget(3, time.Minute))
	backend := httptest.NewServer(&rejecting{reject: map[string]bool{"*": true}})
	defer backend.Close()
	c := f.ts.Client(nil)
	get := func() int {
		resp, err := c.Get(backend.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// A service that rejects everything: 1 token, then 3 forced renewals, then none.
	for range 10 {
		if got := get(); got != 401 {
			t.Fatalf("status %d, want the service's 401", got)
		}
	}
	s := f.ts.Stats()
	if s.TokenEndpointRequests != 4 || s.BudgetExhausted != 7 {
		t.Errorf("token requests %d, budget exhausted %d; want 4 and 7", s.TokenEndpointRequests, s.BudgetExhausted)
	}
	// The budget refills slowly.
	f.clock.Advance(time.Minute)
	get()
	get()
	if got := f.ts.Stats().TokenEndpointRequests; got != 5 {
		t.Errorf("token requests after a minute = %d, want 5", got)
	}
}

func TestTransportDoesNotModifyRequest(t *testing.T) {
	f := newFixture(t)
	var seen string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Get("Authorization")
	}))
	defer backend.Close()
	req, _ := http.NewRequest("GET", backend.URL, nil)
	resp, err := f.ts.Client(nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tok, _ := f.ts.Token()
	if seen != "Bearer "+tok.AccessToken {
		t.Errorf("service saw Authorization %q", seen)
	}
	if req.Header.Get("Authorization") != "" {
		t.Error("the caller's request was modified")
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		n      int
		lo, hi time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{4, 4 * time.Second, 8 * time.Second},
		{20, 30 * time.Second, time.Minute},
	}
	for _, tt := range tests {
		for range 100 {
			if d := backoff(tt.n, time.Second, time.Minute); d < tt.lo || d > tt.hi {
				t.Errorf("backoff(%d) = %v, want in [%v, %v]", tt.n, d, tt.lo, tt.hi)
			}
		}
	}
}

// TestTransportKeepsTokenOnOrigin: net/http strips an Authorization header on a
// redirect to another host, but a transport adds its own on every request, so it
// must decide itself. The token goes only to the origin the caller asked for,
// and only while every hop of a redirect chain stayed on it.
func TestTransportKeepsTokenOnOrigin(t *testing.T) {
	f := newFixture(t)
	tok, err := f.ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]string{} // server:path -> Authorization
	record := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[name+":"+r.URL.Path] = r.Header.Get("Authorization")
			mu.Unlock()
			if to := r.URL.Query().Get("to"); to != "" {
				http.Redirect(w, r, to, http.StatusFound)
			}
		})
	}
	other := httptest.NewServer(record("other"))
	defer other.Close()
	origin := httptest.NewServer(record("origin"))
	defer origin.Close()
	otherPort := other.URL[strings.LastIndexByte(other.URL, ':'):]

	tests := []struct {
		name string
		to   string
		want map[string]string
	}{
		{
			name: "same origin",
			to:   origin.URL + "/final",
			want: map[string]string{"origin:/start": "Bearer " + tok.AccessToken, "origin:/final": "Bearer " + tok.AccessToken},
		},
		{
			name: "another port of the same address",
			to:   other.URL + "/final",
			want: map[string]string{"origin:/start": "Bearer " + tok.AccessToken, "other:/final": ""},
		},
		{
			name: "another host name",
			to:   "http://localhost" + otherPort + "/final",
			want: map[string]string{"origin:/start": "Bearer " + tok.AccessToken, "other:/final": ""},
		},
		{
			// The other host chose where the request goes next; the token
			// would follow it to any path of the origin, with a 307 even
			// the body of a POST.
			name: "away and back",
			to:   other.URL + "/away?to=" + url.QueryEscape(origin.URL+"/final"),
			want: map[string]string{"origin:/start": "Bearer " + tok.AccessToken, "other:/away": "", "origin:/final": ""},
		},
		{
			name: "twice on the origin",
			to:   origin.URL + "/again?to=" + url.QueryEscape(origin.URL+"/final"),
			want: map[string]string{"origin:/start": "Bearer " + tok.AccessToken, "origin:/again": "Bearer " + tok.AccessToken, "origin:/final": "Bearer " + tok.AccessToken},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			clear(seen)
			mu.Unlock()
			resp, err := f.ts.Client(nil).Get(origin.URL + "/start?to=" + url.QueryEscape(tt.to))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff(tt.want, seen); diff != "" {
				t.Errorf("Authorization seen by each server (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSameOrigin(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"https://api.example", "https://api.example/other?x=1", true},
		{"https://api.example", "https://API.example:443/", true},
		{"http://api.example", "http://api.example:80/", true},
		{"https://api.example", "http://api.example", false},
		{"https://api.example", "https://api.example:8443", false},
		{"https://example", "https://api.example", false},
		{"http://[::1]:8080", "http://[::1]:8080/x", true},
	}
	for _, tt := range tests {
		a, _ := url.Parse(tt.a)
		b, _ := url.Parse(tt.b)
		if got := sameOrigin(a, b); got != tt.want {
			t.Errorf("sameOrigin(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestTokenLifetime: the lifetime is the response's expires_in, whole, on the
// token source's clock, whatever form the token endpoint gives it in; without
// one, Cognito's shortest validity is assumed.
func TestTokenLifetime(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		want        time.Duration
	}{
		{"JSON number", "application/json", `{"access_token":"x","token_type":"Bearer","expires_in":120}`, 2 * time.Minute},
		{"JSON string", "application/json", `{"access_token":"x","token_type":"Bearer","expires_in":"7200"}`, 2 * time.Hour},
		{"form-encoded", "application/x-www-form-urlencoded", `access_token=x&token_type=Bearer&expires_in=900`, 15 * time.Minute},
		{"no expires_in", "application/json", `{"access_token":"x","token_type":"Bearer"}`, assumedLifetime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			clock := authtest.NewClock(start)
			ts, err := New(Config{Credentials: credentials.Static{ClientID: clientID, ClientSecret: secret1, TokenEndpoint: srv.URL}, Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			defer ts.Close()
			tok, err := ts.Token()
			if err != nil {
				t.Fatal(err)
			}
			if !tok.Expiry.Equal(start.Add(tt.want)) {
				t.Errorf("expiry %v after the request, want %v", tok.Expiry.Sub(start), tt.want)
			}
		})
	}
}

func TestLifetimeOf(t *testing.T) {
	tests := []struct {
		name string
		tok  *oauth2.Token
		want time.Duration
	}{
		{"ExpiresIn", &oauth2.Token{ExpiresIn: 3600, Expiry: time.Now().Add(time.Minute)}, time.Hour},
		{"Expiry set just now", &oauth2.Token{Expiry: time.Now().Add(90*time.Second - 3*time.Millisecond)}, 90 * time.Second},
		{"Expiry passed", &oauth2.Token{Expiry: time.Now().Add(-time.Second)}, assumedLifetime},
		{"neither", &oauth2.Token{}, assumedLifetime},
	}
	for _, tt := range tests {
		if got := lifetimeOf(tt.tok); got != tt.want {
			t.Errorf("%s: lifetime %v, want %v", tt.name, got, tt.want)
		}
	}
}
