package verify

import (
	"net/http"
	"strings"
)

// Middleware requires a valid bearer token carrying every one of Scopes, and puts
// the verified claims in the request context (see ClaimsFromContext).
//
// Responses follow RFC 6750: 401 with `WWW-Authenticate: Bearer
// error="invalid_token"` when the token is missing, too large, malformed, expired
// or forged; 403 with error="insufficient_scope" and the required scopes when a
// valid token lacks one. (RFC 6750 lets a server leave the error code out when no
// token was sent; this middleware sends invalid_token in every 401 so that every
// client sees the same challenge.)
type Middleware struct {
	// Verifier checks the tokens.
	Verifier *Verifier
	// Scopes must all be granted by the token.
	Scopes []string
	// Realm, when set, is sent in the challenge.
	Realm string
	// OnReject, when set, is told about every rejected request, for logging. The
	// error never contains the token.
	OnReject func(r *http.Request, status int, err error)
}

// Require returns middleware that requires a token from v granting all scopes.
func Require(v *Verifier, scopes ...string) func(http.Handler) http.Handler {
	m := &Middleware{Verifier: v, Scopes: scopes}
	return m.Wrap
}

// Wrap returns next guarded by the middleware.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, err := m.bearer(r)
		var c *Claims
		if err == nil {
			c, err = m.Verifier.Verify(r.Context(), token)
		} else {
			m.Verifier.stats.rejected[reasonIndex(err)].Add(1)
		}
		if err != nil {
			m.reject(w, r, http.StatusUnauthorized, `error="invalid_token"`, err)
			return
		}
		for _, s := range m.Scopes {
			if !c.HasScope(s) {
				m.Verifier.stats.rejected[reasonIndex(ErrScope)].Add(1)
				m.reject(w, r, http.StatusForbidden, `error="insufficient_scope", scope="`+strings.Join(m.Scopes, " ")+`"`, ErrScope)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), c)))
	})
}

// bearer returns the token of the one Authorization header, if it is a Bearer one.
func (m *Middleware) bearer(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return "", ErrMissing
	}
	if len(values) > 1 {
		return "", ErrMalformed
	}
	v := values[0]
	if len(v) > m.Verifier.cfg.MaxTokenSize+len("Bearer ") {
		return "", ErrTooLarge
	}
	scheme, token, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", ErrMissing
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", ErrMissing
	}
	return token, nil
}

func (m *Middleware) reject(w http.ResponseWriter, r *http.Request, status int, params string, err error) {
	challenge := "Bearer "
	if m.Realm != "" {
		challenge += `realm="` + m.Realm + `", `
	}
	w.Header().Set("WWW-Authenticate", challenge+params)
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, http.StatusText(status), status)
	if m.OnReject != nil {
		m.OnReject(r, status, err)
	}
}
