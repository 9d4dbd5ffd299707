package controllers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

func TestPoolAllowed(t *testing.T) {
	tests := []struct {
		name    string
		opts    Tenancy
		pool    string
		allowed bool
	}{
		{"default pool with no list", Tenancy{DefaultUserPoolID: "eu_A"}, "eu_A", true},
		{"other pool with no list", Tenancy{DefaultUserPoolID: "eu_A"}, "eu_B", false},
		{"listed pool", Tenancy{DefaultUserPoolID: "eu_A", AllowedUserPools: []string{"eu_A", "eu_B"}}, "eu_B", true},
		{"unlisted pool", Tenancy{DefaultUserPoolID: "eu_A", AllowedUserPools: []string{"eu_B"}}, "eu_C", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.opts.poolAllowed(tc.pool); got != tc.allowed {
				t.Errorf("poolAllowed(%q) = %v, want %v", tc.pool, got, tc.allowed)
			}
			_, err := tc.opts.userPool(tc.pool)
			if (err == nil) != tc.allowed {
				t.Errorf("userPool(%q) error = %v, want allowed=%v", tc.pool, err, tc.allowed)
			}
		})
	}
}

func TestIdentifierAllowed(t *testing.T) {
	ns := func(list string) *corev1.Namespace {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "billing"}}
		if list != "" {
			n.Annotations = map[string]string{v1alpha1.AllowedIdentifiersAnnotation: list}
		}
		return n
	}
	restricted := Tenancy{RestrictIdentifiers: true}
	tests := []struct {
		name     string
		opts     Tenancy
		list, id string
		allowed  bool
	}{
		{"unrestricted allows anything", Tenancy{}, "", "Billing", true},
		{"restricted, no annotation", restricted, "", "Billing", false},
		{"exact", restricted, "Billing", "Billing", true},
		{"one of several", restricted, "Weather, Billing", "Billing", true},
		{"case matters", restricted, "billing", "Billing", false},
		{"pattern", restricted, "https://billing.example.com/*", "https://billing.example.com/v1", true},
		{"pattern does not cross a slash", restricted, "https://billing.example.com/*", "https://billing.example.com/v1/x", false},
		{"prefix is not a match", restricted, "Bill", "Billing", false},
		{"a malformed pattern still matches itself exactly", restricted, "[", "[", true},
		{"a malformed pattern matches nothing else", restricted, "[", "x", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.opts.identifierAllowed(ns(tc.list), tc.id); got != tc.allowed {
				t.Errorf("identifierAllowed(%q, %q) = %v, want %v", tc.list, tc.id, got, tc.allowed)
			}
		})
	}
}

func TestClaimExisting(t *testing.T) {
	tests := []struct {
		name string
		in   existingServer
		want v1alpha1.Ownership
		ok   bool
	}{
		{"pre-existing, adoption not allowed", existingServer{}, "", false},
		{"pre-existing, adoption allowed", existingServer{adoptionAllowed: true}, v1alpha1.OwnershipAdopted, true},
		{"own interrupted create", existingServer{createPending: true, matchesSent: true}, v1alpha1.OwnershipCreated, true},
		{"pending but different content is not ours", existingServer{createPending: true}, "", false},
		{"same content without a pending create is not ours", existingServer{matchesSent: true}, "", false},
		{"different content, adoption allowed", existingServer{createPending: true, adoptionAllowed: true}, v1alpha1.OwnershipAdopted, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := claimExisting(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("claimExisting(%+v) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestAdoptionAllowed(t *testing.T) {
	plain := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}}
	annotated := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "b", Annotations: map[string]string{v1alpha1.AllowAdoptionAnnotation: "true"}}}
	if (Tenancy{}).adoptionAllowed(plain) {
		t.Error("adoption allowed by default")
	}
	if !(Tenancy{}).adoptionAllowed(annotated) {
		t.Error("annotated namespace may not adopt")
	}
	if !(Tenancy{AllowAdoption: true}).adoptionAllowed(plain) {
		t.Error("--allow-adoption does not allow adoption")
	}
}

func TestClearStaleMark(t *testing.T) {
	at := metav1.Now()
	tests := []struct {
		name         string
		since        *metav1.Time
		markGen, gen int64
		wantCleared  bool
	}{
		{"no mark", nil, 0, 3, false},
		{"mark for this spec", &at, 3, 3, false},
		{"mark for an older spec", &at, 2, 3, true},
		{"mark with no generation (written before generations were recorded)", &at, 0, 3, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			since, markGen := tc.since, tc.markGen
			clearStaleMark(&since, &markGen, tc.gen)
			if cleared := tc.since != nil && since == nil; cleared != tc.wantCleared {
				t.Errorf("cleared = %v, want %v", cleared, tc.wantCleared)
			}
			if since == nil && markGen != 0 {
				t.Errorf("a cleared mark kept generation %d", markGen)
			}
		})
	}
}
