// Package emulatortest runs the Cognito emulator in-process for tests. It
// is apart from package emulator so that the binaries that link the
// emulator (cognito-emulator, the demo) do not link package testing and
// net/http/httptest with it.
//
// In a test:
//
//	emu, pool := emulatortest.NewPool(t, emulator.Options{}, "pool", "")
//	sdk := emulatortest.SDK(emu)
//	// ... then fetch tokens from emu.TokenURL() and verify against emu.IssuerURL(pool).
package emulatortest

import (
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-m2m/operator/internal/emulator"
)

// NewServer starts an emulator on an httptest server for the duration of
// the test and returns it with the server's URL, which is also its base URL.
// It fails the test if the emulator cannot start. At the end of the test the
// server stops, then the emulator closes, which writes a state file, if
// opts has one, and fails the test if that write fails.
func NewServer(tb testing.TB, opts emulator.Options) (*emulator.Emulator, string) {
	tb.Helper()
	e, err := emulator.New(opts)
	if err != nil {
		tb.Fatalf("start Cognito emulator: %v", err)
	}
	srv := httptest.NewServer(e.Handler())
	// Cleanups run last-in first-out: the server stops before the emulator
	// closes, so no request changes the state after its last write.
	tb.Cleanup(func() {
		if err := e.Close(); err != nil {
			tb.Errorf("close Cognito emulator: %v", err)
		}
	})
	tb.Cleanup(srv.Close)
	e.SetBaseURL(srv.URL)
	return e, srv.URL
}

// NewPool is NewServer with a user pool of the given name (and prefix
// domain, unless empty) in the emulator; it returns the pool's id.
func NewPool(tb testing.TB, opts emulator.Options, name, domain string) (*emulator.Emulator, string) {
	tb.Helper()
	e, _ := NewServer(tb, opts)
	pool, err := e.EnsureUserPool(name, domain)
	if err != nil {
		tb.Fatalf("create user pool %s: %v", name, err)
	}
	return e, pool
}

// SDK is the real AWS SDK's Cognito client for e at its base URL, in its
// region, signing with static test credentials: the emulator checks that a
// request is signed, not by whom. optFns apply after these, such as
// cognito.SDKOptions or NoRetries.
func SDK(e *emulator.Emulator, optFns ...func(*cip.Options)) *cip.Client {
	cfg := aws.Config{
		Region:       e.Region(),
		BaseEndpoint: aws.String(e.BaseURL()),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret-key", ""),
	}
	return cip.NewFromConfig(cfg, optFns...)
}

// NoRetries makes an SDK client send each request once, for a test that
// must see every answer as it came.
func NoRetries(o *cip.Options) { o.RetryMaxAttempts = 1 }
