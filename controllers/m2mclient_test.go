package controllers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/controllers"
	"github.com/cognito-m2m/operator/internal/cognito"
	"github.com/cognito-m2m/operator/internal/emulator"
)

func newClient(ns, name, rsName string, scopes ...string) *v1alpha1.M2MClient {
	return &v1alpha1.M2MClient{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.M2MClientSpec{Scopes: []v1alpha1.ScopeRequest{{
			ResourceServer: v1alpha1.ObjectReference{Name: rsName}, Scopes: scopes,
		}}},
	}
}

func getSecret(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
		t.Fatalf("Secret %s/%s: %v", ns, name, err)
	}
	return s
}

func describeClient(pool, id string) (*types.UserPoolClientType, error) {
	out, err := cognitoClient().DescribeUserPoolClient(context.Background(), &cip.DescribeUserPoolClientInput{
		UserPoolId: aws.String(pool), ClientId: aws.String(id),
	})
	if err != nil {
		return nil, err
	}
	return out.UserPoolClient, nil
}

// clientsNamed lists the app clients in pool with the given name.
func clientsNamed(t *testing.T, pool, name string) []string {
	t.Helper()
	var ids []string
	p := cip.NewListUserPoolClientsPaginator(cognitoClient(), &cip.ListUserPoolClientsInput{UserPoolId: aws.String(pool), MaxResults: aws.Int32(60)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.UserPoolClients {
			if aws.ToString(c.ClientName) == name {
				ids = append(ids, aws.ToString(c.ClientId))
			}
		}
	}
	return ids
}

// tokenFrom fetches an access token with the credentials in a Secret, the way a
// service that mounts it would.
func tokenFrom(s *corev1.Secret) (*oauth2.Token, error) {
	cfg := clientcredentials.Config{
		ClientID: string(s.Data["client_id"]), ClientSecret: string(s.Data["client_secret"]),
		TokenURL: string(s.Data["token_endpoint"]), AuthStyle: oauth2.AuthStyleInHeader,
	}
	return cfg.Token(context.Background())
}

// readyPair creates a ResourceServer with scopes read and write, and waits for it.
func readyPair(t *testing.T, e *testEnv) *v1alpha1.ResourceServer {
	t.Helper()
	rs := newRS(e.ns, "weather", "weather-"+e.ns, "read", "write")
	mustCreate(t, rs)
	waitReady(t, rs)
	return rs
}

func TestM2MClientLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rs := readyPair(t, e)
	c := newClient(e.ns, "reader", "weather", "read")
	c.Spec.Secret = v1alpha1.SecretTarget{Labels: map[string]string{"team": "bff"}, Annotations: map[string]string{"note": "x"}}
	mustCreate(t, c)
	waitReady(t, c)

	if c.Status.ClientID == "" || c.Status.SecretName != "reader-credentials" || c.Status.CredentialsWrittenAt == nil {
		t.Fatalf("status incomplete: %+v", c.Status)
	}
	s := getSecret(t, e.ns, "reader-credentials")
	if !metav1.IsControlledBy(s, c) || s.Labels["team"] != "bff" || s.Annotations["note"] != "x" {
		t.Errorf("Secret metadata: owner %v labels %v annotations %v", s.OwnerReferences, s.Labels, s.Annotations)
	}
	want := map[string]string{
		"client_id": c.Status.ClientID, "token_endpoint": emu.TokenURL(), "issuer": emu.IssuerURL(e.pool),
		"scopes": rs.Spec.Identifier + "/read", "user_pool_id": e.pool,
	}
	for k, v := range want {
		if got := string(s.Data[k]); got != v {
			t.Errorf("Secret[%s] = %q, want %q", k, got, v)
		}
	}
	app, err := describeClient(e.pool, c.Status.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Data["client_secret"]) != aws.ToString(app.ClientSecret) {
		t.Error("Secret's client_secret is not the app client's secret")
	}
	if diff := cmp.Diff([]types.OAuthFlowType{types.OAuthFlowTypeClientCredentials}, app.AllowedOAuthFlows); diff != "" || !aws.ToBool(app.AllowedOAuthFlowsUserPoolClient) {
		t.Errorf("OAuth flows (-want +got):\n%s", diff)
	}
	if aws.ToString(app.ClientName) != e.ns+"-reader" {
		t.Errorf("client name %q, want %q", aws.ToString(app.ClientName), e.ns+"-reader")
	}
	// The credentials work at the token endpoint, for the requested scope.
	tok, err := tokenFrom(s)
	if err != nil {
		t.Fatalf("token with the Secret's credentials: %v", err)
	}
	if tok.AccessToken == "" {
		t.Fatal("empty access token")
	}

	// A spec change updates the same app client in place.
	c.Spec.Scopes[0].Scopes = []string{"read", "write"}
	c.Spec.AccessTokenValidity = &metav1.Duration{Duration: 15 * time.Minute}
	id := c.Status.ClientID
	if err := k8s.Update(ctx, c); err != nil {
		t.Fatal(err)
	}
	waitReady(t, c)
	if c.Status.ClientID != id {
		t.Fatalf("client id changed from %s to %s on update", id, c.Status.ClientID)
	}
	app, _ = describeClient(e.pool, id)
	if diff := cmp.Diff([]string{rs.Spec.Identifier + "/read", rs.Spec.Identifier + "/write"}, app.AllowedOAuthScopes); diff != "" {
		t.Errorf("scopes after update (-want +got):\n%s", diff)
	}
	if got := cognito.AccessTokenValidity(app); got != 15*time.Minute {
		t.Errorf("access token validity %s, want 15m", got)
	}
	eventually(t, 10*time.Second, func() error {
		s = getSecret(t, e.ns, "reader-credentials")
		if got := string(s.Data["scopes"]); got != rs.Spec.Identifier+"/read "+rs.Spec.Identifier+"/write" {
			return fmt.Errorf("Secret scopes %q", got)
		}
		return nil
	})

	// Deleting the object deletes the app client and the Secret.
	if err := k8s.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c)
	if _, err := describeClient(e.pool, id); !cognito.IsNotFound(err) {
		t.Errorf("app client still in Cognito: %v", err)
	}
	waitGone(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: "reader-credentials"}})
}

func TestM2MClientRetainPolicy(t *testing.T) {
	e := newEnv(t)
	readyPair(t, e)
	c := newClient(e.ns, "kept", "weather", "read")
	c.Spec.DeletionPolicy = v1alpha1.DeletionPolicyRetain
	mustCreate(t, c)
	waitReady(t, c)
	if err := k8s.Delete(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c)
	if _, err := describeClient(e.pool, c.Status.ClientID); err != nil {
		t.Errorf("app client deleted despite Retain: %v", err)
	}
}

// A client whose ResourceServer does not exist yet waits on a condition, makes no
// Cognito calls for it, and becomes Ready by itself when the server appears.
func TestM2MClientWaitsForResourceServer(t *testing.T) {
	e := newEnv(t)
	c := newClient(e.ns, "early", "weather", "read")
	mustCreate(t, c)
	waitCondition(t, c, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonScopesUnavailable)
	if !strings.Contains(apimetaMessage(c), "ResourceServer "+e.ns+"/weather not found") {
		t.Errorf("condition does not say what is missing: %q", apimetaMessage(c))
	}
	time.Sleep(3 * time.Second) // longer than the drift period: no retry loop either
	if n := e.api.counts()["CreateUserPoolClient"]; n != 0 {
		t.Errorf("CreateUserPoolClient called %d times with no scopes available", n)
	}
	readyPair(t, e)
	waitReady(t, c)
}

func apimetaMessage(obj *v1alpha1.M2MClient) string {
	for _, c := range obj.Status.Conditions {
		if c.Type == v1alpha1.ConditionReady {
			return c.Message
		}
	}
	return ""
}

// A deleted or edited Secret is restored.
func TestM2MClientSecretRestored(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	readyPair(t, e)
	c := newClient(e.ns, "restore", "weather", "read")
	mustCreate(t, c)
	waitReady(t, c)
	orig := getSecret(t, e.ns, c.Status.SecretName)

	edited := orig.DeepCopy()
	edited.Data["client_secret"] = []byte("tampered")
	if err := k8s.Update(ctx, edited); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		if got := getSecret(t, e.ns, c.Status.SecretName); string(got.Data["client_secret"]) != string(orig.Data["client_secret"]) {
			return errors.New("edited secret not restored")
		}
		return nil
	})

	if err := k8s.Delete(ctx, orig); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		s := &corev1.Secret{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(orig), s); err != nil {
			return err
		}
		if s.UID == orig.UID || string(s.Data["client_id"]) != c.Status.ClientID {
			return errors.New("deleted secret not recreated")
		}
		return nil
	})
}

// A Secret of the same name that the operator does not own is left alone, and the
// object says why.
func TestM2MClientForeignSecret(t *testing.T) {
	e := newEnv(t)
	readyPair(t, e)
	foreign := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: "taken-credentials"},
		Data:       map[string][]byte{"password": []byte("keep me")},
	}
	mustCreate(t, foreign)
	c := newClient(e.ns, "taken", "weather", "read")
	mustCreate(t, c)
	waitCondition(t, c, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSecretConflict)
	got := getSecret(t, e.ns, "taken-credentials")
	if diff := cmp.Diff(foreign.Data, got.Data); diff != "" || len(got.OwnerReferences) != 0 {
		t.Errorf("foreign Secret changed (-want +got):\n%s", diff)
	}
	if msg := apimetaMessage(c); !strings.Contains(msg, `Secret "taken-credentials" exists and is not owned`) {
		t.Errorf("condition message %q does not explain the conflict", msg)
	}
	// Pointing the object at a free name resolves it.
	c.Spec.Secret.Name = "taken-credentials-2"
	if err := k8s.Update(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	waitReady(t, c)
}

// The manager is interrupted after Cognito created the app client and before the
// client id reached the object. A new manager must adopt that client: no duplicate,
// no orphan.
func TestM2MClientCrashBetweenCreateAndRecord(t *testing.T) {
	e := newEnv(t)
	readyPair(t, e)
	e.killOn("CreateUserPoolClient", false)
	c := newClient(e.ns, "crashy", "weather", "read")
	mustCreate(t, c)
	e.waitKilled()
	name := e.ns + "-crashy"
	if ids := clientsNamed(t, e.pool, name); len(ids) != 1 {
		t.Fatalf("after the crash Cognito has %d clients named %s, want 1", len(ids), name)
	}
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(c), c); err != nil {
		t.Fatal(err)
	}
	if c.Status.ClientID != "" || c.Status.CreatePendingSince == nil {
		t.Fatalf("want the create-pending mark and no id after the crash, got %+v", c.Status)
	}

	e.restart()
	waitReady(t, c)
	ids := clientsNamed(t, e.pool, name)
	if len(ids) != 1 || ids[0] != c.Status.ClientID {
		t.Fatalf("after restart: clients %v, status id %s; want exactly the one recorded", ids, c.Status.ClientID)
	}
	if n := e.api.counts()["CreateUserPoolClient"]; n != 0 {
		t.Errorf("restarted manager created %d more app clients", n)
	}
}

// A create that failed after Cognito acted (the answer was lost) is the same case
// without a restart.
func TestM2MClientLostCreateAnswer(t *testing.T) {
	e := newEnv(t)
	readyPair(t, e)
	failed := false
	e.api.setHooks(nil, func(op string) error {
		if op == "CreateUserPoolClient" && !failed {
			failed = true
			return errors.New("connection reset after the request was sent")
		}
		return nil
	})
	c := newClient(e.ns, "lost", "weather", "read")
	mustCreate(t, c)
	waitReady(t, c)
	ids := clientsNamed(t, e.pool, e.ns+"-lost")
	if len(ids) != 1 || ids[0] != c.Status.ClientID {
		t.Fatalf("clients %v, status id %s; want exactly the one recorded", ids, c.Status.ClientID)
	}
}

// An app client deleted outside Kubernetes is recreated at the next periodic check,
// and the Secret follows.
func TestM2MClientDeletedOutOfBand(t *testing.T) {
	e := newEnv(t)
	readyPair(t, e)
	c := newClient(e.ns, "oob", "weather", "read")
	mustCreate(t, c)
	waitReady(t, c)
	old := c.Status.ClientID
	if _, err := cognitoClient().DeleteUserPoolClient(context.Background(), &cip.DeleteUserPoolClientInput{
		UserPoolId: aws.String(e.pool), ClientId: aws.String(old),
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, func() error {
		s := getSecret(t, e.ns, c.SecretName())
		if id := string(s.Data["client_id"]); id == old || id == "" {
			return fmt.Errorf("Secret still has client %s", id)
		}
		if _, err := tokenFrom(s); err != nil {
			return err
		}
		return nil
	})
}

// Throttling and server errors back off and converge.
func TestM2MClientThrottlingConverges(t *testing.T) {
	e := newEnv(t)
	readyPair(t, e)
	emu.SetFaults(
		emulator.Fault{Operation: "CreateUserPoolClient", ErrorType: "TooManyRequestsException", Count: 3},
		emulator.Fault{Operation: "DescribeUserPoolClient", ErrorType: "InternalErrorException", Count: 2},
	)
	t.Cleanup(func() { emu.SetFaults() })
	c := newClient(e.ns, "throttled", "weather", "read")
	mustCreate(t, c)
	waitReady(t, c)
	if n := e.api.counts()["CreateUserPoolClient"]; n < 4 {
		t.Errorf("CreateUserPoolClient called %d times; the faults should have forced retries", n)
	}
	if ids := clientsNamed(t, e.pool, e.ns+"-throttled"); len(ids) != 1 {
		t.Errorf("%d clients after retries, want 1", len(ids))
	}
}

// In a steady state the operator makes no write calls, and at most one read per
// object per periodic check.
func TestSteadyStateCalls(t *testing.T) {
	e := newEnv(t)
	readyPair(t, e)
	for _, n := range []string{"a", "b", "c"} {
		c := newClient(e.ns, n, "weather", "read")
		mustCreate(t, c)
		waitReady(t, c)
	}
	time.Sleep(time.Second)
	e.api.reset()
	const window = 7 * time.Second // drift period 2s (+10% jitter): at most 4 checks each
	time.Sleep(window)
	counts := e.api.counts()
	for op, n := range counts {
		if strings.HasPrefix(op, "Create") || strings.HasPrefix(op, "Update") || strings.HasPrefix(op, "Delete") || strings.HasPrefix(op, "Add") {
			t.Errorf("%s called %d times in a steady state", op, n)
		}
	}
	maxChecks := int(window/(2*time.Second)) + 1
	if n := counts["DescribeUserPoolClient"]; n == 0 || n > 3*maxChecks {
		t.Errorf("DescribeUserPoolClient %d times for 3 clients in %s, want 1..%d", n, window, 3*maxChecks)
	}
	if n := counts["DescribeResourceServer"]; n == 0 || n > maxChecks {
		t.Errorf("DescribeResourceServer %d times for 1 server in %s, want 1..%d", n, window, maxChecks)
	}
	if n := counts["DescribeUserPool"]; n > 0 {
		t.Errorf("DescribeUserPool %d times with a token endpoint override", n)
	}
}

// Without an override the token endpoint comes from the pool's domain; a pool
// without one is reported on the object.
func TestTokenEndpointFromPoolDomain(t *testing.T) {
	needSuite(t)
	bare, err := cognitoClient().CreateUserPool(context.Background(), &cip.CreateUserPoolInput{PoolName: aws.String("bare-" + t.Name())})
	if err != nil {
		t.Fatal(err)
	}
	pool := aws.ToString(bare.UserPool.Id)
	e := newEnv(t, withConfig(func(o *controllers.Config) {
		o.TokenEndpoint = ""
		o.AllowedUserPools = []string{o.DefaultUserPoolID, pool}
	}))
	readyPair(t, e)
	c := newClient(e.ns, "derived", "weather", "read")
	mustCreate(t, c)
	waitReady(t, c)
	s := getSecret(t, e.ns, c.SecretName())
	want := "https://dom-" + e.ns + ".auth." + emulator.DefaultRegion + ".amazoncognito.com/oauth2/token"
	if got := string(s.Data["token_endpoint"]); got != want {
		t.Errorf("token_endpoint %q, want %q", got, want)
	}

	rs := newRS(e.ns, "bare", "bare-"+e.ns, "read")
	rs.Spec.UserPoolID = pool
	mustCreate(t, rs)
	waitReady(t, rs)
	c2 := newClient(e.ns, "nodomain", "bare", "read")
	c2.Spec.UserPoolID = pool
	mustCreate(t, c2)
	waitCondition(t, c2, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonTokenEndpoint)
}
