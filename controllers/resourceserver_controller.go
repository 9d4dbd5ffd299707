package controllers

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
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
	*shared
}

// +kubebuilder:rbac:groups=cognito.m2m.dev,resources=resourceservers,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=cognito.m2m.dev,resources=resourceservers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=cognito.m2m.dev,resources=resourceservers/finalizers,verbs=update
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one resource server in line with its object, then schedules the
// next drift check.
func (r *ResourceServerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return reconcilePass(ctx, r.shared, r, req.NamespacedName)
}

func (r *ResourceServerReconciler) load(ctx context.Context, key types.NamespacedName) (*v1alpha1.ResourceServer, error) {
	rs := &v1alpha1.ResourceServer{}
	if err := r.Get(ctx, key, rs); err != nil {
		return nil, fmt.Errorf("reading ResourceServer %s: %w", key, err)
	}
	return rs, nil
}

func (r *ResourceServerReconciler) specPool(rs *v1alpha1.ResourceServer) string {
	return rs.Spec.UserPoolID
}

func (r *ResourceServerReconciler) readyMessage(rs *v1alpha1.ResourceServer) string {
	return fmt.Sprintf("resource server %s provides %d scopes", rs.Spec.Identifier, len(rs.Status.Scopes))
}

// published and forget have nothing to do: this manager keeps nothing about a
// ResourceServer between passes.
func (r *ResourceServerReconciler) published(*v1alpha1.ResourceServer) {}
func (r *ResourceServerReconciler) forget(types.NamespacedName)        {}

// sync checks the object's claim on its identifier and its Retain allowance,
// then the resource server itself, then takes its scopes from the clients left
// behind.
func (r *ResourceServerReconciler) sync(ctx context.Context, rs *v1alpha1.ResourceServer, st *statusWriter, pool string) (ctrl.Result, error) {
	ns := &corev1.Namespace{}
	if err := r.Get(ctx, client.ObjectKey{Name: rs.Namespace}, ns); err != nil {
		return ctrl.Result{}, fmt.Errorf("reading namespace %s for its tenancy annotations: %w", rs.Namespace, err)
	}
	if err := r.checkClaim(ctx, rs, ns, pool); err != nil {
		return ctrl.Result{}, err
	}
	if rs.Status.Ownership == "" {
		if err := r.retain.check(ctx, rs, rs.Spec.DeletionPolicy); err != nil {
			return ctrl.Result{RequeueAfter: jittered(r.driftPeriod())}, err
		}
	}
	if err := r.reconcileCognito(ctx, rs, st, ns, pool); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.revokeOrphans(ctx, rs, pool); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: jittered(r.driftPeriod())}, nil
}

// checkClaim stalls an object whose namespace may not claim its identifier, or whose
// identifier an older object in the same pool already manages: two objects updating
// one resource server would undo each other. Under --restrict-identifiers an object
// whose namespace may not claim the identifier blocks nobody, so claiming a name
// first gains a tenant nothing.
func (r *ResourceServerReconciler) checkClaim(ctx context.Context, rs *v1alpha1.ResourceServer, ns *corev1.Namespace, pool string) error {
	if !r.cfg.identifierAllowed(ns, rs.Spec.Identifier) {
		return stalled(v1alpha1.ReasonIdentifierDenied,
			"namespace %s may not claim identifier %q: a cluster admin lists the identifiers a namespace may claim in its %s annotation",
			rs.Namespace, rs.Spec.Identifier, v1alpha1.AllowedIdentifiersAnnotation)
	}
	var list v1alpha1.ResourceServerList
	if err := r.List(ctx, &list, client.MatchingFields{identifierIndex: rs.Spec.Identifier}); err != nil {
		return fmt.Errorf("listing the ResourceServers with identifier %q: %w", rs.Spec.Identifier, err)
	}
	for _, other := range list.Items {
		otherPool, err := r.cfg.userPool(other.Spec.UserPoolID)
		if err != nil || otherPool != pool || other.UID == rs.UID || !other.DeletionTimestamp.IsZero() || !olderThan(&other, rs) {
			continue
		}
		if r.cfg.RestrictIdentifiers {
			otherNS := &corev1.Namespace{}
			if err := r.Get(ctx, client.ObjectKey{Name: other.Namespace}, otherNS); err != nil || !r.cfg.identifierAllowed(otherNS, other.Spec.Identifier) {
				continue
			}
		}
		if other.Namespace == rs.Namespace {
			return stalled(v1alpha1.ReasonIdentifierConflict,
				"identifier %q in pool %s is already managed by ResourceServer %s", rs.Spec.Identifier, pool, other.Name)
		}
		// Another namespace's objects are not this tenant's to know about.
		return stalled(v1alpha1.ReasonIdentifierConflict,
			"identifier %q in pool %s is already managed by an older ResourceServer", rs.Spec.Identifier, pool)
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

// reconcileCognito observes the resource server, and creates it, claims it (see
// claimExisting), or updates it with the whole desired state. In a steady state it
// costs one read.
func (r *ResourceServerReconciler) reconcileCognito(ctx context.Context, rs *v1alpha1.ResourceServer, st *statusWriter, ns *corev1.Namespace, pool string) error {
	log := logf.FromContext(ctx)
	want := cognito.DesiredResourceServer(rs.Spec)
	clearStaleMark(&rs.Status.CreatePendingSince, &rs.Status.CreatePendingGeneration, rs.Generation)
	got, err := r.cognito.ResourceServer(ctx, pool, want.Identifier)
	switch {
	case cognito.IsNotFound(err):
		return r.create(ctx, rs, st, pool, want)
	case err != nil:
		return cognitoFailed("DescribeResourceServer", err)
	}
	if rs.Status.Ownership == "" {
		own, ok := claimExisting(existingServer{
			createPending:   rs.Status.CreatePendingSince != nil,
			matchesSent:     want.UpToDate(got),
			adoptionAllowed: r.cfg.adoptionAllowed(ns),
		})
		if !ok {
			return stalled(v1alpha1.ReasonAdoptionDenied,
				"a resource server with identifier %q already exists in pool %s and was not created for this object; the operator does not take it over unless a cluster admin allows adoption (annotate namespace %s with %s=true, or run the operator with --allow-adoption), or use another identifier",
				want.Identifier, pool, rs.Namespace, v1alpha1.AllowAdoptionAnnotation)
		}
		rs.Status.Ownership, rs.Status.CreatePendingSince, rs.Status.CreatePendingGeneration = own, nil, 0
		if own == v1alpha1.OwnershipAdopted {
			log.Info("Adopted resource server", "pool", pool, "identifier", want.Identifier)
			r.event(rs, v1alpha1.ReasonAdopted, "adopted existing resource server %s in pool %s", want.Identifier, pool)
		}
	}
	if !want.UpToDate(got) {
		if err := r.cognito.UpdateResourceServer(ctx, pool, want); err != nil {
			return cognitoFailed("UpdateResourceServer", err)
		}
		reason := v1alpha1.ReasonUpdated
		if rs.Status.UserPoolID != "" && rs.Status.ObservedGeneration == rs.Generation {
			reason = v1alpha1.ReasonDriftRepaired
		}
		log.Info("Updated resource server", "pool", pool, "identifier", want.Identifier, "reason", reason)
		r.event(rs, reason, "set resource server %s in pool %s to the spec", want.Identifier, pool)
	}
	r.recordReconciled(rs, pool)
	return nil
}

// create creates the resource server behind a create-pending mark, so that after an
// interruption the server found with this object's identifier is known to be its own
// (see claimExisting). The mark names the generation whose spec was sent, and is
// written only once the request is about to go: a definite refusal, or a request
// never sent, leaves no mark.
func (r *ResourceServerReconciler) create(ctx context.Context, rs *v1alpha1.ResourceServer, st *statusWriter, pool string, want cognito.ResourceServerSpec) error {
	mark := func(ctx context.Context) error {
		rs.Status.CreatePendingSince, rs.Status.CreatePendingGeneration = r.now(), rs.Generation
		if err := st.patch(ctx); err != nil {
			return fmt.Errorf("recording that a resource server is about to be created: %w", err)
		}
		return nil
	}
	if err := r.cognito.CreateResourceServer(ctx, pool, want, mark); err != nil {
		if cognito.IsDefinite(err) {
			rs.Status.CreatePendingSince, rs.Status.CreatePendingGeneration = nil, 0
		}
		return cognitoFailed("CreateResourceServer", err)
	}
	rs.Status.Ownership, rs.Status.CreatePendingSince, rs.Status.CreatePendingGeneration = v1alpha1.OwnershipCreated, nil, 0
	logf.FromContext(ctx).Info("Created resource server", "pool", pool, "identifier", want.Identifier)
	r.event(rs, v1alpha1.ReasonCreated, "created resource server %s in pool %s", want.Identifier, pool)
	r.recordReconciled(rs, pool)
	return nil
}

// recordReconciled publishes the pool and the full scope names the server provides.
func (r *ResourceServerReconciler) recordReconciled(rs *v1alpha1.ResourceServer, pool string) {
	rs.Status.UserPoolID = pool
	rs.Status.Scopes = make([]string, 0, len(rs.Spec.Scopes))
	for _, s := range rs.Spec.Scopes {
		rs.Status.Scopes = append(rs.Status.Scopes, v1alpha1.FullScopeName(rs.Spec.Identifier, s.Name))
	}
	slices.Sort(rs.Status.Scopes)
}

// finalize deletes the resource server under the Delete policy, if the
// operator created it for this object, then releases the object. An adopted server
// existed before the object and outlives it; an object that never reconciled owns
// nothing.
func (r *ResourceServerReconciler) finalize(ctx context.Context, rs *v1alpha1.ResourceServer) error {
	if !controllerutil.ContainsFinalizer(rs, v1alpha1.Finalizer) {
		return nil
	}
	pool := rs.Status.UserPoolID
	if pool != "" {
		// Clients left behind lose the scopes before the server goes, or is
		// left unmanaged: nothing would find them afterwards.
		if err := r.revokeOrphans(ctx, rs, pool); err != nil {
			return err
		}
	}
	if pool != "" && rs.Status.Ownership == v1alpha1.OwnershipAdopted {
		r.event(rs, v1alpha1.ReasonRetained, "left resource server %s in pool %s: it was adopted, not created for this object", rs.Spec.Identifier, pool)
	} else if pool != "" && rs.Status.Ownership == v1alpha1.OwnershipCreated && !r.mayRetain(ctx, rs) {
		if err := r.cognito.DeleteResourceServer(ctx, pool, rs.Spec.Identifier); err != nil {
			return cognitoFailed("DeleteResourceServer", err)
		}
		logf.FromContext(ctx).Info("Deleted resource server", "pool", pool, "identifier", rs.Spec.Identifier)
		r.event(rs, v1alpha1.ReasonDeleted, "deleted resource server %s from pool %s", rs.Spec.Identifier, pool)
	} else if pool != "" {
		if err := r.retain.record(ctx, rs.Namespace, retainedEntry(kindResourceServer, pool, rs.Spec.Identifier)); err != nil {
			return err
		}
		r.event(rs, v1alpha1.ReasonRetained, "left resource server %s in pool %s (deletionPolicy Retain)", rs.Spec.Identifier, pool)
	}
	return removeFinalizer(ctx, r.Client, rs)
}

// mayRetain reports whether a deleted object's resource server is left in Cognito:
// it asks for Retain and its namespace's bound allows it. A Retain the bound
// refuses (the policy changed after creation) is not honoured: the server is
// deleted, as the object's condition said.
func (r *ResourceServerReconciler) mayRetain(ctx context.Context, rs *v1alpha1.ResourceServer) bool {
	return rs.Spec.DeletionPolicy == v1alpha1.DeletionPolicyRetain && r.retain.check(ctx, rs, rs.Spec.DeletionPolicy) == nil
}

// SetupWithManager registers the reconciler, its index, and a watch on namespaces'
// annotations (where an admin allows adoption or identifiers).
func (r *ResourceServerReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.ResourceServer{}, identifierIndex,
		func(o client.Object) []string { return []string{o.(*v1alpha1.ResourceServer).Spec.Identifier} }); err != nil {
		return fmt.Errorf("indexing ResourceServers by %s: %w", identifierIndex, err)
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.M2MClient{}, uidIndex,
		func(o client.Object) []string { return []string{string(o.GetUID())} }); err != nil {
		return fmt.Errorf("indexing M2MClients by %s: %w", uidIndex, err)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.ResourceServer{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.serversInNamespace),
			builder.WithPredicates(predicate.AnnotationChangedPredicate{})).
		Watches(&v1alpha1.M2MClient{}, handler.EnqueueRequestsFromMapFunc(serversOfDeletedClient),
			builder.WithPredicates(predicate.Funcs{
				CreateFunc:  func(event.CreateEvent) bool { return false },
				UpdateFunc:  func(event.UpdateEvent) bool { return false },
				GenericFunc: func(event.GenericEvent) bool { return false },
			})).
		Named("resourceserver")
	return completeFair(b, r)
}

func (r *ResourceServerReconciler) serversInNamespace(ctx context.Context, o client.Object) []ctrl.Request {
	var list v1alpha1.ResourceServerList
	if err := r.List(ctx, &list, client.InNamespace(o.GetName())); err != nil {
		return nil
	}
	reqs := make([]ctrl.Request, 0, len(list.Items))
	for _, rs := range list.Items {
		reqs = append(reqs, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&rs)})
	}
	return reqs
}
