package controllers

import (
	"math/rand/v2"
	"time"
)

// jittered is period plus up to 10% so that objects created together do not all
// call Cognito in the same second afterwards.
func jittered(period time.Duration) time.Duration {
	return period + time.Duration(rand.Int64N(int64(period)/10+1))
}

// nextPass is when a pass should look again: when the rotation's next step is
// due, or at the drift check, whichever comes first. A step due now (the end of a
// zero grace period, a schedule already past) still gets a positive wait, as short
// as can be: controller-runtime reads a RequeueAfter of zero or less as no
// requeue at all, which would leave the rotation where it is until something
// else wakes the object.
func nextPass(rotation, drift time.Duration) time.Duration {
	return max(min(rotation, drift), time.Nanosecond)
}

// skipInput is what decides whether a pass must compare the object with Cognito.
type skipInput struct {
	// settled: Ready for its generation, its scopes as recorded, no create or
	// rotation in flight or due.
	settled bool
	// secretIntact: the Secret is present and the object's, and as the operator
	// last wrote it.
	secretIntact bool
	// lastCheck is when this manager last compared the object with Cognito; zero
	// when it has not since it started.
	lastCheck time.Time
	now       time.Time
	period    time.Duration
}

// decideSkip decides whether a pass may skip Cognito, and when to look again. Passes
// come for many reasons (the operator's own Secret write, a ResourceServer's status,
// a restart listing every object); only a changed or broken object, or a due drift
// check, is worth a call against the pool's quota. The first check of a settled
// object after a start is spread over the period by firstDelay, so a restarted
// manager does not describe every client at once.
func decideSkip(in skipInput, firstDelay time.Duration) (time.Duration, bool) {
	if !in.settled || !in.secretIntact {
		return 0, false
	}
	if in.lastCheck.IsZero() {
		return firstDelay, true
	}
	if due := in.lastCheck.Add(in.period); in.now.Before(due) {
		return due.Sub(in.now), true
	}
	return 0, false
}
