package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The CRDs the operator serves; check-install waits for both.
var operatorCRDs = []string{"resourceservers.cognito.m2m.dev", "m2mclients.cognito.m2m.dev"}

// checkInstallMain is `manager check-install`, the chart's `helm test`: it
// waits until the project's CRDs are established and the operator's
// Deployment has a ready pod of its current spec, and exits non-zero with
// what is missing when the timeout passes. It runs from the operator's own
// image, so the test needs no other image (air-gapped clusters included).
func checkInstallMain(args []string) int {
	fs := flag.NewFlagSet("check-install", flag.ContinueOnError)
	namespace := fs.String("namespace", "", "namespace of the operator's Deployment")
	deployment := fs.String("deployment", "", "name of the operator's Deployment")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait for the installation to be ready")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *namespace == "" || *deployment == "" {
		fmt.Fprintln(os.Stderr, "check-install: --namespace and --deployment are required")
		return 2
	}
	cfg, err := ctrl.GetConfig()
	if err == nil {
		var c client.Client
		if c, err = client.New(cfg, client.Options{}); err == nil {
			err = waitInstalled(context.Background(), c, *namespace, *deployment, *timeout)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "check-install: %v\n", err)
		return 1
	}
	fmt.Printf("check-install: CRDs %v established; Deployment %s/%s ready\n", operatorCRDs, *namespace, *deployment)
	return 0
}

// waitInstalled polls installReady until it passes or timeout passes.
func waitInstalled(ctx context.Context, c client.Reader, namespace, deployment string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := installState(ctx, c, namespace, deployment)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w", timeout, err)
		case <-time.After(2 * time.Second):
		}
	}
}

// installState reads the CRDs and the Deployment and judges them.
func installState(ctx context.Context, c client.Reader, namespace, deployment string) error {
	var crds []*unstructured.Unstructured
	for _, name := range operatorCRDs {
		crd := &unstructured.Unstructured{}
		crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
		if err := c.Get(ctx, types.NamespacedName{Name: name}, crd); err != nil {
			return fmt.Errorf("reading CRD %s: %w", name, err)
		}
		crds = append(crds, crd)
	}
	dep := &appsv1.Deployment{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: deployment}, dep); err != nil {
		return fmt.Errorf("reading Deployment %s/%s: %w", namespace, deployment, err)
	}
	return installReady(crds, dep)
}

// installReady is nil when every CRD is Established and the Deployment has
// rolled out its current spec with at least one ready pod; else an error
// naming what is not yet so.
func installReady(crds []*unstructured.Unstructured, dep *appsv1.Deployment) error {
	var errs []error
	for _, crd := range crds {
		if !crdEstablished(crd) {
			errs = append(errs, fmt.Errorf("CRD %s is not Established", crd.GetName()))
		}
	}
	want := int32(1)
	if dep.Spec.Replicas != nil {
		want = *dep.Spec.Replicas
	}
	st := dep.Status
	switch {
	case st.ObservedGeneration < dep.Generation:
		errs = append(errs, fmt.Errorf("Deployment %s: generation %d not yet observed", dep.Name, dep.Generation))
	case st.UpdatedReplicas < want:
		errs = append(errs, fmt.Errorf("Deployment %s: %d of %d pods run the current spec", dep.Name, st.UpdatedReplicas, want))
	case st.ReadyReplicas < 1 || st.AvailableReplicas < 1:
		errs = append(errs, fmt.Errorf("Deployment %s: no ready pod (its readiness waits for the informers' caches)", dep.Name))
	}
	return errors.Join(errs...)
}

func crdEstablished(crd *unstructured.Unstructured) bool {
	raw, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	var conds []metav1.Condition
	for _, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		t, _ := m["type"].(string)
		s, _ := m["status"].(string)
		conds = append(conds, metav1.Condition{Type: t, Status: metav1.ConditionStatus(s)})
	}
	return apimeta.IsStatusConditionTrue(conds, "Established")
}
