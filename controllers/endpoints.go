package controllers

import (
	"context"
	"sync"
	"time"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/cognito"
)

// poolEndpoints caches each pool's token endpoint, so that the periodic checks of
// many clients in one pool cost one DescribeUserPool per period, not one per client.
type poolEndpoints struct {
	sh      *shared
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

// get is the pool's endpoints: the configured token endpoint, else the one its
// domain gives, read again once a drift period old.
func (p *poolEndpoints) get(ctx context.Context, pool string) (endpoints, error) {
	cfg := p.sh.cfg
	ep := endpoints{tokenEndpoint: cfg.TokenEndpoint, issuer: cognito.Issuer(cfg.IssuerBase, cfg.Region, pool)}
	if ep.tokenEndpoint != "" {
		return ep, nil
	}
	p.mu.Lock()
	e, ok := p.entries[pool]
	p.mu.Unlock()
	if ok && p.sh.clock.Since(e.fetched) < p.sh.driftPeriod() {
		ep.tokenEndpoint = e.tokenEndpoint
		return ep, nil
	}
	up, err := p.sh.cognito.UserPool(ctx, pool)
	if err != nil {
		return ep, cognitoFailed("DescribeUserPool", err)
	}
	url, ok := cognito.TokenEndpoint(up, cfg.Region)
	if !ok {
		return ep, retrying(v1alpha1.ReasonTokenEndpoint, "user pool %s has no domain, so it has no token endpoint: add a domain to the pool or start the operator with --token-endpoint", pool)
	}
	p.mu.Lock()
	if p.entries == nil {
		p.entries = map[string]poolEntry{}
	}
	p.entries[pool] = poolEntry{tokenEndpoint: url, fetched: p.sh.clock.Now()}
	p.mu.Unlock()
	ep.tokenEndpoint = url
	return ep, nil
}
