package controllers

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/cognito-m2m/operator/api/v1alpha1"
)

// driftShare is the part of a pool's per-operation quota that periodic drift checks
// may use; the rest is left for creates, updates and retries.
const driftShare = 0.5

var driftPeriodGauge = prometheus.NewGauge(prometheus.GaugeOpts{
	Name: "cognito_m2m_drift_period_seconds",
	Help: "The drift-check period in force: the configured one, or longer when the pool's quota cannot check every object once per period.",
})

func init() { metrics.Registry.MustRegister(driftPeriodGauge) }

// stretchedPeriod is the drift period that lets n objects of one kind in one pool
// each be checked once per period within driftShare of a per-operation rate: the
// configured period when the quota allows it, longer when it does not.
func stretchedPeriod(configured time.Duration, n int, rate float64) time.Duration {
	if rate <= 0 || n == 0 {
		return configured
	}
	need := time.Duration(float64(n) / (rate * driftShare) * float64(time.Second))
	return max(configured, need)
}

// driftCheck is what one object's drift check costs: one call of op on pool.
type driftCheck struct{ op, pool string }

// driftChecks counts the drift checks per period of each operation on each pool:
// a DescribeUserPoolClient per M2MClient that holds an app client, a
// DescribeResourceServer per ResourceServer that holds a resource server (created
// or adopted). Objects waiting for a ResourceServer, refused or stalled cost no
// call, so they must not stretch everyone's period: else any tenant could slow
// every other team's drift repair and revocation by creating objects that never
// get anywhere.
func driftChecks(clients []v1alpha1.M2MClient, servers []v1alpha1.ResourceServer) map[driftCheck]int {
	checks := map[driftCheck]int{}
	for _, c := range clients {
		if c.Status.ClientID != "" && c.Status.UserPoolID != "" {
			checks[driftCheck{"DescribeUserPoolClient", c.Status.UserPoolID}]++
		}
	}
	for _, s := range servers {
		if s.Status.Ownership != "" && s.Status.UserPoolID != "" {
			checks[driftCheck{"DescribeResourceServer", s.Status.UserPoolID}]++
		}
	}
	return checks
}

// driftPeriodFor is the drift period that fits every operation's checks on every
// pool within driftShare of the rate in force for it (rate, 0 when not paced):
// the configured period, or the longest any of them needs. It also names the
// checks that need the longest, if any stretch it.
func driftPeriodFor(configured time.Duration, checks map[driftCheck]int, rate func(op, pool string) float64) (time.Duration, driftCheck) {
	period, worst := configured, driftCheck{}
	for c, n := range checks {
		if p := stretchedPeriod(configured, n, rate(c.op, c.pool)); p > period {
			period, worst = p, c
		}
	}
	return period, worst
}

// driftPacer keeps the drift period in force up to date with the number of objects,
// and says once when it has to stretch the configured period, rather than letting
// checks pile up against Cognito's quota and get throttled.
type driftPacer struct {
	client     client.Reader
	configured time.Duration
	// rate is the per-operation rate in force for op on pool (adaptive pacing
	// lowers it while Cognito throttles); 0 when not paced.
	rate      func(op, pool string) float64
	interval  time.Duration
	log       logr.Logger
	period    atomic.Int64
	mu        sync.Mutex
	stretched bool
}

func newDriftPacer(c client.Reader, configured time.Duration, rate func(op, pool string) float64, log logr.Logger) *driftPacer {
	p := &driftPacer{client: c, configured: configured, rate: rate, log: log, interval: pacerInterval}
	p.period.Store(int64(configured))
	driftPeriodGauge.Set(configured.Seconds())
	return p
}

// current is the drift period in force.
func (p *driftPacer) current() time.Duration { return time.Duration(p.period.Load()) }

// pacerInterval is how often the drift period is recomputed (shorter in tests).
var pacerInterval = time.Minute

// Start recomputes the period every interval until ctx ends (a manager Runnable).
func (p *driftPacer) Start(ctx context.Context) error {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		p.update(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// update counts the drift checks per operation and pool, and sets the period
// that fits them all at the rates in force.
func (p *driftPacer) update(ctx context.Context) {
	var clients v1alpha1.M2MClientList
	if err := p.client.List(ctx, &clients); err != nil {
		return
	}
	var servers v1alpha1.ResourceServerList
	if err := p.client.List(ctx, &servers); err != nil {
		return
	}
	checks := driftChecks(clients.Items, servers.Items)
	period, worst := driftPeriodFor(p.configured, checks, p.rate)
	p.period.Store(int64(period))
	driftPeriodGauge.Set(period.Seconds())
	p.mu.Lock()
	defer p.mu.Unlock()
	if stretched := period > p.configured; stretched != p.stretched {
		p.stretched = stretched
		if stretched {
			p.log.Info("Too many objects in one pool to check each once per drift period within Cognito's quota; checking less often",
				"objects", checks[worst], "operation", worst.op, "userPool", worst.pool,
				"configuredPeriod", p.configured, "period", period, "requestsPerSecond", p.rate(worst.op, worst.pool))
		} else {
			p.log.Info("Every object is checked once per drift period again", "period", period)
		}
	}
}
