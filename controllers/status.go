package controllers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/cognito"
)

// conditioned is a reconciled object whose status holds kstatus conditions.
type conditioned interface {
	client.Object
	GetConditions() *[]metav1.Condition
	SetObservedGeneration(int64)
}

// stepError is a failed reconcile step. It carries the condition reason, and whether
// retrying the same spec can help: a terminal error stalls the object (no hot retry
// loop) until its spec changes; a waiting error is a condition, not a failure, and
// the object is reconciled again by a watch, not by a retry.
type stepError struct {
	reason   string
	terminal bool
	waiting  bool
	err      error
}

func (e *stepError) Error() string { return e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// stalled is an error that retrying the same spec cannot fix.
func stalled(reason string, format string, args ...any) error {
	return &stepError{reason: reason, terminal: true, err: fmt.Errorf(format, args...)}
}

// waiting is a state the object waits out: another object must change first.
func waiting(reason string, format string, args ...any) error {
	return &stepError{reason: reason, waiting: true, err: fmt.Errorf(format, args...)}
}

// retrying is a failure that may pass by itself (a pool gains a domain, a foreign
// Secret is removed): controller-runtime retries it with exponential backoff.
func retrying(reason string, format string, args ...any) error {
	return &stepError{reason: reason, err: fmt.Errorf(format, args...)}
}

// cognitoFailed classifies an error from a Cognito call, naming the call.
func cognitoFailed(op string, err error) error {
	switch {
	case cognito.IsThrottled(err):
		return &stepError{reason: v1alpha1.ReasonThrottled, err: fmt.Errorf("%s: throttled by Cognito, backing off: %w", op, err)}
	case cognito.IsInvalidParameter(err):
		return &stepError{reason: v1alpha1.ReasonInvalidSpec, terminal: true, err: fmt.Errorf("%s: Cognito refused the request: %w", op, err)}
	}
	return &stepError{reason: v1alpha1.ReasonCognitoError, err: fmt.Errorf("%s: %w", op, err)}
}

// finish ends a reconcile pass: it sets the kstatus conditions from the pass's
// outcome, records the generation when the pass ended Ready or Stalled, emits an
// event when Ready changed from before, and returns what controller-runtime should
// do next. It is the only place conditions are computed, so every path of every
// reconciler reports the same way. The caller writes the status.
func finish(rec events.EventRecorder, obj conditioned, before []metav1.Condition, res ctrl.Result, err error, readyMessage string) (ctrl.Result, error) {
	res, err = setConditions(obj, res, err, readyMessage)
	conds := *obj.GetConditions()
	if apimeta.IsStatusConditionTrue(conds, v1alpha1.ConditionReady) || apimeta.IsStatusConditionTrue(conds, v1alpha1.ConditionStalled) {
		obj.SetObservedGeneration(obj.GetGeneration())
	}
	readyTransition(rec, obj, before)
	return res, err
}

func setConditions(obj conditioned, res ctrl.Result, err error, readyMessage string) (ctrl.Result, error) {
	conds := obj.GetConditions()
	gen := obj.GetGeneration()
	set := func(t string, s metav1.ConditionStatus, reason, msg string) {
		apimeta.SetStatusCondition(conds, metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: gen})
	}
	var se *stepError
	switch {
	case err == nil:
		set(v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReconciled, readyMessage)
		apimeta.RemoveStatusCondition(conds, v1alpha1.ConditionReconciling)
		apimeta.RemoveStatusCondition(conds, v1alpha1.ConditionStalled)
		return res, nil
	case errors.As(err, &se) && se.terminal:
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, se.reason, err.Error())
		set(v1alpha1.ConditionStalled, metav1.ConditionTrue, se.reason, err.Error())
		apimeta.RemoveStatusCondition(conds, v1alpha1.ConditionReconciling)
		return ctrl.Result{}, reconcile.TerminalError(err)
	case errors.As(err, &se) && se.waiting:
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, se.reason, err.Error())
		set(v1alpha1.ConditionReconciling, metav1.ConditionTrue, se.reason, err.Error())
		apimeta.RemoveStatusCondition(conds, v1alpha1.ConditionStalled)
		return res, nil
	default:
		reason := v1alpha1.ReasonProgressing
		if se != nil {
			reason = se.reason
		}
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, reason, err.Error())
		set(v1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, err.Error())
		apimeta.RemoveStatusCondition(conds, v1alpha1.ConditionStalled)
		return ctrl.Result{}, err
	}
}

// patchStatus writes the status once, as a merge patch from the object as it was
// read, and ignores a deleted object.
func patchStatus(ctx context.Context, c client.Client, obj, base client.Object) error {
	err := c.Status().Patch(ctx, obj, client.MergeFrom(base))
	return client.IgnoreNotFound(err)
}

// readyTransition records an event when Ready changed, with the condition's reason:
// events on transitions only, so a steady state is silent.
func readyTransition(rec events.EventRecorder, obj conditioned, before []metav1.Condition) {
	now := apimeta.FindStatusCondition(*obj.GetConditions(), v1alpha1.ConditionReady)
	was := apimeta.FindStatusCondition(before, v1alpha1.ConditionReady)
	if now == nil || rec == nil {
		return
	}
	if was != nil && was.Status == now.Status && was.Reason == now.Reason {
		return
	}
	typ := corev1.EventTypeNormal
	if now.Status != metav1.ConditionTrue {
		typ = corev1.EventTypeWarning
	}
	rec.Eventf(obj, nil, typ, now.Reason, "Reconcile", "%s", now.Message)
}

// event records a Normal event whose reason is also its action, for the steps a
// reconciler took (created, updated, deleted, rotated...).
func (o *Options) event(obj client.Object, reason, format string, args ...any) {
	if o.Recorder != nil {
		o.Recorder.Eventf(obj, nil, corev1.EventTypeNormal, reason, reason, format, args...)
	}
}

// jittered is period plus up to 10% so that objects created together do not all
// call Cognito in the same second afterwards.
func jittered(period time.Duration) time.Duration {
	return period + time.Duration(rand.Int64N(int64(period)/10+1))
}
