package controllers

import (
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

func tenantSecret() *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Name: "s", Namespace: "team-a", UID: "u1", ResourceVersion: "42",
		Labels:      map[string]string{ManagedByLabel: ManagedByValue, "big": strings.Repeat("x", 63)},
		Annotations: map[string]string{"filler": strings.Repeat("x", 200<<10)},
		Finalizers:  []string{"example.com/a", "example.com/b"},
		OwnerReferences: []metav1.OwnerReference{
			{APIVersion: "v1", Kind: "ConfigMap", Name: "other", UID: "u2"},
			{APIVersion: v1alpha1.GroupVersion.String(), Kind: "M2MClient", Name: "c", UID: "u3", Controller: ptr.To(true)},
		},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
	}}
}

// A cached Secret keeps what the operator reads, and nothing a tenant can grow.
func TestSecretMetadataKeepsOnlyWhatTheOperatorReads(t *testing.T) {
	out, err := secretMetadata(tenantSecret())
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*metav1.PartialObjectMetadata)
	want := metav1.ObjectMeta{
		Name: "s", Namespace: "team-a", UID: "u1", ResourceVersion: "42",
		Labels: map[string]string{ManagedByLabel: ManagedByValue},
		OwnerReferences: []metav1.OwnerReference{
			{APIVersion: v1alpha1.GroupVersion.String(), Kind: "M2MClient", Name: "c", UID: "u3", Controller: ptr.To(true)},
		},
	}
	if !reflect.DeepEqual(got.ObjectMeta, want) {
		t.Errorf("cached metadata\n%+v\nwant\n%+v", got.ObjectMeta, want)
	}
	if !metav1.IsControlledBy(got, &metav1.ObjectMeta{UID: "u3"}) {
		t.Error("the controller reference was lost")
	}
	// client-go may transform an object twice; the result must not change.
	again, _ := secretMetadata(got.DeepCopy())
	if !reflect.DeepEqual(again.(*metav1.PartialObjectMetadata).ObjectMeta, want) {
		t.Errorf("a second transform changed the metadata: %+v", again)
	}
	// A tombstone passes unchanged.
	if out, err := secretMetadata("tombstone"); err != nil || out != "tombstone" {
		t.Errorf("tombstone: %v, %v", out, err)
	}
}

// A cached M2MClient keeps its finalizers (the finalizer patch carries the whole
// list) and its rotate request, in a bounded form, and loses everything else of
// its labels and annotations.
func TestTenantObjectMetadata(t *testing.T) {
	long := strings.Repeat("r", 300<<10)
	for name, tc := range map[string]struct{ request, want string }{
		"short request": {"2026-12-02T17:00:00Z", "2026-12-02T17:00:00Z"},
		"long request":  {long, rotateRequestValue(long)},
		"no request":    {"", ""},
	} {
		t.Run(name, func(t *testing.T) {
			c := &v1alpha1.M2MClient{ObjectMeta: metav1.ObjectMeta{
				Name: "c", Namespace: "team-a", Finalizers: []string{v1alpha1.Finalizer, "example.com/keep"},
				Labels:        map[string]string{"team": "a"},
				Annotations:   map[string]string{"kubectl.kubernetes.io/last-applied-configuration": strings.Repeat("x", 100<<10)},
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
			}}
			if tc.request != "" {
				c.Annotations[v1alpha1.RotateAnnotation] = tc.request
			}
			out, _ := tenantObjectMetadata(c)
			got := out.(*v1alpha1.M2MClient)
			var want map[string]string
			if tc.want != "" {
				want = map[string]string{v1alpha1.RotateAnnotation: tc.want}
			}
			if !reflect.DeepEqual(got.Annotations, want) || got.Labels != nil || got.ManagedFields != nil {
				t.Errorf("annotations %v, labels %v, managedFields %v; want annotations %v and nothing else", got.Annotations, got.Labels, got.ManagedFields, want)
			}
			if !reflect.DeepEqual(got.Finalizers, []string{v1alpha1.Finalizer, "example.com/keep"}) {
				t.Errorf("finalizers %v were changed", got.Finalizers)
			}
			// The reconciler reads the same request from the cache and from the API server.
			raw := &v1alpha1.M2MClient{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{v1alpha1.RotateAnnotation: tc.request}}}
			if rotateRequest(got) != rotateRequest(raw) || rotateRequest(got) != tc.want {
				t.Errorf("request from the cache %q, from the API server %q, want %q", rotateRequest(got), rotateRequest(raw), tc.want)
			}
		})
	}
	if d := rotateRequestValue(long); len(d) > maxRotateRequest || rotateRequestValue(d) != d {
		t.Errorf("digest %q is not a fixed point under the limit", d)
	}
}
