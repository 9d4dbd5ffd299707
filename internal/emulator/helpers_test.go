package emulator

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// newSDK returns the unmodified SDK client pointed at url. Retries are off
// so that error tests see the first answer and stay fast.
func newSDK(t testing.TB, url string) *cip.Client {
	t.Helper()
	cfg := aws.Config{
		Region:       DefaultRegion,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
	}
	return cip.NewFromConfig(cfg, func(o *cip.Options) { o.RetryMaxAttempts = 1 })
}

// newServer starts an emulator on an httptest server for the test, as
// emulatortest.NewServer does for other packages (which this package's
// tests cannot import: it imports this package).
func newServer(t testing.TB, opts Options) (*Emulator, string) {
	t.Helper()
	e, err := New(opts)
	if err != nil {
		t.Fatalf("start Cognito emulator: %v", err)
	}
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close Cognito emulator: %v", err)
		}
	})
	t.Cleanup(srv.Close)
	e.SetBaseURL(srv.URL)
	return e, srv.URL
}

// fixture is a pool with a resource server "orders" (scopes read, write)
// and a confidential client allowed the client-credentials grant.
type fixture struct {
	emu    *Emulator
	url    string
	sdk    *cip.Client
	poolID string
	client *types.UserPoolClientType
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	emu, url := newServer(t, opts)
	f := &fixture{emu: emu, url: url, sdk: newSDK(t, url)}
	f.poolID = f.createPool(t, "pool")
	ctx := context.Background()
	_, err := f.sdk.CreateResourceServer(ctx, &cip.CreateResourceServerInput{
		UserPoolId: &f.poolID, Identifier: aws.String("orders"), Name: aws.String("Orders API"),
		Scopes: []types.ResourceServerScopeType{
			{ScopeName: aws.String("read"), ScopeDescription: aws.String("Read orders")},
			{ScopeName: aws.String("write"), ScopeDescription: aws.String("Write orders")},
		},
	})
	if err != nil {
		t.Fatalf("CreateResourceServer: %v", err)
	}
	f.client = f.createClient(t, "svc", nil)
	return f
}

func (f *fixture) createPool(t testing.TB, name string) string {
	t.Helper()
	out, err := f.sdk.CreateUserPool(context.Background(), &cip.CreateUserPoolInput{PoolName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateUserPool: %v", err)
	}
	return *out.UserPool.Id
}

// createClient creates a client-credentials client; mod adjusts the input.
func (f *fixture) createClient(t testing.TB, name string, mod func(*cip.CreateUserPoolClientInput)) *types.UserPoolClientType {
	t.Helper()
	in := &cip.CreateUserPoolClientInput{
		UserPoolId: &f.poolID, ClientName: aws.String(name), GenerateSecret: true,
		AllowedOAuthFlows:               []types.OAuthFlowType{types.OAuthFlowTypeClientCredentials},
		AllowedOAuthFlowsUserPoolClient: true,
		AllowedOAuthScopes:              []string{"orders/read", "orders/write"},
	}
	if mod != nil {
		mod(in)
	}
	out, err := f.sdk.CreateUserPoolClient(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateUserPoolClient: %v", err)
	}
	return out.UserPoolClient
}

// wantErr fails unless err is the SDK's typed error *E.
func wantErr[E error](t testing.TB, err error) E {
	t.Helper()
	var target E
	if !errors.As(err, &target) {
		t.Fatalf("got error %v (%T), want %T", err, err, target)
	}
	return target
}

// is adapts wantErr for table tests.
func is[E error](t testing.TB, err error) { wantErr[E](t, err) }
