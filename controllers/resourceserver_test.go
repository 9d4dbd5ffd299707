package controllers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/cognito"
)

func newRS(ns, name, identifier string, scopes ...string) *v1alpha1.ResourceServer {
	rs := &v1alpha1.ResourceServer{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1alpha1.ResourceServerSpec{Identifier: identifier, Name: name + " API"},
	}
	for _, s := range scopes {
		rs.Spec.Scopes = append(rs.Spec.Scopes, v1alpha1.ResourceServerScope{Name: s, Description: "may " + s})
	}
	return rs
}

func describeRS(t *testing.T, pool, identifier string) (*types.ResourceServerType, error) {
	t.Helper()
	out, err := cognitoClient().DescribeResourceServer(context.Background(), &cip.DescribeResourceServerInput{
		UserPoolId: aws.String(pool), Identifier: aws.String(identifier),
	})
	if err != nil {
		return nil, err
	}
	return out.ResourceServer, nil
}

func scopeNames(rs *types.ResourceServerType) []string {
	var names []string
	for _, s := range rs.Scopes {
		names = append(names, aws.ToString(s.ScopeName))
	}
	return names
}

func TestResourceServerLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rs := newRS(e.ns, "weather", "weather-"+e.ns, "read", "write")
	mustCreate(t, rs)
	waitReady(t, rs)

	if diff := cmp.Diff([]string{rs.Spec.Identifier + "/read", rs.Spec.Identifier + "/write"}, rs.Status.Scopes); diff != "" {
		t.Errorf("status.scopes (-want +got):\n%s", diff)
	}
	if rs.Status.UserPoolID != e.pool || rs.Status.ObservedGeneration != rs.Generation {
		t.Errorf("status pool %q generation %d, want %q %d", rs.Status.UserPoolID, rs.Status.ObservedGeneration, e.pool, rs.Generation)
	}
	got, err := describeRS(t, e.pool, rs.Spec.Identifier)
	if err != nil {
		t.Fatalf("resource server not in Cognito: %v", err)
	}
	if diff := cmp.Diff([]string{"read", "write"}, scopeNames(got)); diff != "" {
		t.Errorf("Cognito scopes (-want +got):\n%s", diff)
	}

	// A spec change updates Cognito in place, with the whole desired state.
	rs.Spec.Scopes = rs.Spec.Scopes[:1]
	rs.Spec.Name = "renamed"
	if err := k8s.Update(ctx, rs); err != nil {
		t.Fatal(err)
	}
	waitReady(t, rs)
	got, _ = describeRS(t, e.pool, rs.Spec.Identifier)
	if diff := cmp.Diff([]string{"read"}, scopeNames(got)); diff != "" || aws.ToString(got.Name) != "renamed" {
		t.Errorf("after update: name %q, scopes (-want +got):\n%s", aws.ToString(got.Name), diff)
	}

	// Deleting the object deletes the resource server (policy Delete, the default).
	if err := k8s.Delete(ctx, rs); err != nil {
		t.Fatal(err)
	}
	waitGone(t, rs)
	if _, err := describeRS(t, e.pool, rs.Spec.Identifier); !cognito.IsNotFound(err) {
		t.Errorf("resource server still in Cognito after delete: %v", err)
	}
}

func TestResourceServerRetainPolicy(t *testing.T) {
	e := newEnv(t)
	rs := newRS(e.ns, "kept", "kept-"+e.ns, "read")
	rs.Spec.DeletionPolicy = v1alpha1.DeletionPolicyRetain
	mustCreate(t, rs)
	waitReady(t, rs)
	if err := k8s.Delete(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	waitGone(t, rs)
	if _, err := describeRS(t, e.pool, rs.Spec.Identifier); err != nil {
		t.Errorf("resource server deleted despite Retain: %v", err)
	}
}

// An existing resource server with the same identifier is adopted, when a cluster
// admin allows it, and set to the spec, not duplicated; it outlives the object.
func TestResourceServerAdoption(t *testing.T) {
	e := newEnv(t)
	allowAdoption(t, e.ns)
	id := "legacy-" + e.ns
	_, err := cognitoClient().CreateResourceServer(context.Background(), &cip.CreateResourceServerInput{
		UserPoolId: aws.String(e.pool), Identifier: aws.String(id), Name: aws.String("made by hand"),
		Scopes: []types.ResourceServerScopeType{{ScopeName: aws.String("old"), ScopeDescription: aws.String("old")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rs := newRS(e.ns, "legacy", id, "read")
	mustCreate(t, rs)
	waitReady(t, rs)
	got, _ := describeRS(t, e.pool, id)
	if diff := cmp.Diff([]string{"read"}, scopeNames(got)); diff != "" || aws.ToString(got.Name) != rs.Spec.Name {
		t.Errorf("adopted server not set to spec: name %q, scopes (-want +got):\n%s", aws.ToString(got.Name), diff)
	}
	if n := e.api.counts()["CreateResourceServer"]; n != 0 {
		t.Errorf("CreateResourceServer called %d times for an existing server", n)
	}
	if rs.Status.Ownership != v1alpha1.OwnershipAdopted {
		t.Errorf("status.ownership = %q, want Adopted", rs.Status.Ownership)
	}
	if err := k8s.Delete(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	waitGone(t, rs)
	if _, err := describeRS(t, e.pool, id); err != nil {
		t.Errorf("an adopted resource server was deleted with the object: %v", err)
	}
}

// Changes made outside Kubernetes are repaired at the next periodic check.
func TestResourceServerDriftRepaired(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rs := newRS(e.ns, "drift", "drift-"+e.ns, "read")
	mustCreate(t, rs)
	waitReady(t, rs)

	api := cognitoClient()
	if _, err := api.UpdateResourceServer(ctx, &cip.UpdateResourceServerInput{
		UserPoolId: aws.String(e.pool), Identifier: aws.String(rs.Spec.Identifier), Name: aws.String("tampered"),
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15e9, func() error {
		got, err := describeRS(t, e.pool, rs.Spec.Identifier)
		if err != nil {
			return err
		}
		if aws.ToString(got.Name) != rs.Spec.Name || len(got.Scopes) != 1 {
			return fmt.Errorf("not repaired yet: %q %v", aws.ToString(got.Name), scopeNames(got))
		}
		return nil
	})

	if _, err := api.DeleteResourceServer(ctx, &cip.DeleteResourceServerInput{
		UserPoolId: aws.String(e.pool), Identifier: aws.String(rs.Spec.Identifier),
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15e9, func() error { _, err := describeRS(t, e.pool, rs.Spec.Identifier); return err })
}

// Two objects for one identifier in one pool would undo each other's updates: the
// younger stalls and names the older.
func TestResourceServerIdentifierConflict(t *testing.T) {
	e := newEnv(t)
	first := newRS(e.ns, "first", "dup-"+e.ns, "read")
	mustCreate(t, first)
	waitReady(t, first)
	second := newRS(e.ns, "second", first.Spec.Identifier, "write")
	mustCreate(t, second)
	waitCondition(t, second, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonIdentifierConflict)
	waitCondition(t, second, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonIdentifierConflict)
	got, _ := describeRS(t, e.pool, first.Spec.Identifier)
	if diff := cmp.Diff([]string{"read"}, scopeNames(got)); diff != "" {
		t.Errorf("the conflicting object changed Cognito (-want +got):\n%s", diff)
	}
	// Deleting the loser must not delete the winner's resource server.
	if err := k8s.Delete(context.Background(), second); err != nil {
		t.Fatal(err)
	}
	waitGone(t, second)
	if _, err := describeRS(t, e.pool, first.Spec.Identifier); err != nil {
		t.Errorf("deleting the conflicting object deleted the resource server: %v", err)
	}
}

// The CRD refuses what Cognito would refuse, at apply time, naming the field.
func TestValidationAtApply(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tooMany := newRS(e.ns, "too-many", "too-many")
	for i := range 101 {
		tooMany.Spec.Scopes = append(tooMany.Spec.Scopes, v1alpha1.ResourceServerScope{Name: fmt.Sprintf("s%d", i), Description: "d"})
	}
	noDesc := newRS(e.ns, "no-desc", "no-desc", "read")
	noDesc.Spec.Scopes[0].Description = ""
	slash := newRS(e.ns, "slash", "slash", "a/b")
	quote := newRS(e.ns, "quote", `say"hi`, "read")
	shortValidity := newClient(e.ns, "short", "weather", "read")
	shortValidity.Spec.AccessTokenValidity = &metav1.Duration{Duration: 60e9}
	fractional := newClient(e.ns, "fractional", "weather", "read")
	fractional.Spec.AccessTokenValidity = &metav1.Duration{Duration: 5*time.Minute + 500*time.Millisecond}
	fractionalGrace := newClient(e.ns, "fractional-grace", "weather", "read")
	fractionalGrace.Spec.Rotation = &v1alpha1.SecretRotation{GracePeriod: &metav1.Duration{Duration: 1500 * time.Millisecond}}
	slashInRequest := newClient(e.ns, "slash-request", "weather", "a/b")
	badName := newClient(e.ns, "bad-name", "weather", "read")
	badName.Spec.ClientName = "no/slashes"
	noScopes := newClient(e.ns, "no-scopes", "weather")
	noScopes.Spec.Scopes = nil
	// An app client's scope names are at most 256 characters: a longer
	// identifier/scope could never be granted, and a create that sends it is refused.
	tooLong := newRS(e.ns, "too-long", strings.Repeat("i", 200), "ok", strings.Repeat("s", 56))
	cases := map[string]struct {
		obj   client.Object
		field string
	}{
		"more than 100 scopes":             {tooMany, "spec.scopes"},
		"scope without description":        {noDesc, "spec.scopes[0].description"},
		"slash in scope name":              {slash, "spec.scopes[0].name"},
		"quote in identifier":              {quote, "spec.identifier"},
		"token validity under 5m":          {shortValidity, "spec.accessTokenValidity"},
		"token validity not whole seconds": {fractional, "spec.accessTokenValidity"},
		"grace period not whole seconds":   {fractionalGrace, "spec.rotation.gracePeriod"},
		"slash in a requested scope name":  {slashInRequest, "spec.scopes[0].scopes[0]"},
		"client name outside Cognito's":    {badName, "spec.clientName"},
		"client without scopes":            {noScopes, "spec.scopes"},
		"identifier/scope over 256":        {tooLong, "spec.scopes"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := k8s.Create(ctx, tc.obj)
			if err == nil {
				t.Fatalf("accepted; want a rejection naming %s", tc.field)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error does not name %s: %v", tc.field, err)
			}
		})
	}

	t.Run("whole seconds in any notation", func(t *testing.T) {
		for i, d := range []time.Duration{450 * time.Second, 24 * time.Hour, time.Hour + 6*time.Minute} {
			c := newClient(e.ns, fmt.Sprintf("whole-%d", i), "weather", "read")
			c.Spec.AccessTokenValidity = &metav1.Duration{Duration: d}
			if err := k8s.Create(ctx, c); err != nil {
				t.Errorf("accessTokenValidity %s refused: %v", d, err)
			}
		}
	})

	t.Run("identifier is immutable", func(t *testing.T) {
		rs := newRS(e.ns, "immutable", "immutable-"+e.ns, "read")
		mustCreate(t, rs)
		// The manager may add its finalizer in between: a conflict is retried
		// on the fresh object, so that the answer is the immutability rule's.
		var err error
		for range 10 {
			rs.Spec.Identifier = "changed"
			if err = k8s.Update(ctx, rs); !apierrors.IsConflict(err) {
				break
			}
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(rs), rs); err != nil {
				t.Fatal(err)
			}
		}
		if err == nil || !strings.Contains(err.Error(), "identifier is immutable") {
			t.Errorf("identifier change: got %v, want an immutability error", err)
		}
	})
}
