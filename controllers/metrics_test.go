package controllers_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// secretAgeSeries lists the client ids of an object's series in the registry that
// /metrics serves.
func secretAgeSeries(t *testing.T, ns, name string) []string {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range families {
		if f.GetName() != "cognito_m2m_client_secret_created_timestamp_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] == ns && labels["name"] == name {
				ids = append(ids, labels["client_id"])
			}
		}
	}
	slices.Sort(ids)
	return ids
}

func wantSeries(t *testing.T, ns, name string, want ...string) {
	t.Helper()
	eventually(t, 20*time.Second, func() error {
		if got := secretAgeSeries(t, ns, name); !slices.Equal(got, want) {
			return fmt.Errorf("series of %s/%s have client ids %v, want %v", ns, name, got, want)
		}
		return nil
	})
}

// An object's series go with its app client (a client recreated under a new id
// leaves no series behind) and with the object, also when its finalizer was removed
// so that the deletion pass never runs.
func TestSecretAgeSeriesGoWithTheirClientAndObject(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	readyPair(t, e)
	c := rotatingClient(e.ns, "metered", time.Minute)
	mustCreate(t, c)
	waitReady(t, c)
	first := c.Status.ClientID
	wantSeries(t, e.ns, c.Name, first)

	if _, err := cognitoClient().DeleteUserPoolClient(ctx, &cip.DeleteUserPoolClientInput{
		UserPoolId: aws.String(e.pool), ClientId: aws.String(first),
	}); err != nil {
		t.Fatal(err)
	}
	var second string
	eventually(t, 20*time.Second, func() error {
		if err := k8s.Get(ctx, keyOf(c), c); err != nil {
			return err
		}
		if second = c.Status.ClientID; second == first || second == "" {
			return fmt.Errorf("client id still %q", second)
		}
		return nil
	})
	wantSeries(t, e.ns, c.Name, second)

	// The tenant removes the finalizer and deletes the object: the manager sees
	// only that it is gone. The delete is conditional on the version without the
	// finalizer, so that a pass putting it back in between cannot run the deletion
	// pass after all.
	eventually(t, 20*time.Second, func() error {
		if err := k8s.Get(ctx, keyOf(c), c); err != nil {
			return err
		}
		patch := client.MergeFromWithOptions(c.DeepCopy(), client.MergeFromWithOptimisticLock{})
		c.Finalizers = slices.DeleteFunc(c.Finalizers, func(f string) bool { return f == v1alpha1.Finalizer })
		if err := k8s.Patch(ctx, c, patch); err != nil {
			return err
		}
		err := k8s.Delete(ctx, c, client.Preconditions{ResourceVersion: &c.ResourceVersion})
		if err != nil {
			return errors.Join(errors.New("deleting without the finalizer"), err)
		}
		return nil
	})
	waitGone(t, c)
	wantSeries(t, e.ns, c.Name)
}
