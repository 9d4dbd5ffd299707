package controllers

import (
	"context"
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
)

// kind is what one kind of object adds to the reconcile frame (reconcilePass):
// the frame does what every pass does, in the same order for both kinds, and
// calls these for what differs.
type kind[T conditioned] interface {
	// load reads the object the pass works from; an IsNotFound error when it is
	// gone.
	load(ctx context.Context, key types.NamespacedName) (T, error)
	// specPool is the user pool the object's spec names, "" for the default.
	specPool(obj T) string
	// sync brings Cognito (and whatever else the kind writes) in line with the
	// object, in pool.
	sync(ctx context.Context, obj T, st *statusWriter, pool string) (ctrl.Result, error)
	// finalize releases what the object holds once it is being deleted, and its
	// finalizer.
	finalize(ctx context.Context, obj T) error
	// readyMessage is the Ready condition's message after a pass that succeeded.
	readyMessage(obj T) string
	// published runs after every pass, its outcome in obj's status.
	published(obj T)
	// forget drops what this manager keeps about the object at key.
	forget(key types.NamespacedName)
}

// reconcilePass is one pass over the object at key, the frame both reconcilers
// share: load the object; end the pass (whatever path it takes) by computing its
// conditions and writing its status; release a deleted object; add the finalizer
// before anything is created; find the pool; then the kind's own sync.
func reconcilePass[T conditioned](ctx context.Context, sh *shared, k kind[T], key types.NamespacedName) (res ctrl.Result, retErr error) {
	obj, err := k.load(ctx, key)
	if apierrors.IsNotFound(err) {
		// Gone, whether or not its deletion pass ran here: its finalizer
		// removed by someone else, or released by another manager.
		k.forget(key)
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	st := newStatusWriter(sh.Client, obj)
	defer func() {
		if staleCopy(retErr) {
			res, retErr = afterStaleCopy()
			return
		}
		res, retErr = finish(sh.recorder, obj, st.initial, res, retErr, k.readyMessage(obj))
		k.published(obj)
		retErr = errors.Join(retErr, st.patch(ctx))
	}()

	if !obj.GetDeletionTimestamp().IsZero() {
		if err := k.finalize(ctx, obj); err != nil {
			return ctrl.Result{}, err
		}
		k.forget(key)
		return ctrl.Result{}, nil
	}
	if err := ensureFinalizer(ctx, sh.Client, obj); err != nil {
		return ctrl.Result{}, err
	}
	pool, err := sh.cfg.userPool(k.specPool(obj))
	if err != nil {
		return ctrl.Result{}, err
	}
	return k.sync(ctx, obj, st, pool)
}
