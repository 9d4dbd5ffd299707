package cognito

import (
	"context"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Cognito's request-rate quotas come in two kinds, both enforced per account and
// region: a category's requests per second (all app-client reads, say), and a limit
// for any one operation on one user pool. Over either, Cognito answers
// TooManyRequestsException. The operator paces itself just under them instead of
// spending calls on throttled answers, and accounts that raised their quotas raise
// these with flags.

// Quota categories, named as in Cognito's quotas table.
const (
	CategoryUserPoolRead         = "UserPoolRead"
	CategoryClientRead           = "UserPoolClientRead"
	CategoryClientUpdate         = "UserPoolClientUpdate"
	CategoryResourceServerRead   = "UserPoolResourceServerRead"
	CategoryResourceServerUpdate = "UserPoolResourceServerUpdate"
)

// categoryOf is the quota category of each operation the operator calls.
var categoryOf = map[string]string{
	"DescribeUserPool":           CategoryUserPoolRead,
	"DescribeResourceServer":     CategoryResourceServerRead,
	"CreateResourceServer":       CategoryResourceServerUpdate,
	"UpdateResourceServer":       CategoryResourceServerUpdate,
	"DeleteResourceServer":       CategoryResourceServerUpdate,
	"DescribeUserPoolClient":     CategoryClientRead,
	"ListUserPoolClients":        CategoryClientRead,
	"ListUserPoolClientSecrets":  CategoryClientRead,
	"CreateUserPoolClient":       CategoryClientUpdate,
	"UpdateUserPoolClient":       CategoryClientUpdate,
	"DeleteUserPoolClient":       CategoryClientUpdate,
	"AddUserPoolClientSecret":    CategoryClientUpdate,
	"DeleteUserPoolClientSecret": CategoryClientUpdate,
}

// Limits are request rates, in requests per second.
type Limits struct {
	// PerOperation limits any one operation on one pool. It is the ceiling of
	// the adaptive rate (see pace): throttles bring the rate in force under it.
	PerOperation float64
	// Categories limits each quota category, across pools.
	Categories map[string]float64
	// Recovery is how long the rate in force takes to climb back from half the
	// ceiling to the ceiling once throttles stop; DefaultRecovery when zero.
	Recovery time.Duration
}

// DefaultLimits are just under Cognito's published default quotas (5 per second
// for one operation on one pool; 15 for app-client reads and writes and resource
// server writes, 20 for resource server reads, 15 for user pool reads), so that
// timers' jitter does not tip the operator over them.
func DefaultLimits() Limits {
	return Limits{
		PerOperation: 4.8,
		Categories: map[string]float64{
			CategoryUserPoolRead:         14,
			CategoryClientRead:           14,
			CategoryClientUpdate:         14,
			CategoryResourceServerRead:   19,
			CategoryResourceServerUpdate: 14,
		},
	}
}

// Limiter paces calls to Limits, adapts each operation's rate on each pool to
// Cognito's answers (see pace), and serves the namespaces waiting for the same
// operation on the same pool in turn (see gate). A nil Limiter does not pace.
type Limiter struct {
	limits Limits
	now    func() time.Time
	mu     sync.Mutex
	gates  map[string]*gate // "<operation> <pool>"
	perCat map[string]*rate.Limiter
}

// NewLimiter paces calls to limits; a zero or negative rate leaves that limit off.
func NewLimiter(limits Limits) *Limiter {
	return &Limiter{limits: limits, now: time.Now, gates: map[string]*gate{}, perCat: map[string]*rate.Limiter{}}
}

// Wait blocks until a call of op on pool fits every limit and it is the turn of
// the call's flow (FlowOf(ctx)), or ctx ends. The time spent waiting is
// recorded, so that a saturated quota shows on the metrics.
func (l *Limiter) Wait(ctx context.Context, op, pool string) error {
	if l == nil {
		return nil
	}
	start := time.Now()
	if err := l.gateFor(op, pool).wait(ctx, FlowOf(ctx)); err != nil {
		return err
	}
	recordWait(op, time.Since(start))
	return nil
}

// Answered adapts the rate in force for op on pool to the outcome of one
// attempt: a throttle cuts it, any other answer from Cognito lets it climb. An
// attempt that got no answer (a timeout, a reset) says nothing about the quota.
func (l *Limiter) Answered(op, pool string, err error) {
	if l == nil || l.limits.PerOperation <= 0 || !fromCognito(err) {
		return
	}
	l.gateFor(op, pool).answered(l.now(), IsThrottled(err))
}

// Rate is the rate in force for op on pool, 0 when it is not limited.
func (l *Limiter) Rate(op, pool string) float64 {
	if l == nil || l.limits.PerOperation <= 0 {
		return 0
	}
	g := l.gateFor(op, pool)
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pace.rate
}

func (l *Limiter) gateFor(op, pool string) *gate {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := op + " " + pool
	if g, ok := l.gates[key]; ok {
		return g
	}
	g := &gate{op: op, pool: pool, flows: map[string][]*waiter{}, window: paceWindow}
	if r := l.limits.PerOperation; r > 0 {
		g.pace = newPace(r, l.limits.Recovery, l.now())
		g.perOp = rate.NewLimiter(rate.Limit(r), 1)
		recordRate(op, pool, r)
	}
	if cat := categoryOf[op]; l.limits.Categories[cat] > 0 {
		lim, ok := l.perCat[cat]
		if !ok {
			lim = rate.NewLimiter(rate.Limit(l.limits.Categories[cat]), 1)
			l.perCat[cat] = lim
		}
		g.cat = lim
	}
	l.gates[key] = g
	return g
}

// gate is where the calls of one operation on one pool wait for the rate limit.
// Waiting in one line would let a namespace that creates 300 clients delay
// another namespace's one create by 300 slots; so, as Kubernetes' API Priority
// and Fairness does for API requests, each flow (a namespace: FlowOf) queues on
// its own, and each free slot goes to the next flow in turn. A flow then waits
// for at most one slot per other waiting flow, whatever their backlogs.
type gate struct {
	op, pool string
	perOp    *rate.Limiter // nil when operations are not limited
	cat      *rate.Limiter // the category's, shared by its gates; nil when not limited

	mu      sync.Mutex
	pace    pace
	flows   map[string][]*waiter // each flow's waiters, first come first
	turns   []string             // the flows with waiters, in turn order
	next    int                  // index in turns of the flow served next
	running bool                 // a dispatch goroutine is handing out slots
	grants  []time.Time          // the slots granted within the last paceWindow
	window  time.Duration        // paceWindow, shorter in tests
}

// paceWindow and paceBusy say when the rate holds calls back: when the slots
// granted in the last paceWindow are at least paceBusy of what the rate allows.
// One clump of calls does not count, or a manager whose drift checks come
// slower than its rate, one here and two there, would climb back to the ceiling
// and burst over a quota it shares.
const (
	paceWindow = 5 * time.Second
	paceBusy   = 0.8
)

// limited reports whether the rate held calls back lately. g.mu is held.
func (g *gate) limited(now time.Time) bool {
	i := 0
	for i < len(g.grants) && now.Sub(g.grants[i]) > g.window {
		i++
	}
	g.grants = g.grants[i:]
	return float64(len(g.grants)) >= paceBusy*g.pace.rate*g.window.Seconds()
}

type waiter struct{ granted chan struct{} }

func (g *gate) wait(ctx context.Context, flow string) error {
	if g.perOp == nil && g.cat == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &waiter{granted: make(chan struct{})}
	g.mu.Lock()
	if len(g.flows[flow]) == 0 {
		g.turns = append(g.turns, flow)
	}
	g.flows[flow] = append(g.flows[flow], w)
	if !g.running {
		g.running = true
		go g.dispatch()
	}
	g.mu.Unlock()
	select {
	case <-w.granted:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-w.granted: // granted as ctx ended: the slot is lost, not passed on
	default:
		g.remove(flow, w)
	}
	return ctx.Err()
}

// dispatch hands out slots, one per tick of the limiters, until no one waits.
func (g *gate) dispatch() {
	for {
		g.mu.Lock()
		if len(g.turns) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		// The limiters' own waits end only with their slot: a rate cut while
		// waiting applies from the next slot.
		if g.perOp != nil {
			_ = g.perOp.Wait(context.Background())
		}
		if g.cat != nil {
			_ = g.cat.Wait(context.Background())
		}
		// The flow is chosen when the slot is free, not before: one that
		// arrived during the wait takes its turn now.
		g.mu.Lock()
		if g.perOp != nil {
			now := time.Now()
			g.grants = append(g.grants, now)
			g.limited(now) // trims the old grants
		}
		if w := g.pop(); w != nil {
			close(w.granted)
		}
		g.mu.Unlock()
	}
}

// pop takes the first waiter of the flow whose turn it is. g.mu is held.
func (g *gate) pop() *waiter {
	if len(g.turns) == 0 {
		return nil
	}
	if g.next >= len(g.turns) {
		g.next = 0
	}
	flow := g.turns[g.next]
	q := g.flows[flow]
	w := q[0]
	if len(q) == 1 {
		delete(g.flows, flow)
		g.turns = slices.Delete(g.turns, g.next, g.next+1) // next is now the following flow
	} else {
		q[0] = nil
		g.flows[flow] = q[1:]
		g.next++
	}
	return w
}

// remove takes a cancelled waiter out of its flow's queue. g.mu is held.
func (g *gate) remove(flow string, w *waiter) {
	q := g.flows[flow]
	i := slices.Index(q, w)
	if i < 0 {
		return
	}
	q = slices.Delete(q, i, i+1)
	if len(q) > 0 {
		g.flows[flow] = q
		return
	}
	delete(g.flows, flow)
	t := slices.Index(g.turns, flow)
	g.turns = slices.Delete(g.turns, t, t+1)
	if t < g.next {
		g.next--
	}
}

func (g *gate) answered(now time.Time, throttled bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	before := g.pace.rate
	g.pace = g.pace.answered(now, throttled, g.limited(time.Now()))
	if g.pace.rate != before {
		g.perOp.SetLimitAt(now, rate.Limit(g.pace.rate))
		recordRate(g.op, g.pool, g.pace.rate)
	}
}

// flowKey is the context key of a call's flow.
type flowKey struct{}

// WithFlow returns ctx for calls made on behalf of flow: the namespace of the
// object being reconciled. Calls of different flows waiting for the same
// operation on the same pool are served in turn.
func WithFlow(ctx context.Context, flow string) context.Context {
	return context.WithValue(ctx, flowKey{}, flow)
}

// FlowOf is the flow WithFlow set, or "" (one flow for every call without one).
func FlowOf(ctx context.Context) string {
	f, _ := ctx.Value(flowKey{}).(string)
	return f
}
