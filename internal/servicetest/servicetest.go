// Package servicetest holds the set-up that the tests of the auth sidecar
// (internal/sidecar, cmd/auth-sidecar) and of the example services
// (examples/bff, examples/weather) share: a log buffer to search for leaked
// secrets, an M2MClient Secret mounted in a directory, and a service run on
// a loopback listener for the length of a test.
package servicetest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/cognito-m2m/operator/auth/authtest"
	"github.com/cognito-m2m/operator/auth/credentials"
)

// LogBuffer collects logs, or any output, written from many goroutines and
// read by the test.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Logger logs to l in JSON at debug level: everything a service can log,
// for tests that check that no secret or token is in it.
func (l *LogBuffer) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Secret is the files of an M2MClient Secret, as the operator writes them.
// Empty members are left out.
type Secret struct {
	ClientID, ClientSecret, PreviousSecret string
	TokenEndpoint, Issuer, UserPoolID      string
	Scopes                                 string // space-separated
}

// Write mounts s in dir as the kubelet does, replacing what was there in one
// step, so that a reader never sees half of a rotation.
func (s Secret) Write(tb testing.TB, dir string) {
	tb.Helper()
	files := map[string]string{}
	for k, v := range map[string]string{
		credentials.KeyClientID: s.ClientID, credentials.KeyClientSecret: s.ClientSecret,
		credentials.KeyClientSecretPrevious: s.PreviousSecret, credentials.KeyTokenEndpoint: s.TokenEndpoint,
		credentials.KeyIssuer: s.Issuer, credentials.KeyUserPoolID: s.UserPoolID, credentials.KeyScopes: s.Scopes,
	} {
		if v != "" {
			files[k] = v
		}
	}
	if err := authtest.WriteSecretDir(dir, files); err != nil {
		tb.Fatalf("mounting the M2MClient Secret: %v", err)
	}
}

// Serve runs a service's run function on a loopback listener until the test
// ends, then stops it and fails the test if it does not return nil; it
// returns the service's base URL.
func Serve(tb testing.TB, run func(ctx context.Context, ln net.Listener) error) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("the service's run after shutdown: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// Status is the status code of a GET of url; a failed request fails the test.
func Status(tb testing.TB, url string) int {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// WaitOK polls url until it answers 200 OK, for at most 15 seconds.
func WaitOK(tb testing.TB, url string) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("answered %s", resp.Status)
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s did not answer 200 within 15s: %v", url, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
