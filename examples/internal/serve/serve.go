// Package serve is the life of an example service as a process: settings
// from flags with environment variables as fall-backs, a listener, serving
// until SIGINT or SIGTERM, then a graceful shutdown. The examples share it so
// that each one's own code is what it shows: the auth library at work.
package serve

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// shutdownGrace bounds a graceful shutdown: requests still running after it
// are cut off.
const shutdownGrace = 10 * time.Second

// Flags is a command line whose flags fall back to environment variables:
// a flag given wins over its variable, a variable set and not empty over the
// flag's default.
type Flags struct {
	fs     *flag.FlagSet
	getenv func(string) string
	errs   []error
}

// NewFlags starts the command line of the named command, reading variables
// through getenv and writing usage and parse errors to stderr.
func NewFlags(name string, getenv func(string) string, stderr io.Writer) *Flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &Flags{fs: fs, getenv: getenv}
}

func (f *Flags) env(name, def string) string {
	if v := f.getenv(name); v != "" {
		return v
	}
	return def
}

// String defines a string flag and its variable.
func (f *Flags) String(p *string, name, variable, def, usage string) {
	f.fs.StringVar(p, name, f.env(variable, def), usage)
}

// Bool defines a boolean flag (default false) and its variable; a variable
// that is not a boolean is an error of Parse.
func (f *Flags) Bool(p *bool, name, variable, usage string) {
	v, err := strconv.ParseBool(f.env(variable, "false"))
	if err != nil {
		f.errs = append(f.errs, fmt.Errorf("%s: %w", variable, err))
	}
	f.fs.BoolVar(p, name, v, usage)
}

// Parse parses args, once the variables have been read without error.
func (f *Flags) Parse(args []string) error {
	if err := errors.Join(f.errs...); err != nil {
		return err
	}
	return f.fs.Parse(args)
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
