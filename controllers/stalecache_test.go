package controllers_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// preMarkCache serves, once armed, an M2MClient as the API server held it right
// after the operator added its finalizer and before any status write: the
// create-pending mark, the app client's id and Ready all missing. A manager's
// cache holds that copy while its watch has not yet brought the first pass's
// later writes, and a second pass of the object (woken by any event) can start
// from it.
type preMarkCache struct {
	client.Client
	mu     sync.Mutex
	copies map[client.ObjectKey]*v1alpha1.M2MClient // as the finalizer write left it
	armed  map[client.ObjectKey]bool
	served map[client.ObjectKey]int
}

func (p *preMarkCache) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	if err := p.Client.Patch(ctx, obj, patch, opts...); err != nil {
		return err
	}
	if c, ok := obj.(*v1alpha1.M2MClient); ok && controllerutil.ContainsFinalizer(c, v1alpha1.Finalizer) &&
		c.Status.ClientID == "" && c.Status.CreatePendingSince == nil {
		p.mu.Lock()
		p.copies[client.ObjectKeyFromObject(c)] = c.DeepCopy()
		p.mu.Unlock()
	}
	return nil
}

func (p *preMarkCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := p.Client.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	c, ok := obj.(*v1alpha1.M2MClient)
	if !ok {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.copies[key]; old != nil && p.armed[key] {
		old.DeepCopyInto(c)
		p.armed[key] = false
		p.served[key]++
	}
	return nil
}

func (p *preMarkCache) arm(key client.ObjectKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed[key] = true
}

func (p *preMarkCache) servedCount(key client.ObjectKey) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.served[key]
}

func withPreMarkCache(p *preMarkCache) envOption {
	return func(e *testEnv) {
		e.wrapClient = func(c client.Client) client.Client {
			p.Client = c
			return p
		}
	}
}

// A pass that starts from a cached copy older than the create-pending mark the
// operator wrote (the cache lags behind the operator's own writes) must not
// create a second app client for the object: the operator knows it wrote the
// mark, and reads the object from the API server instead.
func TestCreationFromACopyBeforeTheMark(t *testing.T) {
	p := &preMarkCache{copies: map[client.ObjectKey]*v1alpha1.M2MClient{}, armed: map[client.ObjectKey]bool{}, served: map[client.ObjectKey]int{}}
	e := newEnv(t, withPreMarkCache(p))
	readyPair(t, e)
	c := newClient(e.ns, "premark", "weather", "read")
	mustCreate(t, c)
	waitReady(t, c)
	id := c.Status.ClientID
	if ids := clientsNamed(t, e.pool, e.ns+"-"+c.Name); len(ids) != 1 {
		t.Fatalf("Cognito has %d app clients before the stale pass, want 1", len(ids))
	}

	// The next pass reads the copy from before the mark; an annotation wakes it.
	p.arm(keyOf(c))
	patch := client.MergeFrom(c.DeepCopy())
	c.Annotations = map[string]string{"example.com/touched": "yes"}
	if err := k8s.Patch(context.Background(), c, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error {
		if p.servedCount(keyOf(c)) == 0 {
			return errors.New("no pass has read the stale copy yet")
		}
		return nil
	})
	time.Sleep(3 * time.Second) // the stale pass ends; any duplicate shows

	if ids := clientsNamed(t, e.pool, e.ns+"-"+c.Name); len(ids) != 1 {
		t.Errorf("Cognito has %d app clients for one M2MClient after a pass from a stale copy, want 1: %v", len(ids), ids)
	}
	if err := k8s.Get(context.Background(), keyOf(c), c); err != nil {
		t.Fatal(err)
	}
	if c.Status.ClientID != id {
		t.Errorf("status.clientId changed from %s to %s after a pass from a stale copy", id, c.Status.ClientID)
	}
}
