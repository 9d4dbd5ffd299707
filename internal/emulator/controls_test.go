package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestCallCounts(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	want := map[string]int{"CreateUserPool": 1, "CreateResourceServer": 1, "CreateUserPoolClient": 1}
	if diff := cmp.Diff(want, f.emu.CallCounts()); diff != "" {
		t.Errorf("counts after setup (-want +got):\n%s", diff)
	}
	f.emu.ResetCallCounts()
	for range 3 {
		if _, err := f.sdk.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &f.poolID, ClientId: f.client.ClientId}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := f.sdk.DescribeResourceServer(ctx, &cip.DescribeResourceServerInput{UserPoolId: &f.poolID, Identifier: aws.String("missing")})
	wantErr[*types.ResourceNotFoundException](t, err)
	want = map[string]int{"DescribeUserPoolClient": 3, "DescribeResourceServer": 1}
	if diff := cmp.Diff(want, f.emu.CallCounts()); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	for op := range want {
		if IsWriteOperation(op) {
			t.Errorf("IsWriteOperation(%q) = true", op)
		}
	}
	if !IsWriteOperation("UpdateUserPoolClient") {
		t.Error(`IsWriteOperation("UpdateUserPoolClient") = false`)
	}

	// Throttled answers are counted apart, and in the calls too.
	f.emu.SetFaults(Fault{Operation: "DescribeUserPoolClient", ErrorType: errTooManyRequests, Count: 2})
	for range 3 {
		_, _ = f.sdk.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &f.poolID, ClientId: f.client.ClientId})
	}
	want["DescribeUserPoolClient"] += 3
	wantThrottled := map[string]int{"DescribeUserPoolClient": 2}
	if diff := cmp.Diff(wantThrottled, f.emu.ThrottledCounts()); diff != "" {
		t.Errorf("throttled counts (-want +got):\n%s", diff)
	}

	var got struct {
		Calls     map[string]int `json:"calls"`
		Throttled map[string]int `json:"throttled"`
	}
	adminJSON(t, http.MethodGet, f.url+"/_emulator/calls", "", &got)
	if diff := cmp.Diff(want, got.Calls); diff != "" {
		t.Errorf("GET /_emulator/calls: calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantThrottled, got.Throttled); diff != "" {
		t.Errorf("GET /_emulator/calls: throttled (-want +got):\n%s", diff)
	}
	var reset struct {
		Calls     map[string]int `json:"calls"`
		Throttled map[string]int `json:"throttled"`
	}
	adminJSON(t, http.MethodDelete, f.url+"/_emulator/calls", "", &reset)
	if len(f.emu.CallCounts()) != 0 || len(reset.Calls) != 0 || len(f.emu.ThrottledCounts()) != 0 || len(reset.Throttled) != 0 {
		t.Errorf("after DELETE /_emulator/calls: %v, throttled %v", f.emu.CallCounts(), f.emu.ThrottledCounts())
	}
}

// adminJSON calls an admin endpoint and decodes its JSON answer into out.
func adminJSON(t *testing.T, method, u, body string, out any) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: status %d", method, u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Options{})
	describe := func() error {
		_, err := f.sdk.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &f.poolID, ClientId: f.client.ClientId})
		return err
	}

	f.emu.SetFaults(Fault{Operation: "DescribeUserPoolClient", ErrorType: "InternalErrorException", Count: 2})
	for i := range 2 {
		err := describe()
		wantErr[*types.InternalErrorException](t, err)
		var re *awshttp.ResponseError
		if !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
			t.Errorf("call %d: want HTTP 500, got %v", i, err)
		}
	}
	if err := describe(); err != nil {
		t.Errorf("fault should be spent after Count calls: %v", err)
	}
	if len(f.emu.Faults()) != 0 {
		t.Errorf("spent fault still listed: %v", f.emu.Faults())
	}

	// A global fault hits other operations too; the SDK treats throttling
	// as its typed error.
	f.emu.SetFaults(Fault{ErrorType: "TooManyRequestsException"})
	_, err := f.sdk.ListUserPools(ctx, &cip.ListUserPoolsInput{MaxResults: aws.Int32(1)})
	wantErr[*types.TooManyRequestsException](t, err)
	if got := postToken(t, f.emu.TokenURL(), url.Values{"grant_type": {"client_credentials"}}, *f.client.ClientId, *f.client.ClientSecret); got.status != 429 {
		t.Errorf("token endpoint under a throttling fault: %d, want 429", got.status)
	}
	f.emu.SetFaults()

	// Latency only, over the admin endpoint with a duration string.
	var set struct {
		Faults []Fault `json:"faults"`
	}
	adminJSON(t, http.MethodPut, f.url+"/_emulator/faults", `{"faults":[{"operation":"DescribeUserPoolClient","latency":"150ms"}]}`, &set)
	if diff := cmp.Diff([]Fault{{Operation: "DescribeUserPoolClient", Latency: 150 * time.Millisecond}}, set.Faults); diff != "" {
		t.Errorf("PUT /_emulator/faults (-want +got):\n%s", diff)
	}
	start := time.Now()
	if err := describe(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("call took %v, want at least the injected 150ms", d)
	}
	adminJSON(t, http.MethodDelete, f.url+"/_emulator/faults", "", &set)
	if len(f.emu.Faults()) != 0 {
		t.Error("DELETE /_emulator/faults left faults")
	}

	// Half the calls fail at rate 0.5; with 200 calls both outcomes show.
	f.emu.SetFaults(Fault{Operation: "DescribeUserPoolClient", ErrorType: "InternalErrorException", ErrorRate: 0.5})
	failed := 0
	for range 200 {
		if describe() != nil {
			failed++
		}
	}
	if failed < 50 || failed > 150 {
		t.Errorf("%d of 200 calls failed at error rate 0.5", failed)
	}
}

func TestQuotas(t *testing.T) {
	ctx := context.Background()
	frozen := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := frozen
	f := newFixture(t, Options{Now: func() time.Time { return now }})
	describe := func() error {
		_, err := f.sdk.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &f.poolID, ClientId: f.client.ClientId})
		return err
	}
	for range 20 {
		if err := describe(); err != nil {
			t.Fatalf("quotas are off by default, got %v", err)
		}
	}

	// Over the admin endpoint, an empty PUT turns on the defaults: five
	// calls of one operation on one pool per second.
	var q struct {
		Quotas *Quotas `json:"quotas"`
	}
	adminJSON(t, http.MethodPut, f.url+"/_emulator/quotas", "", &q)
	if diff := cmp.Diff(DefaultQuotas(), q.Quotas); diff != "" {
		t.Errorf("PUT /_emulator/quotas (-want +got):\n%s", diff)
	}
	for i := range 5 {
		if err := describe(); err != nil {
			t.Fatalf("call %d within quota: %v", i, err)
		}
	}
	wantErr[*types.TooManyRequestsException](t, describe())
	if got := f.emu.ThrottledCounts()["DescribeUserPoolClient"]; got != 1 {
		t.Errorf("throttled DescribeUserPoolClient = %d, want 1", got)
	}
	// Another operation on the same pool still has its own budget...
	if _, err := f.sdk.ListUserPoolClients(ctx, &cip.ListUserPoolClientsInput{UserPoolId: &f.poolID}); err != nil {
		t.Errorf("other operation throttled: %v", err)
	}
	// ...and a second later the bucket has refilled.
	now = now.Add(time.Second)
	if err := describe(); err != nil {
		t.Errorf("after refill: %v", err)
	}

	// A category quota spans operations.
	f.emu.SetQuotas(&Quotas{Categories: map[string]float64{"UserPoolResourceServerRead": 2}})
	for i := range 2 {
		if _, err := f.sdk.ListResourceServers(ctx, &cip.ListResourceServersInput{UserPoolId: &f.poolID}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	_, err := f.sdk.DescribeResourceServer(ctx, &cip.DescribeResourceServerInput{UserPoolId: &f.poolID, Identifier: aws.String("orders")})
	wantErr[*types.TooManyRequestsException](t, err)

	adminJSON(t, http.MethodDelete, f.url+"/_emulator/quotas", "", &q)
	if q.Quotas != nil || f.emu.CurrentQuotas() != nil {
		t.Error("quotas still on after DELETE")
	}
	if _, err := f.sdk.DescribeResourceServer(ctx, &cip.DescribeResourceServerInput{UserPoolId: &f.poolID, Identifier: aws.String("orders")}); err != nil {
		t.Errorf("after quotas off: %v", err)
	}
}

// The default quotas are Cognito's published ones (cognito-facts.md): 15/s
// for app-client reads and for writes, 20/s resource-server reads and 15/s
// writes, per account across pools, and 5/s for one operation on one pool.
func TestDefaultQuotasAreCognitos(t *testing.T) {
	q := DefaultQuotas()
	want := map[string]float64{
		"UserPoolClientRead": 15, "UserPoolClientUpdate": 15,
		"UserPoolResourceServerRead": 20, "UserPoolResourceServerUpdate": 15,
	}
	for cat, rate := range want {
		if q.Categories[cat] != rate {
			t.Errorf("category %s: %v/s, want %v/s", cat, q.Categories[cat], rate)
		}
	}
	if q.PerOperationPerPool != 5 {
		t.Errorf("per operation per pool: %v/s, want 5/s", q.PerOperationPerPool)
	}
	for op, spec := range operations {
		if _, ok := q.Categories[spec.category]; !ok {
			t.Errorf("operation %s is in category %q, which has no default quota", op, spec.category)
		}
	}

	// Every app-client read shares one budget of 15/s across pools, though
	// each pool's per-operation budget of 5/s is untouched.
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := newFixture(t, Options{Now: func() time.Time { return now }})
	var clients [][2]string
	for i := range 4 {
		pool := f.poolID
		if i > 0 {
			pool = f.createPool(t, fmt.Sprint("pool", i))
		}
		out, err := f.sdk.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &pool, ClientName: aws.String("c")})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, [2]string{pool, *out.UserPoolClient.ClientId})
	}
	f.emu.SetQuotas(DefaultQuotas())
	describe := func(c [2]string) error {
		_, err := f.sdk.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &c[0], ClientId: &c[1]})
		return err
	}
	for _, c := range clients[:3] {
		for i := range 5 {
			if err := describe(c); err != nil {
				t.Fatalf("read %d on pool %s within both quotas: %v", i, c[0], err)
			}
		}
	}
	wantErr[*types.TooManyRequestsException](t, describe(clients[3]))
	_, err := f.sdk.ListUserPoolClients(ctx, &cip.ListUserPoolClientsInput{UserPoolId: &clients[3][0]})
	wantErr[*types.TooManyRequestsException](t, err)
	// Writes are another category: still within budget.
	if _, err := f.sdk.UpdateUserPoolClient(ctx, &cip.UpdateUserPoolClientInput{UserPoolId: &clients[3][0], ClientId: &clients[3][1]}); err != nil {
		t.Errorf("app-client write after the reads' budget is spent: %v", err)
	}
	// A fifth of a second refills three reads of the shared budget.
	now = now.Add(200 * time.Millisecond)
	for i := range 3 {
		if err := describe(clients[3]); err != nil {
			t.Errorf("read %d after 200ms: %v", i, err)
		}
	}
	wantErr[*types.TooManyRequestsException](t, describe(clients[3]))
}

func TestStateFileSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json")
	f := newFixture(t, Options{StateFile: path})
	added, err := f.sdk.AddUserPoolClientSecret(ctx, &cip.AddUserPoolClientSecretInput{UserPoolId: &f.poolID, ClientId: f.client.ClientId})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.sdk.CreateUserPoolDomain(ctx, &cip.CreateUserPoolDomainInput{UserPoolId: &f.poolID, Domain: aws.String("persisted")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.emu.RotateSigningKey(); err != nil {
		t.Fatal(err)
	}
	kids := f.emu.SigningKeyIDs()
	// A clean stop writes every change, however recent.
	if err := f.emu.Close(); err != nil {
		t.Fatal(err)
	}

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600: it holds secrets", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("state directory holds %d entries, want only the state file", len(entries))
	}

	// A second emulator on the same file sees everything.
	emu2, url2 := newServer(t, Options{StateFile: path})
	sdk2 := newSDK(t, url2)
	desc, err := sdk2.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &f.poolID, ClientId: f.client.ClientId})
	if err != nil {
		t.Fatal(err)
	}
	// Adding the secret moved LastModifiedDate on.
	ignoreModified := cmpopts.IgnoreFields(types.UserPoolClientType{}, "LastModifiedDate")
	if diff := cmp.Diff(f.client, desc.UserPoolClient, ignoreSDKInternals, ignoreModified); diff != "" {
		t.Errorf("client after restart (-want +got):\n%s", diff)
	}
	pool, err := sdk2.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &f.poolID})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(pool.UserPool.Domain) != "persisted" {
		t.Errorf("domain after restart: %q", aws.ToString(pool.UserPool.Domain))
	}
	if diff := cmp.Diff(kids, emu2.SigningKeyIDs()); diff != "" {
		t.Errorf("signing keys after restart (-want +got):\n%s", diff)
	}
	tokenURL := emu2.TokenURL()
	for name, s := range map[string]string{"original": *f.client.ClientSecret, "added": *added.ClientSecretDescriptor.ClientSecretValue} {
		got := postToken(t, tokenURL, url.Values{"grant_type": {"client_credentials"}}, *f.client.ClientId, s)
		if got.status != 200 {
			t.Errorf("%s secret after restart: %d %v", name, got.status, got.body)
		}
	}

	// EnsureUserPool finds the existing pool instead of creating another.
	id, err := emu2.EnsureUserPool("pool", "")
	if err != nil || id != f.poolID {
		t.Errorf("EnsureUserPool = %q, %v; want the existing %q", id, err, f.poolID)
	}

	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{StateFile: path}); err == nil {
		t.Error("New accepted a corrupt state file")
	}
}

func TestEnsureUserPoolWithID(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json")
	emu, url := newServer(t, Options{Region: "eu-west-1", StateFile: path})
	sdk := newSDK(t, url)

	const id = "eu-west-1_local0000"
	got, err := emu.EnsureUserPoolWithID(id, "dev", "dev-auth")
	if err != nil || got != id {
		t.Fatalf("EnsureUserPoolWithID = %q, %v; want %q", got, err, id)
	}
	pool, err := sdk.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	want := &types.UserPoolType{Id: aws.String(id), Name: aws.String("dev"), Domain: aws.String("dev-auth"),
		Arn: aws.String("arn:aws:cognito-idp:eu-west-1:" + accountID + ":userpool/" + id)}
	if diff := cmp.Diff(want, pool.UserPool, cmpopts.IgnoreUnexported(types.UserPoolType{}),
		cmpopts.IgnoreFields(types.UserPoolType{}, "CreationDate", "LastModifiedDate", "DeletionProtection",
			"MfaConfiguration", "EstimatedNumberOfUsers", "UserPoolTier", "LambdaConfig")); diff != "" {
		t.Errorf("pool (-want +got):\n%s", diff)
	}

	// Idempotent, also across a restart on the same state file.
	emu2, _ := newServer(t, Options{Region: "eu-west-1", StateFile: path})
	for name, e := range map[string]*Emulator{"same emulator": emu, "after restart": emu2} {
		if got, err := e.EnsureUserPoolWithID(id, "dev", "dev-auth"); err != nil || got != id {
			t.Errorf("%s: EnsureUserPoolWithID again = %q, %v; want %q", name, got, err, id)
		}
	}
	list, err := newSDK(t, url).ListUserPools(ctx, &cip.ListUserPoolsInput{MaxResults: aws.Int32(60)})
	if err != nil || len(list.UserPools) != 1 {
		t.Errorf("ListUserPools = %d pools (%v), want 1", len(list.UserPools), err)
	}

	bad := []struct {
		name, id, pool, wantErr string
	}{
		{"other region", "us-east-1_local0000", "dev", "eu-west-1_"},
		{"no region", "local0000", "dev", "invalid user pool id"},
		{"empty suffix", "eu-west-1_", "dev", "invalid user pool id"},
		{"underscore in suffix", "eu-west-1_a_b", "dev", "invalid user pool id"},
		{"dash in suffix", "eu-west-1_a-b", "dev", "invalid user pool id"},
		{"too long", "eu-west-1_" + strings.Repeat("a", 46), "dev", "invalid user pool id"},
		{"taken by another name", id, "prod", `exists with name "dev"`},
		{"bad name", "eu-west-1_other1", "no/slash", "poolName"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := emu.EnsureUserPoolWithID(tc.id, tc.pool, "")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("EnsureUserPoolWithID(%q, %q) = %v, want an error containing %q", tc.id, tc.pool, err, tc.wantErr)
			}
		})
	}
}
