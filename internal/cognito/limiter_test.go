package cognito

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Each operation on each pool has its own gate and limiter; a category's limiter
// is shared by its operations across pools.
func TestGates(t *testing.T) {
	l := NewLimiter(DefaultLimits())
	describeA := l.gateFor("DescribeUserPoolClient", "pool-a")
	describeB := l.gateFor("DescribeUserPoolClient", "pool-b")
	list := l.gateFor("ListUserPoolClients", "pool-a")
	create := l.gateFor("CreateUserPoolClient", "pool-a")
	if describeA.perOp == nil || describeA.cat == nil || create.perOp == nil || create.cat == nil {
		t.Fatal("want a per-operation and a category limiter")
	}
	if describeA == describeB || describeA == list || describeA.perOp == list.perOp {
		t.Error("gates are shared between pools or operations")
	}
	if describeA.cat != describeB.cat || describeA.cat != list.cat {
		t.Error("the app-client read category is not one limiter")
	}
	if describeA.cat == create.cat {
		t.Error("reads and writes share a category limiter")
	}
	if got := describeA.perOp.Limit(); float64(got) != DefaultLimits().PerOperation {
		t.Errorf("per-operation rate %v", got)
	}
	if again := l.gateFor("DescribeUserPoolClient", "pool-a"); again != describeA {
		t.Error("a second call makes a new gate")
	}
}

func TestLimiterOffAndCancelled(t *testing.T) {
	var none *Limiter
	if err := none.Wait(context.Background(), "CreateUserPoolClient", "p"); err != nil {
		t.Errorf("a nil limiter waits: %v", err)
	}
	none.Answered("CreateUserPoolClient", "p", &types.TooManyRequestsException{})
	if g := NewLimiter(Limits{}).gateFor("CreateUserPoolClient", "p"); g.perOp != nil || g.cat != nil {
		t.Error("zero limits give limiters")
	}
	l := NewLimiter(Limits{PerOperation: 0.001})
	ctx, cancel := context.WithCancel(context.Background())
	if err := l.Wait(ctx, "CreateUserPoolClient", "p"); err != nil { // the burst
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- l.Wait(ctx, "CreateUserPoolClient", "p") }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-done; err == nil {
		t.Error("a wait whose context ended returned no error")
	}
	g := l.gateFor("CreateUserPoolClient", "p")
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.turns) != 0 || len(g.flows) != 0 {
		t.Errorf("a cancelled waiter stays queued: turns %v", g.turns)
	}
}

// A flow that queues 30 calls behind the rate limit delays another flow's one call
// by a slot or two, not by the rest of its 30: the gate serves waiting flows in
// turn.
func TestGateServesFlowsInTurn(t *testing.T) {
	const rate = 20.0 // slots 50 ms apart
	l := NewLimiter(Limits{PerOperation: rate})
	bg := context.Background()
	var mu sync.Mutex
	served := 0
	waitedBehind := map[string]int{} // calls served between a call's arrival and its own
	var wg sync.WaitGroup
	start := func(flow, name string) {
		mu.Lock()
		arrived := served
		mu.Unlock()
		wg.Go(func() {
			if err := l.Wait(WithFlow(bg, flow), "CreateUserPoolClient", "p"); err != nil {
				t.Error(err)
			}
			mu.Lock()
			if name != "" {
				waitedBehind[name] = served - arrived
			}
			served++
			mu.Unlock()
		})
	}
	for range 30 {
		start("a", "")
	}
	time.Sleep(120 * time.Millisecond) // a few of a's are served
	start("b", "b1")
	start("c", "c1")
	time.Sleep(10 * time.Millisecond)
	start("b", "b2")
	wg.Wait()
	// b1 and c1 each wait for at most the slot being handed out and each
	// other; b2 for one round more (a, c, b). First come first served, they
	// would wait for the 25 or so a's still queued.
	if waitedBehind["b1"] > 3 || waitedBehind["c1"] > 3 || waitedBehind["b2"] > 6 {
		t.Errorf("calls served ahead of each: %v; a's backlog was served first", waitedBehind)
	}
	if served != 33 {
		t.Errorf("%d calls served, want 33", served)
	}
}

// A throttle cuts the rate in force for that operation on that pool only, and
// the metric shows it.
func TestThrottleCutsThatRate(t *testing.T) {
	l := NewLimiter(Limits{PerOperation: 4})
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	throttle := &types.TooManyRequestsException{Message: aws.String("Rate exceeded")}
	l.Answered("CreateUserPoolClient", "p", throttle)
	if got := l.Rate("CreateUserPoolClient", "p"); got != 2 {
		t.Errorf("rate after a throttle %v, want 2", got)
	}
	if got := testutil.ToFloat64(rateInForce.WithLabelValues("CreateUserPoolClient", "p")); got != 2 {
		t.Errorf("metric shows %v, want 2", got)
	}
	if got := float64(l.gateFor("CreateUserPoolClient", "p").perOp.Limit()); got != 2 {
		t.Errorf("limiter paces at %v, want 2", got)
	}
	if got := l.Rate("CreateUserPoolClient", "q"); got != 4 {
		t.Errorf("another pool's rate %v, want 4", got)
	}
	if got := l.Rate("DeleteUserPoolClient", "p"); got != 4 {
		t.Errorf("another operation's rate %v, want 4", got)
	}
	// No answer (a reset connection) is no news about the quota.
	now = now.Add(2 * time.Second)
	l.Answered("CreateUserPoolClient", "p", errors.New("connection reset by peer"))
	if got := l.Rate("CreateUserPoolClient", "p"); got != 2 {
		t.Errorf("a call without an answer moved the rate to %v", got)
	}
	// Calls that did not wait for the rate do not make it climb; calls that
	// did bring it back to the ceiling, and no further.
	now = now.Add(time.Second)
	l.Answered("CreateUserPoolClient", "p", nil)
	if got := l.Rate("CreateUserPoolClient", "p"); got != 2 {
		t.Errorf("rate after a call under the rate %v, want 2 still", got)
	}
	g := l.gateFor("CreateUserPoolClient", "p")
	for range 600 {
		now = now.Add(time.Second)
		g.mu.Lock()
		g.grants = slices.Repeat([]time.Time{time.Now()}, 1000) // as busy as can be
		g.mu.Unlock()
		l.Answered("CreateUserPoolClient", "p", nil)
	}
	if got := l.Rate("CreateUserPoolClient", "p"); got != 4 {
		t.Errorf("rate ten minutes of limited calls without throttles later %v, want the ceiling 4", got)
	}
}

func TestRetryable(t *testing.T) {
	throttle := &types.TooManyRequestsException{}
	internal := &types.InternalErrorException{}
	for _, tc := range []struct {
		op   string
		err  error
		want bool
	}{
		{"CreateUserPoolClient", throttle, true},
		{"CreateUserPoolClient", internal, false},
		{"CreateUserPoolClient", errors.New("use of closed network connection"), false},
		{"DescribeUserPoolClient", internal, true},
		{"ListUserPoolClients", errors.New("read: use of closed network connection"), true},
		{"DescribeUserPoolClient", &types.ResourceNotFoundException{}, false},
		{"DescribeUserPoolClient", fmt.Errorf("op: %w", context.Canceled), false},
		{"DescribeUserPoolClient", nil, false},
	} {
		if got := retryable(tc.op, tc.err); got != tc.want {
			t.Errorf("retryable(%s, %v) = %v, want %v", tc.op, tc.err, got, tc.want)
		}
	}
}

// The gate knows whether its rate held calls back lately (slots granted near
// what the rate allows over a window), what lets the adaptive rate climb only
// then: a clump of two calls is not that.
func TestGateKnowsWhenTheRateHoldsCallsBack(t *testing.T) {
	l := NewLimiter(Limits{PerOperation: 20}) // a slot every 50 ms
	ctx := context.Background()
	g := l.gateFor("DescribeUserPoolClient", "p")
	g.window = 500 * time.Millisecond // busy: at least 8 slots in it
	limited := func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.limited(time.Now())
	}
	wait := func() {
		if err := l.Wait(ctx, "DescribeUserPoolClient", "p"); err != nil {
			t.Fatal(err)
		}
	}
	wait()
	wait()
	if limited() {
		t.Error("a clump of two calls counts as the rate holding calls back")
	}
	for range 12 {
		wait()
	}
	if !limited() {
		t.Error("calls back to back for 600 ms do not count as the rate holding them back")
	}
	time.Sleep(600 * time.Millisecond)
	wait()
	if limited() {
		t.Error("a call after a pause counts as the rate holding calls back")
	}
}
