package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/cognito"
)

// createWindowSlack widens the create-pending window for clock skew between the
// operator and Cognito.
const createWindowSlack = 5 * time.Minute

// desiredClient is what the app client should be.
func desiredClient(obj *v1alpha1.M2MClient, scopes []string) cognito.ClientSpec {
	name := obj.Spec.ClientName
	if name == "" {
		name = cognito.DefaultClientName(obj.Namespace, obj.Name)
	}
	var validity time.Duration
	if obj.Spec.AccessTokenValidity != nil {
		validity = obj.Spec.AccessTokenValidity.Duration
	}
	return cognito.ClientSpec{Name: name, Scopes: scopes, AccessTokenValidity: validity}
}

// reconcileClient makes the app client match the spec and returns it as Cognito holds
// it, secret included. In a steady state it costs one read.
func (r *M2MClientReconciler) reconcileClient(ctx context.Context, obj *v1alpha1.M2MClient, st *statusWriter, pool string, scopes []string) (*types.UserPoolClientType, error) {
	log := logf.FromContext(ctx)
	want := desiredClient(obj, scopes)
	if obj.Status.ClientID == "" && obj.Status.CreatePendingSince != nil {
		id, err := r.findCreated(ctx, obj, pool)
		if err != nil {
			return nil, err
		}
		if id != "" {
			log.Info("Recovered app client created before an interruption", "pool", pool, "clientId", id)
			r.Options.event(obj, v1alpha1.ReasonAdopted, "recovered app client %s, created before the operator was interrupted", id)
			obj.Status.ClientID, obj.Status.CreatePendingSince = id, nil
		}
	}
	if obj.Status.ClientID == "" {
		return r.create(ctx, obj, st, pool, want)
	}
	got, err := r.Options.Cognito.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{
		UserPoolId: aws.String(pool), ClientId: aws.String(obj.Status.ClientID),
	})
	if cognito.IsNotFound(err) {
		log.Info("App client was deleted outside Kubernetes; creating it again", "pool", pool, "clientId", obj.Status.ClientID)
		obj.Status.ClientID = ""
		return r.create(ctx, obj, st, pool, want)
	}
	if err != nil {
		return nil, cognitoFailed("DescribeUserPoolClient", err)
	}
	app := got.UserPoolClient
	if !want.UpToDate(app) {
		out, err := r.Options.Cognito.UpdateUserPoolClient(ctx, want.UpdateInput(pool, obj.Status.ClientID))
		if err != nil {
			return nil, cognitoFailed("UpdateUserPoolClient", err)
		}
		reason := v1alpha1.ReasonUpdated
		if obj.Status.ObservedGeneration == obj.Generation {
			reason = v1alpha1.ReasonDriftRepaired
		}
		log.Info("Updated app client", "pool", pool, "clientId", obj.Status.ClientID, "reason", reason)
		r.Options.event(obj, reason, "set app client %s to the spec", obj.Status.ClientID)
		secret := app.ClientSecret
		app = out.UserPoolClient
		if app.ClientSecret == nil {
			app.ClientSecret = secret
		}
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
	obj.Status.UserPoolID, obj.Status.ClientName = pool, want.Name
	if obj.Status.CreatePendingSince == nil {
		obj.Status.CreatePendingSince = now()
	}
	if err := st.patch(ctx); err != nil {
		return nil, fmt.Errorf("recording that an app client is about to be created: %w", err)
	}
	out, err := r.Options.Cognito.CreateUserPoolClient(ctx, want.CreateInput(pool))
	if err != nil {
		return nil, cognitoFailed("CreateUserPoolClient", err)
	}
	obj.Status.ClientID, obj.Status.CreatePendingSince = aws.ToString(out.UserPoolClient.ClientId), nil
	obj.Status.Scopes = want.Scopes
	if err := st.patch(ctx); err != nil {
		return nil, fmt.Errorf("recording app client id %s: %w", obj.Status.ClientID, err)
	}
	logf.FromContext(ctx).Info("Created app client", "pool", pool, "clientId", obj.Status.ClientID, "clientName", want.Name)
	r.Options.event(obj, v1alpha1.ReasonCreated, "created app client %s in pool %s", obj.Status.ClientID, pool)
	return out.UserPoolClient, nil
}

// findCreated looks for the app client an interrupted create may have made: named as
// recorded, created since the pending mark, and claimed by no other M2MClient. If a
// retried create made more than one, the oldest is kept and the others deleted, so
// that no duplicate outlives the recovery.
func (r *M2MClientReconciler) findCreated(ctx context.Context, obj *v1alpha1.M2MClient, pool string) (string, error) {
	var all v1alpha1.M2MClientList
	if err := r.List(ctx, &all); err != nil {
		return "", err
	}
	claimed := map[string]bool{}
	for _, o := range all.Items {
		if o.UID == obj.UID {
			continue
		}
		claimed[o.Status.ClientID] = true
		if o.Status.ClientID == "" && o.Status.CreatePendingSince != nil && o.Status.ClientName == obj.Status.ClientName && o.Status.UserPoolID == pool {
			return "", retrying(v1alpha1.ReasonCognitoError, "M2MClient %s/%s is also creating an app client named %q; cannot tell the two apart: give one a different spec.clientName", o.Namespace, o.Name, obj.Status.ClientName)
		}
	}
	since := obj.Status.CreatePendingSince.Add(-createWindowSlack)
	var found []types.UserPoolClientType
	p := cip.NewListUserPoolClientsPaginator(r.Options.Cognito, &cip.ListUserPoolClientsInput{UserPoolId: aws.String(pool), MaxResults: aws.Int32(60)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", cognitoFailed("ListUserPoolClients", err)
		}
		for _, c := range page.UserPoolClients {
			if aws.ToString(c.ClientName) != obj.Status.ClientName || claimed[aws.ToString(c.ClientId)] {
				continue
			}
			d, err := r.Options.Cognito.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: aws.String(pool), ClientId: c.ClientId})
			if cognito.IsNotFound(err) {
				continue
			}
			if err != nil {
				return "", cognitoFailed("DescribeUserPoolClient", err)
			}
			if d.UserPoolClient.CreationDate != nil && d.UserPoolClient.CreationDate.Before(since) {
				continue
			}
			found = append(found, *d.UserPoolClient)
		}
	}
	if len(found) == 0 {
		return "", nil
	}
	slices.SortFunc(found, func(a, b types.UserPoolClientType) int {
		return aws.ToTime(a.CreationDate).Compare(aws.ToTime(b.CreationDate))
	})
	for _, extra := range found[1:] {
		if _, err := r.Options.Cognito.DeleteUserPoolClient(ctx, &cip.DeleteUserPoolClientInput{UserPoolId: aws.String(pool), ClientId: extra.ClientId}); err != nil && !cognito.IsNotFound(err) {
			return "", cognitoFailed("DeleteUserPoolClient", err)
		}
		logf.FromContext(ctx).Info("Deleted duplicate app client left by an interrupted create", "pool", pool, "clientId", aws.ToString(extra.ClientId))
	}
	return aws.ToString(found[0].ClientId), nil
}

// reconcileDelete deletes the app client under the Delete policy (including one an
// interrupted create may have left), deletes the Secret, and releases the object.
func (r *M2MClientReconciler) reconcileDelete(ctx context.Context, obj *v1alpha1.M2MClient) error {
	if !controllerutil.ContainsFinalizer(obj, v1alpha1.Finalizer) {
		return nil
	}
	pool := obj.Status.UserPoolID
	if pool != "" && obj.Spec.DeletionPolicy != v1alpha1.DeletionPolicyRetain {
		if obj.Status.ClientID == "" && obj.Status.CreatePendingSince != nil {
			id, err := r.findCreated(ctx, obj, pool)
			if err != nil {
				return err
			}
			obj.Status.ClientID = id
		}
		if id := obj.Status.ClientID; id != "" {
			_, err := r.Options.Cognito.DeleteUserPoolClient(ctx, &cip.DeleteUserPoolClientInput{UserPoolId: aws.String(pool), ClientId: aws.String(id)})
			if err != nil && !cognito.IsNotFound(err) {
				return cognitoFailed("DeleteUserPoolClient", err)
			}
			logf.FromContext(ctx).Info("Deleted app client", "pool", pool, "clientId", id)
			r.Options.event(obj, v1alpha1.ReasonDeleted, "deleted app client %s from pool %s", id, pool)
		}
	} else if obj.Status.ClientID != "" {
		r.Options.event(obj, v1alpha1.ReasonRetained, "left app client %s in pool %s (deletionPolicy Retain)", obj.Status.ClientID, pool)
	}
	if err := r.deleteSecret(ctx, obj, obj.Status.SecretName); err != nil {
		return err
	}
	return removeFinalizer(ctx, r.Client, obj)
}
