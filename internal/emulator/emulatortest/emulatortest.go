// Package emulatortest runs the Cognito emulator in-process for tests. It
// is apart from package emulator so that the binaries that link the
// emulator (cognito-emulator, the demo) do not link package testing and
// net/http/httptest with it.
//
// In a test:
//
//	emu, url := emulatortest.NewServer(t, emulator.Options{})
//	cfg := aws.Config{Region: emu.Region(), BaseEndpoint: aws.String(url),
//		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
//	cip := cognitoidentityprovider.NewFromConfig(cfg)
//	// ... then fetch tokens from emu.TokenURL() and verify against emu.IssuerURL(poolID).
package emulatortest

import (
	"net/http/httptest"
	"testing"

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
