// Package serve is the life of an example service as a process: settings
// from flags with environment variables as fall-backs, a listener, serving
// until SIGINT or SIGTERM, then a graceful shutdown. The examples share it so
// that each one's own code is what it shows: the auth library at work.
package serve

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// shutdownGrace bounds a graceful shutdown: requests still running after it
// are cut off.
const shutdownGrace = 10 * time.Second

// Env returns a lookup of an environment variable through getenv, with a
// default for when it is unset or empty.
func Env(getenv func(string) string) func(name, def string) string {
	return func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
}

// Run serves srv on ln until ctx ends, then shuts it down gracefully.
func Run(ctx context.Context, srv *http.Server, ln net.Listener, log *slog.Logger) error {
	log.Info("Serving", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("Shutting down")
	shutdownCtx, done := context.WithTimeout(context.Background(), shutdownGrace)
	defer done()
	return srv.Shutdown(shutdownCtx)
}

// Main is an example service's main function. parse reads its configuration
// from the command line and the environment, listen names the address to
// listen on, and run serves until SIGINT or SIGTERM. It logs JSON to stderr
// and exits with 2 for a bad configuration, 1 for a failure.
func Main[C any](
	parse func(args []string, getenv func(string) string, stderr io.Writer) (C, error),
	listen func(C) string,
	run func(ctx context.Context, c C, ln net.Listener, log *slog.Logger) error,
) {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	c, err := parse(os.Args[1:], os.Getenv, os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		log.Error("Invalid configuration", "error", err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", listen(c))
	if err != nil {
		log.Error("Cannot listen", "error", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c, ln, log); err != nil {
		log.Error("Server failed", "error", err)
		stop()
		os.Exit(1)
	}
}
