package emulator

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-m2m/operator/internal/emulator/model"
)

// Requests that AWS's model (or Cognito's documented rules) refuses and that the
// emulator used to accept: each must be an InvalidParameterException.
func TestRefusedAsCognitoDoes(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	client := func(mod func(*cip.CreateUserPoolClientInput)) error {
		in := &cip.CreateUserPoolClientInput{
			UserPoolId: &f.poolID, ClientName: aws.String("c"), GenerateSecret: true,
			AllowedOAuthFlows:               []types.OAuthFlowType{types.OAuthFlowTypeClientCredentials},
			AllowedOAuthFlowsUserPoolClient: true,
			AllowedOAuthScopes:              []string{"orders/read"},
		}
		mod(in)
		_, err := f.sdk.CreateUserPoolClient(ctx, in)
		return err
	}
	update := func(mod func(*cip.UpdateUserPoolClientInput)) error {
		in := &cip.UpdateUserPoolClientInput{UserPoolId: &f.poolID, ClientId: f.client.ClientId}
		mod(in)
		_, err := f.sdk.UpdateUserPoolClient(ctx, in)
		return err
	}
	for name, call := range map[string]func() error{
		"ExplicitAuthFlows outside the enum": func() error {
			return client(func(in *cip.CreateUserPoolClientInput) {
				in.ExplicitAuthFlows = []types.ExplicitAuthFlowsType{"ALLOW_EVERYTHING"}
			})
		},
		"legacy ExplicitAuthFlows with ALLOW_ values": func() error {
			return client(func(in *cip.CreateUserPoolClientInput) {
				in.ExplicitAuthFlows = []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}
			})
		},
		"legacy ExplicitAuthFlows with ALLOW_ values on update": func() error {
			return update(func(in *cip.UpdateUserPoolClientInput) {
				in.ExplicitAuthFlows = []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAdminNoSrpAuth, types.ExplicitAuthFlowsTypeAllowUserSrpAuth}
			})
		},
		"AllowedOAuthFlows with 4 items": func() error {
			return client(func(in *cip.CreateUserPoolClientInput) {
				in.AllowedOAuthFlows = []types.OAuthFlowType{"client_credentials", "client_credentials", "client_credentials", "client_credentials"}
			})
		},
		"AccessTokenValidity 0": func() error {
			return client(func(in *cip.CreateUserPoolClientInput) {
				in.AccessTokenValidity = aws.Int32(0)
				in.TokenValidityUnits = &types.TokenValidityUnitsType{AccessToken: types.TimeUnitsTypeSeconds}
			})
		},
		"AccessTokenValidity 0 on update": func() error {
			return update(func(in *cip.UpdateUserPoolClientInput) { in.AccessTokenValidity = aws.Int32(0) })
		},
		"empty NextToken listing clients": func() error {
			_, err := f.sdk.ListUserPoolClients(ctx, &cip.ListUserPoolClientsInput{UserPoolId: &f.poolID, NextToken: aws.String("")})
			return err
		},
		"empty NextToken listing resource servers": func() error {
			_, err := f.sdk.ListResourceServers(ctx, &cip.ListResourceServersInput{UserPoolId: &f.poolID, MaxResults: aws.Int32(10), NextToken: aws.String("")})
			return err
		},
		"empty NextToken listing pools": func() error {
			_, err := f.sdk.ListUserPools(ctx, &cip.ListUserPoolsInput{MaxResults: aws.Int32(10), NextToken: aws.String("")})
			return err
		},
		"empty NextToken listing secrets": func() error {
			_, err := f.sdk.ListUserPoolClientSecrets(ctx, &cip.ListUserPoolClientSecretsInput{UserPoolId: &f.poolID, ClientId: f.client.ClientId, NextToken: aws.String("")})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) { wantErr[*types.InvalidParameterException](t, call()) })
	}
}

// The model puts no pattern on a scope's description: a control character is
// accepted, and read back as sent.
func TestScopeDescriptionWithControlCharacter(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	desc := "reads\x01orders\x7f"
	_, err := f.sdk.CreateResourceServer(ctx, &cip.CreateResourceServerInput{
		UserPoolId: &f.poolID, Identifier: aws.String("ctl"), Name: aws.String("Ctl"),
		Scopes: []types.ResourceServerScopeType{{ScopeName: aws.String("read"), ScopeDescription: aws.String(desc)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.sdk.DescribeResourceServer(ctx, &cip.DescribeResourceServerInput{UserPoolId: &f.poolID, Identifier: aws.String("ctl")})
	if err != nil {
		t.Fatal(err)
	}
	if d := aws.ToString(got.ResourceServer.Scopes[0].ScopeDescription); d != desc {
		t.Errorf("description read back as %q, want %q", d, desc)
	}
}

// A ClientSecretId is "<client-id>--<creation time in epoch seconds>", for the
// secret made with the client and for those added later.
func TestClientSecretIDShape(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	id := *f.client.ClientId
	added, err := f.sdk.AddUserPoolClientSecret(ctx, &cip.AddUserPoolClientSecretInput{UserPoolId: &f.poolID, ClientId: &id})
	if err != nil {
		t.Fatal(err)
	}
	list, err := f.sdk.ListUserPoolClientSecrets(ctx, &cip.ListUserPoolClientSecretsInput{UserPoolId: &f.poolID, ClientId: &id})
	if err != nil {
		t.Fatal(err)
	}
	shape := regexp.MustCompile(`^` + regexp.QuoteMeta(id) + `--([0-9]+)$`)
	seen := map[string]bool{}
	for _, s := range append(list.ClientSecrets, *added.ClientSecretDescriptor) {
		m := shape.FindStringSubmatch(aws.ToString(s.ClientSecretId))
		if m == nil {
			t.Fatalf("ClientSecretId %q is not <client-id>--<epoch seconds>", aws.ToString(s.ClientSecretId))
		}
		epoch, _ := strconv.ParseInt(m[1], 10, 64)
		if created := s.ClientSecretCreateDate.Unix(); epoch < created || epoch > created+2 {
			t.Errorf("ClientSecretId %s: epoch %d, secret created at %d", *s.ClientSecretId, epoch, created)
		}
		seen[*s.ClientSecretId] = true
	}
	if len(seen) != 2 {
		t.Errorf("the client's two secrets have ids %v, want two distinct ids", seen)
	}
}

// The emulator serves exactly the operations of the model subset, so that every
// request it answers is validated against the model.
func TestServedOperationsAreInTheModel(t *testing.T) {
	var served []string
	for op := range operations {
		served = append(served, op)
	}
	slices.Sort(served)
	if diff := cmp.Diff(model.Operations(), served); diff != "" {
		t.Errorf("model operations (-) and served operations (+) differ:\n%s", diff)
	}
}

// A validation message quotes the offending value, except for the model's
// sensitive members: a malformed client secret or client id never appears in
// an answer (or in a log that records it).
func TestSensitiveValuesAreNotEchoed(t *testing.T) {
	f := newFixture(t, Options{})
	secret := "too short/secret"
	body := `{"UserPoolId":"` + f.poolID + `","ClientId":"` + *f.client.ClientId + `","ClientSecret":"` + secret + `"}`
	_, typ, msg := rawCall(t, f.url, "AddUserPoolClientSecret", []byte(body))
	if typ != errInvalidParameter || !strings.Contains(msg, "Value at 'clientSecret'") || strings.Contains(msg, secret) {
		t.Errorf("%s %q: want an InvalidParameterException about clientSecret without its value", typ, msg)
	}
	_, typ, msg = rawCall(t, f.url, "DescribeUserPoolClient", []byte(`{"UserPoolId":"`+f.poolID+`","ClientId":"bad id!"}`))
	if typ != errInvalidParameter || strings.Contains(msg, "bad id!") {
		t.Errorf("%s %q: want an InvalidParameterException without the client id", typ, msg)
	}
}

// A member of the wrong JSON type is a SerializationException, as AWS answers,
// not a validation error.
func TestWrongTypeIsASerializationError(t *testing.T) {
	f := newFixture(t, Options{})
	for _, body := range []string{
		`{"UserPoolId":"` + f.poolID + `","ClientName":"c","AccessTokenValidity":"60"}`,
		`{"UserPoolId":"` + f.poolID + `","ClientName":"c","AccessTokenValidity":60.5}`,
		`{"UserPoolId":"` + f.poolID + `","ClientName":"c","AllowedOAuthScopes":"orders/read"}`,
		`{"UserPoolId":"` + f.poolID + `","ClientName":"c","GenerateSecret":"true"}`,
		`{"UserPoolId":7,"ClientName":"c"}`,
	} {
		if status, typ, msg := rawCall(t, f.url, "CreateUserPoolClient", []byte(body)); status != 400 || typ != errSerialization {
			t.Errorf("%s: %d %s %q, want 400 %s", body, status, typ, msg, errSerialization)
		}
	}
}

// A server fault is answered with the type the model lists for the operation:
// InternalErrorException, or InternalServerException for the secret operations.
func TestServerFaultTypeIsTheModels(t *testing.T) {
	for _, op := range model.Operations() {
		typ := internalErrorType(op)
		if !slices.Contains(model.Op(op).Errors, typ) {
			t.Errorf("%s answers a server fault with %s, which the model does not list for it (%v)", op, typ, model.Op(op).Errors)
		}
	}
}
