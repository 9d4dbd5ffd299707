package emulator

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cognito-m2m/operator/internal/emulator/model"
)

// maxOf is the model's upper bound of a shape.
func maxOf(t *testing.T, shape string) int {
	t.Helper()
	s := model.Lookup(shape)
	if s == nil || s.Max == nil {
		t.Fatalf("model shape %s has no maximum", shape)
	}
	return int(*s.Max)
}

// fill makes a string of exactly n characters from prefix and a repeated pad.
func fill(prefix, pad string, n int) string {
	return prefix + strings.Repeat(pad, n-len(prefix))
}

// The largest values the model allows are accepted and read back as sent, and
// a client made of them gets tokens: the emulator is no stricter than Cognito.
func TestLargestValidValuesReadBack(t *testing.T) {
	ctx := context.Background()
	emu, u := newServer(t, Options{})
	// Large answers with the SDK's retries off can fail with "use of closed
	// network connection", a client-side race of the SDK (issue 18, item 6,
	// fixed apart): this test's reads may be attempted again.
	sdk := cip.NewFromConfig(aws.Config{Region: DefaultRegion, BaseEndpoint: aws.String(u),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")},
		func(o *cip.Options) { o.RetryMaxAttempts = 3 })

	poolName := fill("pool ", "p", maxOf(t, "UserPoolNameType"))
	p, err := sdk.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: &poolName})
	if err != nil {
		t.Fatal(err)
	}
	pool := p.UserPool.Id

	// A resource server at every bound: identifier, name, 100 scopes whose names
	// and descriptions are as long as allowed (descriptions with control
	// characters, which the model does not forbid).
	nScopes, nameLen := maxOf(t, "ResourceServerScopeListType"), maxOf(t, "ResourceServerScopeNameType")
	big := types.ResourceServerType{
		Identifier: aws.String(fill("https://", "i", maxOf(t, "ResourceServerIdentifierType"))),
		Name:       aws.String(fill("Big API ", "n", maxOf(t, "ResourceServerNameType"))),
	}
	for i := range nScopes {
		big.Scopes = append(big.Scopes, types.ResourceServerScopeType{
			ScopeName:        aws.String(fill(fmt.Sprintf("s%03d", i), "x", nameLen)),
			ScopeDescription: aws.String(fill("d\x01\t", "e", maxOf(t, "ResourceServerScopeDescriptionType"))),
		})
	}
	if _, err := sdk.CreateResourceServer(ctx, &cip.CreateResourceServerInput{UserPoolId: pool, Identifier: big.Identifier, Name: big.Name, Scopes: big.Scopes}); err != nil {
		t.Fatal(err)
	}
	got, err := sdk.DescribeResourceServer(ctx, &cip.DescribeResourceServerInput{UserPoolId: pool, Identifier: big.Identifier})
	if err != nil {
		t.Fatal(err)
	}
	big.UserPoolId = pool
	if diff := cmp.Diff(big, *got.ResourceServer, ignoreSDKInternals); diff != "" {
		t.Errorf("resource server read back (-sent +got):\n%s", diff)
	}

	// A client with as many scopes as a client may have, each full name
	// "<identifier>/<scope>" at the 256 characters a client's scope allows.
	var scopes []types.ResourceServerScopeType
	var full []string
	for i := range maxOf(t, "ScopeListType") {
		name := fill(fmt.Sprintf("c%02d", i), "y", maxOf(t, "ScopeType")-len("b/"))
		scopes = append(scopes, types.ResourceServerScopeType{ScopeName: aws.String(name), ScopeDescription: aws.String("d")})
		full = append(full, "b/"+name)
	}
	if _, err := sdk.CreateResourceServer(ctx, &cip.CreateResourceServerInput{UserPoolId: pool, Identifier: aws.String("b"), Name: aws.String("B"), Scopes: scopes}); err != nil {
		t.Fatal(err)
	}
	var urls []string
	for i := range maxOf(t, "CallbackURLsListType") {
		urls = append(urls, fill(fmt.Sprintf("https://cb%03d.example.com/", i), "u", maxOf(t, "RedirectUrlType")))
	}
	name := fill("client ", "c", maxOf(t, "ClientNameType"))
	in := &cip.CreateUserPoolClientInput{
		UserPoolId: pool, ClientName: &name, GenerateSecret: true,
		AllowedOAuthFlows:               []types.OAuthFlowType{types.OAuthFlowTypeClientCredentials},
		AllowedOAuthFlowsUserPoolClient: true,
		AllowedOAuthScopes:              full,
		AccessTokenValidity:             aws.Int32(int32(maxOf(t, "AccessTokenValidityType"))),
		IdTokenValidity:                 aws.Int32(int32(maxOf(t, "IdTokenValidityType"))),
		RefreshTokenValidity:            int32(maxOf(t, "RefreshTokenValidityType")),
		TokenValidityUnits: &types.TokenValidityUnitsType{AccessToken: types.TimeUnitsTypeSeconds,
			IdToken: types.TimeUnitsTypeSeconds, RefreshToken: types.TimeUnitsTypeSeconds},
		CallbackURLs:        urls,
		LogoutURLs:          urls,
		AuthSessionValidity: aws.Int32(int32(maxOf(t, "AuthSessionValidityType"))),
	}
	created, err := sdk.CreateUserPoolClient(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := sdk.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: pool, ClientId: created.UserPoolClient.ClientId})
	if err != nil {
		t.Fatal(err)
	}
	c := desc.UserPoolClient
	sent := []any{name, full, *in.AccessTokenValidity, *in.IdTokenValidity, in.RefreshTokenValidity, *in.TokenValidityUnits, urls, urls, *in.AuthSessionValidity}
	read := []any{aws.ToString(c.ClientName), sorted(c.AllowedOAuthScopes), aws.ToInt32(c.AccessTokenValidity), aws.ToInt32(c.IdTokenValidity),
		c.RefreshTokenValidity, *c.TokenValidityUnits, c.CallbackURLs, c.LogoutURLs, aws.ToInt32(c.AuthSessionValidity)}
	if diff := cmp.Diff(sent, read, ignoreSDKInternals); diff != "" {
		t.Errorf("client read back (-sent +got):\n%s", diff)
	}

	// The longest custom secret is taken, and works at the token endpoint with
	// every scope.
	secret := fill("s", "0", maxOf(t, "ClientSecretType"))
	if _, err := sdk.AddUserPoolClientSecret(ctx, &cip.AddUserPoolClientSecretInput{UserPoolId: pool, ClientId: c.ClientId, ClientSecret: &secret}); err != nil {
		t.Fatal(err)
	}
	tok := postToken(t, emu.TokenURL(), url.Values{"grant_type": {"client_credentials"}}, *c.ClientId, secret)
	if tok.status != 200 {
		t.Fatalf("token with the longest secret: %d %v", tok.status, tok.body)
	}
	if n := len(strings.Fields(payload(t, tok.body["access_token"].(string)).Scope)); n != len(full) {
		t.Errorf("token has %d scopes, want %d", n, len(full))
	}
	if got := tok.body["expires_in"]; got != float64(maxOf(t, "AccessTokenValidityType")) {
		t.Errorf("expires_in %v, want the longest lifetime", got)
	}

	// The largest page sizes.
	if _, err := sdk.ListUserPoolClients(ctx, &cip.ListUserPoolClientsInput{UserPoolId: pool, MaxResults: aws.Int32(int32(maxOf(t, "QueryLimit")))}); err != nil {
		t.Error(err)
	}
	if _, err := sdk.ListUserPools(ctx, &cip.ListUserPoolsInput{MaxResults: aws.Int32(int32(maxOf(t, "PoolQueryLimitType")))}); err != nil {
		t.Error(err)
	}
	if _, err := sdk.ListResourceServers(ctx, &cip.ListResourceServersInput{UserPoolId: pool, MaxResults: aws.Int32(int32(maxOf(t, "ListResourceServersLimitType")))}); err != nil {
		t.Error(err)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// payload decodes a JWT's claims without verifying it.
func payload(t *testing.T, jwt string) claims {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var c claims
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}
