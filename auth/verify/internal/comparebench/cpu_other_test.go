//go:build !linux

package comparebench

import "time"

// threadCPU is not measured outside Linux; BenchmarkVerify then reports wall
// time only.
func threadCPU() time.Duration { return 0 }
