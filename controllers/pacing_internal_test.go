package controllers

import (
	"testing"
	"time"
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

func TestCheckPlan(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	period := 10 * time.Minute
	tests := []struct {
		name     string
		in       checkInput
		wantWait time.Duration
		wantSkip bool
	}{
		{"changed or broken objects go now", checkInput{settled: false, secretIntact: true, now: t0, period: period}, 0, false},
		{"a missing or edited Secret goes now", checkInput{settled: true, secretIntact: false, lastCheck: t0, now: t0, period: period}, 0, false},
		{"first pass after a start is spread", checkInput{settled: true, secretIntact: true, now: t0, period: period}, 3 * time.Minute, true},
		{"an echo soon after a check is skipped", checkInput{settled: true, secretIntact: true, lastCheck: t0, now: t0.Add(time.Second), period: period}, period - time.Second, true},
		{"a due check goes", checkInput{settled: true, secretIntact: true, lastCheck: t0, now: t0.Add(period), period: period}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wait, skip := checkPlan(tc.in, 3*time.Minute)
			if wait != tc.wantWait || skip != tc.wantSkip {
				t.Errorf("checkPlan = (%s, %v), want (%s, %v)", wait, skip, tc.wantWait, tc.wantSkip)
			}
		})
	}
}
