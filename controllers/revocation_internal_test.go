package controllers

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/cognito"
)

func TestFateOf(t *testing.T) {
	owner := func(id string) *v1alpha1.M2MClient {
		return &v1alpha1.M2MClient{Status: v1alpha1.M2MClientStatus{ClientID: id}}
	}
	tests := []struct {
		name  string
		g     v1alpha1.Grantee
		owner *v1alpha1.M2MClient
		want  granteeFate
	}{
		{"live owner with that client", v1alpha1.Grantee{ClientID: "a"}, owner("a"), keepGrantee},
		{"live owner still creating", v1alpha1.Grantee{ClientNameHash: "h"}, owner(""), keepGrantee},
		{"live owner whose id the cache does not show yet", v1alpha1.Grantee{ClientID: "a"}, owner(""), keepGrantee},
		{"live owner with another client now", v1alpha1.Grantee{ClientID: "a"}, owner("b"), revokeByID},
		{"owner gone, client known", v1alpha1.Grantee{ClientID: "a"}, nil, revokeByID},
		{"owner gone during a create", v1alpha1.Grantee{ClientNameHash: "h"}, nil, revokePending},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fateOf(tc.g, tc.owner); got != tc.want {
				t.Errorf("fateOf = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestGranteeRecord(t *testing.T) {
	now := time.Date(2026, 12, 2, 17, 0, 0, 0, time.UTC)
	earlier := metav1.NewTime(now.Add(-time.Minute))
	obj := func(id, name string, pending *metav1.Time) *v1alpha1.M2MClient {
		o := &v1alpha1.M2MClient{Spec: v1alpha1.M2MClientSpec{ClientName: name}, Status: v1alpha1.M2MClientStatus{ClientID: id, CreatePendingSince: pending}}
		o.UID = "u1"
		return o
	}
	nowT := metav1.NewTime(now)
	tests := []struct {
		name        string
		held        *v1alpha1.Grantee
		obj         *v1alpha1.M2MClient
		want        v1alpha1.Grantee
		wantChanged bool
	}{
		{"before the first create", nil, obj("", "app", nil),
			v1alpha1.Grantee{UID: "u1", ClientNameHash: cognito.NameHash("app"), Since: &nowT}, true},
		{"a create already pending: since its mark", nil, obj("", "app", &earlier),
			v1alpha1.Grantee{UID: "u1", ClientNameHash: cognito.NameHash("app"), Since: &earlier}, true},
		{"pending, already recorded", &v1alpha1.Grantee{UID: "u1", ClientNameHash: cognito.NameHash("app"), Since: &earlier}, obj("", "app", nil),
			v1alpha1.Grantee{UID: "u1", ClientNameHash: cognito.NameHash("app"), Since: &earlier}, false},
		{"renamed while pending", &v1alpha1.Grantee{UID: "u1", ClientNameHash: cognito.NameHash("old"), Since: &earlier}, obj("", "new", nil),
			v1alpha1.Grantee{UID: "u1", ClientNameHash: cognito.NameHash("new"), Since: &nowT}, true},
		{"created", &v1alpha1.Grantee{UID: "u1", ClientNameHash: cognito.NameHash("app"), Since: &earlier}, obj("id1", "app", nil),
			v1alpha1.Grantee{UID: "u1", ClientID: "id1"}, true},
		{"steady", &v1alpha1.Grantee{UID: "u1", ClientID: "id1"}, obj("id1", "app", nil),
			v1alpha1.Grantee{UID: "u1", ClientID: "id1"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := granteeRecord(tc.held, tc.obj, now)
			if diff := cmp.Diff(tc.want, got); diff != "" || changed != tc.wantChanged {
				t.Errorf("changed %v (want %v); record (-want +got):\n%s", changed, tc.wantChanged, diff)
			}
		})
	}
}

func TestShortestCap(t *testing.T) {
	rs := func(d time.Duration) *v1alpha1.ResourceServer {
		r := &v1alpha1.ResourceServer{}
		if d > 0 {
			r.Spec.MaxAccessTokenValidity = &metav1.Duration{Duration: d}
		}
		return r
	}
	if got := shortestCap(nil); got != 0 {
		t.Errorf("no servers: %s", got)
	}
	if got := shortestCap([]*v1alpha1.ResourceServer{rs(0), rs(time.Hour), rs(15 * time.Minute)}); got != 15*time.Minute {
		t.Errorf("shortest of none, 1h and 15m: %s", got)
	}
}

func TestDesiredClientValidity(t *testing.T) {
	c := &v1alpha1.M2MClient{}
	c.Name, c.Namespace = "n", "ns"
	if got := desiredClient(c, nil, 15*time.Minute).AccessTokenValidity; got != 15*time.Minute {
		t.Errorf("default 1h under a 15m cap: %s", got)
	}
	if got := desiredClient(c, nil, 2*time.Hour).AccessTokenValidity; got != 0 {
		t.Errorf("default under a 2h cap: %s, want the default (0)", got)
	}
	c.Spec.AccessTokenValidity = &metav1.Duration{Duration: 10 * time.Minute}
	if got := desiredClient(c, nil, 15*time.Minute).AccessTokenValidity; got != 10*time.Minute {
		t.Errorf("10m under a 15m cap: %s", got)
	}
}

func TestSameGrantee(t *testing.T) {
	a, b := metav1.NewTime(time.Unix(100, 0)), metav1.NewTime(time.Unix(100, 0))
	c := metav1.NewTime(time.Unix(200, 0))
	g := v1alpha1.Grantee{UID: "u", ClientNameHash: "h", Since: &a}
	if !sameGrantee(g, v1alpha1.Grantee{UID: "u", ClientNameHash: "h", Since: &b}) {
		t.Error("equal records with distinct time pointers differ")
	}
	if sameGrantee(g, v1alpha1.Grantee{UID: "u", ClientNameHash: "h", Since: &c}) {
		t.Error("records of two creates are the same")
	}
	if sameGrantee(g, v1alpha1.Grantee{UID: "u", ClientID: "id"}) {
		t.Error("a pending record and a created one are the same")
	}
}

func TestOnlyGranteesChanged(t *testing.T) {
	base := &v1alpha1.ResourceServer{}
	base.Generation = 2
	base.Status.Scopes = []string{"api/read"}
	grantee := base.DeepCopy()
	grantee.Status.Grantees = []v1alpha1.Grantee{{UID: "u", ClientID: "c"}}
	spec := grantee.DeepCopy()
	spec.Generation = 3
	status := grantee.DeepCopy()
	status.Status.Scopes = []string{"api/read", "api/write"}
	if !onlyGranteesChanged(base, grantee) {
		t.Error("a new grantee record wakes the server's clients")
	}
	if onlyGranteesChanged(grantee, spec) || onlyGranteesChanged(grantee, status) {
		t.Error("a spec or status change does not wake the server's clients")
	}
}
