package serve

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A request under way when the context ends is answered before Run returns.
func TestRunFinishesRequestsWhenItStops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "done")
	})}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- Run(ctx, srv, ln, slog.New(slog.DiscardHandler)) }()
	answered := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			answered <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answered <- string(b)
	}()
	<-started
	cancel()
	select {
	case err := <-ran:
		t.Fatalf("Run returned (%v) with a request under way", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if got := <-answered; got != "done" {
		t.Errorf("the request under way got %q, want done", got)
	}
	if err := <-ran; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// A flag wins over its variable, a variable over the default; a variable
// that is not a boolean is an error.
func TestFlags(t *testing.T) {
	env := map[string]string{"A": "from-env", "B": "from-env", "ON": "true", "BAD": "maybe"}
	fs := NewFlags("cmd", func(name string) string { return env[name] }, io.Discard)
	var a, b, c string
	var on, off bool
	fs.String(&a, "a", "A", "default", "")
	fs.String(&b, "b", "B", "default", "")
	fs.String(&c, "c", "C", "default", "")
	fs.Bool(&on, "on", "ON", "")
	fs.Bool(&off, "off", "OFF", "")
	if err := fs.Parse([]string{"--b", "from-flag"}); err != nil {
		t.Fatal(err)
	}
	if got, want := []any{a, b, c, on, off}, []any{"from-env", "from-flag", "default", true, false}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("a, b, c, on, off = %v, want %v", got, want)
	}

	bad := NewFlags("cmd", func(name string) string { return env[name] }, io.Discard)
	var v bool
	bad.Bool(&v, "v", "BAD", "")
	if err := bad.Parse(nil); err == nil || !strings.Contains(err.Error(), "BAD") {
		t.Errorf("a variable that is not a boolean: error %v, want one naming BAD", err)
	}
}
