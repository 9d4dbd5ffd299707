package controllers

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/auth/credentials"
)

// ManagedByLabel marks the Secrets the operator writes; it watches only those (see
// CacheOptions).
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "cognito-m2m-operator"
)

// secretValues are the client secrets to write: the current one, and during a
// rotation the one being retired.
type secretValues struct {
	current, previous, next string
}

// reconcileSecret writes the credentials Secret when its contents differ from what
// they should be, so that a deleted or edited Secret is restored and a steady state
// writes nothing. It never takes over a Secret that the object does not control.
func (r *M2MClientReconciler) reconcileSecret(ctx context.Context, obj *v1alpha1.M2MClient, app *types.UserPoolClientType, ep endpoints, vals secretValues) error {
	name := obj.SecretName()
	if vals.current == "" {
		vals.current = aws.ToString(app.ClientSecret)
	}
	data := map[string][]byte{
		credentials.KeyClientID:      []byte(aws.ToString(app.ClientId)),
		credentials.KeyClientSecret:  []byte(vals.current),
		credentials.KeyTokenEndpoint: []byte(ep.tokenEndpoint),
		credentials.KeyIssuer:        []byte(ep.issuer),
		credentials.KeyScopes:        []byte(strings.Join(obj.Status.Scopes, " ")),
		credentials.KeyUserPoolID:    []byte(obj.Status.UserPoolID),
	}
	if vals.previous != "" {
		data[credentials.KeyClientSecretPrevious] = []byte(vals.previous)
	}
	if vals.next != "" {
		data[credentials.KeyClientSecretNext] = []byte(vals.next)
	}
	changed, err := r.writeSecret(ctx, obj, name, data)
	if err != nil {
		return err
	}
	if obj.Status.SecretName != "" && obj.Status.SecretName != name {
		if err := r.deleteSecret(ctx, obj, obj.Status.SecretName); err != nil {
			return err
		}
	}
	obj.Status.SecretName = name
	if changed {
		obj.Status.CredentialsWrittenAt = r.now()
		logf.FromContext(ctx).Info("Wrote credentials Secret", "secret", name, "clientId", aws.ToString(app.ClientId))
		r.event(obj, v1alpha1.ReasonSecretWritten, "wrote credentials to Secret %s", name)
	}
	return nil
}

// writeSecret creates or updates the Secret with data, the spec's labels and
// annotations, and the object as its controller. It reports whether it wrote.
func (r *M2MClientReconciler) writeSecret(ctx context.Context, obj *v1alpha1.M2MClient, name string, data map[string][]byte) (bool, error) {
	labels := map[string]string{}
	maps.Copy(labels, obj.Spec.Secret.Labels)
	labels[ManagedByLabel] = ManagedByValue
	want := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: obj.Namespace, Labels: labels, Annotations: obj.Spec.Secret.Annotations},
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}
	if err := controllerutil.SetControllerReference(obj, want, r.Scheme()); err != nil {
		return false, fmt.Errorf("making the M2MClient the controller of Secret %s: %w", name, err)
	}
	got := &corev1.Secret{}
	err := r.Get(ctx, client.ObjectKeyFromObject(want), got)
	if apierrors.IsNotFound(err) {
		err = r.Create(ctx, want)
		if apierrors.IsAlreadyExists(err) {
			// Created since the read: not this object's.
			return false, retrying(v1alpha1.ReasonSecretConflict, "%s", errNotOwned("Secret", name, "it has no "+ManagedByLabel+"="+ManagedByValue+" label"))
		}
		if err != nil {
			return false, fmt.Errorf("creating Secret %s: %w", name, err)
		}
		r.memory.wroteSecret(obj, want.Name, want.ResourceVersion)
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading Secret %s: %w", name, err)
	}
	changed, err := r.updateSecret(ctx, obj, got, want)
	if apierrors.IsConflict(err) {
		// The cache lags behind a write of this same pass (a rotation writes twice):
		// read the Secret as it is now and try once more.
		if err := r.reader().Get(ctx, client.ObjectKeyFromObject(want), got); err != nil {
			return false, fmt.Errorf("reading Secret %s from the API server after a conflict: %w", name, err)
		}
		changed, err = r.updateSecret(ctx, obj, got, want)
	}
	return changed, err
}

// updateSecret sets got to want's data, labels and annotations, if they differ.
func (r *M2MClientReconciler) updateSecret(ctx context.Context, obj *v1alpha1.M2MClient, got, want *corev1.Secret) (bool, error) {
	if !metav1.IsControlledBy(got, obj) {
		return false, retrying(v1alpha1.ReasonSecretConflict, "%s", errNotOwned("Secret", got.Name, "another object controls it"))
	}
	if maps.EqualFunc(got.Data, want.Data, bytesEqual) && subset(want.Labels, got.Labels) && subset(want.Annotations, got.Annotations) {
		r.memory.wroteSecret(obj, got.Name, got.ResourceVersion)
		return false, nil
	}
	got.Data = want.Data
	got.Labels = mergeMaps(got.Labels, want.Labels)
	got.Annotations = mergeMaps(got.Annotations, want.Annotations)
	if err := r.Update(ctx, got); err != nil {
		return false, fmt.Errorf("updating Secret %s: %w", got.Name, err)
	}
	r.memory.wroteSecret(obj, got.Name, got.ResourceVersion)
	return true, nil
}

// secretData reads the object's Secret as it is now in the API server, or nil: the
// rotation keeps its secret values there, and must not act on a stale copy.
func (r *M2MClientReconciler) secretData(ctx context.Context, obj *v1alpha1.M2MClient) (map[string][]byte, error) {
	s := &corev1.Secret{}
	err := r.reader().Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: obj.SecretName()}, s)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading Secret %s from the API server for the rotation's secret values: %w", obj.SecretName(), err)
	}
	if !metav1.IsControlledBy(s, obj) {
		return nil, nil
	}
	return s.Data, nil
}

// deleteSecret deletes a Secret the object controls; anything else is left alone.
func (r *M2MClientReconciler) deleteSecret(ctx context.Context, obj *v1alpha1.M2MClient, name string) error {
	if name == "" {
		return nil
	}
	s := &corev1.Secret{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: name}, s); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("reading Secret %s to delete it: %w", name, err)
	} else if err != nil {
		return nil
	}
	if !metav1.IsControlledBy(s, obj) {
		return nil
	}
	if err := r.Delete(ctx, s, client.Preconditions{UID: &s.UID}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting Secret %s: %w", name, err)
	}
	return nil
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

func subset(want, got map[string]string) bool {
	for k, v := range want {
		if gv, ok := got[k]; !ok || gv != v {
			return false
		}
	}
	return true
}

func mergeMaps(dst, src map[string]string) map[string]string {
	if dst == nil && len(src) > 0 {
		dst = map[string]string{}
	}
	maps.Copy(dst, src)
	return dst
}
