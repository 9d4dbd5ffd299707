package controllers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// The reconcilers read one clock, Deps.Clock: a scheduled rotation becomes due,
// and its grace period ends, when that clock says so, whatever the system clock
// says. Cognito (the emulator) runs on the same clock, as it would if the manager
// slept through a day.
func TestRotationFollowsTheInjectedClock(t *testing.T) {
	clock := clocktesting.NewFakePassiveClock(time.Now())
	e := newEmulatorEnv(t, clock.Now, func(e *testEnv) { e.deps.Clock = clock })
	readyPair(t, e.testEnv)
	c := rotatingClient(e.ns, "clocked", time.Hour) // every 24h, an hour of grace
	mustCreate(t, c)
	waitReady(t, c)
	ctx := context.Background()
	phaseFor := func(d time.Duration) error {
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			if err := k8s.Get(ctx, keyOf(c), c); err != nil {
				return err
			}
			if r := c.Status.Rotation; r == nil || r.Phase != "" && r.Phase != v1alpha1.RotationGrace {
				return fmt.Errorf("rotation %+v", r)
			}
			time.Sleep(200 * time.Millisecond)
		}
		return nil
	}

	// Two drift periods of the system clock: nothing is due.
	if err := phaseFor(4 * time.Second); err != nil {
		t.Fatal(err)
	}
	if r := c.Status.Rotation; r.Phase != "" || r.NextRotation == nil {
		t.Fatalf("before the clock moved: rotation %+v, want idle with a next rotation", r)
	}
	first := c.Status.Rotation.CurrentSecretID

	clock.SetTime(clock.Now().Add(24*time.Hour + time.Minute))
	waitPhase(t, c, v1alpha1.RotationGrace)
	// The grace period is an hour of the injected clock, which stands still.
	if err := phaseFor(4 * time.Second); err != nil {
		t.Fatal(err)
	}
	if r := c.Status.Rotation; r.Phase != v1alpha1.RotationGrace {
		t.Fatalf("the grace period ended on the system clock: rotation %+v", r)
	}

	clock.SetTime(clock.Now().Add(time.Hour + time.Minute))
	eventually(t, 20*time.Second, func() error {
		if err := k8s.Get(ctx, keyOf(c), c); err != nil {
			return err
		}
		r := c.Status.Rotation
		if r.Phase != "" || r.CurrentSecretID == "" || r.CurrentSecretID == first {
			return fmt.Errorf("rotation not finished: %+v", r)
		}
		if r.NextRotation == nil || !r.NextRotation.After(clock.Now()) {
			return fmt.Errorf("next rotation %v is not after the injected clock's %v", r.NextRotation, clock.Now())
		}
		return nil
	})
	out, err := e.sdk.ListUserPoolClientSecrets(ctx, &cip.ListUserPoolClientSecretsInput{
		UserPoolId: aws.String(e.pool), ClientId: aws.String(c.Status.ClientID),
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(out.ClientSecrets); n != 1 {
		t.Errorf("app client has %d secrets after the rotation, want one", n)
	}
}
