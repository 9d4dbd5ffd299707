package controllers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/cognito"
)

// weatherFor is a ResourceServer in the environment's namespace that grants scope
// read to namespace granted.
func weatherFor(t *testing.T, e *testEnv, granted string) *v1alpha1.ResourceServer {
	t.Helper()
	rs := newRS(e.ns, "weather", "weather-"+e.ns, "read")
	rs.Spec.AllowedNamespaces = &v1alpha1.NamespaceGrant{Names: []string{granted}}
	mustCreate(t, rs)
	waitReady(t, rs)
	return rs
}

// clientScopes is what Cognito allows an app client now: its scopes, or nothing when
// its OAuth flows are off.
func clientScopes(e *testEnv, id string) ([]string, error) {
	app, err := describeClient(e.pool, id)
	if err != nil {
		return nil, err
	}
	if !aws.ToBool(app.AllowedOAuthFlowsUserPoolClient) {
		return nil, nil
	}
	return app.AllowedOAuthScopes, nil
}

// A tenant granted another team's scope keeps it no longer than a live M2MClient
// refers to its app client: deleting the object with deletionPolicy Retain leaves
// the client its own namespace's scopes only; removing the finalizer while the
// operator is down (so that no pass sees the deletion) leaves it nothing. Both
// within a drift period, with nothing in the cluster referring to the client.
func TestLeftBehindClientLosesOtherNamespacesScopes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := newTenant(t, e.ns+"-tenant")
	weather := weatherFor(t, e, tn.ns)
	own := newRS(tn.ns, "own", "own-"+e.ns, "read")
	tn.create(t, own)
	waitReady(t, own)
	weatherRead, ownRead := weather.Spec.Identifier+"/read", own.Spec.Identifier+"/read"

	t.Run("deletionPolicy Retain", func(t *testing.T) {
		c := crossClient(tn.ns, "kept", e.ns, "read")
		c.Spec.Scopes = append(c.Spec.Scopes, v1alpha1.ScopeRequest{ResourceServer: v1alpha1.ObjectReference{Name: "own"}, Scopes: []string{"read"}})
		c.Spec.DeletionPolicy = v1alpha1.DeletionPolicyRetain
		tn.create(t, c)
		waitReady(t, c)
		if diff := cmp.Diff([]string{ownRead, weatherRead}, c.Status.Scopes); diff != "" {
			t.Fatalf("scopes (-want +got):\n%s", diff)
		}
		secret := getSecret(t, tn.ns, c.SecretName())
		if err := tn.c.Delete(ctx, c); err != nil {
			t.Fatal(err)
		}
		waitGone(t, c)
		start := time.Now()
		eventually(t, 10*time.Second, func() error {
			got, err := clientScopes(e, c.Status.ClientID)
			if err != nil {
				return err
			}
			if !cmp.Equal([]string{ownRead}, got) {
				return fmt.Errorf("the retained app client has %v, want only its own namespace's %s", got, ownRead)
			}
			return nil
		})
		t.Logf("the retained client lost the other namespace's scope %s after its object was deleted", time.Since(start).Round(time.Millisecond))
		if _, err := tokenFrom(secret); err != nil {
			t.Errorf("the retained client lost its own namespace's scope too: %v", err)
		}
	})

	t.Run("finalizer removed while the operator is down", func(t *testing.T) {
		c := crossClient(tn.ns, "sneaky", e.ns, "read")
		tn.create(t, c)
		waitReady(t, c)
		secret := getSecret(t, tn.ns, c.SecretName())
		e.stop()
		if err := retry.RetryOnConflict(editBackoff, func() error {
			if err := tn.c.Get(ctx, keyOf(c), c); err != nil {
				return err
			}
			c.Finalizers = nil
			return tn.c.Update(ctx, c)
		}); err != nil {
			t.Fatal(err)
		}
		if err := tn.c.Delete(ctx, c); err != nil {
			t.Fatal(err)
		}
		waitGone(t, c)
		if got, _ := clientScopes(e, c.Status.ClientID); len(got) == 0 {
			t.Fatal("the setup failed: the app client lost its scope with the operator down")
		}
		e.restart()
		start := time.Now()
		eventually(t, 10*time.Second, func() error {
			got, err := clientScopes(e, c.Status.ClientID)
			if err != nil {
				return err
			}
			if len(got) != 0 {
				return fmt.Errorf("the left-behind app client still has %v", got)
			}
			return nil
		})
		t.Logf("the left-behind client lost the scope %s after the operator restarted", time.Since(start).Round(time.Millisecond))
		if _, err := tokenFrom(secret); err == nil || !strings.Contains(err.Error(), "unauthorized_client") {
			t.Errorf("token for a left-behind client with no scope: %v, want unauthorized_client", err)
		}
	})

	// The weather team's own objects and records are as they should be: the
	// records of the gone clients are forgotten, the server untouched.
	eventually(t, 10*time.Second, func() error {
		if err := k8s.Get(ctx, keyOf(weather), weather); err != nil {
			return err
		}
		if len(weather.Status.Grantees) != 0 {
			return fmt.Errorf("grantees still recorded: %+v", weather.Status.Grantees)
		}
		return nil
	})
	unchangedRS(t, e.pool, weather.Spec.Identifier, weather.Spec.Name, "read")
}

// A ResourceServer caps the token validity of other namespaces' clients; its own
// namespace's clients keep theirs.
func TestResourceServerCapsOtherNamespacesTokenValidity(t *testing.T) {
	e := newEnv(t)
	tn := newTenant(t, e.ns+"-tenant")
	rs := newRS(e.ns, "weather", "weather-"+e.ns, "read")
	rs.Spec.AllowedNamespaces = &v1alpha1.NamespaceGrant{Names: []string{tn.ns}}
	rs.Spec.MaxAccessTokenValidity = &metav1.Duration{Duration: 15 * time.Minute}
	mustCreate(t, rs)
	waitReady(t, rs)

	long := &metav1.Duration{Duration: 2 * time.Hour}
	foreign := crossClient(tn.ns, "long", e.ns, "read")
	foreign.Spec.AccessTokenValidity = long
	tn.create(t, foreign)
	waitReady(t, foreign)
	defaulted := crossClient(tn.ns, "defaulted", e.ns, "read")
	tn.create(t, defaulted)
	waitReady(t, defaulted)
	local := newClient(e.ns, "local", "weather", "read")
	local.Spec.AccessTokenValidity = long
	mustCreate(t, local)
	waitReady(t, local)

	for _, tc := range []struct {
		c    *v1alpha1.M2MClient
		want time.Duration
	}{{foreign, 15 * time.Minute}, {defaulted, 15 * time.Minute}, {local, 2 * time.Hour}} {
		tok, err := tokenFrom(getSecret(t, tc.c.Namespace, tc.c.SecretName()))
		if err != nil {
			t.Fatal(err)
		}
		if got := time.Until(tok.Expiry).Round(time.Minute); got != tc.want {
			t.Errorf("%s/%s: token valid for %s, want %s", tc.c.Namespace, tc.c.Name, got, tc.want)
		}
	}
}

// The manager dies right after Cognito created the app client, before its id was
// recorded anywhere; the tenant then removes the finalizer and deletes the object.
// The server's record of the pending create (hashed name, time) still finds the
// client, and it loses the scope.
func TestClientLeftBehindMidCreateLosesOtherNamespacesScopes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := newTenant(t, e.ns+"-tenant")
	weatherFor(t, e, tn.ns)
	c := crossClient(tn.ns, "midcreate", e.ns, "read")
	e.killOn("CreateUserPoolClient", false)
	tn.create(t, c)
	e.waitKilled()
	ids := clientsNamed(t, e.pool, cognito.DefaultClientName(c.Namespace, c.Name))
	if len(ids) != 1 {
		t.Fatalf("%d app clients after the create, want 1", len(ids))
	}
	if got, _ := clientScopes(e, ids[0]); len(got) == 0 {
		t.Fatal("the setup failed: the app client has no scope")
	}
	if err := retry.RetryOnConflict(editBackoff, func() error {
		if err := tn.c.Get(ctx, keyOf(c), c); err != nil {
			return err
		}
		if c.Status.ClientID != "" {
			return fmt.Errorf("the setup failed: the client id %s was recorded", c.Status.ClientID)
		}
		c.Finalizers = nil
		return tn.c.Update(ctx, c)
	}); err != nil {
		t.Fatal(err)
	}
	if err := tn.c.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c)
	e.restart()
	eventually(t, 10*time.Second, func() error {
		got, err := clientScopes(e, ids[0])
		if err != nil {
			return err
		}
		if len(got) != 0 {
			return fmt.Errorf("the app client of the interrupted create still has %v", got)
		}
		return nil
	})
}
