package cognito

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/cognito-m2m/operator/internal/emulator"
)

// timedAPI notes when each describe was sent: one SDK call is one HTTP attempt,
// since the SDK's retryer is off.
type timedAPI struct {
	API
	mu    sync.Mutex
	sends []time.Time
}

func (a *timedAPI) DescribeUserPoolClient(ctx context.Context, in *cip.DescribeUserPoolClientInput, o ...func(*cip.Options)) (*cip.DescribeUserPoolClientOutput, error) {
	a.mu.Lock()
	a.sends = append(a.sends, time.Now())
	a.mu.Unlock()
	return a.API.DescribeUserPoolClient(ctx, in, o...)
}

func waits(op string) uint64 {
	var m dto.Metric
	_ = rateWait.WithLabelValues(op).(interface{ Write(*dto.Metric) error }).Write(&m)
	return m.GetHistogram().GetSampleCount()
}

// A throttled attempt that a retry rescues is counted throttled, and the retry
// waits for the rate limit, which the throttle has cut.
func TestRetriedThrottleIsCountedAndPaced(t *testing.T) {
	api, emu, pool := newTestAPI(t)
	setup := NewClient(api, nil)
	ctx := context.Background()
	rs := ResourceServerSpec{Identifier: "api", Name: "API", Scopes: []types.ResourceServerScopeType{{ScopeName: aws.String("read"), ScopeDescription: aws.String("r")}}}
	if err := setup.CreateResourceServer(ctx, pool, rs, nil); err != nil {
		t.Fatal(err)
	}
	app, err := setup.CreateAppClient(ctx, pool, ClientSpec{Name: "c", Scopes: []string{"api/read"}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	const ceiling = 4.0 // after the throttle, 2 per second: the retry waits about 0.5 s
	timed := &timedAPI{API: api}
	lim := NewLimiter(Limits{PerOperation: ceiling})
	c := NewClient(timed, lim)
	op := "DescribeUserPoolClient"
	count := func(outcome string) float64 { return testutil.ToFloat64(requests.WithLabelValues(op, outcome)) }
	okBefore, thBefore, waitsBefore := count(OutcomeOK), count(OutcomeThrottled), waits(op)

	emu.SetFaults(emulator.Fault{Operation: op, ErrorType: "TooManyRequestsException", Count: 1})
	got, err := c.AppClient(ctx, pool, aws.ToString(app.ClientId))
	if err != nil {
		t.Fatalf("the retry did not rescue the throttled describe: %v", err)
	}
	if aws.ToString(got.ClientId) != aws.ToString(app.ClientId) {
		t.Fatalf("described %s", aws.ToString(got.ClientId))
	}
	if d := count(OutcomeThrottled) - thBefore; d != 1 {
		t.Errorf("throttled attempts counted %v, want 1", d)
	}
	if d := count(OutcomeOK) - okBefore; d != 1 {
		t.Errorf("ok attempts counted %v, want 1", d)
	}
	if d := waits(op) - waitsBefore; d != 2 {
		t.Errorf("%d attempts waited for the rate limit, want 2", d)
	}
	if len(timed.sends) != 2 {
		t.Fatalf("%d attempts sent, want 2", len(timed.sends))
	}
	// At the cut rate of 2 per second the second slot comes 0.5 s after the first.
	if gap := timed.sends[1].Sub(timed.sends[0]); gap < 400*time.Millisecond {
		t.Errorf("the retry was sent %s after the throttled attempt; the cut rate allows one per 500ms", gap)
	}
	if r := lim.Rate(op, pool); r >= ceiling {
		t.Errorf("rate in force %v after a throttle, want under %v", r, ceiling)
	}
}

// A create that got a server error may have happened: it is not sent again (the
// reconciler looks for what it made), while a throttled one is.
func TestWritesAreRetriedOnlyWhenThrottled(t *testing.T) {
	c, emu, pool := newTestClient(t)
	ctx := context.Background()
	rs := ResourceServerSpec{Identifier: "api", Name: "API", Scopes: []types.ResourceServerScopeType{{ScopeName: aws.String("read"), ScopeDescription: aws.String("r")}}}
	if err := c.CreateResourceServer(ctx, pool, rs, nil); err != nil {
		t.Fatal(err)
	}
	emu.SetFaults(emulator.Fault{Operation: "CreateUserPoolClient", ErrorType: "InternalErrorException", Count: 1})
	emu.ResetCallCounts()
	if _, err := c.CreateAppClient(ctx, pool, ClientSpec{Name: "c", Scopes: []string{"api/read"}}, nil); err == nil {
		t.Fatal("a create answered 500 succeeded")
	}
	if n := emu.CallCounts()["CreateUserPoolClient"]; n != 1 {
		t.Errorf("a create answered 500 was sent %d times, want once", n)
	}
	emu.SetFaults(emulator.Fault{Operation: "CreateUserPoolClient", ErrorType: "TooManyRequestsException", Count: 1})
	emu.ResetCallCounts()
	if _, err := c.CreateAppClient(ctx, pool, ClientSpec{Name: "d", Scopes: []string{"api/read"}}, nil); err != nil {
		t.Fatalf("a throttled create was not retried: %v", err)
	}
	if n := emu.CallCounts()["CreateUserPoolClient"]; n != 2 {
		t.Errorf("a throttled create was sent %d times, want twice", n)
	}
}

// 1,000 describes with large answers (a resource server of 100 scopes with
// 256-character descriptions, about 35 KB) through the boundary, eight at a time,
// against the emulator over loopback: none fails. The SDK's retries are off, so
// an answer cut short ("use of closed network connection", a known client-side
// race with large bodies) is retried by the boundary, a read being safe to send
// again.
func TestLargeDescribesDoNotFail(t *testing.T) {
	if testing.Short() {
		t.Skip("stress test")
	}
	c, _, pool := newTestClient(t)
	ctx := context.Background()
	var scopes []types.ResourceServerScopeType
	for i := range 100 {
		scopes = append(scopes, types.ResourceServerScopeType{
			ScopeName: aws.String(fmt.Sprintf("scope%03d", i)), ScopeDescription: aws.String(strings.Repeat("d", 256)),
		})
	}
	if err := c.CreateResourceServer(ctx, pool, ResourceServerSpec{Identifier: "big", Name: "Big", Scopes: scopes}, nil); err != nil {
		t.Fatal(err)
	}
	const calls, workers = 1000, 8
	retriedBefore := testutil.ToFloat64(requests.WithLabelValues("DescribeResourceServer", OutcomeServerError))
	var failed atomic.Int32
	var firstErr atomic.Value
	var next atomic.Int32
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= calls {
				rs, err := c.ResourceServer(ctx, pool, "big")
				if err == nil && len(rs.Scopes) != 100 {
					err = fmt.Errorf("%d scopes", len(rs.Scopes))
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d large describes failed; first: %v", n, calls, firstErr.Load())
	}
	t.Logf("%d large describes, %v attempts without an answer retried", calls,
		testutil.ToFloat64(requests.WithLabelValues("DescribeResourceServer", OutcomeServerError))-retriedBefore)
}
