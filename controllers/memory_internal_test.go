package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cognitotypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
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

// A create from a cached copy older than the create-pending mark this manager
// wrote ends as a stale copy, before any Cognito call; the object as the API
// server holds it goes on to create. The API server is a fake (the reader the
// pass confirms its copy with), and so is Cognito: it counts the creates that
// reach it and refuses them.
func TestCreateAfterOwnMarkNeedsTheNewestCopy(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	c := fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(&v1alpha1.M2MClient{}).Build()
	api := &countingCreates{}
	r := newM2MClientReconciler(newShared(c, c, Config{Tenancy: Tenancy{DefaultUserPoolID: "pool"}}, Deps{}, cognito.NewClient(api, nil)))
	ctx := context.Background()
	obj := &v1alpha1.M2MClient{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c", UID: "uid-1"}}
	if err := c.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	stale := obj.DeepCopy() // as a lagging cache still holds it
	want := cognito.ClientSpec{Name: "ns-c", Scopes: []string{"api/read"}}

	// Until the API server's copy moves on, the cached copy is the newest.
	if err := r.confirmNewest(ctx, stale); err != nil {
		t.Fatalf("the newest copy was refused: %v", err)
	}

	// This manager marks the object and records the app client it made.
	r.memory.setMarked(obj)
	obj.Status.ClientID = "first"
	if err := c.Status().Update(ctx, obj); err != nil {
		t.Fatal(err)
	}
	_, err := r.create(ctx, stale, newStatusWriter(c, stale), "pool", want)
	if !staleCopy(err) {
		t.Fatalf("a create from a copy older than the mark got %v, want a stale-copy conflict", err)
	}
	if stale.Status.CreatePendingSince != nil {
		t.Error("the refused create wrote a create-pending mark")
	}
	if api.creates != 0 {
		t.Errorf("a create from a copy older than the mark sent %d CreateUserPoolClient calls, want 0", api.creates)
	}
	if err := r.confirmNewest(ctx, obj); err != nil {
		t.Errorf("the API server's copy was refused: %v", err)
	}

	// An entry for an earlier object of the same name counts for nothing.
	other := &v1alpha1.M2MClient{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c", UID: "uid-2"}}
	if r.memory.marked(other) {
		t.Error("a new object of the same name counts as marked")
	}
}

// countingCreates is a Cognito API that counts and refuses app client creates;
// any other call panics (the embedded API is nil).
type countingCreates struct {
	cognito.API
	creates int
}

func (a *countingCreates) CreateUserPoolClient(context.Context, *cip.CreateUserPoolClientInput, ...func(*cip.Options)) (*cip.CreateUserPoolClientOutput, error) {
	a.creates++
	return nil, &cognitotypes.InvalidParameterException{Message: aws.String("refused by the test")}
}
