package cognito

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cognito-m2m/operator/internal/emulator"
	"github.com/cognito-m2m/operator/internal/emulator/emulatortest"
)

// newTestClient is the real SDK, configured as the manager configures it, against
// an emulator; no pacing.
func newTestClient(t *testing.T) (*Client, *emulator.Emulator, string) {
	t.Helper()
	api, emu, pool := newTestAPI(t)
	return NewClient(api, nil), emu, pool
}

func newTestAPI(t *testing.T) (*cip.Client, *emulator.Emulator, string) {
	t.Helper()
	emu, pool := emulatortest.NewPool(t, emulator.Options{}, "boundary", "boundary")
	return emulatortest.SDK(emu, SDKOptions(emu.BaseURL())), emu, pool
}

// Every typed operation reaches Cognito with the request it should, and is counted
// by operation and outcome.
func TestClientOperationsAreCounted(t *testing.T) {
	c, emu, pool := newTestClient(t)
	ctx := context.Background()
	count := func(op, outcome string) float64 { return testutil.ToFloat64(requests.WithLabelValues(op, outcome)) }
	okBefore := count("CreateUserPoolClient", OutcomeOK)
	nfBefore := count("DescribeResourceServer", OutcomeClientError)
	thBefore := count("DescribeUserPoolClient", OutcomeThrottled)

	if _, err := c.ResourceServer(ctx, pool, "api"); !IsNotFound(err) {
		t.Fatalf("describe a missing server: %v", err)
	}
	rs := ResourceServerSpec{Identifier: "api", Name: "API", Scopes: []types.ResourceServerScopeType{{ScopeName: aws.String("read"), ScopeDescription: aws.String("r")}}}
	if err := c.CreateResourceServer(ctx, pool, rs, nil); err != nil {
		t.Fatal(err)
	}
	app, err := c.CreateAppClient(ctx, pool, ClientSpec{Name: "c", Scopes: []string{"api/read"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(app.ClientId)
	var named []string
	if err := c.AppClientsNamed(ctx, pool, "c", func(id string) (bool, error) { named = append(named, id); return true, nil }); err != nil {
		t.Fatal(err)
	}
	if len(named) != 1 || named[0] != id {
		t.Errorf("AppClientsNamed found %v, want [%s]", named, id)
	}
	added, err := c.AddClientSecret(ctx, pool, id, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	if secrets, err := c.ClientSecrets(ctx, pool, id); err != nil || len(secrets) != 2 {
		t.Fatalf("secrets %v, %v; want two", secrets, err)
	}
	if err := c.DeleteClientSecret(ctx, pool, id, aws.ToString(added.ClientSecretId)); err != nil {
		t.Fatal(err)
	}
	emu.SetFaults(emulator.Fault{Operation: "DescribeUserPoolClient", ErrorType: "TooManyRequestsException", Count: maxAttempts})
	if _, err := c.AppClient(ctx, pool, id); !IsThrottled(err) {
		t.Fatalf("want a throttled describe, got %v", err)
	}
	if err := c.DeleteAppClient(ctx, pool, id); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteAppClient(ctx, pool, id); err != nil {
		t.Errorf("deleting a client already gone: %v", err)
	}
	if err := c.DeleteResourceServer(ctx, pool, "api"); err != nil {
		t.Fatal(err)
	}

	if got := count("CreateUserPoolClient", OutcomeOK) - okBefore; got != 1 {
		t.Errorf("CreateUserPoolClient ok counted %v times, want 1", got)
	}
	if got := count("DescribeResourceServer", OutcomeClientError) - nfBefore; got != 1 {
		t.Errorf("DescribeResourceServer client_error counted %v times, want 1", got)
	}
	if got := count("DescribeUserPoolClient", OutcomeThrottled) - thBefore; got != maxAttempts {
		t.Errorf("DescribeUserPoolClient throttled counted %v times, want %d (every attempt)", got, maxAttempts)
	}
}

// The search for an interrupted create's client stops as soon as the caller has
// decided: it does not page through the rest of the pool.
func TestAppClientsNamedStopsEarly(t *testing.T) {
	c, _, pool := newTestClient(t)
	ctx := context.Background()
	rs := ResourceServerSpec{Identifier: "api", Name: "API", Scopes: []types.ResourceServerScopeType{{ScopeName: aws.String("read"), ScopeDescription: aws.String("r")}}}
	if err := c.CreateResourceServer(ctx, pool, rs, nil); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.CreateAppClient(ctx, pool, ClientSpec{Name: "dup", Scopes: []string{"api/read"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	calls := 0
	err := c.AppClientsNamed(ctx, pool, "dup", func(string) (bool, error) { calls++; return false, nil })
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("found called %d times; want once, then stop", calls)
	}
}

func TestOutcome(t *testing.T) {
	tests := map[string]struct {
		err  error
		want string
	}{
		"ok":           {nil, OutcomeOK},
		"throttled":    {&types.TooManyRequestsException{}, OutcomeThrottled},
		"not found":    {&types.ResourceNotFoundException{}, OutcomeClientError},
		"invalid":      {&types.InvalidParameterException{}, OutcomeClientError},
		"internal":     {&types.InternalErrorException{}, OutcomeServerError},
		"unknown 5xx":  {&smithy.GenericAPIError{Code: "ServiceUnavailable", Fault: smithy.FaultServer}, OutcomeServerError},
		"no answer":    {errors.New("connection reset by peer"), OutcomeServerError},
		"ctx canceled": {context.Canceled, OutcomeServerError},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Outcome(tc.err); got != tc.want {
				t.Errorf("Outcome(%v) = %q, want %q", tc.err, got, tc.want)
			}
			if definite := IsDefinite(tc.err); definite != (tc.want == OutcomeThrottled || tc.want == OutcomeClientError) {
				t.Errorf("IsDefinite(%v) = %v", tc.err, definite)
			}
		})
	}
}

// A create whose wait for the rate limit ends is never sent: its mark is never
// written, and the error says that Cognito certainly did nothing.
func TestCreateNotSentIsDefinite(t *testing.T) {
	c, _, pool := newTestClient(t)
	c.limiter = NewLimiter(Limits{PerOperation: 0.001}) // one call, then one every 1,000 s
	ctx := context.Background()
	rs := ResourceServerSpec{Identifier: "api", Name: "API", Scopes: []types.ResourceServerScopeType{{ScopeName: aws.String("read"), ScopeDescription: aws.String("r")}}}
	if err := c.CreateResourceServer(ctx, pool, rs, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAppClient(ctx, pool, ClientSpec{Name: "first", Scopes: []string{"api/read"}}, nil); err != nil {
		t.Fatal(err)
	}
	marks := 0
	mark := func(context.Context) error { marks++; return nil }
	waiting, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := c.CreateAppClient(waiting, pool, ClientSpec{Name: "never", Scopes: []string{"api/read"}}, mark)
	if err == nil {
		t.Fatal("a create sent past the rate limit")
	}
	if !IsDefinite(err) {
		t.Errorf("IsDefinite(%v) = false for a create that was never sent", err)
	}
	if marks != 0 {
		t.Errorf("the create-pending mark was written %d times for a create that was never sent", marks)
	}

	// A mark that cannot be written stops the create too.
	c.limiter = nil
	_, err = c.CreateAppClient(ctx, pool, ClientSpec{Name: "unmarked", Scopes: []string{"api/read"}}, func(context.Context) error { return errors.New("conflict") })
	if err == nil || !IsDefinite(err) {
		t.Errorf("create after a failed mark: %v, want a definite error", err)
	}
	var n int
	if err := c.AppClientsNamed(ctx, pool, "unmarked", func(string) (bool, error) { n++; return true, nil }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d app clients created although their mark could not be written", n)
	}
}
