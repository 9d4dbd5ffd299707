package controllers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

const (
	// resourceServerRefIndex indexes M2MClients by the ResourceServers they request
	// scopes of ("<namespace>/<name>"), so a ResourceServer change wakes its clients.
	resourceServerRefIndex = "spec.scopes.resourceServer"
	// namespaceIndex indexes M2MClients by namespace, so a namespace's label change
	// (which can grant or withdraw scopes) wakes the clients in it.
	namespaceIndex = "metadata.namespace"
)

// M2MClientReconciler keeps a Cognito app client and a credentials Secret in step
// with each M2MClient object.
type M2MClientReconciler struct {
	*shared
	pools  *poolEndpoints
	memory *memory
}

func newM2MClientReconciler(sh *shared) *M2MClientReconciler {
	return &M2MClientReconciler{shared: sh, pools: &poolEndpoints{sh: sh}, memory: &memory{}}
}

// +kubebuilder:rbac:groups=cognito.m2m.dev,resources=m2mclients,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=cognito.m2m.dev,resources=m2mclients/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=cognito.m2m.dev,resources=m2mclients/finalizers,verbs=update
// +kubebuilder:rbac:groups=cognito.m2m.dev,resources=resourceservers,verbs=get;list;watch
// +kubebuilder:rbac:groups=cognito.m2m.dev,resources=resourceservers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// Reconcile brings one app client and its Secret in line with the object: scopes
// resolved from ResourceServers and their grants, the app client created (once, even
// across a crash) or updated, a due rotation step taken, the Secret written.
func (r *M2MClientReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return reconcilePass(ctx, r.shared, r, req.NamespacedName)
}

func (r *M2MClientReconciler) load(ctx context.Context, key types.NamespacedName) (*v1alpha1.M2MClient, error) {
	obj := &v1alpha1.M2MClient{}
	if err := r.Get(ctx, key, obj); err != nil {
		return nil, fmt.Errorf("reading M2MClient %s: %w", key, err)
	}
	if rotationMayAct(obj, r.clock.Now()) {
		// Each rotation step acts on the record of the one before, which the
		// cache may not hold yet: a pass can start before the watch brings
		// this manager's own last status write. Acting on that older record
		// would stage a second new secret, or abort a finished rotation.
		if err := r.reader().Get(ctx, key, obj); err != nil {
			return nil, fmt.Errorf("reading M2MClient %s from the API server for its rotation: %w", key, err)
		}
	}
	return obj, nil
}

func (r *M2MClientReconciler) specPool(obj *v1alpha1.M2MClient) string { return obj.Spec.UserPoolID }

func (r *M2MClientReconciler) readyMessage(obj *v1alpha1.M2MClient) string {
	return fmt.Sprintf("app client %s has %d scopes; credentials in Secret %s", obj.Status.ClientID, len(obj.Status.Scopes), obj.Status.SecretName)
}

// published publishes the age of the object's secret.
func (r *M2MClientReconciler) published(obj *v1alpha1.M2MClient) {
	recordSecretAge(obj, !obj.DeletionTimestamp.IsZero())
}

// forget drops what this manager keeps of an object that is gone: its secret-age
// series and its memory.
func (r *M2MClientReconciler) forget(key types.NamespacedName) {
	forgetSecretAge(key)
	r.memory.forget(key)
}

// sync resolves the scopes, skips Cognito when nothing can have changed, and
// otherwise brings the app client, its rotation and its Secret in line.
func (r *M2MClientReconciler) sync(ctx context.Context, obj *v1alpha1.M2MClient, st *statusWriter, pool string) (ctrl.Result, error) {
	scopes, foreign, scopeErr := r.resolveScopes(ctx, obj, pool)
	if scopeErr != nil && !isWaiting(scopeErr) {
		return ctrl.Result{}, scopeErr
	}
	if len(scopes) == 0 && obj.Status.ClientID == "" && obj.Status.CreatePendingSince == nil {
		return ctrl.Result{}, scopeErr
	}
	if len(scopes) == 0 && obj.Status.ClientID != "" {
		// Every grant was withdrawn: the client must stop getting tokens now.
		scopeErr = waiting(reasonOf(scopeErr), "%v; the app client's OAuth flows are off until a scope is available again", scopeErr)
	}
	if wait, skip := r.skipCognito(ctx, obj, pool, scopes, scopeErr); skip {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	if obj.Status.ClientID == "" && obj.Status.CreatePendingSince == nil {
		if err := r.retain.check(ctx, obj, obj.Spec.DeletionPolicy); err != nil {
			return ctrl.Result{RequeueAfter: jittered(r.driftPeriod())}, err
		}
	}
	ep, err := r.pools.get(ctx, pool)
	if err != nil {
		return ctrl.Result{}, err
	}
	// Another namespace's server records the client before the client gets its
	// scopes, and again once the client has an id: the record outlives this
	// object, so that a client left behind loses the scopes (see revokeOrphans).
	if err := r.recordGrantees(ctx, obj, foreign); err != nil {
		return ctrl.Result{}, err
	}
	app, err := r.reconcileClient(ctx, obj, st, pool, scopes)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.recordGrantees(ctx, obj, foreign); err != nil {
		return ctrl.Result{}, err
	}
	next, vals, err := r.reconcileRotation(ctx, obj, st, app, ep)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.reconcileSecret(ctx, obj, app, ep, vals); err != nil {
		return ctrl.Result{}, err
	}
	r.memory.setChecked(obj, r.clock.Now())
	return ctrl.Result{RequeueAfter: nextPass(next, jittered(r.driftPeriod()))}, scopeErr
}

// resolveScopes turns the spec's references into full scope names, keeping only the
// scopes that exist in Cognito and that the client's namespace is granted. The error
// names what is missing or refused; the object waits on a watch for it to change.
//
// Another namespace's ResourceServer is described only to namespaces it grants: a
// reference that is missing, or that grants none of the requested scopes, gets one
// message whatever the reason, so that a tenant cannot map other namespaces'
// servers, identifiers, scopes or pools.
func (r *M2MClientReconciler) resolveScopes(ctx context.Context, obj *v1alpha1.M2MClient, pool string) ([]string, []*v1alpha1.ResourceServer, error) {
	var (
		scopes   []string
		foreign  []*v1alpha1.ResourceServer // other namespaces' servers that give scopes
		problems []string
		reason   = v1alpha1.ReasonScopesUnavailable
	)
	ns := &corev1.Namespace{}
	if err := r.Get(ctx, types.NamespacedName{Name: obj.Namespace}, ns); err != nil {
		return nil, nil, fmt.Errorf("reading namespace %s for scope grants: %w", obj.Namespace, err)
	}
	for i, req := range obj.Spec.Scopes {
		ref := refKey(obj.Namespace, req.ResourceServer)
		rs := &v1alpha1.ResourceServer{}
		err := r.Get(ctx, ref, rs)
		if client.IgnoreNotFound(err) != nil {
			return nil, nil, fmt.Errorf("reading ResourceServer %s for spec.scopes[%d]: %w", ref, i, err)
		}
		if ref.Namespace != obj.Namespace && (err != nil || !grantsAny(rs, req.Scopes, ns)) {
			reason = v1alpha1.ReasonScopeNotGranted
			problems = append(problems, fmt.Sprintf("spec.scopes[%d]: ResourceServer %s does not exist or does not grant the requested scopes to namespace %s", i, ref, obj.Namespace))
			continue
		}
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("spec.scopes[%d]: ResourceServer %s not found", i, ref))
			continue
		case !apimeta.IsStatusConditionTrue(rs.Status.Conditions, v1alpha1.ConditionReady) || rs.Status.ObservedGeneration != rs.Generation:
			problems = append(problems, fmt.Sprintf("spec.scopes[%d]: ResourceServer %s is not Ready", i, ref))
			continue
		case rs.Status.UserPoolID != pool:
			problems = append(problems, fmt.Sprintf("spec.scopes[%d]: ResourceServer %s is in another user pool", i, ref))
			continue
		}
		offered := offeredScopes(rs)
		given := len(scopes)
		for _, name := range req.Scopes {
			s, ok := offered[name]
			if !ok {
				problems = append(problems, fmt.Sprintf("spec.scopes[%d]: ResourceServer %s has no scope %q", i, ref, name))
				continue
			}
			if !granted(rs, s, ns) {
				reason = v1alpha1.ReasonScopeNotGranted
				problems = append(problems, fmt.Sprintf("spec.scopes[%d]: ResourceServer %s does not grant scope %q to namespace %s", i, ref, name, obj.Namespace))
				continue
			}
			scopes = append(scopes, v1alpha1.FullScopeName(rs.Spec.Identifier, name))
		}
		if len(scopes) > given && rs.Namespace != obj.Namespace {
			foreign = append(foreign, rs)
		}
	}
	scopes = sortedUnique(scopes)
	if len(problems) > 0 {
		return scopes, foreign, waiting(reason, "%s", strings.Join(problems, "; "))
	}
	return scopes, foreign, nil
}

func refKey(ns string, ref v1alpha1.ObjectReference) types.NamespacedName {
	if ref.Namespace != "" {
		ns = ref.Namespace
	}
	return types.NamespacedName{Namespace: ns, Name: ref.Name}
}

// SetupWithManager registers the reconciler, its indexes and its watches: owned
// Secrets, as metadata (a deleted or edited Secret is restored), the ResourceServers
// a client refers to, and namespaces (whose labels can grant scopes).
func (r *M2MClientReconciler) SetupWithManager(mgr ctrl.Manager) error {
	ctx := context.Background()
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &v1alpha1.M2MClient{}, resourceServerRefIndex, func(o client.Object) []string {
		c := o.(*v1alpha1.M2MClient)
		var keys []string
		for _, s := range c.Spec.Scopes {
			keys = append(keys, refKey(c.Namespace, s.ResourceServer).String())
		}
		return keys
	}); err != nil {
		return fmt.Errorf("indexing M2MClients by %s: %w", resourceServerRefIndex, err)
	}
	if err := idx.IndexField(ctx, &v1alpha1.M2MClient{}, namespaceIndex, func(o client.Object) []string {
		return []string{o.GetNamespace()}
	}); err != nil {
		return fmt.Errorf("indexing M2MClients by %s: %w", namespaceIndex, err)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.M2MClient{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&corev1.Secret{}, builder.OnlyMetadata, builder.WithPredicates(predicate.Funcs{
			// Only the operator creates a Secret its M2MClient controls, so a
			// creation is always an echo (its watch event can even arrive before
			// the write's answer), and the initial list at start-up adds nothing
			// the M2MClients' own list does not.
			CreateFunc: func(event.CreateEvent) bool { return false },
			UpdateFunc: func(e event.UpdateEvent) bool { return !r.ownWrite(e.ObjectNew) },
		})).
		Watches(&v1alpha1.ResourceServer{}, handler.EnqueueRequestsFromMapFunc(r.clientsOfResourceServer),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
				return !onlyGranteesChanged(e.ObjectOld, e.ObjectNew)
			}})).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.clientsInNamespace),
			builder.WithPredicates(predicate.LabelChangedPredicate{})).
		Named("m2mclient")
	return completeFair(b, r)
}

// ownWrite reports whether a Secret event is the echo of the operator's own last
// write: such a pass would only spend a Cognito call to find nothing to do.
func (r *M2MClientReconciler) ownWrite(o client.Object) bool {
	return r.memory.ownWrite(o)
}

// skipCognito reports whether this pass may skip Cognito, and when to look again:
// it gathers what decideSkip needs (whether the object is settled, and whether its
// Secret is as the operator last wrote it) and spreads the first check after a
// start.
func (r *M2MClientReconciler) skipCognito(ctx context.Context, obj *v1alpha1.M2MClient, pool string, scopes []string, scopeErr error) (time.Duration, bool) {
	now := r.clock.Now()
	rot, request := obj.Status.Rotation, rotateRequest(obj)
	in := skipInput{
		settled: scopeErr == nil && apimeta.IsStatusConditionTrue(obj.Status.Conditions, v1alpha1.ConditionReady) &&
			obj.Status.ObservedGeneration == obj.Generation && obj.Status.ClientID != "" && obj.Status.CreatePendingSince == nil &&
			obj.Status.UserPoolID == pool && slices.Equal(obj.Status.Scopes, scopes) && obj.Status.SecretName == obj.SecretName() &&
			(rot == nil || (rot.Phase == "" && (rot.NextRotation == nil || now.Before(rot.NextRotation.Time)))) &&
			(request == "" || (rot != nil && request == rot.LastRequest)),
		now:    now,
		period: r.driftPeriod(),
	}
	in.lastCheck = r.memory.checked(obj)
	if in.settled {
		in.secretIntact = r.secretIntact(ctx, obj)
	}
	wait, skip := decideSkip(in, time.Duration(rand.Int64N(int64(in.period))))
	if skip && in.lastCheck.IsZero() {
		// As if checked a period before the spread first check is due.
		r.memory.setChecked(obj, now.Add(wait-in.period))
	}
	return wait, skip
}

// secretIntact reports whether the object's Secret exists and is the object's, and,
// once this manager has read or written it, is still as it was then (an edit or a
// deletion needs the secret value from Cognito to repair).
func (r *M2MClientReconciler) secretIntact(ctx context.Context, obj *v1alpha1.M2MClient) bool {
	secret := &metav1.PartialObjectMetadata{}
	secret.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	key := client.ObjectKey{Namespace: obj.Namespace, Name: obj.SecretName()}
	if err := r.Get(ctx, key, secret); err != nil || !metav1.IsControlledBy(secret, obj) {
		return false
	}
	rv, known := r.memory.secretVersion(obj, key.Name)
	return !known || rv == secret.ResourceVersion
}

func (r *M2MClientReconciler) clientsOfResourceServer(ctx context.Context, o client.Object) []ctrl.Request {
	return r.requestsFor(ctx, client.MatchingFields{resourceServerRefIndex: client.ObjectKeyFromObject(o).String()})
}

func (r *M2MClientReconciler) clientsInNamespace(ctx context.Context, o client.Object) []ctrl.Request {
	return r.requestsFor(ctx, client.MatchingFields{namespaceIndex: o.GetName()})
}

func (r *M2MClientReconciler) requestsFor(ctx context.Context, sel client.MatchingFields) []ctrl.Request {
	var list v1alpha1.M2MClientList
	if err := r.List(ctx, &list, sel); err != nil {
		return nil
	}
	reqs := make([]ctrl.Request, 0, len(list.Items))
	for _, c := range list.Items {
		reqs = append(reqs, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&c)})
	}
	return reqs
}

// onlyGranteesChanged reports whether a ResourceServer update changed nothing its
// clients read: each new cross-namespace client writes the server's grantee record,
// and waking every other client of the server for it would flood the queue.
func onlyGranteesChanged(oldObj, newObj client.Object) bool {
	o, ok1 := oldObj.(*v1alpha1.ResourceServer)
	n, ok2 := newObj.(*v1alpha1.ResourceServer)
	if !ok1 || !ok2 || o.Generation != n.Generation || !o.DeletionTimestamp.Equal(n.DeletionTimestamp) {
		return false
	}
	os, ns := o.Status.DeepCopy(), n.Status.DeepCopy()
	os.Grantees, ns.Grantees = nil, nil
	return equality.Semantic.DeepEqual(os, ns)
}
