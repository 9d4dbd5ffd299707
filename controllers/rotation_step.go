package controllers

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// rotationStep is what the rotation sequence does next (see reconcileRotation).
type rotationStep int

const (
	// stepWait: nothing is due; look again after the returned wait.
	stepWait rotationStep = iota
	// stepStart: a rotation is due or was asked for; record the secret being
	// retired and add a new one.
	stepStart
	// stepAdd: resume adding the new secret (Adding).
	stepAdd
	// stepRetire: the grace period is over (or Retiring resumes): delete the old
	// secret and end the rotation.
	stepRetire
	// stepAbort: the Secret lost the new value during the grace period: delete the
	// new secret in Cognito and keep the old one.
	stepAbort
)

// rotationInput is everything the rotation decision depends on; the reconciler
// gathers it (reading the Secret only in the grace period) and executes the step.
type rotationInput struct {
	status  v1alpha1.RotationStatus
	grace   time.Duration
	request string // the rotate annotation's value
	// valuesKept: in the grace period, the Secret still holds both secrets.
	valuesKept bool
	now        time.Time
}

// decideRotation is the rotation sequence as a pure function of its input: the next
// step, and for stepWait how long until something is due.
func decideRotation(in rotationInput) (rotationStep, time.Duration) {
	rot := in.status
	switch rot.Phase {
	case v1alpha1.RotationAdding:
		return stepAdd, 0
	case v1alpha1.RotationGrace:
		if !in.valuesKept {
			return stepAbort, 0
		}
		if left := rot.PhaseSince.Add(in.grace).Sub(in.now); left > 0 {
			return stepWait, left
		}
		return stepRetire, 0
	case v1alpha1.RotationRetiring:
		return stepRetire, 0
	}
	if in.request != "" && in.request != rot.LastRequest {
		return stepStart, 0
	}
	if rot.NextRotation == nil {
		return stepWait, idle
	}
	if left := rot.NextRotation.Sub(in.now); left > 0 {
		return stepWait, left
	}
	return stepStart, 0
}

// rotationMayAct reports whether a pass over obj could take a rotation step: one
// is under way, asked for, or due. Only then does the pass need the object as
// the API server has it rather than as the cache does.
func rotationMayAct(obj *v1alpha1.M2MClient, now time.Time) bool {
	rot := obj.Status.Rotation
	request := rotateRequest(obj)
	switch {
	case rot == nil:
		return request != ""
	case rot.Phase != "", request != "" && request != rot.LastRequest:
		return true
	default:
		return rot.NextRotation != nil && !now.Before(rot.NextRotation.Time)
	}
}

// schedule keeps an idle rotation's bookkeeping: the current secret's creation time
// (the app client's, for a client that never rotated) and the next scheduled
// rotation, if the spec has an interval.
func schedule(rot *v1alpha1.RotationStatus, spec *v1alpha1.SecretRotation, appCreated *time.Time) {
	if rot.CurrentSecretCreated == nil && appCreated != nil {
		rot.CurrentSecretCreated = &metav1.Time{Time: *appCreated}
	}
	rot.NextRotation = nil
	if spec != nil && spec.Interval != nil && rot.CurrentSecretCreated != nil {
		rot.NextRotation = &metav1.Time{Time: rot.CurrentSecretCreated.Add(spec.Interval.Duration)}
	}
}
