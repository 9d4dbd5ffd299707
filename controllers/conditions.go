package controllers

import (
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// conditioned is a reconciled object whose status holds kstatus conditions.
type conditioned interface {
	client.Object
	GetConditions() *[]metav1.Condition
	SetObservedGeneration(int64)
}

// finish ends a reconcile pass: it sets the kstatus conditions from the pass's
// outcome, records the generation when the pass ended Ready or Stalled, emits an
// event when Ready changed from before, and returns what controller-runtime should
// do next. It is the only place conditions are computed, so every path of every
// reconciler reports the same way. The caller writes the status.
// staleCopy reports whether a pass failed because it worked from an older copy
// of an object than the API server holds (a write was refused with a
// conflict). Nothing the pass concluded then holds, conditions included:
// writing them would put an older view over a newer status, so the pass ends
// quietly and runs again from the newer copy (see afterStaleCopy).
func staleCopy(err error) bool { return apierrors.IsConflict(err) }

// afterStaleCopy is the result of a pass that found its copy stale: no error,
// which would be logged and backed off as a failure, and another pass soon;
// the watch usually brings the newer copy before then.
func afterStaleCopy() (ctrl.Result, error) { return ctrl.Result{RequeueAfter: staleCopyRetry}, nil }

const staleCopyRetry = 500 * time.Millisecond

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
	if err == nil {
		set(v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReconciled, readyMessage)
		apimeta.RemoveStatusCondition(conds, v1alpha1.ConditionReconciling)
		apimeta.RemoveStatusCondition(conds, v1alpha1.ConditionStalled)
		return res, nil
	}
	reason, kind := classify(err)
	switch kind {
	case kindStalled:
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, reason, err.Error())
		set(v1alpha1.ConditionStalled, metav1.ConditionTrue, reason, err.Error())
		apimeta.RemoveStatusCondition(conds, v1alpha1.ConditionReconciling)
		return ctrl.Result{}, reconcile.TerminalError(err)
	case kindWaiting:
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, reason, err.Error())
		set(v1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, err.Error())
		apimeta.RemoveStatusCondition(conds, v1alpha1.ConditionStalled)
		return res, nil
	default:
		// A transient failure (throttling, a 5xx) of a check on an object that is
		// Ready for this generation changes nothing that works: Ready stays True,
		// Reconciling says what is being retried. Flapping Ready would page people
		// and cost a status write and an event per throttled check.
		if ready := apimeta.FindStatusCondition(*conds, v1alpha1.ConditionReady); ready == nil || ready.Status != metav1.ConditionTrue || ready.ObservedGeneration != gen {
			set(v1alpha1.ConditionReady, metav1.ConditionFalse, reason, err.Error())
		}
		set(v1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, err.Error())
		apimeta.RemoveStatusCondition(conds, v1alpha1.ConditionStalled)
		return ctrl.Result{}, err
	}
}
