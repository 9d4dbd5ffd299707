package controllers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/controllers"
)

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A tenant cannot grow the operator's memory with what it stores: labelled Secrets
// with annotations as large as Kubernetes allows, and M2MClients at the CRDs'
// bounds carrying as many annotations of their own. The in-process manager (as
// cmd/manager configures it) holds them all in its cache; its heap must grow by
// less than a quarter of what the tenant stored.
func TestManagerMemoryGrowsLessThanTenantStores(t *testing.T) {
	const (
		secrets, clients = 30, 30
		filler           = 200 << 10 // of Kubernetes' 256 KiB for an object's annotations
	)
	e := newEnv(t)
	ctx := context.Background()
	inCache := func(list client.ObjectList, want int) error {
		if err := e.mgr.GetCache().List(ctx, list, client.InNamespace(e.ns)); err != nil {
			return err
		}
		if n := len(metaItems(list)); n != want {
			return fmt.Errorf("%d of %d in the manager's cache", n, want)
		}
		return nil
	}
	secretList := func() *metav1.PartialObjectMetadataList {
		l := &metav1.PartialObjectMetadataList{}
		l.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
		return l
	}
	// The Secret informer starts with the first M2MClient; wait for it to be
	// running before the baseline, so that only the objects count.
	warm := newClient(e.ns, "warm", "absent", "read")
	mustCreate(t, warm)
	waitCondition(t, warm, v1alpha1.ConditionReady, metav1.ConditionFalse, "")
	eventually(t, 10*time.Second, func() error { return inCache(secretList(), 0) })
	time.Sleep(time.Second)
	before := heapInUse()

	var stored int
	// Each object is built, measured as the API server stores it, and dropped, so
	// that the test itself holds none of it.
	for i := range secrets {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
			Namespace: e.ns, Name: fmt.Sprintf("tenant-%d", i),
			Labels:      map[string]string{controllers.ManagedByLabel: controllers.ManagedByValue},
			Annotations: map[string]string{"example.com/filler": strings.Repeat("s", filler)},
		}}
		stored += jsonSize(t, s)
		mustCreate(t, s)
	}
	for i := range clients {
		c := newClient(e.ns, fmt.Sprintf("bounded-%d", i), "absent", "read")
		c.Annotations = map[string]string{"example.com/filler": strings.Repeat("c", filler)}
		c.Labels = map[string]string{"team": "a"}
		c.Spec.Secret.Labels = sizedMap(16, 4096)
		c.Spec.Secret.Annotations = sizedMap(16, 8192)
		stored += jsonSize(t, c)
		mustCreate(t, c)
	}
	eventually(t, 2*time.Minute, func() error { return inCache(secretList(), secrets) })
	eventually(t, 2*time.Minute, func() error { return inCache(&v1alpha1.M2MClientList{}, clients+1) })
	// Every M2MClient has been reconciled (it waits for its ResourceServer); on a
	// loaded machine, with the race detector, 31 passes can take a while.
	eventually(t, 3*time.Minute, func() error {
		var list v1alpha1.M2MClientList
		if err := k8s.List(ctx, &list, client.InNamespace(e.ns)); err != nil {
			return err
		}
		for _, c := range list.Items {
			if len(c.Status.Conditions) == 0 {
				return fmt.Errorf("%s not reconciled yet", c.Name)
			}
		}
		return nil
	})
	time.Sleep(time.Second)
	after := heapInUse()
	grown := int64(after) - int64(before)
	t.Logf("tenant stored %d Secrets and %d M2MClients, %.2f MiB as JSON; the manager's heap (with the test process) went from %.2f to %.2f MiB: %+.2f MiB, %.1f%% of what was stored",
		secrets, clients, mib(stored), mib(int(before)), mib(int(after)), float64(grown)/(1<<20), 100*float64(grown)/float64(stored))
	if grown*4 >= int64(stored) {
		t.Errorf("the heap grew by %.2f MiB for %.2f MiB stored; want less than a quarter", float64(grown)/(1<<20), mib(stored))
	}
}

func metaItems(list client.ObjectList) []any {
	switch l := list.(type) {
	case *metav1.PartialObjectMetadataList:
		out := make([]any, len(l.Items))
		for i := range l.Items {
			out[i] = &l.Items[i]
		}
		return out
	case *v1alpha1.M2MClientList:
		out := make([]any, len(l.Items))
		for i := range l.Items {
			out[i] = &l.Items[i]
		}
		return out
	}
	panic(fmt.Sprintf("unexpected list %T", list))
}

func jsonSize(t *testing.T, obj any) int {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

func mib(n int) float64 { return float64(n) / (1 << 20) }
