package controllers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/controllers"
	"github.com/cognito-m2m/operator/internal/cognito"
	"github.com/cognito-m2m/operator/internal/emulator"
)

// burstSize and fairBound are issue 17's figures: a single M2MClient in namespace
// B, created right after a burst of 300 in namespace A, is Ready within 10 s, with
// Cognito's quotas enforced (the emulator's) and the operator pacing to them.
// Served first come first, it waited for the whole burst: 300 creates at 4.8 per
// second, about a minute.
const (
	burstSize = 300
	fairBound = 10 * time.Second
)

func TestBurstDoesNotStarveAnotherNamespace(t *testing.T) {
	needSuite(t)
	emu.SetQuotas(emulator.DefaultQuotas())
	t.Cleanup(func() { emu.SetQuotas(nil) })
	e := newEnv(t, withConfig(func(o *controllers.Config) { o.Limits = cognito.DefaultLimits() }))
	ctx := context.Background()
	nsB := e.ns + "-b"
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsB}}); err != nil {
		t.Fatal(err)
	}
	rs := newRS(e.ns, "weather", "weather-"+e.ns, "read")
	rs.Spec.AllowedNamespaces = &v1alpha1.NamespaceGrant{Names: []string{nsB}}
	mustCreate(t, rs)
	waitReady(t, rs)

	// The burst's app clients are retained, so that cleaning up costs no quota.
	start := time.Now()
	for i := range burstSize {
		c := newClient(e.ns, fmt.Sprintf("burst-%03d", i), "weather", "read")
		c.Spec.DeletionPolicy = v1alpha1.DeletionPolicyRetain
		mustCreate(t, c)
	}
	created := time.Since(start)
	single := newClient(nsB, "single", "weather", "read")
	single.Spec.Scopes[0].ResourceServer.Namespace = e.ns
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), single) })
	singleStart := time.Now()
	mustCreate(t, single)

	var took time.Duration
	deadline := singleStart.Add(3 * time.Minute)
	for {
		if err := k8s.Get(ctx, keyOf(single), single); err != nil {
			t.Fatal(err)
		}
		if apimeta.IsStatusConditionTrue(single.Status.Conditions, v1alpha1.ConditionReady) {
			took = time.Since(singleStart)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("namespace B's M2MClient not Ready after %s", time.Since(singleStart))
		}
		time.Sleep(50 * time.Millisecond)
	}
	var burst v1alpha1.M2MClientList
	if err := k8s.List(ctx, &burst, inNS(e.ns)); err != nil {
		t.Fatal(err)
	}
	readyA := 0
	for _, c := range burst.Items {
		if apimeta.IsStatusConditionTrue(c.Status.Conditions, v1alpha1.ConditionReady) {
			readyA++
		}
	}
	t.Logf("burst of %d created in %s; namespace B's M2MClient Ready %s after its creation, when %d of the burst were Ready",
		burstSize, created.Round(time.Millisecond), took.Round(time.Millisecond), readyA)
	if took > fairBound {
		t.Errorf("namespace B's M2MClient took %s to be Ready behind namespace A's burst of %d; want at most %s", took.Round(time.Millisecond), burstSize, fairBound)
	}
}
