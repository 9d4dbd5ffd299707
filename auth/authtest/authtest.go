// Package authtest provides in-process stand-ins for what the auth packages talk
// to, for tests of this module and of services that use it: a Cognito-shaped
// token endpoint and JWKS (Server), a fake clock (Clock), and a writer that updates
// a credentials directory the way the kubelet updates a mounted Secret
// (WriteSecretDir).
//
// The Server follows the facts the project relies on: client-credentials grant at
// /oauth2/token with client_secret_basic (or client_secret_post), RS256 access
// tokens with kid, client_id, token_use "access", scope, iss, exp, iat, jti and no
// aud, keys at <issuer>/.well-known/jwks.json, and OAuth 2.0 error bodies.
package authtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// UserPoolID is the user pool id in the Server's issuer.
const UserPoolID = "us-east-1_authtest"

var (
	keyMu   sync.Mutex
	keyPool []*rsa.PrivateKey
)

// Key returns the i-th RSA-2048 test key, generating it on first use. Keys are
// shared by every Server in the process because generating them is slow.
func Key(i int) *rsa.PrivateKey {
	keyMu.Lock()
	defer keyMu.Unlock()
	for len(keyPool) <= i {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keyPool = append(keyPool, k)
	}
	return keyPool[i]
}

type signingKey struct {
	kid string
	key *rsa.PrivateKey
}

type appClient struct {
	secrets []string
	scopes  []string
}

// Server is a stand-in for a Cognito user pool's token endpoint and JWKS.
type Server struct {
	// URL is the base URL of the server.
	URL string
	// Issuer is the issuer of the tokens, URL + "/" + UserPoolID.
	Issuer string
	// TokenEndpoint is the token endpoint URL.
	TokenEndpoint string
	// JWKSURL is the URL of the JSON Web Key Set.
	JWKSURL string

	srv *httptest.Server

	mu         sync.Mutex
	now        func() time.Time
	keys       []signingKey // published in the JWKS
	active     int          // index into keys used to sign
	nextKey    int
	clients    map[string]*appClient
	lifetime   time.Duration
	failStatus int
	failCode   string
	requests   int
	secretUses map[[2]string]int
	jwksHits   int
	seq        int
}

// NewServer starts a Server with one signing key, a one-hour token lifetime and no
// clients. It is closed when the test ends.
func NewServer(tb testing.TB) *Server {
	s := &Server{
		now:        time.Now,
		clients:    map[string]*appClient{},
		lifetime:   time.Hour,
		secretUses: map[[2]string]int{},
	}
	s.addKey()
	mux := http.NewServeMux()
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	s.Issuer = s.URL + "/" + UserPoolID
	s.TokenEndpoint = s.URL + "/oauth2/token"
	s.JWKSURL = s.Issuer + "/.well-known/jwks.json"
	mux.HandleFunc("POST /oauth2/token", s.handleToken)
	mux.HandleFunc("GET /"+UserPoolID+"/.well-known/jwks.json", s.handleJWKS)
	tb.Cleanup(s.srv.Close)
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

func (s *Server) addKey() {
	s.keys = append(s.keys, signingKey{kid: fmt.Sprintf("authtest-key-%d", s.nextKey), key: Key(s.nextKey)})
	s.nextKey++
	s.active = len(s.keys) - 1
}

// SetClock makes the server use now for iat and exp of the tokens it issues.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetTokenLifetime sets expires_in of the tokens issued from now on.
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lifetime = d
}

// AddClient registers an app client with one secret and its allowed scopes.
func (s *Server) AddClient(id, secret string, scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[id] = &appClient{secrets: []string{secret}, scopes: scopes}
}

// AddSecret adds a second active secret to a client, as AddUserPoolClientSecret does.
func (s *Server) AddSecret(id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clients[id]
	c.secrets = append(c.secrets, secret)
}

// RevokeSecret removes a secret from a client, as DeleteUserPoolClientSecret does.
func (s *Server) RevokeSecret(id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clients[id]
	c.secrets = slices.DeleteFunc(c.secrets, func(x string) bool { return x == secret })
}

// FailTokenRequests makes every token request fail with the given HTTP status and
// OAuth error code (no JSON body when code is empty) until called with status 0.
func (s *Server) FailTokenRequests(status int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failStatus, s.failCode = status, code
}

// TokenRequests returns how many requests reached the token endpoint.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// SecretUses returns how many token requests authenticated with this secret,
// successfully or not.
func (s *Server) SecretUses(clientID, secret string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.secretUses[[2]string{clientID, secret}]
}

// JWKSRequests returns how many times the JWKS was fetched.
func (s *Server) JWKSRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jwksHits
}

// RotateKey adds a new signing key to the JWKS and signs with it from now on. With
// dropOld, the previous keys leave the JWKS.
func (s *Server) RotateKey(dropOld bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addKey()
	if dropOld {
		s.keys = s.keys[len(s.keys)-1:]
		s.active = 0
	}
}

// KeyID returns the kid of the active signing key.
func (s *Server) KeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[s.active].kid
}

// PublicKey returns the active signing key's public half.
func (s *Server) PublicKey() *rsa.PublicKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &s.keys[s.active].key.PublicKey
}

// Claims returns the claims of an access token for the client and scopes as
// Cognito would issue it now, for tests that change one claim before Sign.
func (s *Server) Claims(clientID string, scopes ...string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claimsLocked(clientID, scopes)
}

func (s *Server) claimsLocked(clientID string, scopes []string) map[string]any {
	now := s.now()
	s.seq++
	return map[string]any{
		"sub":       clientID,
		"client_id": clientID,
		"token_use": "access",
		"scope":     strings.Join(scopes, " "),
		"iss":       s.Issuer,
		"exp":       now.Add(s.lifetime).Unix(),
		"iat":       now.Unix(),
		"auth_time": now.Unix(),
		"jti":       fmt.Sprintf("jti-%d", s.seq),
		"version":   2,
	}
}

// AccessToken mints an access token without going through the token endpoint.
func (s *Server) AccessToken(clientID string, scopes ...string) string {
	return s.Sign(nil, s.Claims(clientID, scopes...))
}

// Sign signs claims with the active key (RS256). Header fields given override or
// add to the default {"kid": <active kid>, "alg": "RS256"}; a nil value removes one.
func (s *Server) Sign(header map[string]any, claims map[string]any) string {
	s.mu.Lock()
	k := s.keys[s.active]
	s.mu.Unlock()
	h := map[string]any{"kid": k.kid, "alg": "RS256"}
	for name, v := range header {
		if v == nil {
			delete(h, name)
			continue
		}
		h[name] = v
	}
	return SignWith(k.key, h, claims)
}

// SignWith signs the header and claims with key using RSASSA-PKCS1-v1_5 SHA-256,
// whatever the header's alg says.
func SignWith(key *rsa.PrivateKey, header, claims any) string {
	input := Encode(header) + "." + Encode(claims)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// Encode returns the base64url JSON encoding of v, one part of a JWT.
func Encode(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// JWK returns the public JWK of an RSA key.
func JWK(kid string, pub *rsa.PublicKey) map[string]any {
	return map[string]any{
		"kid": kid,
		"kty": "RSA",
		"alg": "RS256",
		"use": "sig",
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// JWKS returns the key set the server publishes.
func (s *Server) JWKS() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []any
	for _, k := range s.keys {
		keys = append(keys, JWK(k.kid, &k.key.PublicKey))
	}
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.jwksHits++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.JWKS())
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
	}
	w.WriteHeader(status)
	if code != "" {
		json.NewEncoder(w).Encode(map[string]string{"error": code})
	}
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if s.failStatus != 0 {
		oauthError(w, s.failStatus, s.failCode)
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 section 2.3.1: form-encoded before Basic encoding.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	s.secretUses[[2]string{id, secret}]++
	c, ok := s.clients[id]
	if !ok || secret == "" || !slices.Contains(c.secrets, secret) {
		oauthError(w, http.StatusBadRequest, "invalid_client")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	scopes := strings.Fields(r.PostForm.Get("scope"))
	for _, sc := range scopes {
		if !slices.Contains(c.scopes, sc) {
			oauthError(w, http.StatusBadRequest, "invalid_scope")
			return
		}
	}
	if len(scopes) == 0 {
		scopes = c.scopes
	}
	claims := s.claimsLocked(id, scopes)
	k := s.keys[s.active]
	tok := SignWith(k.key, map[string]any{"kid": k.kid, "alg": "RS256"}, claims)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok,
		"expires_in":   int(s.lifetime / time.Second),
		"token_type":   "Bearer",
	})
}
