package verify

import (
	"context"
	"slices"
	"strings"

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
