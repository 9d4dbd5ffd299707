package controllers

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cognitotypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/cognito"
)

// A create from a cached copy older than the object the API server holds (here:
// older than the client id an earlier pass recorded) ends as a stale copy at its
// create-pending mark, before any Cognito call, and writes nothing; the newest
// copy goes on to create. The API server is a fake, and so is Cognito: it counts
// the creates that reach it and refuses them.
func TestCreateNeedsTheNewestCopy(t *testing.T) {
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

	// An earlier pass recorded the app client it made.
	obj.Status.ClientID = "first"
	if err := c.Status().Update(ctx, obj); err != nil {
		t.Fatal(err)
	}
	_, err := r.create(ctx, stale, newStatusWriter(c, stale), "pool", want)
	if !staleCopy(err) {
		t.Fatalf("a create from a copy older than the API server's got %v, want a stale-copy conflict", err)
	}
	if api.creates != 0 {
		t.Errorf("a create from a stale copy sent %d CreateUserPoolClient calls, want 0", api.creates)
	}
	held := &v1alpha1.M2MClient{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), held); err != nil {
		t.Fatal(err)
	}
	if held.Status.CreatePendingSince != nil || held.Status.ClientID != "first" {
		t.Errorf("the refused create wrote status: create-pending %v, client id %q", held.Status.CreatePendingSince, held.Status.ClientID)
	}

	// The newest copy gets as far as Cognito.
	if _, err := r.create(ctx, held, newStatusWriter(c, held), "pool", want); staleCopy(err) || api.creates != 1 {
		t.Errorf("a create from the API server's copy got %v after %d creates, want Cognito's refusal after 1", err, api.creates)
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
