// Package controllers reconciles ResourceServer and M2MClient objects into Amazon
// Cognito resource servers and app clients, and M2MClients' credentials into Secrets.
package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/cognito"
)

// DefaultDriftPeriod is how often a Ready object is compared with Cognito, to repair
// changes made outside Kubernetes.
const DefaultDriftPeriod = 10 * time.Minute

// Options is what both reconcilers need to know about the Cognito they talk to.
type Options struct {
	// Cognito is the user-pools API (the AWS SDK client in production).
	Cognito cognito.API
	// Region is the pool's AWS region, for the token endpoint and issuer URLs.
	Region string
	// DefaultUserPoolID is used by objects that name no pool.
	DefaultUserPoolID string
	// TokenEndpoint overrides the token endpoint derived from the pool's domain.
	TokenEndpoint string
	// IssuerBase overrides https://cognito-idp.<region>.amazonaws.com as the base of
	// the tokens' issuer (for the local emulator).
	IssuerBase string
	// DriftPeriod is the period of the drift check; DefaultDriftPeriod when zero.
	DriftPeriod time.Duration
	// Recorder records events; none when nil.
	Recorder events.EventRecorder
	// APIReader reads objects the cache does not hold (Secrets the operator does not
	// own). The manager's APIReader in production.
	APIReader client.Reader
}

func (o *Options) driftPeriod() time.Duration {
	if o.DriftPeriod > 0 {
		return o.DriftPeriod
	}
	return DefaultDriftPeriod
}

// userPool is the pool an object lives in: its own, or the operator's default.
func (o *Options) userPool(own string) (string, error) {
	if own != "" {
		return own, nil
	}
	if o.DefaultUserPoolID == "" {
		return "", stalled(v1alpha1.ReasonUserPoolMissing, "spec.userPoolId is empty and the operator has no default --user-pool-id")
	}
	return o.DefaultUserPoolID, nil
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

func (p *poolEndpoints) get(ctx context.Context, o *Options, pool string) (endpoints, error) {
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
	out, err := o.Cognito.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(pool)})
	if err != nil {
		return ep, cognitoFailed("DescribeUserPool", err)
	}
	url, ok := cognito.TokenEndpoint(out.UserPool, o.Region)
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

// errNotOwned is returned when an object the operator would write belongs to
// someone else.
func errNotOwned(kind, name, owner string) error {
	return fmt.Errorf("%s %q exists and is not owned by this object (%s); the operator does not overwrite it: delete or rename it, or set another name", kind, name, owner)
}
