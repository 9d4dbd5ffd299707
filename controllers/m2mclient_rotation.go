package controllers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/auth/credentials"
)

// DefaultGracePeriod is how long both secrets stay valid during a rotation when the
// spec does not say: the kubelet refreshes mounted Secrets within about a minute, and
// consumers need a moment more to reload.
const DefaultGracePeriod = 5 * time.Minute

// idle is how long to wait when no rotation is scheduled.
const idle = 24 * time.Hour

// reconcileRotation takes the rotation step that is due and returns when the next one
// is, and the secret values the Secret must hold now.
//
// The sequence, each step recorded in status before its effect so that a restarted
// operator resumes it:
//
//	Adding:   a new secret value is generated and staged in the Secret, then added in
//	          Cognito with that value (so the value is never only in Cognito's answer);
//	          the Secret then holds it as client_secret, the old one as
//	          client_secret_previous.
//	Grace:    both are valid; consumers reload the mounted Secret.
//	Retiring: the old secret is deleted in Cognito (never the only one), then dropped
//	          from the Secret.
func (r *M2MClientReconciler) reconcileRotation(ctx context.Context, obj *v1alpha1.M2MClient, st *statusWriter, app *types.UserPoolClientType, ep endpoints) (time.Duration, secretValues, error) {
	request := rotateRequest(obj)
	if obj.Spec.Rotation == nil && obj.Status.Rotation == nil && request == "" {
		return idle, secretValues{}, nil
	}
	if obj.Status.Rotation == nil {
		obj.Status.Rotation = &v1alpha1.RotationStatus{}
	}
	rot := obj.Status.Rotation
	var vals secretValues
	if rot.Phase == v1alpha1.RotationGrace {
		data, err := r.secretData(ctx, obj)
		if err != nil {
			return 0, secretValues{}, err
		}
		vals = graceValues(data)
	}
	if rot.Phase == "" {
		schedule(rot, obj.Spec.Rotation, app.CreationDate)
	}
	step, wait := decideRotation(rotationInput{
		status: *rot, grace: gracePeriod(obj), request: request,
		valuesKept: vals.current != "", now: r.clock.Now(),
	})
	switch step {
	case stepStart:
		return r.startRotation(ctx, obj, st, app, ep, request)
	case stepAdd:
		return r.addSecret(ctx, obj, st, app, ep)
	case stepAbort:
		return r.abortRotation(ctx, obj, st)
	case stepRetire:
		if rot.Phase == v1alpha1.RotationGrace {
			rot.Phase, rot.PhaseSince = v1alpha1.RotationRetiring, r.now()
			if err := st.patch(ctx); err != nil {
				return 0, secretValues{}, err
			}
		} else {
			data, err := r.secretData(ctx, obj)
			if err != nil {
				return 0, secretValues{}, err
			}
			vals = secretValues{current: string(data[credentials.KeyClientSecret])}
		}
		return r.retireSecret(ctx, obj, st, vals)
	}
	return wait, vals, nil
}

// startRotation records which secret is being retired and moves to Adding. A client
// made before rotation existed has one secret that may not be listable: it is
// adopted as the old one.
func (r *M2MClientReconciler) startRotation(ctx context.Context, obj *v1alpha1.M2MClient, st *statusWriter, app *types.UserPoolClientType, ep endpoints, request string) (time.Duration, secretValues, error) {
	secrets, err := r.listSecrets(ctx, obj)
	if err != nil {
		return 0, secretValues{}, err
	}
	if len(secrets) > 1 {
		return 0, secretValues{}, retrying(v1alpha1.ReasonRotating, "app client %s already has %d secrets; Cognito allows two, and the operator does not know which is in use: delete the one not in Secret %s", obj.Status.ClientID, len(secrets), obj.SecretName())
	}
	rot := obj.Status.Rotation
	rot.PreviousSecretID = ""
	if len(secrets) == 1 {
		rot.PreviousSecretID = aws.ToString(secrets[0].ClientSecretId)
	}
	rot.Phase, rot.PhaseSince, rot.LastRequest = v1alpha1.RotationAdding, r.now(), request
	if err := st.patch(ctx); err != nil {
		return 0, secretValues{}, err
	}
	logf.FromContext(ctx).Info("Starting secret rotation", "clientId", obj.Status.ClientID)
	r.event(obj, v1alpha1.ReasonRotating, "rotating the secret of app client %s", obj.Status.ClientID)
	return r.addSecret(ctx, obj, st, app, ep)
}

// addSecret stages a new value in the Secret, adds it in Cognito unless a previous
// attempt already did, and moves to Grace with both values in the Secret.
//
// A previous attempt may have stopped anywhere, and the Secret says where: with
// the value staged under client_secret_next, Cognito may or may not have it yet;
// with no staged value, client_secret_previous and a new secret in Cognito, the
// attempt wrote its outcome and stopped before its status write, so the Secret's
// client_secret is the value Cognito holds. Staging another value then would put
// in the Secret a secret that Cognito never gets.
func (r *M2MClientReconciler) addSecret(ctx context.Context, obj *v1alpha1.M2MClient, st *statusWriter, app *types.UserPoolClientType, ep endpoints) (time.Duration, secretValues, error) {
	rot := obj.Status.Rotation
	data, err := r.secretData(ctx, obj)
	if err != nil {
		return 0, secretValues{}, err
	}
	secrets, err := r.listSecrets(ctx, obj)
	if err != nil {
		return 0, secretValues{}, err
	}
	var added *types.ClientSecretDescriptorType
	for i := range secrets {
		if id := aws.ToString(secrets[i].ClientSecretId); id != rot.PreviousSecretID && (rot.PreviousSecretID != "" || len(secrets) > 1) {
			added = &secrets[i]
		}
	}
	old := string(data[credentials.KeyClientSecret])
	next := string(data[credentials.KeyClientSecretNext])
	switch previous := string(data[credentials.KeyClientSecretPrevious]); {
	case next != "":
		// Staged by an earlier attempt: Cognito has it if added is set.
	case added != nil && previous != "" && old != "":
		old, next = previous, old
	case added != nil && len(secrets) == 1:
		return 0, secretValues{}, retrying(v1alpha1.ReasonRotating, "app client %s holds only secret %s, which Secret %s does not have: delete the client secret or the app client", obj.Status.ClientID, aws.ToString(added.ClientSecretId), obj.SecretName())
	case added != nil:
		// Cognito has a new secret whose value no Secret holds (the Secret was
		// replaced in between): no consumer can use it, so it goes, and the
		// rotation adds a value of its own.
		if err := r.deleteClientSecret(ctx, obj, aws.ToString(added.ClientSecretId)); err != nil {
			return 0, secretValues{}, err
		}
		added = nil
	}
	if old == "" {
		old = aws.ToString(app.ClientSecret)
	}
	if next == "" {
		next = newSecretValue()
		// Staged first: if the operator stops after Cognito accepts the value, the
		// value is still here to write out.
		if err := r.reconcileSecret(ctx, obj, app, ep, secretValues{current: old, next: next}); err != nil {
			return 0, secretValues{}, err
		}
	}
	if added == nil {
		added, err = r.cognito.AddClientSecret(ctx, obj.Status.UserPoolID, obj.Status.ClientID, next)
		if err != nil {
			return 0, secretValues{}, secretOpFailed("AddUserPoolClientSecret", err)
		}
	}
	rot.CurrentSecretID = aws.ToString(added.ClientSecretId)
	if added.ClientSecretCreateDate != nil {
		rot.CurrentSecretCreated = &metav1.Time{Time: *added.ClientSecretCreateDate}
	} else {
		rot.CurrentSecretCreated = r.now()
	}
	rot.Phase, rot.PhaseSince = v1alpha1.RotationGrace, r.now()
	logf.FromContext(ctx).Info("Added new client secret; both valid during the grace period", "clientId", obj.Status.ClientID, "secretId", rot.CurrentSecretID, "grace", gracePeriod(obj))
	return gracePeriod(obj), secretValues{current: next, previous: old}, nil
}

// retireSecret deletes the old secret in Cognito, if it is still there and not the
// only one, and ends the rotation.
func (r *M2MClientReconciler) retireSecret(ctx context.Context, obj *v1alpha1.M2MClient, st *statusWriter, vals secretValues) (time.Duration, secretValues, error) {
	rot := obj.Status.Rotation
	secrets, err := r.listSecrets(ctx, obj)
	if err != nil {
		return 0, secretValues{}, err
	}
	if len(secrets) > 1 {
		for _, s := range secrets {
			id := aws.ToString(s.ClientSecretId)
			if id == rot.CurrentSecretID || (rot.PreviousSecretID != "" && id != rot.PreviousSecretID) {
				continue
			}
			if err := r.deleteClientSecret(ctx, obj, id); err != nil {
				return 0, secretValues{}, err
			}
		}
	}
	rot.Phase, rot.PhaseSince, rot.PreviousSecretID = "", nil, ""
	rot.NextRotation = nil
	if obj.Spec.Rotation != nil && obj.Spec.Rotation.Interval != nil {
		rot.NextRotation = &metav1.Time{Time: rot.CurrentSecretCreated.Add(obj.Spec.Rotation.Interval.Duration)}
	}
	logf.FromContext(ctx).Info("Retired the old client secret", "clientId", obj.Status.ClientID, "secretId", rot.CurrentSecretID)
	r.event(obj, v1alpha1.ReasonRotated, "rotated the secret of app client %s; secret %s is current", obj.Status.ClientID, rot.CurrentSecretID)
	next := idle
	if rot.NextRotation != nil {
		next = rot.NextRotation.Sub(r.clock.Now())
	}
	return next, secretValues{current: vals.current}, nil
}

// abortRotation handles a Secret lost during the grace period: the new value is gone
// with it, so the new secret is deleted in Cognito and the old one, which Cognito
// still returns, stays current.
func (r *M2MClientReconciler) abortRotation(ctx context.Context, obj *v1alpha1.M2MClient, st *statusWriter) (time.Duration, secretValues, error) {
	rot := obj.Status.Rotation
	secrets, err := r.listSecrets(ctx, obj)
	if err != nil {
		return 0, secretValues{}, err
	}
	if len(secrets) > 1 && rot.CurrentSecretID != "" {
		if err := r.deleteClientSecret(ctx, obj, rot.CurrentSecretID); err != nil {
			return 0, secretValues{}, err
		}
	}
	logf.FromContext(ctx).Info("Secret was lost during a rotation; kept the old client secret", "clientId", obj.Status.ClientID)
	rot.CurrentSecretID, rot.PreviousSecretID, rot.Phase, rot.PhaseSince, rot.CurrentSecretCreated = rot.PreviousSecretID, "", "", nil, nil
	return time.Minute, secretValues{}, st.patch(ctx)
}

// graceValues are the two secrets of a rotation in its grace period, read from the
// Secret. If the write that ended Adding did not land, the new value is still
// staged under client_secret_next. An empty current means the new value is lost.
func graceValues(data map[string][]byte) secretValues {
	if next := string(data[credentials.KeyClientSecretNext]); next != "" {
		return secretValues{current: next, previous: string(data[credentials.KeyClientSecret])}
	}
	if prev := string(data[credentials.KeyClientSecretPrevious]); prev != "" {
		return secretValues{current: string(data[credentials.KeyClientSecret]), previous: prev}
	}
	return secretValues{}
}

func (r *M2MClientReconciler) listSecrets(ctx context.Context, obj *v1alpha1.M2MClient) ([]types.ClientSecretDescriptorType, error) {
	secrets, err := r.cognito.ClientSecrets(ctx, obj.Status.UserPoolID, obj.Status.ClientID)
	if err != nil {
		return nil, secretOpFailed("ListUserPoolClientSecrets", err)
	}
	return secrets, nil
}

// deleteClientSecret deletes one of the app client's secrets; one already gone is
// no error.
func (r *M2MClientReconciler) deleteClientSecret(ctx context.Context, obj *v1alpha1.M2MClient, id string) error {
	if err := r.cognito.DeleteClientSecret(ctx, obj.Status.UserPoolID, obj.Status.ClientID, id); err != nil {
		return secretOpFailed("DeleteUserPoolClientSecret", err)
	}
	return nil
}

func gracePeriod(obj *v1alpha1.M2MClient) time.Duration {
	if obj.Spec.Rotation != nil && obj.Spec.Rotation.GracePeriod != nil {
		return obj.Spec.Rotation.GracePeriod.Duration
	}
	return DefaultGracePeriod
}

// newSecretValue is a client secret as strong as Cognito's own: 256 random bits.
func newSecretValue() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
