package controllers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

func newNamespace(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	mustCreate(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})
}

// crossClient asks for scopes of the ResourceServer weather in namespace rsNS.
func crossClient(ns, name, rsNS string, scopes ...string) *v1alpha1.M2MClient {
	c := newClient(ns, name, "weather", scopes...)
	c.Spec.Scopes[0].ResourceServer.Namespace = rsNS
	return c
}

// A ResourceServer's owner decides which namespaces may have its scopes: by name,
// by label, per scope, and a withdrawn grant removes the scope from existing clients.
func TestScopeGrants(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	allowed, refused, labelled := e.ns+"-allowed", e.ns+"-refused", e.ns+"-labelled"
	newNamespace(t, allowed, nil)
	newNamespace(t, refused, nil)
	newNamespace(t, labelled, map[string]string{"m2m.dev/weather-reader": "true"})

	rs := newRS(e.ns, "weather", "weather-"+e.ns, "read", "write")
	rs.Spec.AllowedNamespaces = &v1alpha1.NamespaceGrant{
		Names:    []string{allowed},
		Selector: &v1alpha1.NamespaceSelector{MatchLabels: map[string]v1alpha1.LabelValue{"m2m.dev/weather-reader": "true"}},
	}
	// write is narrowed to the named namespace only.
	rs.Spec.Scopes[1].AllowedNamespaces = &v1alpha1.NamespaceGrant{Names: []string{allowed}}
	mustCreate(t, rs)
	waitReady(t, rs)
	read, write := rs.Spec.Identifier+"/read", rs.Spec.Identifier+"/write"
	t.Cleanup(func() {
		for _, ns := range []string{allowed, refused, labelled} {
			_ = k8s.DeleteAllOf(ctx, &v1alpha1.M2MClient{}, inNS(ns))
		}
	})

	t.Run("allowed by name", func(t *testing.T) {
		c := crossClient(allowed, "by-name", e.ns, "read", "write")
		mustCreate(t, c)
		waitReady(t, c)
		if diff := cmp.Diff([]string{read, write}, c.Status.Scopes); diff != "" {
			t.Errorf("scopes (-want +got):\n%s", diff)
		}
	})

	t.Run("refused", func(t *testing.T) {
		c := crossClient(refused, "outsider", e.ns, "read")
		mustCreate(t, c)
		waitCondition(t, c, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonScopeNotGranted)
		// The reference is named; what the server offers is not the outsider's to see.
		msg := apimetaMessage(c)
		if !strings.Contains(msg, e.ns+"/weather") || strings.Contains(msg, rs.Spec.Identifier) {
			t.Errorf("condition %q does not name the ResourceServer reference, or discloses its identifier", msg)
		}
		if c.Status.ClientID != "" {
			t.Errorf("an app client was created with no granted scope: %s", c.Status.ClientID)
		}
	})

	t.Run("label-selected, per-scope narrowing, then withdrawn", func(t *testing.T) {
		c := crossClient(labelled, "by-label", e.ns, "read", "write")
		mustCreate(t, c)
		// read is granted by label; write only to the named namespace.
		waitCondition(t, c, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonScopeNotGranted)
		eventually(t, 10*time.Second, func() error {
			if err := k8s.Get(ctx, keyOf(c), c); err != nil {
				return err
			}
			if c.Status.ClientID == "" || !cmp.Equal([]string{read}, c.Status.Scopes) {
				return fmt.Errorf("client %q scopes %v, want an app client with %s only", c.Status.ClientID, c.Status.Scopes, read)
			}
			return nil
		})
		app, err := describeClient(e.pool, c.Status.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{read}, app.AllowedOAuthScopes); diff != "" {
			t.Errorf("Cognito scopes (-want +got):\n%s", diff)
		}

		// Withdraw: the namespace loses its label; the scope leaves the app client.
		ns := &corev1.Namespace{}
		if err := k8s.Get(ctx, keyOf(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: labelled}}), ns); err != nil {
			t.Fatal(err)
		}
		ns.Labels = nil
		if err := k8s.Update(ctx, ns); err != nil {
			t.Fatal(err)
		}
		eventually(t, 15*time.Second, func() error {
			app, err := describeClient(e.pool, c.Status.ClientID)
			if err != nil {
				return err
			}
			if len(app.AllowedOAuthScopes) != 0 || aws.ToBool(app.AllowedOAuthFlowsUserPoolClient) {
				return fmt.Errorf("app client still has %v (OAuth flows on: %v)", app.AllowedOAuthScopes, aws.ToBool(app.AllowedOAuthFlowsUserPoolClient))
			}
			return nil
		})
	})
}
