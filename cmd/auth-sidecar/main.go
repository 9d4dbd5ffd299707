// Command auth-sidecar does machine-to-machine auth with Cognito for an
// application in any language, run beside it in its pod as a Kubernetes
// native sidecar (an init container with restartPolicy: Always). The
// application does no OAuth:
//
//   - Caller side: it sends its calls to a loopback listener per upstream,
//     and the sidecar forwards them with the bearer token of the mounted
//     M2MClient Secret; a loopback token endpoint hands out the token to
//     clients that set headers themselves (gRPC).
//   - Service side: the sidecar listens on the service port in front of the
//     application (which listens on loopback), refuses requests without a
//     valid token (401) or the route's scopes (403), and passes the caller's
//     client id and scopes in X-Auth-Request-Client-Id and
//     X-Auth-Request-Scopes.
//
// The routes, upstreams and credentials are in one configuration file (YAML
// or JSON, see internal/sidecar.Config and docs/sidecar.md); the flags are:
//
//	--config        path of the configuration file (required)
//	--admin-listen  address of /healthz, /readyz and /metrics (default :9901)
//	--log-level     debug, info, warn or error (default info)
//	--log-format    json or text (default json)
//	--check         validate the configuration and exit
//
// It refuses to start, with an error naming the field, on a configuration
// that would leave the application open. No log line holds a token or a
// client secret, at any level.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/cognito-m2m/operator/internal/logging"
	"github.com/cognito-m2m/operator/internal/sidecar"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, sidecar.Options{}))
}

// Exit codes: 2 for a bad command line or configuration, 1 for a failure at
// run time.
const (
	exitFailure = 1
	exitUsage   = 2
)

type flags struct {
	config, adminListen, logLevel, logFormat string
	check                                    bool
}

func parseFlags(args []string, stderr io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("auth-sidecar", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.config, "config", "", "`path` of the configuration file, YAML or JSON (required)")
	fs.StringVar(&f.adminListen, "admin-listen", ":9901", "`host:port` serving /healthz, /readyz and /metrics")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "json", "log format: json or text")
	fs.BoolVar(&f.check, "check", false, "validate the configuration file and exit")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	switch {
	case fs.NArg() > 0:
		return f, fmt.Errorf("unexpected argument %q: all settings are flags or in --config", fs.Arg(0))
	case f.config == "":
		return f, errors.New("--config is required")
	case f.adminListen == "":
		return f, errors.New("--admin-listen must not be empty")
	}
	return f, nil
}

// run is the command; o carries the test hooks of sidecar.Options.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, o sidecar.Options) int {
	f, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "auth-sidecar: %v\n", err)
		return exitUsage
	}
	log, err := logging.New(f.logLevel, f.logFormat, stderr) // refuses an unknown level or format
	if err != nil {
		fmt.Fprintf(stderr, "auth-sidecar: %v\n", err)
		return exitUsage
	}
	cfg, err := sidecar.LoadConfig(f.config)
	if err != nil {
		log.Error("Invalid configuration", "error", err)
		return exitUsage
	}
	if f.check {
		fmt.Fprintf(stdout, "configuration %s is valid\n", f.config)
		return 0
	}
	o.AdminListen = f.adminListen
	o.Logger = log
	if err := sidecar.Run(ctx, cfg, o); err != nil {
		log.Error("Sidecar failed", "error", err)
		return exitFailure
	}
	return 0
}
