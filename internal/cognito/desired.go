package cognito

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// ResourceServerSpec is what the operator wants a Cognito resource server to be.
type ResourceServerSpec struct {
	Identifier string
	Name       string
	Scopes     []types.ResourceServerScopeType
}

// DesiredResourceServer maps a ResourceServer's spec to Cognito's shape.
func DesiredResourceServer(spec v1alpha1.ResourceServerSpec) ResourceServerSpec {
	scopes := make([]types.ResourceServerScopeType, 0, len(spec.Scopes))
	for _, s := range spec.Scopes {
		scopes = append(scopes, types.ResourceServerScopeType{
			ScopeName: aws.String(s.Name), ScopeDescription: aws.String(s.Description),
		})
	}
	return ResourceServerSpec{Identifier: spec.Identifier, Name: spec.Name, Scopes: scopes}
}

// createInput is the request that creates the resource server in pool.
func (d ResourceServerSpec) createInput(pool string) *cip.CreateResourceServerInput {
	return &cip.CreateResourceServerInput{
		UserPoolId: aws.String(pool), Identifier: aws.String(d.Identifier),
		Name: aws.String(d.Name), Scopes: d.Scopes,
	}
}

// updateInput is the request that sets the whole resource server: Cognito resets
// whatever an update leaves out, so it always carries every field.
func (d ResourceServerSpec) updateInput(pool string) *cip.UpdateResourceServerInput {
	return &cip.UpdateResourceServerInput{
		UserPoolId: aws.String(pool), Identifier: aws.String(d.Identifier),
		Name: aws.String(d.Name), Scopes: d.Scopes,
	}
}

// UpToDate reports whether Cognito's resource server matches; scope order does not
// matter to Cognito, so it does not matter here.
func (d ResourceServerSpec) UpToDate(got *types.ResourceServerType) bool {
	if got == nil || aws.ToString(got.Name) != d.Name {
		return false
	}
	return slices.Equal(scopeKeys(d.Scopes), scopeKeys(got.Scopes))
}

func scopeKeys(scopes []types.ResourceServerScopeType) []string {
	keys := make([]string, 0, len(scopes))
	for _, s := range scopes {
		keys = append(keys, aws.ToString(s.ScopeName)+"\x00"+aws.ToString(s.ScopeDescription))
	}
	slices.Sort(keys)
	return keys
}

// ClientSpec is what the operator wants a Cognito app client to be.
type ClientSpec struct {
	Name                string
	Scopes              []string // full scope names, sorted
	AccessTokenValidity time.Duration
}

// DefaultAccessTokenValidity is Cognito's own default.
const DefaultAccessTokenValidity = time.Hour

// clientCredentialsOnly is the one OAuth flow an M2M client gets.
var clientCredentialsOnly = []types.OAuthFlowType{types.OAuthFlowTypeClientCredentials}

// refreshOnly is the narrowest set of user-auth flows Cognito accepts: an M2M client
// signs in no user, and leaving the list out would give Cognito's broader default.
var refreshOnly = []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}

// createInput is the request that creates the app client with a generated secret.
func (d ClientSpec) createInput(pool string) *cip.CreateUserPoolClientInput {
	return &cip.CreateUserPoolClientInput{
		UserPoolId:                      aws.String(pool),
		ClientName:                      aws.String(d.Name),
		GenerateSecret:                  true,
		AllowedOAuthFlows:               clientCredentialsOnly,
		AllowedOAuthFlowsUserPoolClient: true,
		AllowedOAuthScopes:              d.Scopes,
		ExplicitAuthFlows:               refreshOnly,
		AccessTokenValidity:             aws.Int32(int32(d.validity() / time.Second)),
		TokenValidityUnits:              &types.TokenValidityUnitsType{AccessToken: types.TimeUnitsTypeSeconds},
		EnableTokenRevocation:           aws.Bool(true),
	}
}

// updateInput is the request that sets the whole app client: Cognito resets whatever
// an update leaves out, so it carries every field CreateInput sets (but the secret,
// which is fixed at creation).
//
// A client left with no scope gets its OAuth flows turned off: Cognito refuses the
// client-credentials flow with no custom scope (InvalidOAuthFlowException), so
// keeping the flow would fail the update and leave the client the scopes it had.
// With its flows off, the token endpoint refuses the client (unauthorized_client)
// until a scope is granted again.
func (d ClientSpec) updateInput(pool, clientID string) *cip.UpdateUserPoolClientInput {
	c := d.createInput(pool)
	if d.flowsOff() {
		c.AllowedOAuthFlows, c.AllowedOAuthFlowsUserPoolClient, c.AllowedOAuthScopes = nil, false, nil
	}
	return &cip.UpdateUserPoolClientInput{
		UserPoolId:                      c.UserPoolId,
		ClientId:                        aws.String(clientID),
		ClientName:                      c.ClientName,
		AllowedOAuthFlows:               c.AllowedOAuthFlows,
		AllowedOAuthFlowsUserPoolClient: c.AllowedOAuthFlowsUserPoolClient,
		AllowedOAuthScopes:              c.AllowedOAuthScopes,
		ExplicitAuthFlows:               c.ExplicitAuthFlows,
		AccessTokenValidity:             c.AccessTokenValidity,
		TokenValidityUnits:              c.TokenValidityUnits,
		EnableTokenRevocation:           c.EnableTokenRevocation,
	}
}

// withScopesInput is the request that leaves an app client with only the scopes
// keep and every other setting as Cognito holds it: an update resets whatever it
// leaves out, so each one is copied from the description. With no scope left its
// OAuth flows are turned off (see updateInput): the token endpoint refuses it.
func withScopesInput(pool string, app *types.UserPoolClientType, keep []string) *cip.UpdateUserPoolClientInput {
	in := &cip.UpdateUserPoolClientInput{
		UserPoolId:                               aws.String(pool),
		ClientId:                                 app.ClientId,
		ClientName:                               app.ClientName,
		AccessTokenValidity:                      app.AccessTokenValidity,
		AllowedOAuthFlows:                        app.AllowedOAuthFlows,
		AllowedOAuthFlowsUserPoolClient:          aws.ToBool(app.AllowedOAuthFlowsUserPoolClient),
		AllowedOAuthScopes:                       keep,
		AnalyticsConfiguration:                   app.AnalyticsConfiguration,
		AuthSessionValidity:                      app.AuthSessionValidity,
		CallbackURLs:                             app.CallbackURLs,
		DefaultRedirectURI:                       app.DefaultRedirectURI,
		EnablePropagateAdditionalUserContextData: app.EnablePropagateAdditionalUserContextData,
		EnableTokenRevocation:                    app.EnableTokenRevocation,
		ExplicitAuthFlows:                        app.ExplicitAuthFlows,
		IdTokenValidity:                          app.IdTokenValidity,
		LogoutURLs:                               app.LogoutURLs,
		PreventUserExistenceErrors:               app.PreventUserExistenceErrors,
		ReadAttributes:                           app.ReadAttributes,
		RefreshTokenRotation:                     app.RefreshTokenRotation,
		RefreshTokenValidity:                     app.RefreshTokenValidity,
		SupportedIdentityProviders:               app.SupportedIdentityProviders,
		TokenValidityUnits:                       app.TokenValidityUnits,
		WriteAttributes:                          app.WriteAttributes,
	}
	if len(keep) == 0 {
		in.AllowedOAuthFlows, in.AllowedOAuthFlowsUserPoolClient, in.AllowedOAuthScopes = nil, false, nil
	}
	return in
}

// ScopesOf splits an app client's scopes into those of the resource server with
// identifier and the rest. A scope name cannot hold a "/", so a server whose
// identifier extends this one's (`api` and `api/v2`) is told apart.
func ScopesOf(identifier string, scopes []string) (its, rest []string) {
	for _, s := range scopes {
		name, ok := strings.CutPrefix(s, identifier+"/")
		if ok && name != "" && !strings.Contains(name, "/") {
			its = append(its, s)
		} else {
			rest = append(rest, s)
		}
	}
	return its, rest
}

// NameHash is the short hash of an app client name recorded for a pending create
// (see v1alpha1.Grantee).
func NameHash(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])[:16]
}

// flowsOff reports whether the client must not be able to get tokens: it is allowed
// no scope.
func (d ClientSpec) flowsOff() bool { return len(d.Scopes) == 0 }

// validity is the access-token lifetime as Cognito can hold it: whole seconds (the
// model's AccessTokenValidity is an integer, sent in seconds). A fraction of a second
// in the spec is dropped here, in what is sent and in what is compared alike, so that
// a client Cognito holds is never out of date for it.
func (d ClientSpec) validity() time.Duration {
	if d.AccessTokenValidity == 0 {
		return DefaultAccessTokenValidity
	}
	return d.AccessTokenValidity.Truncate(time.Second)
}

// UpToDate reports whether Cognito's app client matches, field by field as
// UpdateInput would set it.
func (d ClientSpec) UpToDate(got *types.UserPoolClientType) bool {
	if got == nil || aws.ToString(got.ClientName) != d.Name || aws.ToBool(got.AllowedOAuthFlowsUserPoolClient) == d.flowsOff() {
		return false
	}
	flows := clientCredentialsOnly
	if d.flowsOff() {
		flows = nil
	}
	if !sameSet(got.AllowedOAuthFlows, flows) || !sameSet(got.ExplicitAuthFlows, refreshOnly) {
		return false
	}
	if !sameSet(got.AllowedOAuthScopes, d.Scopes) || !aws.ToBool(got.EnableTokenRevocation) {
		return false
	}
	return AccessTokenValidity(got) == d.validity()
}

// AccessTokenValidity is the client's access-token lifetime, read with its unit.
func AccessTokenValidity(c *types.UserPoolClientType) time.Duration {
	if c.AccessTokenValidity == nil {
		return DefaultAccessTokenValidity
	}
	n := time.Duration(aws.ToInt32(c.AccessTokenValidity))
	unit := types.TimeUnitsTypeHours
	if c.TokenValidityUnits != nil && c.TokenValidityUnits.AccessToken != "" {
		unit = c.TokenValidityUnits.AccessToken
	}
	switch unit {
	case types.TimeUnitsTypeSeconds:
		return n * time.Second
	case types.TimeUnitsTypeMinutes:
		return n * time.Minute
	case types.TimeUnitsTypeDays:
		return n * 24 * time.Hour
	default:
		return n * time.Hour
	}
}

func sameSet[T ~string](a, b []T) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

// maxClientName is Cognito's limit on an app client's name.
const maxClientName = 128

// DefaultClientName is the app client name for an M2MClient with no clientName:
// `<namespace>-<name>`, shortened with a hash suffix to stay unique within Cognito's
// 128-character limit.
func DefaultClientName(namespace, name string) string {
	n := namespace + "-" + name
	if len(n) <= maxClientName {
		return n
	}
	sum := sha256.Sum256([]byte(n))
	suffix := "-" + hex.EncodeToString(sum[:])[:10]
	return strings.TrimRight(n[:maxClientName-len(suffix)], "-") + suffix
}

// TokenEndpoint is the OAuth 2.0 token endpoint of a pool's domain: its custom domain
// when it has one, else its Cognito prefix domain. ok is false when the pool has no
// domain, and so no token endpoint.
func TokenEndpoint(pool *types.UserPoolType, region string) (url string, ok bool) {
	switch {
	case pool == nil:
		return "", false
	case aws.ToString(pool.CustomDomain) != "":
		return "https://" + aws.ToString(pool.CustomDomain) + "/oauth2/token", true
	case aws.ToString(pool.Domain) != "":
		return "https://" + aws.ToString(pool.Domain) + ".auth." + region + ".amazoncognito.com/oauth2/token", true
	}
	return "", false
}

// Issuer is the `iss` of a pool's tokens. base is Cognito's
// https://cognito-idp.<region>.amazonaws.com unless an endpoint override (the local
// emulator) serves the tokens.
func Issuer(base, region, pool string) string {
	if base == "" {
		base = "https://cognito-idp." + region + ".amazonaws.com"
	}
	return strings.TrimRight(base, "/") + "/" + pool
}
