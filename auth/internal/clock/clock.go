// Package clock is the one time source type of the auth packages. The token
// client and the verifier both read the time and arm timers through a Clock, so
// that a test drives both halves with one fake (authtest.Clock) and a service
// passes one value to both. client.Clock and verify.Clock are aliases of Clock.
//
// It is an interface of its own rather than k8s.io/utils/clock's, which would
// add a Kubernetes module to every service that imports auth; two methods are
// all the packages use.
package clock

import "time"

// Clock tells the time and runs functions later.
type Clock interface {
	Now() time.Time
	// AfterFunc runs f once d has passed (the system clock on a goroutine of
	// its own); stop cancels it and reports whether it was still pending.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// Real is the system clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (Real) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
