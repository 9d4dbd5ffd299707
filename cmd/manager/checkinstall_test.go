package main

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
)

func TestInstallReady(t *testing.T) {
	crd := func(name, established string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{}}
		u.SetName(name)
		if established != "" {
			_ = unstructured.SetNestedSlice(u.Object, []any{
				map[string]any{"type": "NamesAccepted", "status": "True"},
				map[string]any{"type": "Established", "status": established},
			}, "status", "conditions")
		}
		return u
	}
	dep := func(gen, observed int64, replicas, updated, ready, available int32) *appsv1.Deployment {
		d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas)}}
		d.Name, d.Generation = "op", gen
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: observed, UpdatedReplicas: updated, ReadyReplicas: ready, AvailableReplicas: available}
		return d
	}
	good := []*unstructured.Unstructured{crd("a", "True"), crd("b", "True")}
	for _, tc := range []struct {
		name string
		crds []*unstructured.Unstructured
		dep  *appsv1.Deployment
		want string // "" for ready, else a part of the error
	}{
		{"ready", good, dep(2, 2, 1, 1, 1, 1), ""},
		{"two replicas, one ready", good, dep(2, 2, 2, 2, 1, 1), ""},
		{"CRD not established", []*unstructured.Unstructured{crd("a", "True"), crd("b", "False")}, dep(2, 2, 1, 1, 1, 1), "CRD b is not Established"},
		{"CRD without status", []*unstructured.Unstructured{crd("a", ""), crd("b", "True")}, dep(2, 2, 1, 1, 1, 1), "CRD a is not Established"},
		{"new spec not observed", good, dep(3, 2, 1, 1, 1, 1), "generation 3 not yet observed"},
		{"rollout under way", good, dep(3, 3, 2, 1, 2, 2), "1 of 2 pods run the current spec"},
		{"pod not ready", good, dep(1, 1, 1, 1, 0, 0), "no ready pod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := installReady(tc.crds, tc.dep)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("want ready, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
