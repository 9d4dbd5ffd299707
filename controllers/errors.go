package controllers

import (
	"errors"
	"fmt"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/cognito"
)

// stepKind is what a failed reconcile step means for the object.
type stepKind int

const (
	// kindRetrying: a failure that may pass by itself (throttling, a 5xx, a pool
	// that gains a domain); controller-runtime retries it with backoff.
	kindRetrying stepKind = iota
	// kindWaiting: not a failure but a state to wait out until another object
	// changes; a watch brings the object back, not a retry.
	kindWaiting
	// kindStalled: retrying the same spec cannot help; the object is stalled (no
	// hot retry loop) until its spec, or an admin's setting, changes.
	kindStalled
)

// stepError is a failed reconcile step, carrying its condition reason and kind.
type stepError struct {
	reason string
	kind   stepKind
	err    error
}

func (e *stepError) Error() string { return e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func stalled(reason string, format string, args ...any) error {
	return &stepError{reason: reason, kind: kindStalled, err: fmt.Errorf(format, args...)}
}

func waiting(reason string, format string, args ...any) error {
	return &stepError{reason: reason, kind: kindWaiting, err: fmt.Errorf(format, args...)}
}

func retrying(reason string, format string, args ...any) error {
	return &stepError{reason: reason, kind: kindRetrying, err: fmt.Errorf(format, args...)}
}

// classify is an error's reason and kind; an error no step classified is a retry.
func classify(err error) (reason string, kind stepKind) {
	var se *stepError
	if errors.As(err, &se) {
		return se.reason, se.kind
	}
	return v1alpha1.ReasonProgressing, kindRetrying
}

// isWaiting reports whether err is a state to wait out rather than a failure.
func isWaiting(err error) bool {
	_, kind := classify(err)
	return err != nil && kind == kindWaiting
}

// reasonOf is the condition reason an error carries, or Progressing.
func reasonOf(err error) string {
	reason, _ := classify(err)
	return reason
}

// cognitoFailed classifies an error from a Cognito call, naming the call.
func cognitoFailed(op string, err error) error {
	switch {
	case cognito.IsThrottled(err):
		return &stepError{reason: v1alpha1.ReasonThrottled, kind: kindRetrying, err: fmt.Errorf("%s: throttled by Cognito, backing off: %w", op, err)}
	case cognito.IsLimitExceeded(err):
		return &stepError{reason: v1alpha1.ReasonLimitExceeded, kind: kindRetrying, err: fmt.Errorf("%s: the user pool is full, retrying until room is freed: %w", op, err)}
	case cognito.IsInvalidParameter(err):
		return &stepError{reason: v1alpha1.ReasonInvalidSpec, kind: kindStalled, err: fmt.Errorf("%s: Cognito refused the request: %w", op, err)}
	}
	return &stepError{reason: v1alpha1.ReasonCognitoError, kind: kindRetrying, err: fmt.Errorf("%s: %w", op, err)}
}

// secretOpFailed classifies an error from a client-secret operation as the
// rotation needs it (cognito.ClassifySecretError): a refusal that the client's
// current secrets explain is retried, so that the next pass lists them again and
// decides from what is there, instead of stalling a retirement.
func secretOpFailed(op string, err error) error {
	switch cognito.ClassifySecretError(op, err) {
	case cognito.SecretStall:
		return &stepError{reason: v1alpha1.ReasonInvalidSpec, kind: kindStalled, err: fmt.Errorf("%s: Cognito refused the request: %w", op, err)}
	case cognito.SecretRecheck:
		return &stepError{reason: v1alpha1.ReasonRotating, kind: kindRetrying, err: fmt.Errorf("%s: Cognito refused it for the app client's current secrets; listing them again: %w", op, err)}
	}
	if cognito.IsThrottled(err) {
		return cognitoFailed(op, err)
	}
	return &stepError{reason: v1alpha1.ReasonCognitoError, kind: kindRetrying, err: fmt.Errorf("%s: %w", op, err)}
}

// errNotOwned is returned when an object the operator would write belongs to
// someone else.
func errNotOwned(kind, name, owner string) error {
	return fmt.Errorf("%s %q exists and is not owned by this object (%s); the operator does not overwrite it: delete or rename it, or set another name", kind, name, owner)
}
