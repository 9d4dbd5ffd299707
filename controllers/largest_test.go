package controllers_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/cognito"
	"github.com/cognito-m2m/operator/internal/emulator/model"
)

// The largest objects the CRDs admit, at the bounds of AWS's model, go through
// the operator: Cognito holds them as specified, and in a steady state the
// operator finds them up to date (no update, no drift repair).
func TestLargestObjectsAreHeldAndStayUpToDate(t *testing.T) {
	e := newEnv(t)
	max := func(shape string) int { return int(*model.Lookup(shape).Max) }
	fill := func(prefix, pad string, n int) string { return prefix + strings.Repeat(pad, n-len(prefix)) }

	id := "big-" + e.ns
	rs := newRS(e.ns, "big", id)
	rs.Spec.Name = fill("Big API ", "n", max("ResourceServerNameType"))
	// Scope names as long as a client can still be granted them: the full name
	// "<identifier>/<scope>" of an app client's scope is at most 256 characters.
	nameLen := max("ScopeType") - len(id) - 1
	for i := range max("ResourceServerScopeListType") {
		rs.Spec.Scopes = append(rs.Spec.Scopes, v1alpha1.ResourceServerScope{
			Name:        fill(fmt.Sprintf("s%03d", i), "x", nameLen),
			Description: fill("may \x01\t", "d", max("ResourceServerScopeDescriptionType")),
		})
	}
	mustCreate(t, rs)
	waitReady(t, rs)
	// Read again if the large answer hits the SDK's closed-connection race with
	// retries off (issue 18, item 6, fixed apart).
	var held *types.ResourceServerType
	eventually(t, 10*time.Second, func() (err error) {
		held, err = describeRS(t, e.pool, id)
		return err
	})
	if !cognito.DesiredResourceServer(rs.Spec).UpToDate(held) || len(held.Scopes) != len(rs.Spec.Scopes) {
		t.Errorf("Cognito holds %d scopes named %q, not the spec's %d", len(held.Scopes), aws.ToString(held.Name), len(rs.Spec.Scopes))
	}

	c := newClient(e.ns, "big", "big")
	c.Spec.ClientName = fill("client ", "c", max("ClientNameType"))
	c.Spec.AccessTokenValidity = &metav1.Duration{Duration: time.Duration(max("AccessTokenValidityType")) * time.Second}
	for _, s := range rs.Spec.Scopes[:max("ScopeListType")] {
		c.Spec.Scopes[0].Scopes = append(c.Spec.Scopes[0].Scopes, s.Name)
	}
	mustCreate(t, c)
	waitReady(t, c)
	var app *types.UserPoolClientType
	eventually(t, 10*time.Second, func() (err error) {
		app, err = describeClient(e.pool, c.Status.ClientID)
		return err
	})
	want := make([]string, 0, len(c.Spec.Scopes[0].Scopes))
	for _, s := range c.Spec.Scopes[0].Scopes {
		want = append(want, v1alpha1.FullScopeName(id, s))
	}
	got := slices.Clone(app.AllowedOAuthScopes)
	slices.Sort(got)
	slices.Sort(want)
	if aws.ToString(app.ClientName) != c.Spec.ClientName || !slices.Equal(got, want) || cognito.AccessTokenValidity(app) != 24*time.Hour {
		t.Errorf("Cognito holds client %q with %d scopes and validity %s; want the spec's name, %d scopes and 24h",
			aws.ToString(app.ClientName), len(got), cognito.AccessTokenValidity(app), len(want))
	}

	time.Sleep(time.Second)
	e.api.reset()
	time.Sleep(5 * time.Second) // two drift checks at 2s
	for op, n := range e.api.counts() {
		if !strings.HasPrefix(op, "Describe") && !strings.HasPrefix(op, "List") {
			t.Errorf("%s called %d times in a steady state", op, n)
		}
	}
	if n := e.api.counts()["DescribeUserPoolClient"]; n == 0 {
		t.Error("no drift check in the steady state: the test saw nothing")
	}
}
