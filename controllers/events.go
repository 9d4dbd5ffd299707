package controllers

import (
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

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
