package controllers

import "testing"

func TestRetainAllowed(t *testing.T) {
	tests := []struct {
		name                  string
		limit, recorded, rank int
		want                  bool
	}{
		{"no bound", 0, 100, 100, true},
		{"room left", 3, 1, 1, true},
		{"the last slot", 3, 2, 0, true},
		{"full with retained resources", 3, 3, 0, false},
		{"older Retain objects hold the slots", 3, 1, 2, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := retainAllowed(tc.limit, tc.recorded, tc.rank); got != tc.want {
				t.Errorf("retainAllowed(%d, %d, %d) = %v, want %v", tc.limit, tc.recorded, tc.rank, got, tc.want)
			}
		})
	}
}
