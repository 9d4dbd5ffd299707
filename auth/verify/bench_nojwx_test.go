//go:build !jwxbench

package verify

import "testing"

// benchJWX is a no-op without the jwxbench tag; see bench_jwx_test.go.
func benchJWX(*testing.B, string, []byte, string) {}
