package verify

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
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
	cfg := Config{Issuer: srv.Issuer, Now: clock.Now}
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

// waitRefresh waits for a background JWKS refresh to end.
func waitRefresh(t testing.TB, v *Verifier) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for v.refreshing.Load() {
		if time.Now().After(deadline) {
			t.Fatal("background JWKS refresh did not end")
		}
		time.Sleep(time.Millisecond)
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
			c, err := v.Verify(tt.token)
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
	c, err := v.Verify(tok)
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
	if _, err := v.Verify(tok); err != nil {
		t.Errorf("within leeway: %v", err)
	}
	clock.Advance(20 * time.Second)
	if _, err := v.Verify(tok); !errors.Is(err, ErrExpired) {
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
		if _, err := v.Verify(tok); err != nil {
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
	if _, err := v.Verify(tok); err != nil || v.Stats().CacheHits != 3 {
		t.Errorf("after a refresh with the same key: err %v, hits %d, want a hit", err, v.Stats().CacheHits)
	}

	// A key that leaves the JWKS takes its cached tokens with it.
	srv.RotateKey(true)
	if err := v.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(tok); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("token of a removed key: %v, want ErrUnknownKey", err)
	}

	// Entries expire with the token.
	tok2 := srv.AccessToken("caller", scope)
	if _, err := v.Verify(tok2); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour + DefaultLeeway)
	if _, err := v.Verify(tok2); !errors.Is(err, ErrExpired) {
		t.Errorf("cached token after exp: %v, want ErrExpired", err)
	}
}

func TestCacheBounded(t *testing.T) {
	srv, _, v := setup(t, func(c *Config) { c.CacheSize = 32 })
	for range 100 {
		if _, err := v.Verify(srv.AccessToken("caller", scope)); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.Stats().CacheEntries; n > 32 || n == 0 {
		t.Errorf("cache holds %d entries, want 1..32", n)
	}
}

func TestUnknownKidRefresh(t *testing.T) {
	srv, clock, v := setup(t, func(c *Config) { c.MinRefreshInterval = 10 * time.Second })
	fetches := srv.JWKSRequests()

	// Forged tokens with random kids: at most one fetch per interval, never blocking.
	for i := range 50 {
		v.Verify(srv.Sign(map[string]any{"kid": "forged-" + string(rune('a'+i%26))}, srv.Claims("caller", scope)))
	}
	waitRefresh(t, v)
	if got := srv.JWKSRequests() - fetches; got != 0 {
		// The setup's Refresh started the interval; nothing may be fetched within it.
		t.Errorf("JWKS fetched %d times within the min interval, want 0", got)
	}

	// The pool rotates its key; the first token with the new kid is refused at
	// once and triggers one refresh, after which the new key verifies.
	srv.RotateKey(false)
	clock.Advance(11 * time.Second)
	tok := srv.AccessToken("caller", scope)
	for range 20 {
		v.Verify(tok)
	}
	waitRefresh(t, v)
	if got := srv.JWKSRequests() - fetches; got != 1 {
		t.Errorf("JWKS fetched %d times after the interval, want 1", got)
	}
	if _, err := v.Verify(tok); err != nil {
		t.Errorf("token of the new key after refresh: %v", err)
	}
	if diff := cmp.Diff([]string{"authtest-key-0", "authtest-key-1"}, v.KeyIDs()); diff != "" {
		t.Errorf("trusted kids (-want +got):\n%s", diff)
	}
}

func TestReady(t *testing.T) {
	srv := authtest.NewServer(t)
	v, err := New(Config{Issuer: srv.Issuer})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Ready(); !errors.Is(err, ErrKeysNotReady) {
		t.Errorf("Ready before load = %v, want ErrKeysNotReady", err)
	}
	if _, err := v.Verify(srv.AccessToken("caller")); !errors.Is(err, ErrKeysNotReady) {
		t.Errorf("Verify before load = %v, want ErrKeysNotReady", err)
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
			_, err := v.Verify(srv.Sign(nil, modify(srv.Claims("caller", scope), tt.claim, tt.value)))
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
	c, err := v.Verify(srv.Sign(nil, modify(srv.Claims("caller"), "scope", " a/x\tb  c/y\u00a0d\u0085e ")))
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
