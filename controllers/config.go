// Package controllers reconciles ResourceServer and M2MClient objects into Amazon
// Cognito resource servers and app clients, and M2MClients' credentials into Secrets.
package controllers

import (
	"time"

	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-m2m/operator/internal/cognito"
)

// DefaultDriftPeriod is how often a Ready object is compared with Cognito, to repair
// changes made outside Kubernetes.
const DefaultDriftPeriod = 10 * time.Minute

// Config is how the operator is configured: the values of its flags. It holds no
// clients and no state, so one value describes a manager completely.
type Config struct {
	// Tenancy is what a namespace's objects may claim (see policy.go).
	Tenancy
	// Limits are the request rates the operator keeps to; no pacing when zero.
	Limits cognito.Limits
	// Region is the pool's AWS region, for the token endpoint and issuer URLs.
	Region string
	// MaxRetainedPerNamespace bounds how many resources (resource servers and app
	// clients) each namespace may leave in Cognito with deletionPolicy Retain; 0
	// means no bound. See retainer.
	MaxRetainedPerNamespace int
	// RetainedLedgerNamespace is where the ledger of retained resources is kept
	// (the operator's own namespace); required with MaxRetainedPerNamespace.
	RetainedLedgerNamespace string
	// TokenEndpoint overrides the token endpoint derived from the pool's domain.
	TokenEndpoint string
	// IssuerBase overrides https://cognito-idp.<region>.amazonaws.com as the base of
	// the tokens' issuer (for the local emulator).
	IssuerBase string
	// DriftPeriod is the period of the drift check; DefaultDriftPeriod when zero.
	DriftPeriod time.Duration
}

// Tenancy is the part of the configuration that decides what a namespace's objects
// may claim in Cognito.
type Tenancy struct {
	// DefaultUserPoolID is used by objects that name no pool.
	DefaultUserPoolID string
	// AllowedUserPools are the pools objects may name; only DefaultUserPoolID when
	// empty. The operator's IAM role may reach more pools than a tenant should.
	AllowedUserPools []string
	// AllowAdoption lets ResourceServers in every namespace take over resource
	// servers that already exist in Cognito; without it only namespaces annotated
	// with v1alpha1.AllowAdoptionAnnotation may.
	AllowAdoption bool
	// RestrictIdentifiers limits each namespace to the resource-server identifiers
	// its v1alpha1.AllowedIdentifiersAnnotation lists.
	RestrictIdentifiers bool
}

// driftPeriod is the configured drift-check period.
func (c Config) driftPeriod() time.Duration {
	if c.DriftPeriod > 0 {
		return c.DriftPeriod
	}
	return DefaultDriftPeriod
}

// Deps are what the reconcilers talk to: Cognito, the API server, the event
// recorder, and the clock.
type Deps struct {
	// Cognito is the user-pools API (the AWS SDK client in production). The
	// reconcilers reach it only through a cognito.Client, which paces and counts
	// every call.
	Cognito cognito.API
	// Recorder records events; none when nil.
	Recorder events.EventRecorder
	// Clock is the one clock the reconcilers read: for create-pending marks and
	// grantee records, rotation schedules and grace periods, drift checks and
	// cached endpoints. The real clock when nil. Marks are compared with
	// Cognito's timestamps through the skew the Cognito client measures against
	// the system clock, so a fake clock set far from it misleads crash recovery:
	// tests that move it give the emulator the same clock.
	Clock clock.PassiveClock
	// APIReader reads objects the cache does not hold (Secrets the operator does not
	// own), and objects as the API server has them. The manager's APIReader when
	// nil.
	APIReader client.Reader
}
