package cognito

import "time"

// Cognito's quotas belong to the account (and, per operation, to the pool), not to
// the operator: other clusters' operators, Terraform or a console may be spending
// them too. A fixed pace would then keep sending at the configured rate and be
// throttled again and again. So each operation on each pool keeps its own rate in
// force, adapted to what Cognito answers as TCP adapts its window (additive
// increase, multiplicative decrease): a throttled answer halves it, and every
// second without one brings it back by a fixed step, never above the configured
// rate (the ceiling). It climbs only while the rate is what holds calls back
// (as TCP grows its window only while the window limits it): a manager whose
// calls come slower than its rate in force learns nothing by climbing, and would
// burst over a quota it shares. Near the rate at which it was last throttled it climbs a
// quarter as fast (as TCP CUBIC lingers near its last maximum): that is where
// the next throttle is, and several managers sharing one quota would otherwise
// overshoot it together every climb.

const (
	// paceCut is what a throttled answer multiplies the rate by.
	paceCut = 0.5
	// paceFloor is the least share of the ceiling the rate falls to: a pool
	// that throttles everything is still probed now and then.
	paceFloor = 1.0 / 16
	// paceKnee is the share of the last throttled rate above which the rate
	// climbs paceSlow times slower.
	paceKnee = 0.85
	paceSlow = 4
	// paceCutSpacing is the least time between two cuts. Calls sent before a
	// cut, at the old rate, may answer throttled after it; they tell nothing
	// new, and counting each would halve the rate several times for one
	// overshoot.
	paceCutSpacing = time.Second
	// paceGrowWindow bounds the climb one answer brings: time without calls is
	// time without news.
	paceGrowWindow = 5 * time.Second
)

// DefaultRecovery is how long the rate would take to climb from half the ceiling
// back to the ceiling once throttles stop, at the fast pace (the climb near the
// last throttled rate is slower). Several managers sharing one quota each
// overshoot once per climb, so a slower climb costs fewer throttled calls.
const DefaultRecovery = 30 * time.Second

// pace is the rate in force for one operation on one pool. It is a value: each
// answer gives a new one, so that the arithmetic is tested without a clock.
type pace struct {
	ceiling  float64       // the configured rate, requests per second
	recovery time.Duration // from half the ceiling to the ceiling
	rate     float64       // the rate in force
	at       time.Time     // when rate was last brought up to date
	cut      time.Time     // when it was last cut
	peak     float64       // the rate when it was last cut; 0 before any cut
}

func newPace(ceiling float64, recovery time.Duration, now time.Time) pace {
	if recovery <= 0 {
		recovery = DefaultRecovery
	}
	return pace{ceiling: ceiling, recovery: recovery, rate: ceiling, at: now}
}

// grown is p with the additive increase since p.at applied, if the rate limited
// the calls (limited); otherwise p with no increase.
func (p pace) grown(now time.Time, limited bool) pace {
	el := min(now.Sub(p.at), paceGrowWindow).Seconds()
	if el <= 0 {
		return p
	}
	p.at = now
	if !limited {
		return p
	}
	fast := p.ceiling / 2 / p.recovery.Seconds() // per second
	if knee := paceKnee * p.peak; p.rate < knee {
		// Fast up to the knee, slow for the rest of the time.
		need := (knee - p.rate) / fast
		if el <= need {
			p.rate += fast * el
			return p
		}
		p.rate, el = knee, el-need
	}
	if p.peak > 0 {
		fast /= paceSlow
	}
	p.rate = min(p.ceiling, p.rate+fast*el)
	return p
}

// answered is p after an answer at now: throttled or not, to a call that had to
// wait for the rate (limited) or not. Only Cognito's answers count; a call that
// got none (a timeout, a reset) says nothing about the quota.
func (p pace) answered(now time.Time, throttled, limited bool) pace {
	p = p.grown(now, limited)
	if !throttled || (!p.cut.IsZero() && now.Sub(p.cut) < paceCutSpacing) {
		return p
	}
	p.peak = p.rate
	p.rate = max(p.ceiling*paceFloor, p.rate*paceCut)
	p.cut = now
	return p
}
