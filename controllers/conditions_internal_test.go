package controllers

import (
	"errors"
	"testing"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// The conditions each kind of outcome leaves, on a fresh object and on one that was
// Ready for its generation: only a transient failure leaves Ready alone, and only on
// an object that was Ready for the generation it is at.
func TestSetConditions(t *testing.T) {
	throttled := cognitoFailed("DescribeUserPoolClient", &types.TooManyRequestsException{})
	tests := []struct {
		name        string
		wasReady    bool
		generation  int64
		err         error
		ready       metav1.ConditionStatus
		reconciling bool
		stalled     bool
		terminal    bool
		wantsRetry  bool
		readyReason string
	}{
		{name: "success", err: nil, ready: metav1.ConditionTrue, readyReason: v1alpha1.ReasonReconciled},
		{name: "stalled", err: stalled(v1alpha1.ReasonAdoptionDenied, "no"), ready: metav1.ConditionFalse, stalled: true, terminal: true, readyReason: v1alpha1.ReasonAdoptionDenied},
		{name: "waiting", err: waiting(v1alpha1.ReasonScopeNotGranted, "wait"), ready: metav1.ConditionFalse, reconciling: true, readyReason: v1alpha1.ReasonScopeNotGranted},
		{name: "throttled, never Ready", err: throttled, ready: metav1.ConditionFalse, reconciling: true, wantsRetry: true, readyReason: v1alpha1.ReasonThrottled},
		{name: "throttled while Ready keeps Ready", wasReady: true, err: throttled, ready: metav1.ConditionTrue, reconciling: true, wantsRetry: true, readyReason: v1alpha1.ReasonReconciled},
		{name: "throttled after a spec change", wasReady: true, generation: 2, err: throttled, ready: metav1.ConditionFalse, reconciling: true, wantsRetry: true, readyReason: v1alpha1.ReasonThrottled},
		{name: "unclassified error while Ready keeps Ready", wasReady: true, err: errors.New("conflict"), ready: metav1.ConditionTrue, reconciling: true, wantsRetry: true, readyReason: v1alpha1.ReasonReconciled},
		{name: "waiting while Ready turns Ready off", wasReady: true, err: waiting(v1alpha1.ReasonScopeNotGranted, "withdrawn"), ready: metav1.ConditionFalse, reconciling: true, readyReason: v1alpha1.ReasonScopeNotGranted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj := &v1alpha1.M2MClient{}
			obj.Generation = 1
			if tc.wasReady {
				apimeta.SetStatusCondition(&obj.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonReconciled, ObservedGeneration: 1})
			}
			if tc.generation != 0 {
				obj.Generation = tc.generation
			}
			_, err := setConditions(obj, ctrl.Result{}, tc.err, "ok")
			ready := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReady)
			if ready == nil || ready.Status != tc.ready || ready.Reason != tc.readyReason {
				t.Errorf("Ready = %+v, want %s/%s", ready, tc.ready, tc.readyReason)
			}
			if got := apimeta.IsStatusConditionTrue(obj.Status.Conditions, v1alpha1.ConditionReconciling); got != tc.reconciling {
				t.Errorf("Reconciling = %v, want %v", got, tc.reconciling)
			}
			if got := apimeta.IsStatusConditionTrue(obj.Status.Conditions, v1alpha1.ConditionStalled); got != tc.stalled {
				t.Errorf("Stalled = %v, want %v", got, tc.stalled)
			}
			if got := errors.Is(err, reconcile.TerminalError(nil)); got != tc.terminal {
				t.Errorf("terminal = %v, want %v (err %v)", got, tc.terminal, err)
			}
			if got := err != nil && !tc.terminal; got != tc.wantsRetry {
				t.Errorf("retried = %v, want %v", got, tc.wantsRetry)
			}
		})
	}
}
