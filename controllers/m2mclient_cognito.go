package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/cognito"
)

// desiredClient is what the app client should be. validityCap, when not zero, is
// the shortest token validity that another namespace's ResourceServer allows its
// clients (see validityCap).
func desiredClient(obj *v1alpha1.M2MClient, scopes []string, validityCap time.Duration) cognito.ClientSpec {
	var validity time.Duration
	if obj.Spec.AccessTokenValidity != nil {
		validity = obj.Spec.AccessTokenValidity.Duration
	}
	if validityCap > 0 && (validity == 0 && cognito.DefaultAccessTokenValidity > validityCap || validity > validityCap) {
		validity = validityCap
	}
	return cognito.ClientSpec{Name: clientName(obj), Scopes: scopes, AccessTokenValidity: validity}
}

func clientName(obj *v1alpha1.M2MClient) string {
	if obj.Spec.ClientName != "" {
		return obj.Spec.ClientName
	}
	return cognito.DefaultClientName(obj.Namespace, obj.Name)
}

// reconcileClient makes the app client match the spec and returns it as Cognito holds
// it, secret included. In a steady state it costs one read.
func (r *M2MClientReconciler) reconcileClient(ctx context.Context, obj *v1alpha1.M2MClient, st *statusWriter, pool string, scopes []string) (*types.UserPoolClientType, error) {
	log := logf.FromContext(ctx)
	want := desiredClient(obj, scopes, r.validityCap(ctx, obj))
	clearStaleMark(&obj.Status.CreatePendingSince, &obj.Status.CreatePendingGeneration, obj.Generation)
	if obj.Status.ClientID == "" && obj.Status.CreatePendingSince != nil {
		id, err := r.findCreated(ctx, obj, pool)
		if err != nil {
			return nil, err
		}
		if id != "" {
			log.Info("Recovered app client created before an interruption", "pool", pool, "clientId", id)
			r.event(obj, v1alpha1.ReasonAdopted, "recovered app client %s, created before the operator was interrupted", id)
			obj.Status.ClientID, obj.Status.CreatePendingSince, obj.Status.CreatePendingGeneration = id, nil, 0
		}
	}
	if obj.Status.ClientID == "" {
		return r.create(ctx, obj, st, pool, want)
	}
	app, err := r.cognito.AppClient(ctx, pool, obj.Status.ClientID)
	if cognito.IsNotFound(err) {
		log.Info("App client was deleted outside Kubernetes; creating it again", "pool", pool, "clientId", obj.Status.ClientID)
		obj.Status.ClientID = ""
		return r.create(ctx, obj, st, pool, want)
	}
	if err != nil {
		return nil, cognitoFailed("DescribeUserPoolClient", err)
	}
	if !want.UpToDate(app) {
		updated, err := r.cognito.UpdateAppClient(ctx, pool, obj.Status.ClientID, want)
		if err != nil {
			return nil, cognitoFailed("UpdateUserPoolClient", err)
		}
		reason := v1alpha1.ReasonUpdated
		if obj.Status.ObservedGeneration == obj.Generation {
			reason = v1alpha1.ReasonDriftRepaired
		}
		log.Info("Updated app client", "pool", pool, "clientId", obj.Status.ClientID, "reason", reason)
		r.event(obj, reason, "set app client %s to the spec", obj.Status.ClientID)
		if updated.ClientSecret == nil {
			updated.ClientSecret = app.ClientSecret
		}
		app = updated
	}
	obj.Status.UserPoolID, obj.Status.ClientName, obj.Status.Scopes = pool, want.Name, want.Scopes
	return app, nil
}

// create creates the app client behind the create-pending guard: Cognito has no
// idempotency token and allows duplicate names, so the intent is recorded on the
// object before the call, and the client id right after it. An interruption in
// between leaves the mark, and the next pass finds the client instead of creating
// a second one.
func (r *M2MClientReconciler) create(ctx context.Context, obj *v1alpha1.M2MClient, st *statusWriter, pool string, want cognito.ClientSpec) (*types.UserPoolClientType, error) {
	if len(want.Scopes) == 0 {
		return nil, waiting(v1alpha1.ReasonScopesUnavailable, "no requested scope is available yet")
	}
	if r.memory.marked(obj) {
		if err := r.confirmNewest(ctx, obj); err != nil {
			return nil, err
		}
	}
	// The mark records what is sent (pool, name, scopes and the spec's generation),
	// so that recovery accepts only a client with exactly that; sending anything
	// else starts a new mark. It is written once the request is about to go, so that
	// a request never sent leaves none.
	mark := func(ctx context.Context) error {
		r.memory.setMarked(obj) // before the write: it may land unanswered
		if obj.Status.CreatePendingSince == nil || obj.Status.UserPoolID != pool || obj.Status.ClientName != want.Name || !slices.Equal(obj.Status.Scopes, want.Scopes) {
			obj.Status.CreatePendingSince = r.now()
		}
		obj.Status.CreatePendingGeneration = obj.Generation
		obj.Status.UserPoolID, obj.Status.ClientName, obj.Status.Scopes = pool, want.Name, want.Scopes
		if err := st.patch(ctx); err != nil {
			return fmt.Errorf("recording that an app client is about to be created: %w", err)
		}
		return nil
	}
	app, err := r.cognito.CreateAppClient(ctx, pool, want, mark)
	if err != nil {
		if cognito.IsDefinite(err) && obj.Status.CreatePendingSince != nil {
			// Nothing was created, so there is nothing to look for.
			obj.Status.CreatePendingSince, obj.Status.CreatePendingGeneration = nil, 0
		}
		return nil, cognitoFailed("CreateUserPoolClient", err)
	}
	obj.Status.ClientID, obj.Status.CreatePendingSince, obj.Status.CreatePendingGeneration = aws.ToString(app.ClientId), nil, 0
	if err := st.patch(ctx); err != nil {
		return nil, fmt.Errorf("recording app client id %s: %w", obj.Status.ClientID, err)
	}
	logf.FromContext(ctx).Info("Created app client", "pool", pool, "clientId", obj.Status.ClientID, "clientName", want.Name)
	r.event(obj, v1alpha1.ReasonCreated, "created app client %s in pool %s", obj.Status.ClientID, pool)
	return app, nil
}

// confirmNewest fails the pass as a stale copy (see staleCopy) unless obj is the
// object as the API server holds it. The manager's cache lags behind the
// operator's own writes: once this manager has written a create-pending mark for
// the object, its cached copy may be older than that mark or than the client id
// recorded after it, and Cognito allows duplicate names, so a create from that
// copy would make a second app client and overwrite status.clientId. Only a
// create after this manager's own mark pays for the read. The check is a read
// before the create, not a resourceVersion on the mark's write: the mark is
// written after the wait for Cognito's create quota, and a conflict there would
// spend that quota on a request never sent.
func (r *M2MClientReconciler) confirmNewest(ctx context.Context, obj *v1alpha1.M2MClient) error {
	newest := &v1alpha1.M2MClient{}
	if err := r.reader().Get(ctx, client.ObjectKeyFromObject(obj), newest); err != nil {
		return fmt.Errorf("reading M2MClient %s/%s from the API server before creating its app client: %w", obj.Namespace, obj.Name, err)
	}
	// A resourceVersion is opaque: only equality tells anything, and the API
	// server's answer is never the older one.
	if newest.ResourceVersion != obj.ResourceVersion {
		return apierrors.NewConflict(v1alpha1.GroupVersion.WithResource("m2mclients").GroupResource(), obj.Name,
			errors.New("the cached copy is older than the object the API server holds; not creating an app client from it"))
	}
	return nil
}

// findCreated looks for the app client an interrupted create may have made: exactly
// as the create-pending mark records it (pool, name, scopes, and the spec's token
// validity), created at or after the mark, and claimed by no other M2MClient.
// Anything less would let a tenant steer recovery onto another application's
// client. If retried creates made more than one, the oldest is kept and the others
// deleted, so that no duplicate outlives the recovery.
func (r *M2MClientReconciler) findCreated(ctx context.Context, obj *v1alpha1.M2MClient, pool string) (string, error) {
	if obj.Status.UserPoolID != pool || obj.Status.ClientName == "" {
		return "", nil
	}
	sent := desiredClient(obj, obj.Status.Scopes, r.validityCap(ctx, obj))
	sent.Name = obj.Status.ClientName
	var all v1alpha1.M2MClientList
	if err := r.List(ctx, &all); err != nil {
		return "", fmt.Errorf("listing M2MClients for the app clients they claim: %w", err)
	}
	claimed := map[string]bool{}
	for _, o := range all.Items {
		if o.UID == obj.UID {
			continue
		}
		claimed[o.Status.ClientID] = true
		if o.Status.ClientID == "" && o.Status.CreatePendingSince != nil && o.Status.ClientName == sent.Name && o.Status.UserPoolID == pool {
			return "", retrying(v1alpha1.ReasonCognitoError, "another M2MClient is also creating an app client named %q in this pool; the two cannot be told apart: give this one a different spec.clientName", sent.Name)
		}
	}
	var found []types.UserPoolClientType
	err := r.cognito.AppClientsNamed(ctx, pool, sent.Name, func(id string) (bool, error) {
		if claimed[id] {
			return true, nil
		}
		// The mark is on the manager's clock and CreationDate on Cognito's: the
		// mark moves by the skew the listing just measured, so that a skewed
		// clock neither hides the client made after the mark (a duplicate) nor
		// admits one made before it (another's client).
		since := r.cognito.CognitoTime(obj.Status.CreatePendingSince.Time)
		app, err := r.cognito.AppClient(ctx, pool, id)
		if cognito.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if created := app.CreationDate; created != nil && !created.Before(since) && sent.UpToDate(app) {
			found = append(found, *app)
		}
		return true, nil
	})
	if err != nil {
		return "", cognitoFailed("finding the app client of an interrupted create", err)
	}
	if len(found) == 0 {
		return "", nil
	}
	slices.SortFunc(found, func(a, b types.UserPoolClientType) int {
		return aws.ToTime(a.CreationDate).Compare(aws.ToTime(b.CreationDate))
	})
	for _, extra := range found[1:] {
		if err := r.cognito.DeleteAppClient(ctx, pool, aws.ToString(extra.ClientId)); err != nil {
			return "", cognitoFailed("DeleteUserPoolClient", err)
		}
		logf.FromContext(ctx).Info("Deleted duplicate app client left by an interrupted create", "pool", pool, "clientId", aws.ToString(extra.ClientId))
	}
	return aws.ToString(found[0].ClientId), nil
}

// finalize deletes the app client under the Delete policy (including one an
// interrupted create may have left), deletes the Secret, and releases the object.
func (r *M2MClientReconciler) finalize(ctx context.Context, obj *v1alpha1.M2MClient) error {
	if !controllerutil.ContainsFinalizer(obj, v1alpha1.Finalizer) {
		return nil
	}
	pool := obj.Status.UserPoolID
	retain := obj.Spec.DeletionPolicy == v1alpha1.DeletionPolicyRetain && obj.Status.ClientID != "" &&
		r.retain.check(ctx, obj, obj.Spec.DeletionPolicy) == nil
	if pool != "" && !retain {
		if obj.Status.ClientID == "" && obj.Status.CreatePendingSince != nil {
			id, err := r.findCreated(ctx, obj, pool)
			if err != nil {
				return err
			}
			obj.Status.ClientID = id
		}
		if id := obj.Status.ClientID; id != "" {
			if err := r.cognito.DeleteAppClient(ctx, pool, id); err != nil {
				return cognitoFailed("DeleteUserPoolClient", err)
			}
			logf.FromContext(ctx).Info("Deleted app client", "pool", pool, "clientId", id)
			r.event(obj, v1alpha1.ReasonDeleted, "deleted app client %s from pool %s", id, pool)
		}
	} else if obj.Status.ClientID != "" {
		if err := r.retain.record(ctx, obj.Namespace, retainedEntry(kindAppClient, pool, obj.Status.ClientID)); err != nil {
			return err
		}
		r.event(obj, v1alpha1.ReasonRetained, "left app client %s in pool %s (deletionPolicy Retain)", obj.Status.ClientID, pool)
	}
	if err := r.deleteSecret(ctx, obj, obj.Status.SecretName); err != nil {
		return err
	}
	return removeFinalizer(ctx, r.Client, obj)
}
