package controllers_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// A tenant cycles objects with deletionPolicy Retain to fill the pool. The admin's
// bound (here 2 per namespace) stops it: the third Retain object is not created in
// Cognito and says why; it becomes Ready by itself once an admin deletes a retained
// server in Cognito. Objects with the Delete policy are not bounded.
func TestRetainedResourcesAreBoundedPerNamespace(t *testing.T) {
	e := newEnv(t, func(e *testEnv) {
		e.cfg.MaxRetainedPerNamespace = 2
		e.cfg.RetainedLedgerNamespace = e.ns // the operator's own namespace
	})
	ctx := context.Background()
	tn := newTenant(t, e.ns+"-tenant")

	var left []string
	for i := range 2 {
		rs := newRS(tn.ns, fmt.Sprintf("cycle-%d", i), fmt.Sprintf("cycle-%d-%s", i, e.ns), "read")
		rs.Spec.DeletionPolicy = v1alpha1.DeletionPolicyRetain
		tn.create(t, rs)
		waitReady(t, rs)
		if err := tn.c.Delete(ctx, rs); err != nil {
			t.Fatal(err)
		}
		waitGone(t, rs)
		if _, err := describeRS(t, e.pool, rs.Spec.Identifier); err != nil {
			t.Fatalf("retained server %s is gone: %v", rs.Spec.Identifier, err)
		}
		left = append(left, rs.Spec.Identifier)
	}

	third := newRS(tn.ns, "cycle-2", "cycle-2-"+e.ns, "read")
	third.Spec.DeletionPolicy = v1alpha1.DeletionPolicyRetain
	tn.create(t, third)
	waitCondition(t, third, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonRetainLimitReached)
	t.Logf("refused: %s", apimetaCondition(third.Status.Conditions, v1alpha1.ConditionReady))
	if _, err := describeRS(t, e.pool, third.Spec.Identifier); err == nil {
		t.Error("a Retain object beyond the bound was created in Cognito")
	}
	// The same tenant's Delete-policy objects are not bounded.
	plain := newRS(tn.ns, "plain", "plain-"+e.ns, "read")
	tn.create(t, plain)
	waitReady(t, plain)

	// An admin deletes a retained server in Cognito: room is freed.
	if _, err := cognitoClient().DeleteResourceServer(ctx, &cip.DeleteResourceServerInput{UserPoolId: aws.String(e.pool), Identifier: aws.String(left[0])}); err != nil {
		t.Fatal(err)
	}
	waitReady(t, third)
}
