package controllers

import (
	"crypto/sha256"
	"encoding/hex"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// CacheOptions is what the manager caches. Tenants write the objects it caches, so
// each kind keeps only what the operator reads, and a tenant cannot grow the
// operator's memory by storing more in them than the CRDs allow:
//   - Secrets are watched as metadata only and only with the operator's label (any
//     tenant can put that label on its own Secrets), and of their metadata only
//     what tells the operator's own writes and owner apart (secretMetadata).
//   - M2MClients and ResourceServers lose their labels and annotations, but for
//     the rotate annotation (tenantObjectMetadata); their specs are bounded by
//     the CRDs.
//   - Everything loses managedFields.
//
// With watchNamespaces, every namespaced object is watched in those namespaces only
// (a namespace-scoped install).
func CacheOptions(watchNamespaces []string) cache.Options {
	opts := cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {
				Label:     labels.SelectorFromSet(labels.Set{ManagedByLabel: ManagedByValue}),
				Transform: secretMetadata,
			},
			&v1alpha1.M2MClient{}:      {Transform: tenantObjectMetadata},
			&v1alpha1.ResourceServer{}: {Transform: tenantObjectMetadata},
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

// secretMetadata keeps of a cached Secret only what the operator reads from the
// cache: its name, resourceVersion (to tell its own writes) and controller
// reference (to map an event to its M2MClient and to refuse a Secret it does not
// control), and the label it is selected by. Annotations, other labels, other
// owner references and finalizers are dropped: a tenant can put any amount of them
// on a Secret carrying the operator's label. Full Secrets are read from the API
// server (ClientOptions), never from this cache.
var secretMetadata toolscache.TransformFunc = func(in any) (any, error) {
	o, err := meta.Accessor(in)
	if err != nil {
		return in, nil // a tombstone: it is only deleted from the cache
	}
	o.SetManagedFields(nil)
	o.SetAnnotations(nil)
	o.SetFinalizers(nil)
	if o.GetLabels()[ManagedByLabel] == ManagedByValue {
		o.SetLabels(map[string]string{ManagedByLabel: ManagedByValue})
	} else {
		o.SetLabels(nil)
	}
	var owners []metav1.OwnerReference
	for _, ref := range o.GetOwnerReferences() {
		if ref.Controller != nil && *ref.Controller {
			owners = append(owners, ref)
			break
		}
	}
	o.SetOwnerReferences(owners)
	return in, nil
}

// tenantObjectMetadata drops the labels and annotations of a cached M2MClient or
// ResourceServer, but for the rotate annotation (in the form rotateRequest reads
// it), and its managedFields. Finalizers stay: the operator's finalizer patches
// carry the whole list.
var tenantObjectMetadata toolscache.TransformFunc = func(in any) (any, error) {
	o, err := meta.Accessor(in)
	if err != nil {
		return in, nil
	}
	o.SetManagedFields(nil)
	o.SetLabels(nil)
	if v, ok := o.GetAnnotations()[v1alpha1.RotateAnnotation]; ok {
		o.SetAnnotations(map[string]string{v1alpha1.RotateAnnotation: rotateRequestValue(v)})
	} else {
		o.SetAnnotations(nil)
	}
	return in, nil
}

// maxRotateRequest is the longest rotate annotation value kept as it is; a longer
// one is replaced by its digest, in the cache and in status.rotation.lastRequest,
// so that a tenant cannot store an annotation's 256 KiB in either. The digest is
// shorter than the limit, so that reading a digested value again gives the same
// value.
const maxRotateRequest = 128

// rotateRequest is the object's request for a rotation: the rotate annotation's
// value, or its digest when it is long.
func rotateRequest(obj *v1alpha1.M2MClient) string {
	return rotateRequestValue(obj.Annotations[v1alpha1.RotateAnnotation])
}

func rotateRequestValue(v string) string {
	if len(v) <= maxRotateRequest {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return "sha256:" + hex.EncodeToString(sum[:])
}
