//go:build linux

package verify

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/cognito-m2m/operator/auth/authtest"
)

// threadCPU returns the CPU time the calling OS thread has used. Unlike the wall
// clock, it does not grow while the thread waits for a CPU, which on a shared
// machine is most of the noise.
func threadCPU() time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTimeID = 3
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

// BenchmarkVerifyOverhead alternates the floor (raw RSA verification) and this
// package's cold verification of the same token in one loop, timing each by
// thread CPU time, so that both see the same machine. It reports the CPU time of
// each and the overhead of parsing and checks over the floor.
func BenchmarkVerifyOverhead(b *testing.B) {
	srv := authtest.NewServer(b)
	token := srv.AccessToken("caller-client-id", "MyService/weather_read", "MyService/weather_write")
	pub := srv.PublicKey()
	v, err := New(Config{Issuer: srv.Issuer, CacheSize: -1})
	if err != nil {
		b.Fatal(err)
	}
	if err := v.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	floor := func() {
		i := strings.LastIndexByte(token, '.')
		sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
		if err != nil {
			b.Fatal(err)
		}
		sum := sha256.Sum256([]byte(token[:i]))
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
			b.Fatal(err)
		}
	}
	ours := func() {
		if _, err := v.Verify(context.Background(), token); err != nil {
			b.Fatal(err)
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var tFloor, tOurs time.Duration
	n := 0
	for b.Loop() {
		t0 := threadCPU()
		floor()
		t1 := threadCPU()
		ours()
		t2 := threadCPU()
		tFloor += t1 - t0
		tOurs += t2 - t1
		n++
	}
	b.ReportMetric(float64(tFloor.Nanoseconds())/float64(n), "floor-cpu-ns/op")
	b.ReportMetric(float64(tOurs.Nanoseconds())/float64(n), "ours-cpu-ns/op")
	b.ReportMetric(100*(float64(tOurs)/float64(tFloor)-1), "overhead-%")
}
