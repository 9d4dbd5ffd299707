package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CacheOptions is what the manager caches. Secrets are watched as metadata only and
// only with the operator's label: any tenant can put that label on its own Secrets,
// so caching their data would let a tenant grow the operator's memory without bound.
// With watchNamespaces, every namespaced object is watched in those namespaces only
// (a namespace-scoped install).
func CacheOptions(watchNamespaces []string) cache.Options {
	opts := cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {Label: labels.SelectorFromSet(labels.Set{ManagedByLabel: ManagedByValue})},
		},
		DefaultTransform: cache.TransformStripManagedFields(),
	}
	if len(watchNamespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range watchNamespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}

// ClientOptions makes the manager's client read Secrets from the API server, never
// from a cache: a read through a cache would start a full-data Secret informer.
func ClientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}}
}
