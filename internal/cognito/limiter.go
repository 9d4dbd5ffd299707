package cognito

import (
	"context"
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
	// PerOperation limits any one operation on one pool.
	PerOperation float64
	// Categories limits each quota category, across pools.
	Categories map[string]float64
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

// Limiter paces calls to Limits. A nil Limiter does not pace.
type Limiter struct {
	limits Limits
	mu     sync.Mutex
	perOp  map[string]*rate.Limiter // "<operation> <pool>"
	perCat map[string]*rate.Limiter
}

// NewLimiter paces calls to limits; a zero or negative rate leaves that limit off.
func NewLimiter(limits Limits) *Limiter {
	return &Limiter{limits: limits, perOp: map[string]*rate.Limiter{}, perCat: map[string]*rate.Limiter{}}
}

// Wait blocks until a call of op on pool fits every limit, or ctx ends. The time
// spent waiting is recorded, so a saturated quota shows on the metrics.
func (l *Limiter) Wait(ctx context.Context, op, pool string) error {
	if l == nil {
		return nil
	}
	start := time.Now()
	for _, lim := range l.limitersFor(op, pool) {
		if err := lim.Wait(ctx); err != nil {
			return err
		}
	}
	recordWait(op, time.Since(start))
	return nil
}

func (l *Limiter) limitersFor(op, pool string) []*rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*rate.Limiter
	if r := l.limits.PerOperation; r > 0 {
		key := op + " " + pool
		lim, ok := l.perOp[key]
		if !ok {
			lim = rate.NewLimiter(rate.Limit(r), 1)
			l.perOp[key] = lim
		}
		out = append(out, lim)
	}
	if cat := categoryOf[op]; l.limits.Categories[cat] > 0 {
		lim, ok := l.perCat[cat]
		if !ok {
			lim = rate.NewLimiter(rate.Limit(l.limits.Categories[cat]), 1)
			l.perCat[cat] = lim
		}
		out = append(out, lim)
	}
	return out
}
