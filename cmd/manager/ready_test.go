package main

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/cognito-m2m/operator/internal/kubetest"
)

// TestReadyOnlyAfterTheCacheSynced runs the readiness check against a real
// informer cache on a real API server (kubetest): it
// fails while the cache has not started, and passes once it has synced.
func TestReadyOnlyAfterTheCacheSynced(t *testing.T) {
	cfg, _ := kubetest.Start(t, false)
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(cfg, cache.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// An informer as a controller's watch makes one.
	if _, err := c.GetInformer(ctx, &corev1.Secret{}, cache.BlockUntilSynced(false)); err != nil {
		t.Fatal(err)
	}
	check := cacheSynced(c, 200*time.Millisecond)
	probe := func() error { return check(httptest.NewRequest("GET", "/readyz", nil)) }

	start := time.Now()
	if err := probe(); err == nil {
		t.Fatal("ready before the cache started")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("an unready probe took %s, want about the check's 200ms", d)
	}

	go func() { _ = c.Start(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := probe()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready 30s after the cache started: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !c.WaitForCacheSync(ctx) {
		t.Error("the check passed but the cache says it has not synced")
	}
}
