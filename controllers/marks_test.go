package controllers_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/controllers"
	"github.com/cognito-m2m/operator/internal/cognito"
)

// A create-pending mark names what was sent. A tenant whose create got no answer
// edits its ResourceServer to match a server another team then made outside the
// cluster: the mark is for the spec that was sent, not this one, so the tenant is
// refused that server as it would be without a mark.
func TestTenantCannotSteerResourceServerClaim(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := newTenant(t, e.ns+"-tenant")
	id := "victim-api-" + e.ns

	var failing atomic.Bool
	var attempts atomic.Int32
	failing.Store(true)
	e.api.setHooks(func(op string) error {
		if op == "CreateResourceServer" && failing.Load() {
			attempts.Add(1)
			return errors.New("connection reset by peer")
		}
		return nil
	}, nil)
	defer e.api.setHooks(nil, nil)

	rs := newRS(tn.ns, "steer", id, "admin")
	tn.create(t, rs)
	eventually(t, 20*time.Second, func() error {
		if err := tn.c.Get(ctx, keyOf(rs), rs); err != nil {
			return err
		}
		if attempts.Load() == 0 || rs.Status.CreatePendingSince == nil {
			return fmt.Errorf("no unanswered create recorded yet (%d attempts)", attempts.Load())
		}
		return nil
	})
	// Another team makes its server outside the cluster; the tenant's next pass finds
	// it with other content than what was sent, and is refused.
	createRSInCognito(t, e.pool, id, "Victim", "read")
	waitCondition(t, rs, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonAdoptionDenied)

	// The tenant edits its spec to match the victim's server.
	if err := retry.RetryOnConflict(editBackoff, func() error {
		if err := tn.c.Get(ctx, keyOf(rs), rs); err != nil {
			return err
		}
		rs.Spec.Name = "Victim"
		rs.Spec.Scopes = []v1alpha1.ResourceServerScope{{Name: "read", Description: "read"}}
		return tn.c.Update(ctx, rs)
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		if err := k8s.Get(ctx, keyOf(rs), rs); err != nil {
			return err
		}
		if rs.Status.Ownership != "" {
			return nil // claimed: reported below
		}
		if rs.Status.ObservedGeneration != rs.Generation {
			return fmt.Errorf("generation %d not reconciled yet", rs.Generation)
		}
		return nil
	})
	if rs.Status.Ownership != "" {
		t.Fatalf("the tenant claimed the victim's resource server as %s", rs.Status.Ownership)
	}
	waitCondition(t, rs, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonAdoptionDenied)
	if rs.Status.CreatePendingSince != nil {
		t.Errorf("the mark of a create sent for generation %d outlived the spec change", rs.Status.CreatePendingGeneration)
	}
	unchangedRS(t, e.pool, id, "Victim", "read")
	if err := tn.c.Delete(ctx, rs); err != nil {
		t.Fatal(err)
	}
	waitGone(t, rs)
	unchangedRS(t, e.pool, id, "Victim", "read")
}

// A create that waits for the rate limit and never goes (the manager stops) leaves
// no create-pending mark: the next manager creates at once instead of paging the
// pool for a client that cannot exist.
func TestCreateNeverSentLeavesNoMark(t *testing.T) {
	e := newEnv(t, withConfig(func(o *controllers.Config) {
		// One call of each operation now, then one every 100 s.
		o.Limits = cognito.Limits{PerOperation: 0.01}
	}))
	ctx := context.Background()
	readyPair(t, e)
	first := newClient(e.ns, "first", "weather", "read")
	mustCreate(t, first)
	waitReady(t, first)
	waits := newClient(e.ns, "waits", "weather", "read")
	mustCreate(t, waits)
	time.Sleep(2 * time.Second) // its create is waiting for the rate limit
	e.stop()
	if err := k8s.Get(ctx, keyOf(waits), waits); err != nil {
		t.Fatal(err)
	}
	if waits.Status.ClientID != "" {
		t.Fatalf("the second create was sent within the rate limit (client %s)", waits.Status.ClientID)
	}
	if waits.Status.CreatePendingSince != nil {
		t.Errorf("a create never sent left a create-pending mark at %s", waits.Status.CreatePendingSince)
	}
}

// The same for an M2MClient: after a create with no answer, the tenant edits a
// field the mark does not hold (the token validity) to match an app client made
// outside the cluster since. The mark was for the spec sent; the spec change clears
// it, and the tenant gets a client of its own.
func TestTenantCannotSteerClientClaimBySpecChange(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := newTenant(t, e.ns+"-tenant")
	own := newRS(tn.ns, "own", "own-"+e.ns, "read")
	tn.create(t, own)
	waitReady(t, own)

	var failing atomic.Bool
	failing.Store(true)
	e.api.setHooks(func(op string) error {
		if op == "CreateUserPoolClient" && failing.Load() {
			return errors.New("connection reset by peer")
		}
		return nil
	}, nil)
	defer e.api.setHooks(nil, nil)
	c := newClient(tn.ns, "steer", "own", "read")
	c.Spec.ClientName = "shared-name"
	tn.create(t, c)
	eventually(t, 20*time.Second, func() error {
		if err := tn.c.Get(ctx, keyOf(c), c); err != nil {
			return err
		}
		if c.Status.CreatePendingSince == nil {
			return errors.New("no unanswered create recorded yet")
		}
		return nil
	})
	// Someone else's application, made outside the cluster with the same name and
	// scope, and a 2h token validity.
	victim, err := cognito.NewClient(cognitoClient(), nil).CreateAppClient(ctx, e.pool,
		cognito.ClientSpec{Name: "shared-name", Scopes: []string{own.Spec.Identifier + "/read"}, AccessTokenValidity: 2 * time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := retry.RetryOnConflict(editBackoff, func() error {
		if err := tn.c.Get(ctx, keyOf(c), c); err != nil {
			return err
		}
		c.Spec.AccessTokenValidity = &metav1.Duration{Duration: 2 * time.Hour}
		return tn.c.Update(ctx, c)
	}); err != nil {
		t.Fatal(err)
	}
	failing.Store(false)
	waitReady(t, c)
	if c.Status.ClientID == *victim.ClientId {
		t.Fatal("the tenant claimed an app client its create never sent")
	}
	if err := tn.c.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c)
	if _, err := describeClient(e.pool, *victim.ClientId); err != nil {
		t.Fatalf("deleting the tenant's object deleted the victim's app client: %v", err)
	}
}
