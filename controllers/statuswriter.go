package controllers

import (
	"context"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// statusWriter writes an object's status as merge patches, each from the state last
// written, so that a mid-pass write (a create-pending mark) and the final write each
// send only what changed since, and a pass that changed nothing sends nothing.
type statusWriter struct {
	c       client.Client
	obj     conditioned
	initial []metav1.Condition // as read, for the Ready-transition event
	base    client.Object
}

func newStatusWriter(c client.Client, obj conditioned) *statusWriter {
	return &statusWriter{c: c, obj: obj, initial: slices.Clone(*obj.GetConditions()), base: obj.DeepCopyObject().(client.Object)}
}

// patch writes what changed since the last write, if anything; a deleted object is
// no error.
func (w *statusWriter) patch(ctx context.Context) error {
	p := client.MergeFrom(w.base)
	data, err := p.Data(w.obj)
	if err != nil {
		return fmt.Errorf("computing the status patch: %w", err)
	}
	if string(data) == "{}" {
		return nil
	}
	if err := w.c.Status().Patch(ctx, w.obj, p); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("writing the status: %w", err)
	}
	w.base = w.obj.DeepCopyObject().(client.Object)
	return nil
}
