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
