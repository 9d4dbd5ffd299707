package cognito

import "time"

// Cognito's quotas belong to the account (and, per operation, to the pool), not to
// the operator: other clusters' operators, Terraform or a console may be spending
// them too. A fixed pace would then keep sending at the configured rate and be
// throttled again and again. So each operation on each pool keeps its own rate in
// force, adapted to what Cognito answers as TCP adapts its window (additive
// increase, multiplicative decrease): a throttled answer halves it, and every
// second without one brings it back by a fixed step, never above the configured
// rate (the ceiling).

const (
	// paceCut is what a throttled answer multiplies the rate by.
	paceCut = 0.5
	// paceFloor is the least share of the ceiling the rate falls to: a pool
	// that throttles everything is still probed now and then.
	paceFloor = 1.0 / 16
	// paceCutSpacing is the least time between two cuts. Calls sent before a
	// cut, at the old rate, may answer throttled after it; they tell nothing
	// new, and counting each would halve the rate several times for one
	// overshoot.
	paceCutSpacing = time.Second
)

// DefaultRecovery is how long the rate takes to climb from half the ceiling back
// to the ceiling once throttles stop. Several managers sharing one quota each
// overshoot once per climb, so a slower climb costs fewer throttled calls: with
// 30 s, three managers splitting a pool's quota see about one throttle per 20
// calls at worst.
const DefaultRecovery = 30 * time.Second

// pace is the rate in force for one operation on one pool. It is a value: each
// answer gives a new one, so that the arithmetic is tested without a clock.
type pace struct {
	ceiling  float64       // the configured rate, requests per second
	recovery time.Duration // from half the ceiling to the ceiling
	rate     float64       // the rate in force
	at       time.Time     // when rate was last brought up to date
	cut      time.Time     // when it was last cut
}

func newPace(ceiling float64, recovery time.Duration, now time.Time) pace {
	if recovery <= 0 {
		recovery = DefaultRecovery
	}
	return pace{ceiling: ceiling, recovery: recovery, rate: ceiling, at: now}
}

// grown is p with the additive increase since p.at applied.
func (p pace) grown(now time.Time) pace {
	if el := now.Sub(p.at); el > 0 {
		step := p.ceiling / 2 / p.recovery.Seconds() // per second
		p.rate = min(p.ceiling, p.rate+step*el.Seconds())
		p.at = now
	}
	return p
}

// answered is p after an answer at now: throttled or not. Only Cognito's answers
// count; a call that got none (a timeout, a reset) says nothing about the quota.
func (p pace) answered(now time.Time, throttled bool) pace {
	p = p.grown(now)
	if !throttled || (!p.cut.IsZero() && now.Sub(p.cut) < paceCutSpacing) {
		return p
	}
	p.rate = max(p.ceiling*paceFloor, p.rate*paceCut)
	p.cut = now
	return p
}
