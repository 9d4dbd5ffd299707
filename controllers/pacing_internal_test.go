package controllers

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/cognito"
)

func TestStretchedPeriod(t *testing.T) {
	tenThousand := 10000.0
	tests := []struct {
		name string
		n    int
		rate float64
		want time.Duration
	}{
		{"few objects keep the period", 100, 4.8, 10 * time.Minute},
		{"a thousand fit in ten minutes", 1000, 4.8, 10 * time.Minute},
		{"ten thousand do not", 10000, 4.8, time.Duration(tenThousand / (4.8 * driftShare) * float64(time.Second))},
		{"no pacing, no stretching", 100000, 0, 10 * time.Minute},
		{"no objects", 0, 4.8, 10 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := stretchedPeriod(10*time.Minute, tc.n, tc.rate); got != tc.want {
				t.Errorf("stretchedPeriod(10m, %d, %g) = %s, want %s", tc.n, tc.rate, got, tc.want)
			}
		})
	}
}

func TestDecideSkip(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	period := 10 * time.Minute
	tests := []struct {
		name     string
		in       skipInput
		wantWait time.Duration
		wantSkip bool
	}{
		{"changed or broken objects go now", skipInput{settled: false, secretIntact: true, now: t0, period: period}, 0, false},
		{"a missing or edited Secret goes now", skipInput{settled: true, secretIntact: false, lastCheck: t0, now: t0, period: period}, 0, false},
		{"first pass after a start is spread", skipInput{settled: true, secretIntact: true, now: t0, period: period}, 3 * time.Minute, true},
		{"an echo soon after a check is skipped", skipInput{settled: true, secretIntact: true, lastCheck: t0, now: t0.Add(time.Second), period: period}, period - time.Second, true},
		{"a due check goes", skipInput{settled: true, secretIntact: true, lastCheck: t0, now: t0.Add(period), period: period}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wait, skip := decideSkip(tc.in, 3*time.Minute)
			if wait != tc.wantWait || skip != tc.wantSkip {
				t.Errorf("decideSkip = (%s, %v), want (%s, %v)", wait, skip, tc.wantWait, tc.wantSkip)
			}
		})
	}
}

func TestDriftChecks(t *testing.T) {
	holding := func(pool string) v1alpha1.M2MClient {
		return v1alpha1.M2MClient{Status: v1alpha1.M2MClientStatus{UserPoolID: pool, ClientID: "c"}}
	}
	waiting := v1alpha1.M2MClient{} // no ResourceServer yet: nothing in Cognito
	pendingOnly := v1alpha1.M2MClient{Status: v1alpha1.M2MClientStatus{UserPoolID: "p1", CreatePendingSince: &metav1.Time{}}}
	server := func(pool string, own v1alpha1.Ownership) v1alpha1.ResourceServer {
		return v1alpha1.ResourceServer{Status: v1alpha1.ResourceServerStatus{UserPoolID: pool, Ownership: own}}
	}
	tests := []struct {
		name    string
		clients []v1alpha1.M2MClient
		servers []v1alpha1.ResourceServer
		want    int
	}{
		{"nothing", nil, nil, 0},
		{"waiting clients cost nothing", []v1alpha1.M2MClient{waiting, waiting, waiting, pendingOnly}, nil, 0},
		{"clients with an app client count", []v1alpha1.M2MClient{holding("p1"), holding("p1"), waiting}, nil, 2},
		{"per pool", []v1alpha1.M2MClient{holding("p1"), holding("p2"), holding("p2")}, nil, 2},
		{"refused servers cost nothing", nil, []v1alpha1.ResourceServer{server("p1", ""), server("p1", ""), server("p1", v1alpha1.OwnershipCreated)}, 1},
		{"kinds are counted apart", []v1alpha1.M2MClient{holding("p1")}, []v1alpha1.ResourceServer{server("p1", v1alpha1.OwnershipCreated), server("p1", v1alpha1.OwnershipAdopted)}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			busiest := 0
			for _, n := range driftChecks(tc.clients, tc.servers) {
				busiest = max(busiest, n)
			}
			if busiest != tc.want {
				t.Errorf("the busiest operation on a pool has %d checks, want %d", busiest, tc.want)
			}
		})
	}
}

func TestNextPass(t *testing.T) {
	drift := 10 * time.Minute
	tests := []struct {
		name     string
		rotation time.Duration
		want     time.Duration
	}{
		{"a step due later than the drift check waits for the check", time.Hour, drift},
		{"a step due before the drift check comes first", time.Minute, time.Minute},
		{"a step due now comes at once, not never", 0, time.Nanosecond},
		{"a step overdue comes at once", -time.Hour, time.Nanosecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextPass(tc.rotation, drift); got != tc.want {
				t.Errorf("nextPass(%s, %s) = %s, want %s", tc.rotation, drift, got, tc.want)
			}
		})
	}
}

// The period stretches for the rate in force for each operation on each pool,
// as the limiter adapts it: a throttle halves it, and the period doubles.
func TestDriftPeriodForTheRateInForce(t *testing.T) {
	const configured = 10 * time.Minute
	limiter := cognito.NewLimiter(cognito.Limits{PerOperation: 4})
	checks := map[driftCheck]int{
		{"DescribeUserPoolClient", "p1"}: 1500, // 1500 / (4 * 0.5) = 750s
		{"DescribeUserPoolClient", "p2"}: 100,
		{"DescribeResourceServer", "p1"}: 20,
	}
	period, worst := driftPeriodFor(configured, checks, limiter.Rate)
	if want := 750 * time.Second; period != want || worst != (driftCheck{"DescribeUserPoolClient", "p1"}) {
		t.Fatalf("at the configured rate: period %s for %v, want %s for p1's clients", period, worst, want)
	}
	limiter.Answered("DescribeUserPoolClient", "p1", &types.TooManyRequestsException{})
	if r := limiter.Rate("DescribeUserPoolClient", "p1"); r != 2 {
		t.Fatalf("the throttle left the rate in force at %g, want 2", r)
	}
	if period, _ := driftPeriodFor(configured, checks, limiter.Rate); period != 1500*time.Second {
		t.Errorf("after a throttle halved the rate: period %s, want 1500s", period)
	}
	// Another pool's throttle stretches nothing that fits: 100 checks at 2/s * 0.5.
	limiter.Answered("DescribeUserPoolClient", "p2", &types.TooManyRequestsException{})
	if period, _ := driftPeriodFor(configured, map[driftCheck]int{{"DescribeUserPoolClient", "p2"}: 100}, limiter.Rate); period != configured {
		t.Errorf("100 checks at 2 requests/s stretched the period to %s", period)
	}
	if period, _ := driftPeriodFor(configured, checks, (*cognito.Limiter)(nil).Rate); period != configured {
		t.Errorf("without pacing the period stretched to %s", period)
	}
}
