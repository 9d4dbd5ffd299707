package controllers_test

import (
	"context"
	"fmt"
	"testing"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// A tenant fills the pool's 25 resource servers. Another team's ResourceServer is
// refused by Cognito (LimitExceededException): it is retried, not Stalled, and
// becomes Ready by itself once the tenant frees room.
func TestFullPoolIsRetriedNotStalled(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := newTenant(t, e.ns+"-tenant")
	var filler []*v1alpha1.ResourceServer
	for i := range 25 {
		rs := newRS(tn.ns, fmt.Sprintf("fill-%d", i), fmt.Sprintf("fill-%d-%s", i, e.ns), "read")
		tn.create(t, rs)
		filler = append(filler, rs)
	}
	for _, rs := range filler {
		waitReady(t, rs)
	}
	victim := newRS(e.ns, "weather", "weather-"+e.ns, "read")
	mustCreate(t, victim)
	waitCondition(t, victim, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonLimitExceeded)
	if c := apimeta.FindStatusCondition(victim.Status.Conditions, v1alpha1.ConditionStalled); c != nil {
		t.Errorf("a full pool stalled the object: %s: %s", c.Reason, c.Message)
	}
	if err := tn.c.Delete(ctx, filler[0]); err != nil {
		t.Fatal(err)
	}
	waitGone(t, filler[0])
	waitReady(t, victim)
}
