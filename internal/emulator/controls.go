package emulator

import (
	"context"
	"maps"
	"math/rand/v2"
	"sync"
	"time"
)

// TokenOperation is the name under which token-endpoint requests are
// counted and matched by faults, next to the control-plane operation names.
const TokenOperation = "OAuth2Token"

// Fault makes matching requests slow or fail, for reliability tests.
type Fault struct {
	// Operation is a control-plane operation name such as
	// "DescribeUserPoolClient", or TokenOperation. Empty matches every request.
	Operation string `json:"operation,omitempty"`
	// ErrorType is the `__type` of the error to answer with, such as
	// "InternalErrorException" (HTTP 500) or "TooManyRequestsException"
	// (HTTP 400). At the token endpoint TooManyRequestsException becomes a
	// 429 and anything else a 500 "server_error". Empty adds latency only.
	ErrorType string `json:"errorType,omitempty"`
	// ErrorRate is the probability in (0, 1] that a matching request fails;
	// zero means every matching request.
	ErrorRate float64 `json:"errorRate,omitempty"`
	// Latency is added before every matching request is answered.
	Latency time.Duration `json:"latency,omitempty"`
	// Count, when positive, is how many matching requests the fault affects
	// before it is spent; zero means no limit.
	Count int `json:"count,omitempty"`
}

// Quotas are request-rate limits like Cognito's: a request over a limit is
// answered with TooManyRequestsException. Each limit is a token bucket that
// holds one second's worth of requests. A request must fit every limit
// that applies to it: its category's, which one emulator (one account and
// region) shares across all pools, and its operation's on its pool.
type Quotas struct {
	// Categories maps a quota category to requests per second. The
	// categories are UserPoolCreate, UserPoolRead, UserPoolUpdate,
	// UserPoolClientRead, UserPoolClientUpdate, UserPoolResourceServerRead and
	// UserPoolResourceServerUpdate. A category left out is not limited.
	Categories map[string]float64 `json:"categories,omitempty"`
	// PerOperationPerPool limits any one operation on any one user pool, in
	// requests per second; zero means no such limit.
	PerOperationPerPool float64 `json:"perOperationPerPool,omitempty"`
}

// DefaultQuotas returns limits close to Cognito's published defaults for
// one account and region. They are approximate: the published table changes.
// App-client reads and writes are 15 per second each, resource-server reads
// 20 and writes 15, across all pools; and any one operation on one pool is
// at most 5 per second.
func DefaultQuotas() *Quotas {
	return &Quotas{
		Categories: map[string]float64{
			catUserPoolCreate:       1,
			catUserPoolRead:         15,
			catUserPoolUpdate:       15,
			catUserPoolClientRead:   15,
			catUserPoolClientUpdate: 15,
			catResourceServerRead:   20,
			catResourceServerUpdate: 15,
		},
		PerOperationPerPool: 5,
	}
}

// controls holds the test-support state: call counters, faults and quotas.
type controls struct {
	mu        sync.Mutex
	calls     map[string]int
	throttled map[string]int
	faults    []Fault
	quotas    *Quotas
	buckets   map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func (c *controls) init(q *Quotas) {
	c.calls = map[string]int{}
	c.throttled = map[string]int{}
	c.setQuotas(q)
}

func (c *controls) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[op]++
}

// countThrottled counts a TooManyRequests answer, from a quota or a fault.
func (c *controls) countThrottled(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.throttled[op]++
}

func (c *controls) setQuotas(q *Quotas) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if q != nil {
		q = &Quotas{Categories: maps.Clone(q.Categories), PerOperationPerPool: q.PerOperationPerPool}
	}
	c.quotas = q
	c.buckets = map[string]*bucket{}
}

// admit applies faults and quotas to one request: it sleeps for injected
// latency, then answers an injected error or a throttling error, or nil to
// let the request through.
func (c *controls) admit(ctx context.Context, op, category, poolID string, now func() time.Time) error {
	latency, errType := c.fault(op)
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return newErr(errInternal, "request cancelled")
		}
	}
	if errType != "" {
		return newErr(errType, "Injected fault for %s.", op)
	}
	if !c.allow(op, category, poolID, now()) {
		return newErr(errTooManyRequests, "Rate exceeded")
	}
	return nil
}

// fault picks the injected latency (the sum over matching faults) and error
// (the first matching fault that fires) for one request.
func (c *controls) fault(op string) (time.Duration, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var latency time.Duration
	errType := ""
	kept := c.faults[:0]
	for _, f := range c.faults {
		if f.Operation == "" || f.Operation == op {
			latency += f.Latency
			if errType == "" && f.ErrorType != "" && (f.ErrorRate <= 0 || rand.Float64() < f.ErrorRate) {
				errType = f.ErrorType
			}
			if f.Count > 0 {
				f.Count--
				if f.Count == 0 {
					continue
				}
			}
		}
		kept = append(kept, f)
	}
	c.faults = kept
	return latency, errType
}

// allow takes a token from every bucket that applies, or none if any is
// empty.
func (c *controls) allow(op, category, poolID string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.quotas == nil {
		return true
	}
	type limit struct {
		key  string
		rate float64
	}
	var limits []limit
	if r, ok := c.quotas.Categories[category]; ok && category != "" {
		limits = append(limits, limit{"category/" + category, r})
	}
	if r := c.quotas.PerOperationPerPool; r > 0 && poolID != "" {
		limits = append(limits, limit{"op/" + op + "/" + poolID, r})
	}
	var bs []*bucket
	for _, l := range limits {
		capacity := max(l.rate, 1)
		b, ok := c.buckets[l.key]
		if !ok {
			b = &bucket{tokens: capacity, last: now}
			c.buckets[l.key] = b
		}
		if el := now.Sub(b.last).Seconds(); el > 0 {
			b.tokens = min(capacity, b.tokens+el*l.rate)
		}
		b.last = now
		if b.tokens < 1 {
			return false
		}
		bs = append(bs, b)
	}
	for _, b := range bs {
		b.tokens--
	}
	return true
}

// CallCounts returns how many requests each operation has received since
// start or the last ResetCallCounts, keyed by control-plane operation name
// or TokenOperation. Requests that were throttled or failed count too.
func (e *Emulator) CallCounts() map[string]int {
	e.ctl.mu.Lock()
	defer e.ctl.mu.Unlock()
	return maps.Clone(e.ctl.calls)
}

// ThrottledCounts returns how many requests of each operation were answered
// with TooManyRequestsException (a 429 at the token endpoint), by a quota or
// by an injected fault, since start or the last ResetCallCounts. Keys are as
// in CallCounts; those throttled requests are in CallCounts too.
func (e *Emulator) ThrottledCounts() map[string]int {
	e.ctl.mu.Lock()
	defer e.ctl.mu.Unlock()
	return maps.Clone(e.ctl.throttled)
}

// ResetCallCounts sets every call counter and throttle counter back to zero.
func (e *Emulator) ResetCallCounts() {
	e.ctl.mu.Lock()
	defer e.ctl.mu.Unlock()
	e.ctl.calls = map[string]int{}
	e.ctl.throttled = map[string]int{}
}

// SetFaults replaces the injected faults; no arguments removes them all.
func (e *Emulator) SetFaults(faults ...Fault) {
	e.ctl.mu.Lock()
	defer e.ctl.mu.Unlock()
	e.ctl.faults = append([]Fault(nil), faults...)
}

// Faults returns the faults still in effect.
func (e *Emulator) Faults() []Fault {
	e.ctl.mu.Lock()
	defer e.ctl.mu.Unlock()
	return append([]Fault{}, e.ctl.faults...)
}

// SetQuotas replaces the request-rate quotas, with full buckets; nil turns
// quotas off.
func (e *Emulator) SetQuotas(q *Quotas) { e.ctl.setQuotas(q) }

// CurrentQuotas returns the quotas in effect, or nil when they are off.
func (e *Emulator) CurrentQuotas() *Quotas {
	e.ctl.mu.Lock()
	defer e.ctl.mu.Unlock()
	if e.ctl.quotas == nil {
		return nil
	}
	return &Quotas{Categories: maps.Clone(e.ctl.quotas.Categories), PerOperationPerPool: e.ctl.quotas.PerOperationPerPool}
}
