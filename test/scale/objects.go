package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// serversNamespace holds the ResourceServers; the M2MClients are in the
// granted namespaces.
const serversNamespace = "bench-servers"

// scopesPerServer is how many scopes each ResourceServer offers; client i asks
// for one of them.
const scopesPerServer = 10

func newScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, v1alpha1.AddToScheme(s)
}

func clientNamespace(i, namespaces int) string { return fmt.Sprintf("bench-%02d", i%namespaces) }

// Each cluster of a fleet run names its namespaces and resource servers with
// its own prefix: the clusters share one user pool, where identifiers and app
// client names must not collide. The single-cluster run has none.
func (f *fleet) clientNS(i int) string   { return f.prefix + clientNamespace(i, f.cfg.namespaces) }
func (f *fleet) serversNS() string       { return f.prefix + serversNamespace }
func (f *fleet) identifier(j int) string { return fmt.Sprintf("%sbench-api-%02d", f.prefix, j) }

func serverName(j int) string { return fmt.Sprintf("api-%02d", j) }

// newFleet makes a fleet for one cluster's API server: its own client and
// watch cache (not yet watching), with rc's limits raised so that the
// benchmark's client is never what limits a run.
func newFleet(cfg config, rc *rest.Config, scheme *runtime.Scheme, prefix string) (*fleet, error) {
	rc = rest.CopyConfig(rc)
	rc.QPS, rc.Burst = 500, 1000
	c, err := client.New(rc, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	ca, err := cache.New(rc, cache.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	return &fleet{cfg: cfg, prefix: prefix, c: c, cache: ca, own: counts{}, lost: counts{}, why: counts{}}, nil
}

// fleet creates, watches and deletes the benchmark's objects, and counts its
// own writes so that the report can tell them from the operator's.
type fleet struct {
	cfg    config
	prefix string // of namespaces and identifiers, in a fleet run
	c      client.Client
	// cache watches the objects: counting Ready from it costs the API server nothing.
	cache cache.Cache

	mu    sync.Mutex
	own   counts // the benchmark's own writes, keyed as apiWrites keys them
	phase string
	lost  counts // Ready=True → not Ready transitions by phase
	why   counts // … by phase and reason

	stopped chan struct{} // closed when the cache has stopped
}

// waitStopped waits up to d for the cache to stop after its context ended.
func (f *fleet) waitStopped(d time.Duration) {
	if f.stopped == nil {
		return
	}
	select {
	case <-f.stopped:
	case <-time.After(d):
	}
}

func (f *fleet) countOwn(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.own[key]++
}

func (f *fleet) ownWrites() counts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return clone(f.own)
}

func (f *fleet) setPhase(p string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.phase = p
}

// readyLost returns the transitions out of Ready seen so far, by phase, and
// by phase and reason.
func (f *fleet) readyLost() (counts, counts) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return clone(f.lost), clone(f.why)
}

func clone(c counts) counts {
	out := make(counts, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

// watch starts the cache and counts every object that leaves Ready=True.
func (f *fleet) watch(ctx context.Context) error {
	for _, obj := range []client.Object{&v1alpha1.M2MClient{}, &v1alpha1.ResourceServer{}} {
		inf, err := f.cache.GetInformer(ctx, obj)
		if err != nil {
			return err
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			UpdateFunc: func(oldObj, newObj any) {
				o, ok1 := oldObj.(client.Object)
				n, ok2 := newObj.(client.Object)
				if !ok1 || !ok2 || !readyCondition(o) || readyCondition(n) {
					return
				}
				reason := "unknown"
				if c := meta.FindStatusCondition(conditions(n), "Ready"); c != nil {
					reason = c.Reason
				}
				f.mu.Lock()
				f.lost[f.phase]++
				f.why[f.phase+" "+reason]++
				f.mu.Unlock()
			},
		}); err != nil {
			return err
		}
	}
	f.stopped = make(chan struct{})
	go func() {
		defer close(f.stopped)
		_ = f.cache.Start(ctx)
	}()
	if !f.cache.WaitForCacheSync(ctx) {
		return errors.New("the watch cache did not sync")
	}
	return nil
}

func conditions(o client.Object) []metav1.Condition {
	switch o := o.(type) {
	case *v1alpha1.M2MClient:
		return o.Status.Conditions
	case *v1alpha1.ResourceServer:
		return o.Status.Conditions
	}
	return nil
}

// readyCondition is Ready=True only.
func readyCondition(o client.Object) bool {
	return meta.IsStatusConditionTrue(conditions(o), "Ready")
}

// isReady is kstatus's Current: Ready=True for the latest generation.
func isReady(o client.Object) bool {
	var observed int64
	switch o := o.(type) {
	case *v1alpha1.M2MClient:
		observed = o.Status.ObservedGeneration
	case *v1alpha1.ResourceServer:
		observed = o.Status.ObservedGeneration
	}
	return readyCondition(o) && observed == o.GetGeneration()
}

// tally is how many objects of each kind exist and are Ready.
type tally struct {
	clients, clientsReady int
	servers, serversReady int
}

func (f *fleet) tally(ctx context.Context) (tally, error) {
	var t tally
	var err error
	if t.clients, t.clientsReady, err = f.countReady(ctx, &v1alpha1.M2MClientList{}); err != nil {
		return t, err
	}
	t.servers, t.serversReady, err = f.countReady(ctx, &v1alpha1.ResourceServerList{})
	return t, err
}

// countReady counts the objects of a kind in the cache, and those Ready.
func (f *fleet) countReady(ctx context.Context, list client.ObjectList) (all, ready int, err error) {
	if err := f.cache.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return 0, 0, err
	}
	err = meta.EachListItem(list, func(o runtime.Object) error {
		all++
		if isReady(o.(client.Object)) {
			ready++
		}
		return nil
	})
	return all, ready, err
}

// createNamespaces creates the granted namespaces and the servers' namespace.
func (f *fleet) createNamespaces(ctx context.Context) error {
	names := []string{f.serversNS()}
	for i := range f.cfg.namespaces {
		names = append(names, f.clientNS(i))
	}
	for _, n := range names {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}
		if err := f.c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating namespace %s: %w", n, err)
		}
	}
	return nil
}

// createServers creates the ResourceServers, each granting every client namespace.
func (f *fleet) createServers(ctx context.Context) error {
	var granted []string
	for i := range f.cfg.namespaces {
		granted = append(granted, f.clientNS(i))
	}
	for j := range f.cfg.servers {
		rs := &v1alpha1.ResourceServer{
			ObjectMeta: metav1.ObjectMeta{Name: serverName(j), Namespace: f.serversNS()},
			Spec: v1alpha1.ResourceServerSpec{
				Identifier:        f.identifier(j),
				Name:              fmt.Sprintf("Benchmark API %d", j),
				AllowedNamespaces: &v1alpha1.NamespaceGrant{Names: granted},
			},
		}
		for k := range scopesPerServer {
			rs.Spec.Scopes = append(rs.Spec.Scopes, v1alpha1.ResourceServerScope{
				Name: fmt.Sprintf("scope%02d", k), Description: fmt.Sprintf("Scope %d", k),
			})
		}
		if err := f.write(ctx, "resourceservers POST", func() error { return f.c.Create(ctx, rs) }); err != nil {
			return fmt.Errorf("creating ResourceServer %s: %w", rs.Name, err)
		}
	}
	return nil
}

// clientObject is the i-th M2MClient: one scope of server i mod servers.
func (f *fleet) clientObject(i int) *v1alpha1.M2MClient {
	return &v1alpha1.M2MClient{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("client-%05d", i), Namespace: f.clientNS(i)},
		Spec: v1alpha1.M2MClientSpec{
			Scopes: []v1alpha1.ScopeRequest{{
				ResourceServer: v1alpha1.ObjectReference{Name: serverName(i % f.cfg.servers), Namespace: f.serversNS()},
				Scopes:         []string{fmt.Sprintf("scope%02d", (i/f.cfg.servers)%scopesPerServer)},
			}},
		},
	}
}

// createClients creates the M2MClients, several at a time: the benchmark
// must not be what limits the operator.
func (f *fleet) createClients(ctx context.Context) error {
	return parallel(ctx, f.cfg.objects, 16, func(i int) error {
		obj := f.clientObject(i)
		if err := f.write(ctx, "m2mclients POST", func() error { return f.c.Create(ctx, obj) }); err != nil {
			return fmt.Errorf("creating M2MClient %s/%s: %w", obj.Namespace, obj.Name, err)
		}
		return nil
	})
}

// deleteClients deletes every M2MClient; the operator's finalizer then
// deletes the app clients.
func (f *fleet) deleteClients(ctx context.Context) error {
	return parallel(ctx, f.cfg.objects, 16, func(i int) error {
		obj := f.clientObject(i)
		err := f.write(ctx, "m2mclients DELETE", func() error { return f.c.Delete(ctx, obj) })
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting M2MClient %s/%s: %w", obj.Namespace, obj.Name, err)
		}
		return nil
	})
}

func (f *fleet) deleteServers(ctx context.Context) error {
	for j := range f.cfg.servers {
		rs := &v1alpha1.ResourceServer{ObjectMeta: metav1.ObjectMeta{Name: serverName(j), Namespace: f.serversNS()}}
		err := f.write(ctx, "resourceservers DELETE", func() error { return f.c.Delete(ctx, rs) })
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting ResourceServer %s: %w", rs.Name, err)
		}
	}
	return nil
}

// write sends one write, counted as the benchmark's own, retrying the
// answers that say to retry.
func (f *fleet) write(ctx context.Context, key string, do func() error) error {
	for attempt := 0; ; attempt++ {
		f.countOwn(key)
		err := do()
		if err == nil || attempt == 5 || !(apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err)) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(100+rand.IntN(400)) * time.Millisecond):
		}
	}
}

// parallel runs fn(0..n-1) on workers goroutines and returns the first error.
func parallel(ctx context.Context, n, workers int, fn func(i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					cancel(err)
				}
			}
		})
	}
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}
