package controllers

import (
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// The tenancy rules: what a namespace's objects may claim in Cognito. A tenant can
// write its own ResourceServers and M2MClients, so nothing a tenant writes widens
// these; only the operator's flags and Namespace annotations (which tenants cannot
// write) do. Each rule is a pure function of what the caller gathered.

// userPool is the pool an object lives in: its own, or the operator's default; and
// one the operator is allowed to manage.
func (o Tenancy) userPool(own string) (string, error) {
	if own == "" {
		if o.DefaultUserPoolID == "" {
			return "", stalled(v1alpha1.ReasonUserPoolMissing, "spec.userPoolId is empty and the operator has no default --user-pool-id")
		}
		return o.DefaultUserPoolID, nil
	}
	if !o.poolAllowed(own) {
		return "", stalled(v1alpha1.ReasonUserPoolDenied, "spec.userPoolId %q is not one of the pools this operator manages (--allowed-user-pools): leave it empty for the default pool, or ask a cluster admin to allow it", own)
	}
	return own, nil
}

// poolAllowed reports whether objects may name pool: one of --allowed-user-pools,
// or the default pool when that list is empty.
func (o Tenancy) poolAllowed(pool string) bool {
	if len(o.AllowedUserPools) == 0 {
		return pool == o.DefaultUserPoolID
	}
	return slices.Contains(o.AllowedUserPools, pool)
}

// adoptionAllowed reports whether ResourceServers in ns may take over a resource
// server that already exists in Cognito: everywhere with --allow-adoption, or in a
// namespace a cluster admin annotated.
func (o Tenancy) adoptionAllowed(ns *corev1.Namespace) bool {
	return o.AllowAdoption || ns.Annotations[v1alpha1.AllowAdoptionAnnotation] == "true"
}

// identifierAllowed reports whether ResourceServers in ns may claim identifier.
// Unrestricted operators allow every identifier; with --restrict-identifiers a
// namespace may claim only what its allowed-identifiers annotation lists, as exact
// identifiers or path.Match patterns.
func (o Tenancy) identifierAllowed(ns *corev1.Namespace, identifier string) bool {
	if !o.RestrictIdentifiers {
		return true
	}
	for _, p := range strings.Split(ns.Annotations[v1alpha1.AllowedIdentifiersAnnotation], ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if p == identifier {
			return true
		}
		if ok, err := path.Match(p, identifier); err == nil && ok {
			return true
		}
	}
	return false
}

// existingServer is what the operator knows when Cognito already holds a resource
// server with an object's identifier and the object has not recorded it as its own.
type existingServer struct {
	// createPending: the object's own create was sent and got no definite answer.
	createPending bool
	// matchesSent: the server has the name and scopes that create sent.
	matchesSent bool
	// adoptionAllowed: a cluster admin allows this namespace to adopt.
	adoptionAllowed bool
}

// claimExisting decides whether the object may manage an existing resource server,
// and records how. Only a create of the object's own that may have landed, or an
// admin's permission, lets it: otherwise any tenant could take over (rewrite, grant
// itself, delete) a resource server made outside the cluster or retained by another
// object.
func claimExisting(e existingServer) (v1alpha1.Ownership, bool) {
	switch {
	case e.createPending && e.matchesSent:
		return v1alpha1.OwnershipCreated, true
	case e.adoptionAllowed:
		return v1alpha1.OwnershipAdopted, true
	}
	return "", false
}

// clearStaleMark clears a create-pending mark that an older spec than generation
// sent: what the current spec describes was never sent, so nothing matching it may
// be claimed as this object's own. Without this, an object whose create got no
// answer could be edited to match a server or client someone else made, and claim
// it.
func clearStaleMark(since **metav1.Time, markGeneration *int64, generation int64) {
	if *since != nil && *markGeneration != generation {
		*since, *markGeneration = nil, 0
	}
}
