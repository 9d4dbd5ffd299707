package serve

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
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

func TestEnv(t *testing.T) {
	env := Env(func(name string) string { return map[string]string{"SET": "v"}[name] })
	if got := env("SET", "def"); got != "v" {
		t.Errorf("set variable: %q, want v", got)
	}
	if got := env("UNSET", "def"); got != "def" {
		t.Errorf("unset variable: %q, want def", got)
	}
}
