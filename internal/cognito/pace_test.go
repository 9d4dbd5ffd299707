package cognito

import (
	"math"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// A throttle halves the rate; a second throttle within paceCutSpacing (an answer
// to a call sent before the cut) does not cut again; a later one does.
func TestPaceCutsOncePerOvershoot(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := newPace(4, 40*time.Second, t0)
	if p.rate != 4 {
		t.Fatalf("a new pace starts at %v, want the ceiling 4", p.rate)
	}
	p = p.answered(t0, true)
	if !near(p.rate, 2) {
		t.Fatalf("after a throttle: %v, want 2", p.rate)
	}
	p = p.answered(t0.Add(500*time.Millisecond), true)
	if got, want := p.rate, 2+0.05*0.5; !near(got, want) { // only the climb of 0.5 s
		t.Fatalf("a second throttle 0.5 s later: %v, want %v (no second cut)", got, want)
	}
	p = p.answered(t0.Add(1500*time.Millisecond), true)
	if want := (2 + 0.05*1.5) / 2; !near(p.rate, want) {
		t.Fatalf("a throttle 1.5 s after the cut: %v, want %v", p.rate, want)
	}
}

// Without throttles the rate climbs back linearly: at half the ceiling per
// recovery time up to 85% of the rate last throttled, then four times slower,
// and never above the ceiling.
func TestPaceRecovers(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := newPace(10, 20*time.Second, t0).answered(t0, true) // 5
	for _, tc := range []struct {
		after time.Duration
		want  float64
	}{
		{0, 5}, {4 * time.Second, 6}, {10 * time.Second, 7.5}, {14 * time.Second, 8.5},
		{15 * time.Second, 8.5625}, {20 * time.Second, 8.875}, {38 * time.Second, 10}, {time.Hour, 10},
	} {
		if got := p.answered(t0.Add(tc.after), false).rate; !near(got, tc.want) {
			t.Errorf("%s after the cut: rate %v, want %v", tc.after, got, tc.want)
		}
	}
	// Answers in between do not change the sum: the climb is by time, not by
	// the number of calls.
	q := p
	for i := 1; i <= 100; i++ {
		q = q.answered(t0.Add(time.Duration(i)*100*time.Millisecond), false)
	}
	if !near(q.rate, 7.5) {
		t.Errorf("100 answers over 10 s: %v, want 7.5", q.rate)
	}
}

// Throttles without end take the rate down to the floor, not to zero.
func TestPaceFloor(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := newPace(8, DefaultRecovery, t0)
	for i := range 20 {
		p = p.answered(t0.Add(time.Duration(i)*paceCutSpacing), true)
	}
	if p.rate < 8*paceFloor || p.rate > 8*paceFloor*1.2 {
		t.Errorf("after 20 throttles: %v, want about the floor %v", p.rate, 8*paceFloor)
	}
}

// A clock that steps back (a leap, a VM migration) changes nothing.
func TestPaceClockBack(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := newPace(8, DefaultRecovery, t0).answered(t0, true)
	if got := p.answered(t0.Add(-time.Minute), false).rate; !near(got, 4) {
		t.Errorf("an answer timed before the cut: %v, want 4", got)
	}
}
