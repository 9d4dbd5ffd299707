package verify

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-m2m/operator/auth/authtest"
)

const scope = "MyService/weather_read"

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// setup returns a token server, its fake clock, and a verifier with keys loaded.
func setup(t testing.TB, mod func(*Config)) (*authtest.Server, *authtest.Clock, *Verifier) {
	t.Helper()
	srv := authtest.NewServer(t)
	clock := authtest.NewClock(start)
	srv.SetClock(clock.Now)
	cfg := Config{Issuer: srv.Issuer, Clock: clock}
	if mod != nil {
		mod(&cfg)
	}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return srv, clock, v
}

// waitRefresh waits for a background JWKS fetch to end.
func waitRefresh(t testing.TB, v *Verifier) {
	t.Helper()
	v.fetchMu.Lock()
	c := v.inflight
	v.fetchMu.Unlock()
	if c == nil {
		return
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("background JWKS fetch did not end")
	}
}

func modify(claims map[string]any, key string, value any) map[string]any {
	if value == nil {
		delete(claims, key)
	} else {
		claims[key] = value
	}
	return claims
}

func TestVerifyRejects(t *testing.T) {
	srv, _, v := setup(t, func(c *Config) { c.ClientIDs = []string{"caller"} })
	pubDER, err := x509.MarshalPKIXPublicKey(srv.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	claims := func() map[string]any { return srv.Claims("caller", scope) }
	hs256WithPublicKey := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(claims()))
		tok.Header["kid"] = srv.KeyID()
		s, err := tok.SignedString(pubDER)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := srv.Sign(nil, claims())
	parts := strings.Split(valid, ".")
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", ErrMissing},
		{"garbage", "not a token", ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], ErrMalformed},
		{"four parts", valid + ".x", ErrMalformed},
		{"bad base64", parts[0] + ".***." + parts[2], ErrMalformed},
		{"padded base64", parts[0] + "=." + parts[1] + "." + parts[2], ErrMalformed},
		{"line break in the signature", valid[:len(valid)-8] + "\r\n" + valid[len(valid)-8:], ErrMalformed},
		{"signature with spare bits set", parts[0] + "." + parts[1] + "." + flipSpareBits(parts[2]), ErrMalformed},
		{"oversized", srv.Sign(nil, modify(claims(), "pad", strings.Repeat("x", 9000))), ErrTooLarge},
		{"alg none", authtest.Encode(map[string]any{"alg": "none", "kid": srv.KeyID()}) + "." + parts[1] + ".", ErrAlgorithm},
		{"alg none with signature", authtest.Encode(map[string]any{"alg": "none", "kid": srv.KeyID()}) + "." + parts[1] + "." + parts[2], ErrAlgorithm},
		{"HS256 signed with the public key", hs256WithPublicKey(), ErrAlgorithm},
		{"RS512 label", srv.Sign(map[string]any{"alg": "RS512"}, claims()), ErrAlgorithm},
		{"unknown alg", srv.Sign(map[string]any{"alg": "XX1"}, claims()), ErrAlgorithm},
		{"embedded jwk", srv.Sign(map[string]any{"jwk": authtest.JWK("mine", srv.PublicKey())}, claims()), ErrHeader},
		{"jku header", srv.Sign(map[string]any{"jku": "https://attacker.example/jwks.json"}, claims()), ErrHeader},
		{"x5u header", srv.Sign(map[string]any{"x5u": "https://attacker.example/cert.pem"}, claims()), ErrHeader},
		{"crit header", srv.Sign(map[string]any{"crit": []string{"exp"}}, claims()), ErrHeader},
		{"no kid", srv.Sign(map[string]any{"kid": nil}, claims()), ErrHeader},
		{"unknown kid", srv.Sign(map[string]any{"kid": "someone-else"}, claims()), ErrUnknownKey},
		{"signed by another key", authtest.SignWith(authtest.Key(5), map[string]any{"alg": "RS256", "kid": srv.KeyID()}, claims()), ErrSignature},
		{"claims swapped after signing", parts[0] + "." + authtest.Encode(modify(claims(), "scope", "admin")) + "." + parts[2], ErrSignature},
		{"wrong issuer", srv.Sign(nil, modify(claims(), "iss", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other")), ErrIssuer},
		{"no issuer", srv.Sign(nil, modify(claims(), "iss", nil)), ErrIssuer},
		{"token_use id", srv.Sign(nil, modify(claims(), "token_use", "id")), ErrTokenUse},
		{"no token_use", srv.Sign(nil, modify(claims(), "token_use", nil)), ErrTokenUse},
		{"client not accepted", srv.Sign(nil, modify(claims(), "client_id", "other")), ErrClientID},
		{"expired", srv.Sign(nil, modify(claims(), "exp", start.Add(-DefaultLeeway-time.Second).Unix())), ErrExpired},
		{"no exp", srv.Sign(nil, modify(claims(), "exp", nil)), ErrMalformed},
		{"not yet valid", srv.Sign(nil, modify(claims(), "nbf", start.Add(time.Minute).Unix())), ErrNotYetValid},
		{"issued in the future", srv.Sign(nil, modify(claims(), "iat", start.Add(time.Minute).Unix())), ErrNotYetValid},
		{"exp not a number", srv.Sign(nil, modify(claims(), "exp", "tomorrow")), ErrMalformed},
		{"claims not an object", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`[1,2]`)) + "." + parts[2], ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify(t.Context(), tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if c != nil {
				t.Errorf("Verify returned claims with error %v", err)
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error contains the token")
			}
		})
	}
	waitRefresh(t, v)
	if got := v.Stats().Rejected["unknown_key"]; got != 1 {
		t.Errorf("unknown_key rejections = %d, want 1", got)
	}
}

func TestVerifyAccepts(t *testing.T) {
	srv, clock, v := setup(t, func(c *Config) { c.Leeway = 30 * time.Second })
	claims := srv.Claims("caller", scope, "MyService/other")
	tok := srv.Sign(nil, claims)
	c, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	got := struct {
		ClientID, TokenUse, Subject, Issuer string
		Scopes                              []string
		Expires                             time.Time
	}{c.ClientID, c.TokenUse, c.Subject, c.Issuer, c.Scopes(), c.ExpiresAt.Time}
	want := struct {
		ClientID, TokenUse, Subject, Issuer string
		Scopes                              []string
		Expires                             time.Time
	}{"caller", "access", "caller", srv.Issuer, []string{scope, "MyService/other"}, start.Add(time.Hour)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if !c.HasScope(scope) || c.HasScope("MyService") {
		t.Errorf("HasScope wrong for %q", c.Scope)
	}
	// Within the leeway after exp the token is still accepted, past it not.
	clock.Advance(time.Hour + 20*time.Second)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Errorf("within leeway: %v", err)
	}
	clock.Advance(20 * time.Second)
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrExpired) {
		t.Errorf("past leeway: %v, want ErrExpired", err)
	}
}

func TestIssuerFromPool(t *testing.T) {
	v, err := New(Config{Region: "eu-west-1", UserPoolID: "eu-west-1_AbC"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC", v.Issuer()); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/jwks.json", v.cfg.JWKSURL); diff != "" {
		t.Error(diff)
	}
	if _, err := New(Config{Region: "eu-west-1"}); err == nil {
		t.Error("New without issuer or pool id: no error")
	}
}

func TestCache(t *testing.T) {
	srv, clock, v := setup(t, nil)
	tok := srv.AccessToken("caller", scope)
	for range 3 {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	s := v.Stats()
	if s.Verified != 1 || s.CacheHits != 2 {
		t.Errorf("verified %d, cache hits %d; want 1 and 2", s.Verified, s.CacheHits)
	}

	// A refresh that keeps the key keeps the cached entry.
	if err := v.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), tok); err != nil || v.Stats().CacheHits != 3 {
		t.Errorf("after a refresh with the same key: err %v, hits %d, want a hit", err, v.Stats().CacheHits)
	}

	// A key that leaves the JWKS takes its cached tokens with it.
	srv.RotateKey(true)
	if err := v.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("token of a removed key: %v, want ErrUnknownKey", err)
	}

	// Entries expire with the token.
	tok2 := srv.AccessToken("caller", scope)
	if _, err := v.Verify(t.Context(), tok2); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour + DefaultLeeway)
	if _, err := v.Verify(t.Context(), tok2); !errors.Is(err, ErrExpired) {
		t.Errorf("cached token after exp: %v, want ErrExpired", err)
	}
}

func TestCacheBounded(t *testing.T) {
	srv, _, v := setup(t, func(c *Config) { c.CacheSize = 32 })
	for range 100 {
		if _, err := v.Verify(t.Context(), srv.AccessToken("caller", scope)); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.Stats().CacheEntries; n > 32 || n == 0 {
		t.Errorf("cache holds %d entries, want 1..32", n)
	}
}

// TestUnknownKidRefresh: tokens with kids the JWKS does not hold (forged, or of
// a key the pool has just rotated to) fetch the JWKS at most once per
// MinRefreshInterval, however many arrive, and each waits for that one fetch.
func TestUnknownKidRefresh(t *testing.T) {
	srv, clock, v := setup(t, func(c *Config) { c.MinRefreshInterval = 10 * time.Second; c.UnknownKeyWait = time.Minute })
	fetches := srv.JWKSRequests()

	// Forged tokens with random kids, one after the other and then at once: the
	// first fetches, and is refused when the kid is not in the new JWKS; the
	// rest are refused without a fetch.
	forged := func(i int) string {
		return srv.Sign(map[string]any{"kid": fmt.Sprintf("forged-%d", i)}, srv.Claims("caller", scope))
	}
	for i := range 20 {
		if _, err := v.Verify(t.Context(), forged(i)); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("forged kid: %v, want ErrUnknownKey", err)
		}
	}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			if _, err := v.Verify(t.Context(), forged(100+i)); !errors.Is(err, ErrUnknownKey) {
				t.Errorf("forged kid: %v, want ErrUnknownKey", err)
			}
		})
	}
	wg.Wait()
	if got := srv.JWKSRequests() - fetches; got != 1 {
		t.Errorf("50 forged kids fetched the JWKS %d times, want 1", got)
	}

	// The pool rotates its key within the interval: the new kid is refused
	// without a fetch until the interval has passed...
	srv.RotateKey(false)
	tok := srv.AccessToken("caller", scope)
	clock.Advance(5 * time.Second)
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("new kid within the interval: %v, want ErrUnknownKey", err)
	}
	if got := srv.JWKSRequests() - fetches; got != 1 {
		t.Errorf("JWKS fetched %d times within the interval, want 1", got)
	}
	// ...and then accepted on its first request, after one fetch.
	clock.Advance(5 * time.Second)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Errorf("token of the new key after the interval: %v", err)
	}
	if got := srv.JWKSRequests() - fetches; got != 2 {
		t.Errorf("JWKS fetched %d times after the interval, want 2", got)
	}
	if diff := cmp.Diff([]string{"authtest-key-0", "authtest-key-1"}, v.KeyIDs()); diff != "" {
		t.Errorf("trusted kids (-want +got):\n%s", diff)
	}
}

// TestNewKeyAcceptedOnFirstRequest: a service that never called Run, and one
// whose pool has just rotated its signing key, accept a valid token on its
// first request; concurrent first requests share one JWKS fetch.
func TestNewKeyAcceptedOnFirstRequest(t *testing.T) {
	concurrently := func(t *testing.T, v *Verifier, tok string) {
		t.Helper()
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if _, err := v.Verify(t.Context(), tok); err != nil {
					t.Errorf("first request: %v", err)
				}
			})
		}
		wg.Wait()
	}
	// The wait is long here so that a loaded machine cannot fail the test; the
	// bound itself is TestUnknownKeyWaitBounded's.
	const wait = time.Minute
	t.Run("no Run, no keys yet", func(t *testing.T) {
		srv := authtest.NewServer(t)
		v, err := New(Config{Issuer: srv.Issuer, UnknownKeyWait: wait})
		if err != nil {
			t.Fatal(err)
		}
		concurrently(t, v, srv.AccessToken("caller", scope))
		if got := srv.JWKSRequests(); got != 1 {
			t.Errorf("JWKS fetched %d times, want 1", got)
		}
		if err := v.Ready(); err != nil {
			t.Errorf("Ready after the first request: %v", err)
		}
	})
	for _, dropOld := range []bool{false, true} {
		t.Run(fmt.Sprintf("right after a rotation, old key dropped %v", dropOld), func(t *testing.T) {
			srv, _, v := setup(t, func(c *Config) { c.UnknownKeyWait = wait })
			old := srv.AccessToken("caller", scope)
			if _, err := v.Verify(t.Context(), old); err != nil {
				t.Fatal(err)
			}
			srv.RotateKey(dropOld)
			concurrently(t, v, srv.AccessToken("caller", scope))
			if got := srv.JWKSRequests(); got != 2 {
				t.Errorf("JWKS fetched %d times, want 2 (setup and rotation)", got)
			}
			_, err := v.Verify(t.Context(), old)
			if dropOld != errors.Is(err, ErrUnknownKey) || !dropOld && err != nil {
				t.Errorf("token of the old key: %v (old key dropped: %v)", err, dropOld)
			}
		})
	}
}

// TestUnknownKeyWaitBounded: a JWKS endpoint that does not answer holds a
// request no longer than UnknownKeyWait, or its context; the fetch goes on and
// serves a later request once it lands. (The bounds asserted are loose: what
// they tell apart is returning at all from waiting for a fetch that only ends
// when the test releases it.)
func TestUnknownKeyWaitBounded(t *testing.T) {
	srv := authtest.NewServer(t)
	release := make(chan struct{})
	var hits atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		<-release
		w.Write(srv.JWKS())
	}))
	defer slow.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	verifier := func(wait time.Duration) *Verifier {
		v, err := New(Config{Issuer: srv.Issuer, JWKSURL: slow.URL, UnknownKeyWait: wait, FetchTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tok := srv.AccessToken("caller", scope)

	const wait = 300 * time.Millisecond
	capped := verifier(wait)
	began := time.Now()
	_, err := capped.Verify(t.Context(), tok)
	if took := time.Since(began); !errors.Is(err, ErrKeysNotReady) || took < wait || took > 30*time.Second {
		t.Errorf("JWKS hanging, wait %v: %v after %v, want ErrKeysNotReady after the wait", wait, err, took)
	}
	// A request whose context ends before the wait returns then; a second one
	// joins the same fetch.
	patient := verifier(time.Minute)
	for range 2 {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		began = time.Now()
		_, err = patient.Verify(ctx, tok)
		cancel()
		if took := time.Since(began); !errors.Is(err, ErrKeysNotReady) || took > 30*time.Second {
			t.Errorf("context ending after 100ms, wait a minute: %v after %v", err, took)
		}
	}
	close(release)
	for _, v := range []*Verifier{capped, patient} {
		waitRefresh(t, v)
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Errorf("after the fetch landed: %v", err)
		}
	}
	if got := hits.Load(); got != 2 {
		t.Errorf("JWKS fetched %d times by two verifiers, want 2", got)
	}
}

func TestReady(t *testing.T) {
	srv := authtest.NewServer(t)
	// A verifier that does not wait for keys refuses the first token and loads
	// the keys in the background; the JWKS answers only once the token has been
	// refused, so that the load cannot land first.
	refused := make(chan struct{})
	gated := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-refused
		w.Write(srv.JWKS())
	}))
	defer gated.Close()
	v, err := New(Config{Issuer: srv.Issuer, JWKSURL: gated.URL, UnknownKeyWait: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Ready(); !errors.Is(err, ErrKeysNotReady) {
		t.Errorf("Ready before load = %v, want ErrKeysNotReady", err)
	}
	_, err = v.Verify(t.Context(), srv.AccessToken("caller"))
	close(refused)
	if !errors.Is(err, ErrKeysNotReady) {
		t.Errorf("Verify before load, not waiting = %v, want ErrKeysNotReady", err)
	}
	waitRefresh(t, v) // the token above triggered a load
	if err := v.Ready(); err != nil {
		t.Errorf("Ready after load = %v", err)
	}

	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusServiceUnavailable)
	}))
	defer broken.Close()
	v2, _ := New(Config{Issuer: broken.URL})
	if err := v2.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh from a failing JWKS: no error")
	}
	if err := v2.Ready(); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("Ready = %v, want the fetch error", err)
	}
}

func TestParseJWKS(t *testing.T) {
	pub := &authtest.Key(0).PublicKey
	good := authtest.JWK("k1", pub)
	small := authtest.JWK("small", pub)
	small["n"] = base64.RawURLEncoding.EncodeToString(pub.N.Bytes()[:128])
	tests := []struct {
		name    string
		doc     string
		want    []string
		wantErr bool
	}{
		{name: "one key", doc: `{"keys":[` + jsonOf(good) + `]}`, want: []string{"k1"}},
		{name: "skips other types and short keys", doc: `{"keys":[{"kid":"ec","kty":"EC"},{"kid":"enc","kty":"RSA","use":"enc"},` + jsonOf(small) + `,` + jsonOf(good) + `]}`, want: []string{"k1"}},
		{name: "no usable key", doc: `{"keys":[{"kid":"ec","kty":"EC"}]}`, wantErr: true},
		{name: "not JSON", doc: `<html>`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := parseJWKS([]byte(tt.doc), nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			var got []string
			for k := range keys {
				got = append(got, k)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("kids (-want +got):\n%s", diff)
			}
		})
	}
}

// flipSpareBits changes the last character of a base64url string so that only
// bits beyond the encoded bytes differ: a lax decoder returns the same bytes.
func flipSpareBits(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[i^1])
}

func jsonOf(m map[string]any) string {
	var b strings.Builder
	b.WriteString("{")
	first := true
	for k, v := range m {
		if !first {
			b.WriteString(",")
		}
		first = false
		b.WriteString(`"` + k + `":"` + v.(string) + `"`)
	}
	b.WriteString("}")
	return b.String()
}

// TestLeeway: clocks drift, so a verifier allows a few seconds of skew on exp,
// nbf and iat by default, and exactly what is configured otherwise. AWS's steps
// for verifying a Cognito token do not check iat; a token issued one second
// "in the future" by a pool whose clock runs ahead is a valid token.
func TestLeeway(t *testing.T) {
	at := func(d time.Duration) int64 { return start.Add(d).Unix() }
	tests := []struct {
		name   string
		leeway time.Duration
		claim  string
		value  int64
		want   error
	}{
		{"iat 1s ahead, default", 0, "iat", at(time.Second), nil},
		{"iat at the default leeway", 0, "iat", at(5 * time.Second), nil},
		{"iat past the default leeway", 0, "iat", at(6 * time.Second), ErrNotYetValid},
		{"nbf within the default leeway", 0, "nbf", at(4 * time.Second), nil},
		{"nbf past the default leeway", 0, "nbf", at(6 * time.Second), ErrNotYetValid},
		{"exp within the default leeway", 0, "exp", at(-4 * time.Second), nil},
		{"exp at the default leeway", 0, "exp", at(-5 * time.Second), ErrExpired},
		{"iat 1s ahead, no leeway", -1, "iat", at(time.Second), ErrNotYetValid},
		{"exp now, no leeway", -1, "exp", at(0), ErrExpired},
		{"nbf now, no leeway", -1, "nbf", at(0), nil},
		{"iat 20s ahead, 30s leeway", 30 * time.Second, "iat", at(20 * time.Second), nil},
		{"exp 40s ago, 30s leeway", 30 * time.Second, "exp", at(-40 * time.Second), ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _, v := setup(t, func(c *Config) { c.Leeway = tt.leeway })
			_, err := v.Verify(t.Context(), srv.Sign(nil, modify(srv.Claims("caller", scope), tt.claim, tt.value)))
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Verify error = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestScopesSplitOnSpaces: the scope claim is space-delimited (RFC 6749,
// section 3.3); other white space is part of a scope name.
func TestScopesSplitOnSpaces(t *testing.T) {
	srv, _, v := setup(t, nil)
	c, err := v.Verify(t.Context(), srv.Sign(nil, modify(srv.Claims("caller"), "scope", " a/x\tb  c/y\u00a0d\u0085e ")))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a/x\tb", "c/y\u00a0d\u0085e"}, c.Scopes()); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
	if c.HasScope("a/x") || c.HasScope("b") || !c.HasScope("a/x\tb") {
		t.Errorf("HasScope splits on other white space")
	}
}

// TestRunRefreshesOnItsClock: Run loads the keys at once and then refetches
// every RefreshInterval (within its jitter) of the verifier's clock, until its
// context ends.
func TestRunRefreshesOnItsClock(t *testing.T) {
	srv := authtest.NewServer(t)
	clock := authtest.NewClock(start)
	v, err := New(Config{Issuer: srv.Issuer, Clock: clock, RefreshInterval: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		v.Run(ctx)
		close(done)
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitFor("the first fetch and the next one scheduled", func() bool { return srv.JWKSRequests() == 1 && clock.Pending() == 1 })
	clock.Advance(8 * time.Minute) // before the earliest refresh (90% of the interval)
	if got := srv.JWKSRequests(); got != 1 {
		t.Errorf("JWKS fetched %d times before the interval, want 1", got)
	}
	clock.Advance(3*time.Minute + time.Second) // past the latest (110%)
	waitFor("the refresh", func() bool { return srv.JWKSRequests() == 2 })
	cancel()
	<-done
}
