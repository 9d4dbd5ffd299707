package cognito

import (
	"math"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// busy is p after answers every 100 ms from `from` to `to`, each to a call the
// rate held back (limited) or not.
func busy(p pace, from, to time.Time, limited bool) pace {
	for t := from.Add(100 * time.Millisecond); !t.After(to); t = t.Add(100 * time.Millisecond) {
		p = p.answered(t, false, limited)
	}
	return p
}

// A throttle halves the rate; a second throttle within paceCutSpacing (an answer
// to a call sent before the cut) does not cut again; a later one does.
func TestPaceCutsOncePerOvershoot(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := newPace(4, 40*time.Second, t0)
	if p.rate != 4 {
		t.Fatalf("a new pace starts at %v, want the ceiling 4", p.rate)
	}
	p = p.answered(t0, true, true)
	if !near(p.rate, 2) {
		t.Fatalf("after a throttle: %v, want 2", p.rate)
	}
	p = p.answered(t0.Add(500*time.Millisecond), true, true)
	if got, want := p.rate, 2+0.05*0.5; !near(got, want) { // only the climb of 0.5 s
		t.Fatalf("a second throttle 0.5 s later: %v, want %v (no second cut)", got, want)
	}
	p = p.answered(t0.Add(1500*time.Millisecond), true, true)
	if want := (2 + 0.05*1.5) / 2; !near(p.rate, want) {
		t.Fatalf("a throttle 1.5 s after the cut: %v, want %v", p.rate, want)
	}
}

// Without throttles, while the rate holds calls back, it climbs back linearly: at
// half the ceiling per recovery time up to 85% of the rate last throttled, then
// four times slower, and never above the ceiling. The climb is by time, not by
// the number of answers.
func TestPaceRecovers(t *testing.T) {
	t0 := time.Unix(1000, 0)
	cut := newPace(10, 20*time.Second, t0).answered(t0, true, true) // 5
	for _, tc := range []struct {
		after time.Duration
		want  float64
	}{
		{0, 5}, {4 * time.Second, 6}, {10 * time.Second, 7.5}, {14 * time.Second, 8.5},
		{15 * time.Second, 8.5625}, {20 * time.Second, 8.875}, {38 * time.Second, 10}, {time.Hour, 10},
	} {
		if got := busy(cut, t0, t0.Add(tc.after), true).rate; !near(got, tc.want) {
			t.Errorf("%s after the cut: rate %v, want %v", tc.after, got, tc.want)
		}
	}
	sparse := cut
	for i := 1; i <= 5; i++ {
		sparse = sparse.answered(t0.Add(time.Duration(i)*2*time.Second), false, true)
	}
	if !near(sparse.rate, 7.5) {
		t.Errorf("5 answers over 10 s: %v, want 7.5 as with 100", sparse.rate)
	}
}

// Calls that come slower than the rate in force do not make it climb: the
// rate was not what held them back, and climbing would let a burst through.
// One answer after a long silence climbs by at most paceGrowWindow's worth.
func TestPaceClimbsOnlyWhenLimiting(t *testing.T) {
	t0 := time.Unix(1000, 0)
	cut := newPace(10, 20*time.Second, t0).answered(t0, true, true) // 5
	if got := busy(cut, t0, t0.Add(time.Minute), false).rate; !near(got, 5) {
		t.Errorf("a minute of calls under the rate: %v, want 5", got)
	}
	if got := cut.answered(t0.Add(time.Hour), false, true).rate; !near(got, 5+0.25*paceGrowWindow.Seconds()) {
		t.Errorf("one answer an hour later: %v, want %v", got, 5+0.25*paceGrowWindow.Seconds())
	}
}

// Throttles without end take the rate down to the floor, not to zero.
func TestPaceFloor(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := newPace(8, DefaultRecovery, t0)
	for i := range 20 {
		p = p.answered(t0.Add(time.Duration(i)*paceCutSpacing), true, true)
	}
	if p.rate < 8*paceFloor || p.rate > 8*paceFloor*1.2 {
		t.Errorf("after 20 throttles: %v, want about the floor %v", p.rate, 8*paceFloor)
	}
}

// A clock that steps back (a leap, a VM migration) changes nothing.
func TestPaceClockBack(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := newPace(8, DefaultRecovery, t0).answered(t0, true, true)
	if got := p.answered(t0.Add(-time.Minute), false, true).rate; !near(got, 4) {
		t.Errorf("an answer timed before the cut: %v, want 4", got)
	}
}
