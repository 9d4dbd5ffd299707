package cognito

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

func TestResourceServerUpToDate(t *testing.T) {
	want := DesiredResourceServer(v1alpha1.ResourceServerSpec{Identifier: "api", Name: "API", Scopes: []v1alpha1.ResourceServerScope{
		{Name: "read", Description: "r"}, {Name: "write", Description: "w"},
	}})
	scope := func(n, d string) types.ResourceServerScopeType {
		return types.ResourceServerScopeType{ScopeName: aws.String(n), ScopeDescription: aws.String(d)}
	}
	tests := map[string]struct {
		got  *types.ResourceServerType
		want bool
	}{
		"same":                {&types.ResourceServerType{Name: aws.String("API"), Scopes: []types.ResourceServerScopeType{scope("read", "r"), scope("write", "w")}}, true},
		"scope order differs": {&types.ResourceServerType{Name: aws.String("API"), Scopes: []types.ResourceServerScopeType{scope("write", "w"), scope("read", "r")}}, true},
		"name differs":        {&types.ResourceServerType{Name: aws.String("Other"), Scopes: []types.ResourceServerScopeType{scope("read", "r"), scope("write", "w")}}, false},
		"scope missing":       {&types.ResourceServerType{Name: aws.String("API"), Scopes: []types.ResourceServerScopeType{scope("read", "r")}}, false},
		"description differs": {&types.ResourceServerType{Name: aws.String("API"), Scopes: []types.ResourceServerScopeType{scope("read", "r"), scope("write", "x")}}, false},
		"nil":                 {nil, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := want.UpToDate(tc.got); got != tc.want {
				t.Errorf("UpToDate = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestClientUpdateSendsWholeState(t *testing.T) {
	spec := ClientSpec{Name: "ns-bff", Scopes: []string{"api/read"}, AccessTokenValidity: 15 * time.Minute}
	in := spec.updateInput("pool", "id")
	if aws.ToString(in.ClientName) != "ns-bff" || !in.AllowedOAuthFlowsUserPoolClient || len(in.AllowedOAuthFlows) != 1 ||
		aws.ToInt32(in.AccessTokenValidity) != 900 || in.TokenValidityUnits.AccessToken != types.TimeUnitsTypeSeconds ||
		!aws.ToBool(in.EnableTokenRevocation) || len(in.ExplicitAuthFlows) != 1 {
		t.Errorf("update input leaves out part of the desired state: %+v", in)
	}
	if c := spec.createInput("pool"); !c.GenerateSecret {
		t.Error("create input does not ask for a secret")
	}
}

func TestClientUpToDate(t *testing.T) {
	spec := ClientSpec{Name: "c", Scopes: []string{"a/x", "a/y"}}
	base := func() *types.UserPoolClientType {
		return &types.UserPoolClientType{
			ClientName: aws.String("c"), AllowedOAuthFlowsUserPoolClient: aws.Bool(true),
			AllowedOAuthFlows:  []types.OAuthFlowType{types.OAuthFlowTypeClientCredentials},
			ExplicitAuthFlows:  []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
			AllowedOAuthScopes: []string{"a/y", "a/x"}, EnableTokenRevocation: aws.Bool(true),
			AccessTokenValidity: aws.Int32(60), TokenValidityUnits: &types.TokenValidityUnitsType{AccessToken: types.TimeUnitsTypeMinutes},
		}
	}
	tests := map[string]struct {
		edit func(*types.UserPoolClientType)
		want bool
	}{
		"same, validity in other units":  {func(*types.UserPoolClientType) {}, true},
		"default validity unit is hours": {func(c *types.UserPoolClientType) { c.AccessTokenValidity, c.TokenValidityUnits = aws.Int32(1), nil }, true},
		"scope removed":                  {func(c *types.UserPoolClientType) { c.AllowedOAuthScopes = []string{"a/x"} }, false},
		"extra flow": {func(c *types.UserPoolClientType) {
			c.AllowedOAuthFlows = append(c.AllowedOAuthFlows, types.OAuthFlowTypeCode)
		}, false},
		"OAuth turned off": {func(c *types.UserPoolClientType) { c.AllowedOAuthFlowsUserPoolClient = aws.Bool(false) }, false},
		"renamed":          {func(c *types.UserPoolClientType) { c.ClientName = aws.String("d") }, false},
		"validity changed": {func(c *types.UserPoolClientType) { c.AccessTokenValidity = aws.Int32(30) }, false},
		"user auth flows widened": {func(c *types.UserPoolClientType) {
			c.ExplicitAuthFlows = append(c.ExplicitAuthFlows, types.ExplicitAuthFlowsTypeAllowUserSrpAuth)
		}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := base()
			tc.edit(c)
			if got := spec.UpToDate(c); got != tc.want {
				t.Errorf("UpToDate = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDefaultClientName(t *testing.T) {
	if got := DefaultClientName("team", "bff"); got != "team-bff" {
		t.Errorf("short name: %q", got)
	}
	long := DefaultClientName(strings.Repeat("n", 63), strings.Repeat("x", 200))
	other := DefaultClientName(strings.Repeat("n", 63), strings.Repeat("x", 199)+"y")
	if len(long) > 128 || long == other {
		t.Errorf("long names must fit 128 chars and stay distinct: %q (%d) vs %q", long, len(long), other)
	}
}

func TestTokenEndpointAndIssuer(t *testing.T) {
	tests := map[string]struct {
		pool   *types.UserPoolType
		want   string
		wantOK bool
	}{
		"prefix domain": {&types.UserPoolType{Domain: aws.String("acme")}, "https://acme.auth.eu-west-1.amazoncognito.com/oauth2/token", true},
		"custom domain": {&types.UserPoolType{Domain: aws.String("acme"), CustomDomain: aws.String("auth.acme.com")}, "https://auth.acme.com/oauth2/token", true},
		"no domain":     {&types.UserPoolType{}, "", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := TokenEndpoint(tc.pool, "eu-west-1")
			if diff := cmp.Diff(tc.want, got); diff != "" || ok != tc.wantOK {
				t.Errorf("ok %v, endpoint (-want +got):\n%s", ok, diff)
			}
		})
	}
	if got := Issuer("", "eu-west-1", "eu-west-1_abc"); got != "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc" {
		t.Errorf("issuer %q", got)
	}
	if got := Issuer("http://127.0.0.1:9229/", "us-east-1", "p"); got != "http://127.0.0.1:9229/p" {
		t.Errorf("issuer with override %q", got)
	}
}

// A client with no scope left must lose its OAuth flows: Cognito refuses the
// client-credentials flow with no custom scope, so an update that kept it would fail
// and leave the client the scopes it had.
func TestClientWithNoScopeTurnsFlowsOff(t *testing.T) {
	spec := ClientSpec{Name: "c"}
	in := spec.updateInput("pool", "id")
	if in.AllowedOAuthFlowsUserPoolClient || len(in.AllowedOAuthFlows) != 0 || len(in.AllowedOAuthScopes) != 0 {
		t.Errorf("update for a client with no scope keeps OAuth: flows %v, enabled %v, scopes %v",
			in.AllowedOAuthFlows, in.AllowedOAuthFlowsUserPoolClient, in.AllowedOAuthScopes)
	}
	if aws.ToString(in.ClientName) != "c" || !aws.ToBool(in.EnableTokenRevocation) || len(in.ExplicitAuthFlows) != 1 {
		t.Errorf("flows-off update leaves out the rest of the state: %+v", in)
	}
	off := &types.UserPoolClientType{
		ClientName: aws.String("c"), ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
		EnableTokenRevocation: aws.Bool(true),
	}
	if !spec.UpToDate(off) {
		t.Error("a flows-off client is not up to date for a spec with no scope")
	}
	on := *off
	on.AllowedOAuthFlowsUserPoolClient = aws.Bool(true)
	on.AllowedOAuthFlows = []types.OAuthFlowType{types.OAuthFlowTypeClientCredentials}
	on.AllowedOAuthScopes = []string{"a/x"}
	if spec.UpToDate(&on) {
		t.Error("a client that can still get tokens is up to date for a spec with no scope")
	}
	if (ClientSpec{Name: "c", Scopes: []string{"a/x"}}).UpToDate(off) {
		t.Error("a flows-off client is up to date for a spec with a scope")
	}
}

// Cognito holds token validities in whole seconds (AccessTokenValidityType is an
// integer). A spec whose duration has a fraction of a second must still match the
// client the operator made from it, as Cognito holds that client; otherwise every
// pass updates the client, and recovery after an interrupted create never finds
// it and creates a second one.
func TestClientUpToDateWithWhatCognitoHolds(t *testing.T) {
	ctx := context.Background()
	c, _, pool := newTestClient(t)
	if _, err := c.api.CreateResourceServer(ctx, &cip.CreateResourceServerInput{UserPoolId: aws.String(pool), Identifier: aws.String("api"), Name: aws.String("API"),
		Scopes: []types.ResourceServerScopeType{{ScopeName: aws.String("read"), ScopeDescription: aws.String("r")}}}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"5m0.5s", "1.0001h", "23h59m59.9s", "5m", "90m", "24h"} {
		t.Run(v, func(t *testing.T) {
			d, err := time.ParseDuration(v)
			if err != nil {
				t.Fatal(err)
			}
			spec := ClientSpec{Name: "storm", Scopes: []string{"api/read"}, AccessTokenValidity: d}
			created, err := c.CreateAppClient(ctx, pool, spec, nil)
			if err != nil {
				t.Fatal(err)
			}
			held, err := c.AppClient(ctx, pool, aws.ToString(created.ClientId))
			if err != nil {
				t.Fatal(err)
			}
			if !spec.UpToDate(held) {
				t.Errorf("validity %s: the client as Cognito holds it (%s) is not up to date", v, AccessTokenValidity(held))
			}
			updated, err := c.UpdateAppClient(ctx, pool, aws.ToString(created.ClientId), spec)
			if err != nil {
				t.Fatal(err)
			}
			if !spec.UpToDate(updated) {
				t.Errorf("validity %s: the client after an update (%s) is not up to date", v, AccessTokenValidity(updated))
			}
		})
	}
}

func TestScopesOf(t *testing.T) {
	tests := []struct {
		name, identifier string
		scopes, its      []string
	}{
		{"plain", "api", []string{"api/read", "other/read", "api/write"}, []string{"api/read", "api/write"}},
		{"a longer identifier is another server", "https://x/api", []string{"https://x/api/read", "https://x/api/v2/read"}, []string{"https://x/api/read"}},
		{"a shorter identifier is another server", "https://x/api/v2", []string{"https://x/api/read", "https://x/api/v2/read"}, []string{"https://x/api/v2/read"}},
		{"none", "api", []string{"openid"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			its, rest := ScopesOf(tc.identifier, tc.scopes)
			if diff := cmp.Diff(tc.its, its); diff != "" {
				t.Errorf("its (-want +got):\n%s", diff)
			}
			if len(its)+len(rest) != len(tc.scopes) {
				t.Errorf("%d + %d scopes, want %d", len(its), len(rest), len(tc.scopes))
			}
		})
	}
}

func TestWithScopesInputKeepsTheRest(t *testing.T) {
	app := &types.UserPoolClientType{
		ClientId: aws.String("id"), ClientName: aws.String("n"), AccessTokenValidity: aws.Int32(900),
		TokenValidityUnits: &types.TokenValidityUnitsType{AccessToken: types.TimeUnitsTypeSeconds},
		AllowedOAuthFlows:  clientCredentialsOnly, AllowedOAuthFlowsUserPoolClient: aws.Bool(true),
		AllowedOAuthScopes: []string{"a/x", "b/y"}, ExplicitAuthFlows: refreshOnly, EnableTokenRevocation: aws.Bool(true),
		CallbackURLs: []string{"https://cb"},
	}
	in := withScopesInput("pool", app, []string{"b/y"})
	if diff := cmp.Diff([]string{"b/y"}, in.AllowedOAuthScopes); diff != "" || !in.AllowedOAuthFlowsUserPoolClient ||
		aws.ToInt32(in.AccessTokenValidity) != 900 || in.TokenValidityUnits.AccessToken != types.TimeUnitsTypeSeconds ||
		aws.ToString(in.ClientName) != "n" || len(in.CallbackURLs) != 1 || !aws.ToBool(in.EnableTokenRevocation) {
		t.Errorf("update does not keep the client's other settings: %+v", in)
	}
	off := withScopesInput("pool", app, nil)
	if off.AllowedOAuthFlowsUserPoolClient || len(off.AllowedOAuthFlows) != 0 || len(off.AllowedOAuthScopes) != 0 {
		t.Errorf("a client left with no scope keeps OAuth: %+v", off)
	}
}
