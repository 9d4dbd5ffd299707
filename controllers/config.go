// Package controllers reconciles ResourceServer and M2MClient objects into Amazon
// Cognito resource servers and app clients, and M2MClients' credentials into Secrets.
package controllers

import (
	"context"
	"sync"
	"time"

	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/cognito"
)

// DefaultDriftPeriod is how often a Ready object is compared with Cognito, to repair
// changes made outside Kubernetes.
const DefaultDriftPeriod = 10 * time.Minute

// Options is what both reconcilers need to know about the Cognito they talk to.
type Options struct {
	// Cognito is the user-pools API (the AWS SDK client in production). The
	// reconcilers reach it only through a cognito.Client, which paces and counts
	// every call.
	Cognito cognito.API
	// Limits are the request rates the operator keeps to; no pacing when zero.
	Limits cognito.Limits
	// Region is the pool's AWS region, for the token endpoint and issuer URLs.
	Region string
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
	// Recorder records events; none when nil.
	Recorder events.EventRecorder
	// Clock tells the time for rotation schedules and grace periods; the real clock
	// when nil.
	Clock clock.PassiveClock
	// APIReader reads objects the cache does not hold (Secrets the operator does not
	// own). The manager's APIReader in production.
	APIReader client.Reader

	pacer *driftPacer
	// pacerInterval overrides how often the drift period is recomputed (tests).
	pacerInterval time.Duration
}

func (o *Options) clock() clock.PassiveClock {
	if o.Clock != nil {
		return o.Clock
	}
	return clock.RealClock{}
}

// driftPeriod is the drift-check period in force: the configured one, stretched
// when the quota cannot check every object once per period (see driftPacer).
func (o *Options) driftPeriod() time.Duration {
	if o.pacer != nil {
		return o.pacer.current()
	}
	return o.configuredDriftPeriod()
}

func (o *Options) configuredDriftPeriod() time.Duration {
	if o.DriftPeriod > 0 {
		return o.DriftPeriod
	}
	return DefaultDriftPeriod
}

// userPool is the pool an object lives in: its own, or the operator's default; and
// one the operator is allowed to manage.
func (o *Options) userPool(own string) (string, error) {
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

// poolEndpoints caches each pool's token endpoint, so that the periodic checks of
// many clients in one pool cost one DescribeUserPool per period, not one per client.
type poolEndpoints struct {
	mu      sync.Mutex
	entries map[string]poolEntry
}

type poolEntry struct {
	tokenEndpoint string
	fetched       time.Time
}

// endpoints are the URLs written into a client's Secret.
type endpoints struct {
	tokenEndpoint string
	issuer        string
}

func (p *poolEndpoints) get(ctx context.Context, o *Options, c *cognito.Client, pool string) (endpoints, error) {
	ep := endpoints{tokenEndpoint: o.TokenEndpoint, issuer: cognito.Issuer(o.IssuerBase, o.Region, pool)}
	if ep.tokenEndpoint != "" {
		return ep, nil
	}
	p.mu.Lock()
	e, ok := p.entries[pool]
	p.mu.Unlock()
	if ok && time.Since(e.fetched) < o.driftPeriod() {
		ep.tokenEndpoint = e.tokenEndpoint
		return ep, nil
	}
	up, err := c.UserPool(ctx, pool)
	if err != nil {
		return ep, cognitoFailed("DescribeUserPool", err)
	}
	url, ok := cognito.TokenEndpoint(up, o.Region)
	if !ok {
		return ep, retrying(v1alpha1.ReasonTokenEndpoint, "user pool %s has no domain, so it has no token endpoint: add a domain to the pool or start the operator with --token-endpoint", pool)
	}
	p.mu.Lock()
	if p.entries == nil {
		p.entries = map[string]poolEntry{}
	}
	p.entries[pool] = poolEntry{tokenEndpoint: url, fetched: time.Now()}
	p.mu.Unlock()
	ep.tokenEndpoint = url
	return ep, nil
}
