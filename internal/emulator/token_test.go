package emulator

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// verifier checks tokens the way a resource server would: discovery
// document, JWKS, RS256 signature, issuer and expiry, with go-oidc. Cognito
// access tokens have no aud, hence SkipClientIDCheck.
func verifier(t *testing.T, issuer string) *oidc.IDTokenVerifier {
	t.Helper()
	p, err := oidc.NewProvider(context.Background(), issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return p.Verifier(&oidc.Config{SkipClientIDCheck: true})
}

func fetchToken(t *testing.T, tokenURL, id, secret string, style oauth2.AuthStyle, scopes ...string) *oauth2.Token {
	t.Helper()
	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: tokenURL, Scopes: scopes, AuthStyle: style}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	return tok
}

type claims struct {
	Sub      string  `json:"sub"`
	ClientID string  `json:"client_id"`
	TokenUse string  `json:"token_use"`
	Scope    string  `json:"scope"`
	Iss      string  `json:"iss"`
	Exp      int64   `json:"exp"`
	Iat      int64   `json:"iat"`
	AuthTime int64   `json:"auth_time"`
	Jti      string  `json:"jti"`
	Version  int     `json:"version"`
	Aud      *string `json:"aud"`
}

func header(t *testing.T, jwt string) map[string]string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]string
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestTokenEndpointIssuesVerifiableCognitoTokens(t *testing.T) {
	f := newFixture(t, Options{})
	issuer := f.emu.IssuerURL(f.poolID)
	if want := f.url + "/" + f.poolID; issuer != want {
		t.Fatalf("IssuerURL = %q, want %q", issuer, want)
	}
	v := verifier(t, issuer)
	id, secret := *f.client.ClientId, *f.client.ClientSecret

	cases := []struct {
		name      string
		style     oauth2.AuthStyle
		scopes    []string
		wantScope string
	}{
		{"basic, all scopes", oauth2.AuthStyleInHeader, nil, "orders/read orders/write"},
		{"post, all scopes", oauth2.AuthStyleInParams, nil, "orders/read orders/write"},
		{"basic, one scope", oauth2.AuthStyleInHeader, []string{"orders/write"}, "orders/write"},
		{"post, both scopes", oauth2.AuthStyleInParams, []string{"orders/write", "orders/read"}, "orders/write orders/read"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now().Unix()
			tok := fetchToken(t, f.emu.TokenURL(), id, secret, tc.style, tc.scopes...)
			if tok.TokenType != "Bearer" {
				t.Errorf("token_type = %q, want Bearer", tok.TokenType)
			}
			if d := time.Until(tok.Expiry); d < 59*time.Minute || d > time.Hour {
				t.Errorf("expires in %v, want the default 60 minutes", d)
			}
			idt, err := v.Verify(context.Background(), tok.AccessToken)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			var c claims
			if err := idt.Claims(&c); err != nil {
				t.Fatal(err)
			}
			want := claims{Sub: id, ClientID: id, TokenUse: "access", Scope: tc.wantScope, Iss: issuer, Version: 2,
				Iat: c.Iat, AuthTime: c.Iat, Exp: c.Iat + 3600, Jti: c.Jti}
			if diff := cmp.Diff(want, c); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
			if c.Iat < before || c.Iat > time.Now().Unix() || len(c.Jti) != 36 {
				t.Errorf("iat %d or jti %q implausible", c.Iat, c.Jti)
			}
			h := header(t, tok.AccessToken)
			if diff := cmp.Diff(map[string]string{"alg": "RS256", "kid": f.emu.SigningKeyIDs()[0]}, h); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiscoveryDocument(t *testing.T) {
	f := newFixture(t, Options{})
	issuer := f.emu.IssuerURL(f.poolID)
	resp, err := http.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"issuer":                                issuer,
		"jwks_uri":                              issuer + "/.well-known/jwks.json",
		"token_endpoint":                        f.url + "/oauth2/token",
		"token_endpoint_auth_methods_supported": []any{"client_secret_basic", "client_secret_post"},
		"id_token_signing_alg_values_supported": []any{"RS256"},
	} {
		if diff := cmp.Diff(want, doc[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	resp, err = http.Get(f.url + "/us-east-1_nopool000/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("JWKS of an unknown pool: status %d, want 404", resp.StatusCode)
	}
}

func TestAccessTokenValidity(t *testing.T) {
	f := newFixture(t, Options{})
	c := f.createClient(t, "short", func(in *cip.CreateUserPoolClientInput) {
		in.AccessTokenValidity = aws.Int32(30)
		in.TokenValidityUnits = &types.TokenValidityUnitsType{AccessToken: types.TimeUnitsTypeMinutes}
	})
	resp := postToken(t, f.emu.TokenURL(), url.Values{"grant_type": {"client_credentials"}},
		*c.ClientId, *c.ClientSecret)
	if resp.status != 200 || resp.body["expires_in"] != float64(1800) {
		t.Errorf("got %d %v, want 200 with expires_in 1800", resp.status, resp.body)
	}
	if resp.header.Get("Cache-Control") != "no-store" {
		t.Error("token response is cacheable")
	}
}

type tokenResult struct {
	status int
	header http.Header
	body   map[string]any
}

// postToken sends a raw token request; basic credentials when id is set.
func postToken(t *testing.T, tokenURL string, form url.Values, id, secret string) tokenResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return tokenResult{resp.StatusCode, resp.Header, body}
}

func TestTokenEndpointErrors(t *testing.T) {
	f := newFixture(t, Options{})
	id, secret := *f.client.ClientId, *f.client.ClientSecret
	noFlag := f.createClient(t, "noflag", func(in *cip.CreateUserPoolClientInput) { in.AllowedOAuthFlowsUserPoolClient = false })
	cc := url.Values{"grant_type": {"client_credentials"}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	cases := []struct {
		name       string
		form       url.Values
		id, secret string // HTTP Basic when id is set
		wantStatus int
		wantError  string
		wantChall  bool
	}{
		{"wrong secret, basic", cc, id, "wrong", 400, "invalid_client", false},
		{"wrong secret, post", with("grant_type", "client_credentials", "client_id", id, "client_secret", "wrong"), "", "", 400, "invalid_client", false},
		{"unknown client", cc, "nosuchclient", secret, 400, "invalid_client", false},
		{"no client authentication", cc, "", "", 400, "invalid_client", false},
		{"both authentication methods", with("grant_type", "client_credentials", "client_secret", secret), id, secret, 400, "invalid_request", false},
		{"missing grant_type", url.Values{}, id, secret, 400, "invalid_request", false},
		{"authorization_code grant", with("grant_type", "authorization_code", "code", "x"), id, secret, 400, "unsupported_grant_type", false},
		{"scope not allowed", with("grant_type", "client_credentials", "scope", "orders/admin"), id, secret, 400, "invalid_scope", false},
		{"one bad scope among good", with("grant_type", "client_credentials", "scope", "orders/read openid"), id, secret, 400, "invalid_scope", false},
		{"AllowedOAuthFlowsUserPoolClient false", cc, *noFlag.ClientId, *noFlag.ClientSecret, 400, "unauthorized_client", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := postToken(t, f.emu.TokenURL(), tc.form, tc.id, tc.secret)
			if diff := cmp.Diff([]any{tc.wantStatus, tc.wantError}, []any{got.status, got.body["error"]}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if chall := got.header.Get("WWW-Authenticate") != ""; chall != tc.wantChall {
				t.Errorf("WWW-Authenticate present = %v, want %v", chall, tc.wantChall)
			}
			if _, ok := got.body["access_token"]; ok {
				t.Error("error response carries a token")
			}
		})
	}

	t.Run("GET", func(t *testing.T) {
		resp, err := http.Get(f.emu.TokenURL())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("status %d, want 405", resp.StatusCode)
		}
	})
	t.Run("JSON body", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, f.emu.TokenURL(), strings.NewReader(`{"grant_type":"client_credentials"}`))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(id, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
	})
}

func TestSecretRotationAtTokenEndpoint(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	pool, id, oldSecret := &f.poolID, f.client.ClientId, *f.client.ClientSecret
	cc := url.Values{"grant_type": {"client_credentials"}}

	added, err := f.sdk.AddUserPoolClientSecret(ctx, &cip.AddUserPoolClientSecretInput{UserPoolId: pool, ClientId: id})
	if err != nil {
		t.Fatal(err)
	}
	newSecret := *added.ClientSecretDescriptor.ClientSecretValue
	for name, s := range map[string]string{"old": oldSecret, "new": newSecret} {
		if got := postToken(t, f.emu.TokenURL(), cc, *id, s); got.status != 200 {
			t.Errorf("%s secret during rotation: %d %v, want 200", name, got.status, got.body)
		}
	}
	list, err := f.sdk.ListUserPoolClientSecrets(ctx, &cip.ListUserPoolClientSecretsInput{UserPoolId: pool, ClientId: id})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.sdk.DeleteUserPoolClientSecret(ctx, &cip.DeleteUserPoolClientSecretInput{UserPoolId: pool, ClientId: id,
		ClientSecretId: list.ClientSecrets[0].ClientSecretId}); err != nil {
		t.Fatal(err)
	}
	if got := postToken(t, f.emu.TokenURL(), cc, *id, oldSecret); got.status != 400 || got.body["error"] != "invalid_client" {
		t.Errorf("old secret after deletion: %d %v, want 400 invalid_client", got.status, got.body)
	}
	if got := postToken(t, f.emu.TokenURL(), cc, *id, newSecret); got.status != 200 {
		t.Errorf("new secret after deletion: %d %v, want 200", got.status, got.body)
	}
}

// clock is a test clock that starts at the real time and can be moved on.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

func TestSigningKeyRotation(t *testing.T) {
	clk := &clock{}
	f := newFixture(t, Options{Now: clk.Now})
	v := verifier(t, f.emu.IssuerURL(f.poolID))
	id, secret := *f.client.ClientId, *f.client.ClientSecret
	ctx := context.Background()

	oldTok := fetchToken(t, f.emu.TokenURL(), id, secret, oauth2.AuthStyleInHeader)
	oldKid := header(t, oldTok.AccessToken)["kid"]
	if _, err := v.Verify(ctx, oldTok.AccessToken); err != nil {
		t.Fatal(err)
	}

	resp, err := http.Post(f.url+"/_emulator/keys/rotate", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var rotated struct {
		Kid       string   `json:"kid"`
		Published []string `json:"published"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rotated); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if diff := cmp.Diff([]string{rotated.Kid, oldKid}, rotated.Published); diff != "" || rotated.Kid == oldKid {
		t.Errorf("published keys after rotation (-want +got):\n%s", diff)
	}

	newTok := fetchToken(t, f.emu.TokenURL(), id, secret, oauth2.AuthStyleInParams)
	if kid := header(t, newTok.AccessToken)["kid"]; kid != rotated.Kid {
		t.Errorf("new token signed with %q, want the new key %q", kid, rotated.Kid)
	}
	for name, tok := range map[string]string{"old": oldTok.AccessToken, "new": newTok.AccessToken} {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Errorf("%s-key token no longer verifies: %v", name, err)
		}
	}

	// Once every old-key token has expired, the old key leaves the JWKS.
	clk.Advance(61 * time.Minute)
	if diff := cmp.Diff([]string{rotated.Kid}, jwksKids(t, f.emu.IssuerURL(f.poolID))); diff != "" {
		t.Errorf("JWKS after old tokens expired (-want +got):\n%s", diff)
	}
}

func jwksKids(t *testing.T, issuer string) []string {
	t.Helper()
	resp, err := http.Get(issuer + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			Kty string `json:"kty"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

// TestConcurrentClientsAndTokens creates clients and issues tokens from
// many goroutines at once; run with -race.
func TestConcurrentClientsAndTokens(t *testing.T) {
	f := newFixture(t, Options{})
	v := verifier(t, f.emu.IssuerURL(f.poolID))
	const workers, perWorker = 8, 4
	ids := make(chan string, workers*perWorker)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				c, err := f.sdk.CreateUserPoolClient(context.Background(), &cip.CreateUserPoolClientInput{
					UserPoolId: &f.poolID, ClientName: aws.String("same-name"), GenerateSecret: true,
					AllowedOAuthFlows:               []types.OAuthFlowType{types.OAuthFlowTypeClientCredentials},
					AllowedOAuthFlowsUserPoolClient: true, AllowedOAuthScopes: []string{"orders/read"},
				})
				if err != nil {
					t.Errorf("worker %d client %d: %v", w, i, err)
					return
				}
				cc := clientcredentials.Config{ClientID: *c.UserPoolClient.ClientId, ClientSecret: *c.UserPoolClient.ClientSecret, TokenURL: f.emu.TokenURL()}
				tok, err := cc.Token(context.Background())
				if err != nil {
					t.Errorf("worker %d token %d: %v", w, i, err)
					return
				}
				if _, err := v.Verify(context.Background(), tok.AccessToken); err != nil {
					t.Errorf("worker %d verify %d: %v", w, i, err)
				}
				ids <- *c.UserPoolClient.ClientId
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != workers*perWorker {
		t.Errorf("%d distinct client ids, want %d", len(seen), workers*perWorker)
	}
	list, err := f.sdk.ListUserPoolClients(context.Background(), &cip.ListUserPoolClientsInput{UserPoolId: &f.poolID, MaxResults: aws.Int32(60)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.UserPoolClients) != workers*perWorker+1 {
		t.Errorf("listed %d clients, want %d", len(list.UserPoolClients), workers*perWorker+1)
	}
	if got := f.emu.CallCounts()[TokenOperation]; got != workers*perWorker {
		t.Errorf("token calls = %d, want %d", got, workers*perWorker)
	}
}

// TestDeletedScopesAreNotGranted: a scope removed from its resource server
// stops appearing in tokens even though the client still lists it.
func TestDeletedScopesAreNotGranted(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	id, secret := *f.client.ClientId, *f.client.ClientSecret
	if _, err := f.sdk.UpdateResourceServer(ctx, &cip.UpdateResourceServerInput{UserPoolId: &f.poolID,
		Identifier: aws.String("orders"), Name: aws.String("Orders API"), Scopes: scopes("read")}); err != nil {
		t.Fatal(err)
	}
	v := verifier(t, f.emu.IssuerURL(f.poolID))
	idt, err := v.Verify(ctx, fetchToken(t, f.emu.TokenURL(), id, secret, oauth2.AuthStyleInHeader).AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if c.Scope != "orders/read" {
		t.Errorf("scope = %q, want only the remaining orders/read", c.Scope)
	}
	got := postToken(t, f.emu.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "scope": {"orders/write"}}, id, secret)
	if got.status != 400 || got.body["error"] != "invalid_scope" {
		t.Errorf("deleted scope requested: %d %v, want 400 invalid_scope", got.status, got.body)
	}
}
