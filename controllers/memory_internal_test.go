package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clienttesting "k8s.io/client-go/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/cognito"
)

// A manager with churn remembers only the objects that live: 10,000 M2MClients
// come, each with a Secret written and a check recorded, and go: one in ten
// through its deletion pass here, the others without one (their finalizer
// removed by someone else, or released by another manager while this one was
// down), so that this manager only sees them gone. The reconcile entry point
// forgets each, and nothing is left. The API server is a fake: what is under test
// is the frame's bookkeeping, not the API server.
func TestMemoryForgetsDeletedObjects(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	// A plain object tracker: the default one's field management costs
	// milliseconds a write, and managed fields play no part here.
	tracker := clienttesting.NewObjectTracker(scheme, serializer.NewCodecFactory(scheme).UniversalDecoder())
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjectTracker(tracker).WithStatusSubresource(&v1alpha1.M2MClient{}).Build()
	r := newM2MClientReconciler(newShared(c, c, Config{Tenancy: Tenancy{DefaultUserPoolID: "pool"}}, Deps{}, cognito.NewClient(nil, nil)))
	ctx := context.Background()
	const n = 10000
	start := time.Now()
	for i := range n {
		obj := &v1alpha1.M2MClient{ObjectMeta: metav1.ObjectMeta{
			Namespace: fmt.Sprintf("ns-%d", i%7), Name: fmt.Sprintf("client-%d", i),
		}}
		finalizerPass := i%10 == 0
		if finalizerPass {
			obj.Finalizers = []string{v1alpha1.Finalizer}
		}
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
		// What a pass leaves behind: the Secret it wrote, the check it made.
		if _, err := r.writeSecret(ctx, obj, obj.SecretName(), map[string][]byte{"client_id": []byte("x")}); err != nil {
			t.Fatal(err)
		}
		r.memory.setChecked(obj, time.Now())
		if i == 0 && r.memory.len() != 1 {
			t.Fatalf("a pass's Secret write and check left %d entries, want 1", r.memory.len())
		}
		if err := c.Delete(ctx, obj); err != nil {
			t.Fatal(err)
		}
		key := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name}
		if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key}); err != nil {
			t.Fatalf("pass after deleting %s: %v", key, err)
		}
		if err := c.Get(ctx, key, &v1alpha1.M2MClient{}); err == nil {
			t.Fatalf("%s is still there after its deletion pass", key)
		}
	}
	if got := r.memory.len(); got != 0 {
		t.Errorf("after %d M2MClients came and went, %d are remembered, want 0", n, got)
	}
	t.Logf("%d objects created and deleted in %s", n, time.Since(start).Round(time.Millisecond))
}
