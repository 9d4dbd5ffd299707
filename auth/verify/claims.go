package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the claims of a verified Cognito access token. A Claims value handed
// out by a Verifier is shared by every request that presented the same token and
// must not be modified.
type Claims struct {
	jwt.RegisteredClaims
	// ClientID is the app client the token was issued to.
	ClientID string `json:"client_id"`
	// TokenUse is "access" for an access token.
	TokenUse string `json:"token_use"`
	// Scope is the space-separated list of granted scopes.
	Scope string `json:"scope"`
	// AuthTime is when the client authenticated.
	AuthTime *jwt.NumericDate `json:"auth_time,omitempty"`
	// Version is Cognito's token version.
	Version int `json:"version,omitempty"`

	scopes []string
	dates  [4]jwt.NumericDate // backing store of the dates above
}

// Scopes returns the granted scopes.
func (c *Claims) Scopes() []string { return slices.Clone(c.scopes) }

// HasScope reports whether the token grants scope.
func (c *Claims) HasScope(scope string) bool { return slices.Contains(c.scopes, scope) }

// splitScopes splits the scope claim on spaces, and only on spaces: RFC 6749
// (section 3.3) makes scope a space-delimited list, and other white space, which
// strings.Fields would also split on, is part of a name that grants nothing.
func (c *Claims) splitScopes() {
	c.scopes = strings.FieldsFunc(c.Scope, func(r rune) bool { return r == ' ' })
}

// wireClaims is what golang-jwt decodes a token's claims into. The dates are
// json.Number rather than jwt.NumericDate, whose UnmarshalJSON starts a second
// JSON decoder for every date: that was the largest cost of a cold verification,
// besides the RSA check, that could be avoided. claims converts them as
// NumericDate does.
type wireClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.ClaimStrings `json:"aud"`
	ExpiresAt json.Number      `json:"exp"`
	NotBefore json.Number      `json:"nbf"`
	IssuedAt  json.Number      `json:"iat"`
	ID        string           `json:"jti"`
	ClientID  string           `json:"client_id"`
	TokenUse  string           `json:"token_use"`
	Scope     string           `json:"scope"`
	AuthTime  json.Number      `json:"auth_time"`
	Version   int              `json:"version"`
}

// claims returns the decoded claims as Claims.
func (w *wireClaims) claims() (*Claims, error) {
	c := &Claims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: w.Issuer, Subject: w.Subject, Audience: w.Audience, ID: w.ID},
		ClientID:         w.ClientID,
		TokenUse:         w.TokenUse,
		Scope:            w.Scope,
		Version:          w.Version,
	}
	var errs [4]error
	c.ExpiresAt, errs[0] = numericDate(w.ExpiresAt, &c.dates[0])
	c.NotBefore, errs[1] = numericDate(w.NotBefore, &c.dates[1])
	c.IssuedAt, errs[2] = numericDate(w.IssuedAt, &c.dates[2])
	c.AuthTime, errs[3] = numericDate(w.AuthTime, &c.dates[3])
	return c, errors.Join(errs[:]...)
}

// numericDate converts a JSON number of seconds as jwt.NumericDate's
// UnmarshalJSON does, into backing; an absent date is nil.
func numericDate(n json.Number, backing *jwt.NumericDate) (*jwt.NumericDate, error) {
	if n == "" {
		return nil, nil
	}
	f, err := n.Float64()
	if err != nil {
		return nil, fmt.Errorf("date %s: %w", n, err)
	}
	round, frac := math.Modf(f)
	backing.Time = time.Unix(int64(round), int64(frac*1e9)).Truncate(jwt.TimePrecision)
	return backing, nil
}

// The methods of jwt.Claims, which golang-jwt's parser requires of the type it
// decodes into. The parser does not validate claims (checkClaims does, on the
// converted Claims), so it never calls them; they answer from the JSON.
func (w *wireClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return numericDate(w.ExpiresAt, new(jwt.NumericDate))
}
func (w *wireClaims) GetNotBefore() (*jwt.NumericDate, error) {
	return numericDate(w.NotBefore, new(jwt.NumericDate))
}
func (w *wireClaims) GetIssuedAt() (*jwt.NumericDate, error) {
	return numericDate(w.IssuedAt, new(jwt.NumericDate))
}
func (w *wireClaims) GetIssuer() (string, error)             { return w.Issuer, nil }
func (w *wireClaims) GetSubject() (string, error)            { return w.Subject, nil }
func (w *wireClaims) GetAudience() (jwt.ClaimStrings, error) { return w.Audience, nil }

type claimsKey struct{}

// NewContext returns a context carrying verified claims, as the middleware does.
func NewContext(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFromContext returns the claims the middleware verified for this request.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok
}
