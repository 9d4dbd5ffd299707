package emulator

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

const (
	tokenPath = "/oauth2/token"
	// maxTokenBody bounds a token request; a real one is a few hundred bytes.
	maxTokenBody = 64 << 10
)

// oauthError is an RFC 6749 section 5.2 error response.
type oauthError struct {
	status int
	Code   string `json:"error"`
	Desc   string `json:"error_description,omitempty"`
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Desc }

func oauthErr(status int, code, desc string) *oauthError {
	return &oauthError{status: status, Code: code, Desc: desc}
}

// serveToken is the OAuth 2.0 token endpoint for the client-credentials
// grant (RFC 6749 section 4.4), for the clients of every pool.
func (e *Emulator) serveToken(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var clientID, poolID string
	status := http.StatusOK
	errCode := ""
	defer func() {
		e.log.Info("Handled token request", "operation", TokenOperation, "userPoolId", poolID, "clientId", clientID,
			"status", status, "error", errCode, "duration", time.Since(start).Round(time.Microsecond))
	}()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")

	resp, oerr := e.token(w, r, &clientID, &poolID)
	if oerr != nil {
		status, errCode = oerr.status, oerr.Code
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(oerr)
		return
	}
	_ = json.NewEncoder(w).Encode(resp)
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	TokenType   string `json:"token_type"`
}

func (e *Emulator) token(w http.ResponseWriter, r *http.Request, clientID, poolID *string) (*tokenResponse, *oauthError) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, oauthErr(http.StatusMethodNotAllowed, "invalid_request", "the token endpoint accepts POST only")
	}
	e.ctl.count(TokenOperation)
	if latency, errType := e.ctl.fault(TokenOperation); latency > 0 || errType != "" {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
		}
		switch errType {
		case "":
		case errTooManyRequests:
			e.ctl.countThrottled(TokenOperation)
			return nil, oauthErr(http.StatusTooManyRequests, "too_many_requests", "injected fault")
		default:
			return nil, oauthErr(http.StatusInternalServerError, "server_error", "injected fault")
		}
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return nil, oauthErr(http.StatusBadRequest, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenBody)
	if err := r.ParseForm(); err != nil {
		return nil, oauthErr(http.StatusBadRequest, "invalid_request", "malformed request body")
	}
	form := r.PostForm
	for _, k := range []string{"grant_type", "scope", "client_id", "client_secret"} {
		if len(form[k]) > 1 {
			return nil, oauthErr(http.StatusBadRequest, "invalid_request", "parameter "+k+" repeated")
		}
	}
	grant := form.Get("grant_type")
	if grant == "" {
		return nil, oauthErr(http.StatusBadRequest, "invalid_request", "missing grant_type")
	}

	// Client authentication: client_secret_basic or client_secret_post,
	// never both (RFC 6749 section 2.3).
	id, secret, basic := r.BasicAuth()
	if basic {
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return nil, oauthErr(http.StatusBadRequest, "invalid_client", "malformed Basic credentials")
		}
		if form.Has("client_secret") {
			return nil, oauthErr(http.StatusBadRequest, "invalid_request", "more than one client authentication method used")
		}
		if form.Has("client_id") && form.Get("client_id") != id {
			return nil, oauthErr(http.StatusBadRequest, "invalid_request", "client_id does not match the authenticated client")
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	*clientID = id
	// AWS documents every /oauth2/token error, invalid_client after HTTP
	// Basic authentication too, as HTTP 400 with a JSON error (RFC 6749
	// allows 401 there; Cognito does not use it).
	fail := oauthErr(http.StatusBadRequest, "invalid_client", "client authentication failed")
	if id == "" || secret == "" {
		return nil, fail
	}

	e.mu.Lock()
	var p *pool
	var c *appClient
	for _, cand := range e.st.Pools {
		if cl, ok := cand.Clients[id]; ok {
			p, c = cand, cl
			break
		}
	}
	if c == nil || !c.secretMatches(secret) {
		e.mu.Unlock()
		return nil, fail
	}
	*poolID = p.ID
	if grant != "client_credentials" {
		e.mu.Unlock()
		return nil, oauthErr(http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
	}
	if !c.Config.allowsClientCredentials() {
		e.mu.Unlock()
		return nil, oauthErr(http.StatusBadRequest, "unauthorized_client", "client is not allowed the client_credentials grant")
	}
	granted, oerr := grantScopes(p, c, form.Get("scope"))
	if oerr != nil {
		e.mu.Unlock()
		return nil, oerr
	}
	now := e.now()
	lifetime := c.Config.accessTokenLifetime()
	key := e.st.activeKey()
	exp := now.Add(lifetime)
	key.ValidUntil = maxTime(key.ValidUntil, exp)
	e.mu.Unlock()

	claims := accessClaims{
		Sub: id, TokenUse: "access", Scope: strings.Join(granted, " "),
		AuthTime: now.Unix(), Iss: e.requestBase(r) + "/" + p.ID,
		Exp: exp.Unix(), Iat: now.Unix(), Version: 2, Jti: newUUID(), ClientID: id,
	}
	tok, err := signJWT(key, claims)
	if err != nil {
		return nil, oauthErr(http.StatusInternalServerError, "server_error", "signing failed")
	}
	return &tokenResponse{AccessToken: tok, ExpiresIn: int64(lifetime / time.Second), TokenType: "Bearer"}, nil
}

// secretMatches compares in constant time against every active secret, so
// that both secrets work during a rotation.
func (c *appClient) secretMatches(secret string) bool {
	ok := false
	for _, s := range c.Secrets {
		if subtle.ConstantTimeCompare([]byte(s.Value), []byte(secret)) == 1 {
			ok = true
		}
	}
	return ok
}

// grantScopes decides the scopes of a token: all the client's allowed scopes
// that still exist when none are asked for, else exactly those asked for,
// each of which must be allowed.
func grantScopes(p *pool, c *appClient, requested string) ([]string, *oauthError) {
	var allowed []string
	for _, s := range c.Config.AllowedOAuthScopes {
		if p.scopeExists(s) {
			allowed = append(allowed, s)
		}
	}
	if strings.TrimSpace(requested) == "" {
		if len(allowed) == 0 {
			return nil, oauthErr(http.StatusBadRequest, "invalid_scope", "client has no allowed scopes")
		}
		return allowed, nil
	}
	var out []string
	for _, s := range strings.Fields(requested) {
		if !slices.Contains(allowed, s) {
			return nil, oauthErr(http.StatusBadRequest, "invalid_scope", "scope not allowed for this client: "+s)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// accessClaims are the claims of a Cognito client-credentials access token,
// in Cognito's order. There is no aud claim.
type accessClaims struct {
	Sub      string `json:"sub"`
	TokenUse string `json:"token_use"`
	Scope    string `json:"scope"`
	AuthTime int64  `json:"auth_time"`
	Iss      string `json:"iss"`
	Exp      int64  `json:"exp"`
	Iat      int64  `json:"iat"`
	Version  int    `json:"version"`
	Jti      string `json:"jti"`
	ClientID string `json:"client_id"`
}

// signJWT makes a compact RS256 JWS with Cognito's header: kid and alg only.
func signJWT(k *signingKey, claims any) (string, error) {
	h, err := json.Marshal(struct {
		Kid string `json:"kid"`
		Alg string `json:"alg"`
	}{k.Kid, "RS256"})
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.priv, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

type jwk struct {
	Alg string `json:"alg"`
	E   string `json:"e"`
	Kid string `json:"kid"`
	Kty string `json:"kty"`
	N   string `json:"n"`
	Use string `json:"use"`
}

// serveJWKS publishes the signing keys at <issuer>/.well-known/jwks.json.
func (e *Emulator) serveJWKS(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	_, ok := e.st.Pools[r.PathValue("pool")]
	keys := e.st.publishedKeys(e.now())
	e.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	out := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range keys {
		pub := k.priv.PublicKey
		out.Keys = append(out.Keys, jwk{
			Alg: "RS256", Kty: "RSA", Use: "sig", Kid: k.Kid,
			E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
			N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// serveDiscovery publishes <issuer>/.well-known/openid-configuration.
func (e *Emulator) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("pool")
	e.mu.Lock()
	_, ok := e.st.Pools[id]
	e.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	base := e.requestBase(r)
	issuer := base + "/" + id
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                issuer,
		"jwks_uri":                              issuer + "/.well-known/jwks.json",
		"token_endpoint":                        base + tokenPath,
		"authorization_endpoint":                base + "/oauth2/authorize",
		"userinfo_endpoint":                     base + "/oauth2/userInfo",
		"response_types_supported":              []string{"code", "token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "email", "phone", "profile"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
