package sidecar

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cognito-m2m/operator/auth/authtest"
	"github.com/cognito-m2m/operator/internal/servicetest"
)

const (
	callerID     = "caller-client"
	callerSecret = "caller-secret-0123456789"
)

// recorder is an upstream that records the Authorization header of each
// request it receives.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	auth []string
}

func newRecorder(t *testing.T, h http.HandlerFunc) *recorder {
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.auth = append(r.auth, req.Header.Get("Authorization"))
		r.mu.Unlock()
		if h != nil {
			h(w, req)
			return
		}
		w.Write([]byte("ok " + req.URL.Path))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.auth...)
}

// writeCredentials mounts the caller's M2MClient Secret in dir.
func writeCredentials(t *testing.T, dir string, cognito *authtest.Server, secret, previous string) {
	t.Helper()
	servicetest.Secret{
		ClientID: callerID, ClientSecret: secret, PreviousSecret: previous,
		TokenEndpoint: cognito.TokenEndpoint, Issuer: cognito.Issuer, Scopes: "MyService/weather_read",
	}.Write(t, dir)
}

func TestCallerSide(t *testing.T) {
	cognito := authtest.NewServer(t)
	cognito.AddClient(callerID, callerSecret, "MyService/weather_read")
	dir := t.TempDir()
	writeCredentials(t, dir, cognito, callerSecret, "")

	elsewhere := newRecorder(t, nil)
	var upstream *recorder
	upstream = newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/base/away":
			http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusFound)
		case "/base/self":
			http.Redirect(w, r, upstream.URL+"/base/here?x=1", http.StatusFound)
		default:
			w.Write([]byte("ok " + r.URL.Path))
		}
	})
	cfg := Config{Caller: &CallerConfig{
		CredentialsDir: dir,
		TokenListen:    "127.0.0.1:0",
		Upstreams:      []Upstream{{Name: "weather", Listen: "127.0.0.1:0", URL: upstream.URL + "/base"}},
	}}
	addrs, logs := start(t, cfg, Options{})
	waitReady(t, addrs["admin"])
	local := "http://" + addrs["upstream/weather"]

	// The application's own Authorization is replaced by the token.
	r := do(t, "GET", local+"/weatherforecast", map[string]string{"Authorization": "Bearer forged"})
	if r.status != 200 || r.body != "ok /base/weatherforecast" {
		t.Fatalf("through the sidecar: %d %q", r.status, r.body)
	}
	auth := upstream.seen()
	token, ok := strings.CutPrefix(auth[len(auth)-1], "Bearer ")
	if !ok || token == "forged" || strings.Count(token, ".") != 2 {
		t.Fatalf("the upstream received Authorization %q, want the sidecar's bearer token", auth[len(auth)-1])
	}

	// A redirect elsewhere is handed to the application as it is; the
	// sidecar does not follow it, so the other host never sees the token.
	r = do(t, "GET", local+"/away", nil)
	if r.status != 302 || r.header.Get("Location") != elsewhere.URL+"/steal" {
		t.Errorf("redirect elsewhere: %d %q", r.status, r.header.Get("Location"))
	}
	// An application that follows it goes there without the token.
	resp, err := http.Get(local + "/away")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, a := range elsewhere.seen() {
		if a != "" {
			t.Errorf("the other host received Authorization %q", a)
		}
	}
	if len(elsewhere.seen()) != 1 {
		t.Errorf("the other host got %d requests, want the application's 1", len(elsewhere.seen()))
	}
	// A redirect to the upstream itself comes back through the listener.
	r = do(t, "GET", local+"/self", nil)
	if r.status != 302 || r.header.Get("Location") != "/here?x=1" {
		t.Errorf("redirect to the upstream: %d %q, want /here?x=1", r.status, r.header.Get("Location"))
	}

	// The token endpoint: the same token, only to a request that says so.
	te := "http://" + addrs["token"] + "/token"
	if r := do(t, "GET", te, nil); r.status != 403 || strings.Contains(r.body, token) {
		t.Errorf("token endpoint without %s: %d", TokenRequestHeader, r.status)
	}
	r = do(t, "GET", te, map[string]string{TokenRequestHeader: "true"})
	var tr tokenResponse
	if err := json.Unmarshal([]byte(r.body), &tr); err != nil || r.status != 200 {
		t.Fatalf("token endpoint: %d %v", r.status, err)
	}
	if tr.AccessToken != token || tr.TokenType != "Bearer" || tr.ExpiresIn < 3500 || tr.ExpiresIn > 3600 {
		t.Errorf("token endpoint answered type %q, expires_in %d, same token %v", tr.TokenType, tr.ExpiresIn, tr.AccessToken == token)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("token endpoint Cache-Control %q", r.header.Get("Cache-Control"))
	}
	if cognito.TokenRequests() != 1 {
		t.Errorf("%d token requests, want 1: one cached token for every call", cognito.TokenRequests())
	}

	m := do(t, "GET", "http://"+addrs["admin"]+"/metrics", nil).body
	for _, want := range []string{
		`m2m_client_token_renewals_total{client="caller"} 1`,
		`m2m_sidecar_caller_requests_total{upstream="weather"} 4`,
		`m2m_sidecar_token_endpoint_requests_total{outcome="served"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s:\n%s", want, m)
		}
	}
	for _, s := range []string{token, callerSecret} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("logs hold a token or secret:\n%s", logs)
		}
	}
}

// TestCallerWithoutToken: no token, no readiness; calls fail with 503 and
// reach no upstream.
func TestCallerWithoutToken(t *testing.T) {
	cognito := authtest.NewServer(t)
	cognito.AddClient(callerID, callerSecret, "MyService/weather_read")
	cognito.FailTokenRequests(http.StatusBadRequest, "invalid_client")
	dir := t.TempDir()
	writeCredentials(t, dir, cognito, callerSecret, "")
	upstream := newRecorder(t, nil)
	addrs, logs := start(t, Config{Caller: &CallerConfig{
		CredentialsDir: dir,
		Upstreams:      []Upstream{{Name: "weather", Listen: "127.0.0.1:0", URL: upstream.URL}},
	}}, Options{})
	if r := do(t, "GET", "http://"+addrs["admin"]+"/readyz", nil); r.status != 503 || !strings.Contains(r.body, "no access token") {
		t.Errorf("readyz %d %q, want 503", r.status, r.body)
	}
	if r := do(t, "GET", "http://"+addrs["upstream/weather"]+"/x", nil); r.status != 503 {
		t.Errorf("call without a token: %d, want 503", r.status)
	}
	if n := len(upstream.seen()); n != 0 {
		t.Errorf("the upstream received %d requests", n)
	}
	if strings.Contains(logs.String(), callerSecret) {
		t.Errorf("logs hold the secret:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "invalid_client") {
		t.Errorf("logs do not say why there is no token:\n%s", logs)
	}
}

// TestCallerRenewsOn401: an upstream that refuses the token (revoked, or
// signed by a key it does not know yet) gets the request again, once, with
// a new token; the application sees only the answer to the second.
func TestCallerRenewsOn401(t *testing.T) {
	cognito := authtest.NewServer(t)
	cognito.AddClient(callerID, callerSecret, "MyService/weather_read")
	dir := t.TempDir()
	writeCredentials(t, dir, cognito, callerSecret, "")
	var mu sync.Mutex
	refused := ""
	upstream := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if refused == "" || refused == r.Header.Get("Authorization") {
			refused = r.Header.Get("Authorization")
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte("ok"))
	})
	addrs, _ := start(t, Config{Caller: &CallerConfig{
		CredentialsDir: dir,
		Upstreams:      []Upstream{{Name: "weather", Listen: "127.0.0.1:0", URL: upstream.URL}},
	}}, Options{})
	waitReady(t, addrs["admin"])
	if r := do(t, "GET", "http://"+addrs["upstream/weather"]+"/weatherforecast", nil); r.status != 200 {
		t.Errorf("status %d, want 200 after one renewal", r.status)
	}
	if seen := upstream.seen(); len(seen) != 2 || seen[0] == seen[1] {
		t.Errorf("the upstream saw %d requests, want 2 with different tokens", len(seen))
	}
	if n := cognito.TokenRequests(); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
}

// TestCallerFallsBackToPreviousSecret: during a rotation the mounted files
// may name a current secret Cognito does not accept (yet, or any more); the
// sidecar then signs in with client_secret_previous, as the Go package does.
func TestCallerFallsBackToPreviousSecret(t *testing.T) {
	cognito := authtest.NewServer(t)
	cognito.AddClient(callerID, callerSecret, "MyService/weather_read")
	dir := t.TempDir()
	const unknown = "secret-cognito-does-not-know-yet"
	writeCredentials(t, dir, cognito, unknown, callerSecret)
	upstream := newRecorder(t, nil)
	addrs, logs := start(t, Config{Caller: &CallerConfig{
		CredentialsDir: dir,
		Upstreams:      []Upstream{{Name: "weather", Listen: "127.0.0.1:0", URL: upstream.URL}},
	}}, Options{})
	waitReady(t, addrs["admin"])
	if r := do(t, "GET", "http://"+addrs["upstream/weather"]+"/x", nil); r.status != 200 {
		t.Errorf("status %d, want 200 with the previous secret's token", r.status)
	}
	if got := [2]int{cognito.SecretUses(callerID, unknown), cognito.SecretUses(callerID, callerSecret)}; got != [2]int{1, 1} {
		t.Errorf("token requests with (current, previous) secret: %v, want [1 1]", got)
	}
	for _, s := range []string{unknown, callerSecret} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("logs hold a secret:\n%s", logs)
		}
	}
}
