package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/cognito"
)

// identifierIndex indexes ResourceServers by spec.identifier, to find two objects
// that would manage the same Cognito resource server.
const identifierIndex = "spec.identifier"

// ResourceServerReconciler keeps a Cognito resource server in step with each
// ResourceServer object.
type ResourceServerReconciler struct {
	client.Client
	Options *Options
}

// +kubebuilder:rbac:groups=cognito.m2m.dev,resources=resourceservers,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=cognito.m2m.dev,resources=resourceservers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=cognito.m2m.dev,resources=resourceservers/finalizers,verbs=update
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one resource server in line with its object, then schedules the
// next drift check.
func (r *ResourceServerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	rs := &v1alpha1.ResourceServer{}
	if err := r.Get(ctx, req.NamespacedName, rs); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	base := rs.DeepCopy()
	defer func() {
		res, retErr = finish(r.Options.Recorder, rs, base.Status.Conditions, res, retErr,
			fmt.Sprintf("resource server %s provides %d scopes", rs.Spec.Identifier, len(rs.Status.Scopes)))
		retErr = errors.Join(retErr, patchStatus(ctx, r.Client, rs, base))
	}()

	if !rs.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.reconcileDelete(ctx, rs)
	}
	if err := ensureFinalizer(ctx, r.Client, rs); err != nil {
		return ctrl.Result{}, err
	}
	pool, err := r.Options.userPool(rs.Spec.UserPoolID)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.checkUnique(ctx, rs, pool); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.reconcileCognito(ctx, rs, pool); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: jittered(r.Options.driftPeriod())}, nil
}

// checkUnique stalls an object whose identifier an older object in the same pool
// already manages: two objects updating one resource server would undo each other.
func (r *ResourceServerReconciler) checkUnique(ctx context.Context, rs *v1alpha1.ResourceServer, pool string) error {
	var list v1alpha1.ResourceServerList
	if err := r.List(ctx, &list, client.MatchingFields{identifierIndex: rs.Spec.Identifier}); err != nil {
		return err
	}
	for _, other := range list.Items {
		otherPool, err := r.Options.userPool(other.Spec.UserPoolID)
		if err != nil || otherPool != pool || other.UID == rs.UID || !other.DeletionTimestamp.IsZero() {
			continue
		}
		if olderThan(&other, rs) {
			return stalled(v1alpha1.ReasonIdentifierConflict,
				"identifier %q in pool %s is already managed by ResourceServer %s/%s", rs.Spec.Identifier, pool, other.Namespace, other.Name)
		}
	}
	return nil
}

func olderThan(a, b client.Object) bool {
	ta, tb := a.GetCreationTimestamp(), b.GetCreationTimestamp()
	if !ta.Equal(&tb) {
		return ta.Before(&tb)
	}
	return a.GetNamespace()+"/"+a.GetName() < b.GetNamespace()+"/"+b.GetName()
}

// reconcileCognito observes the resource server, and creates it, adopts it, or
// updates it with the whole desired state. In a steady state it costs one read.
func (r *ResourceServerReconciler) reconcileCognito(ctx context.Context, rs *v1alpha1.ResourceServer, pool string) error {
	log := logf.FromContext(ctx)
	want := cognito.DesiredResourceServer(rs.Spec)
	got, err := r.Options.Cognito.DescribeResourceServer(ctx, &cip.DescribeResourceServerInput{
		UserPoolId: aws.String(pool), Identifier: aws.String(want.Identifier),
	})
	switch {
	case cognito.IsNotFound(err):
		if _, err := r.Options.Cognito.CreateResourceServer(ctx, want.CreateInput(pool)); err != nil {
			return cognitoFailed("CreateResourceServer", err)
		}
		log.Info("Created resource server", "pool", pool, "identifier", want.Identifier)
		r.Options.event(rs, v1alpha1.ReasonCreated, "created resource server %s in pool %s", want.Identifier, pool)
	case err != nil:
		return cognitoFailed("DescribeResourceServer", err)
	case !want.UpToDate(got.ResourceServer):
		if _, err := r.Options.Cognito.UpdateResourceServer(ctx, want.UpdateInput(pool)); err != nil {
			return cognitoFailed("UpdateResourceServer", err)
		}
		reason := v1alpha1.ReasonUpdated
		switch {
		case rs.Status.UserPoolID == "":
			reason = v1alpha1.ReasonAdopted
		case rs.Status.ObservedGeneration == rs.Generation:
			reason = v1alpha1.ReasonDriftRepaired
		}
		log.Info("Updated resource server", "pool", pool, "identifier", want.Identifier, "reason", reason)
		r.Options.event(rs, reason, "set resource server %s in pool %s to the spec", want.Identifier, pool)
	case rs.Status.UserPoolID == "":
		log.Info("Adopted resource server", "pool", pool, "identifier", want.Identifier)
		r.Options.event(rs, v1alpha1.ReasonAdopted, "adopted existing resource server %s in pool %s", want.Identifier, pool)
	}
	rs.Status.UserPoolID = pool
	rs.Status.Scopes = make([]string, 0, len(rs.Spec.Scopes))
	for _, s := range rs.Spec.Scopes {
		rs.Status.Scopes = append(rs.Status.Scopes, v1alpha1.FullScopeName(rs.Spec.Identifier, s.Name))
	}
	slices.Sort(rs.Status.Scopes)
	return nil
}

// reconcileDelete deletes the resource server under the Delete policy, then releases
// the object. An object that never reconciled (status has no pool) owns nothing.
func (r *ResourceServerReconciler) reconcileDelete(ctx context.Context, rs *v1alpha1.ResourceServer) error {
	if !controllerutil.ContainsFinalizer(rs, v1alpha1.Finalizer) {
		return nil
	}
	pool := rs.Status.UserPoolID
	if pool != "" && rs.Spec.DeletionPolicy != v1alpha1.DeletionPolicyRetain {
		_, err := r.Options.Cognito.DeleteResourceServer(ctx, &cip.DeleteResourceServerInput{
			UserPoolId: aws.String(pool), Identifier: aws.String(rs.Spec.Identifier),
		})
		if err != nil && !cognito.IsNotFound(err) {
			return cognitoFailed("DeleteResourceServer", err)
		}
		logf.FromContext(ctx).Info("Deleted resource server", "pool", pool, "identifier", rs.Spec.Identifier)
		r.Options.event(rs, v1alpha1.ReasonDeleted, "deleted resource server %s from pool %s", rs.Spec.Identifier, pool)
	} else if pool != "" {
		r.Options.event(rs, v1alpha1.ReasonRetained, "left resource server %s in pool %s (deletionPolicy Retain)", rs.Spec.Identifier, pool)
	}
	return removeFinalizer(ctx, r.Client, rs)
}

// SetupWithManager registers the reconciler and its index.
func (r *ResourceServerReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.ResourceServer{}, identifierIndex,
		func(o client.Object) []string { return []string{o.(*v1alpha1.ResourceServer).Spec.Identifier} }); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.ResourceServer{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("resourceserver").
		Complete(r)
}
