// Command cognito-emulator runs the project's local Amazon Cognito emulator
// (package internal/emulator) as a server, for the quick start, the demo and
// the end-to-end tests.
//
// When it is ready to serve it prints one JSON line on stdout, for scripts
// (emulator.ReadyLine describes it and emulator.ParseReadyLine reads it):
//
//	{"event":"ready","addr":"127.0.0.1:9229","baseUrl":"http://127.0.0.1:9229","region":"us-east-1","tokenEndpoint":"http://127.0.0.1:9229/oauth2/token","userPoolId":"us-east-1_AbC123xyZ","issuer":"http://127.0.0.1:9229/us-east-1_AbC123xyZ"}
//
// userPoolId and issuer appear only with --create-pool (the id is random
// unless --create-pool-id fixes it), domain only with --create-pool-domain;
// baseUrl, tokenEndpoint and issuer are left out when listening on all
// interfaces without --base-url, since the URL then comes from each
// request's Host. Logs go to stderr. SIGINT or SIGTERM stops it gracefully.
//
// With --clock-offset the emulator's clock runs ahead of (or, negative, behind)
// the machine's, for testing clients against a Cognito whose clock differs from
// theirs.
//
// With --state-file the state survives restarts. The file is written behind
// the changes, at most --state-flush-interval (200ms) after a change and
// many changes in one write, so that a request costs about the same with
// and without it. A graceful stop writes everything; a crash or kill -9
// loses at most the changes of the last interval. Each write replaces the
// file atomically (temporary file, then rename), so it is never torn.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/cognito-m2m/operator/internal/emulator"
	"github.com/cognito-m2m/operator/internal/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	addr, baseURL, region, stateFile string
	stateFlush                       time.Duration
	pool, poolID, poolDomain         string
	quotas                           bool
	clockOffset                      time.Duration
	logFormat, logLevel              string
}

// Exit codes: 2 for bad flags, 1 for failures at run time.
const (
	exitFailure = 1
	exitUsage   = 2
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintf(stderr, "cognito-emulator: %v\n", err)
		}
		return exitUsage
	}
	log, err := logging.New(cfg.logLevel, cfg.logFormat, stderr) // refuses an unknown level or format
	if err != nil {
		fmt.Fprintf(stderr, "cognito-emulator: %v\n", err)
		return exitUsage
	}
	opts := emulator.Options{
		Region: cfg.region, BaseURL: cfg.baseURL, StateFile: cfg.stateFile, StateFlushInterval: cfg.stateFlush, Logger: log,
		Quotas: map[bool]*emulator.Quotas{true: emulator.DefaultQuotas()}[cfg.quotas],
	}
	if offset := cfg.clockOffset; offset != 0 {
		opts.Now = func() time.Time { return time.Now().Add(offset) }
	}
	emu, err := emulator.New(opts)
	if err != nil {
		fmt.Fprintf(stderr, "cognito-emulator: %v\n", err)
		return exitFailure
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		fmt.Fprintf(stderr, "cognito-emulator: cannot listen on --addr %s: %v\n", cfg.addr, err)
		_ = emu.Close()
		return exitFailure
	}
	if cfg.baseURL == "" {
		// A wildcard address has no single URL: take it from each request.
		if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsUnspecified() {
			emu.SetBaseURL("http://" + ln.Addr().String())
		}
	}

	ready := emulator.ReadyLine{Event: emulator.ReadyEvent, Addr: ln.Addr().String(), BaseURL: emu.BaseURL(), Region: emu.Region()}
	if emu.BaseURL() != "" {
		ready.TokenEndpoint = emu.TokenURL()
	}
	if cfg.pool != "" {
		ensure := emu.EnsureUserPool
		if cfg.poolID != "" {
			ensure = func(name, domain string) (string, error) {
				return emu.EnsureUserPoolWithID(cfg.poolID, name, domain)
			}
		}
		id, err := ensure(cfg.pool, cfg.poolDomain)
		if err != nil {
			ln.Close()
			_ = emu.Close()
			fmt.Fprintf(stderr, "cognito-emulator: --create-pool %s: %v\n", cfg.pool, err)
			return exitFailure
		}
		ready.UserPoolID, ready.Domain = id, cfg.poolDomain
		if emu.BaseURL() != "" {
			ready.Issuer = emu.IssuerURL(id)
		}
	}

	srv := &http.Server{Handler: emu.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintln(stdout, ready)
	log.Info("Cognito emulator listening", "addr", ln.Addr().String(), "baseUrl", emu.BaseURL(),
		"stateFile", cfg.stateFile, "stateFlushInterval", cfg.stateFlush, "quotas", cfg.quotas, "clockOffset", cfg.clockOffset)

	code := 0
	select {
	case err := <-served:
		log.Error("Server stopped", "error", err)
		code = exitFailure
	case <-ctx.Done():
		log.Info("Shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			log.Error("Shutdown incomplete", "error", err)
			code = exitFailure
		}
	}
	// After the server: no request changes the state after its last write.
	if err := emu.Close(); err != nil {
		log.Error("Writing the state file failed", "stateFile", cfg.stateFile, "error", err)
		code = exitFailure
	}
	return code
}

// errReported marks an error already shown to the user.
var errReported = errors.New("reported")

var (
	regionRe       = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)
	poolIDSuffixRe = regexp.MustCompile(`^[0-9a-zA-Z]+$`)
)

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("cognito-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:9229", "`host:port` to listen on; port 0 picks a free port")
	fs.StringVar(&cfg.baseURL, "base-url", "", "`URL` clients reach the emulator at, used in issuers and the token endpoint (default: http://<addr>, or each request's host when listening on all interfaces)")
	fs.StringVar(&cfg.region, "region", emulator.DefaultRegion, "AWS `region` in pool ids and ARNs")
	fs.StringVar(&cfg.stateFile, "state-file", "", "`path` of a JSON file that keeps all state across restarts (default: in memory only); it is written behind the changes, see --state-flush-interval")
	fs.DurationVar(&cfg.stateFlush, "state-flush-interval", emulator.DefaultStateFlushInterval, "longest `time` a change waits before it is written to --state-file, many changes in one write; a graceful stop (SIGINT, SIGTERM) writes everything, a crash loses at most this interval's changes; a negative value writes before answering each change (slow)")
	fs.StringVar(&cfg.pool, "create-pool", "", "`name` of a user pool to create at start-up, or reuse when the state file has one")
	fs.StringVar(&cfg.poolID, "create-pool-id", "", "`id` to give the --create-pool pool instead of a random one, such as us-east-1_local0000 (the region must be --region's), so that clients can be configured with it in advance")
	fs.StringVar(&cfg.poolDomain, "create-pool-domain", "", "prefix `domain` for the --create-pool pool")
	fs.BoolVar(&cfg.quotas, "quotas", false, "enforce Cognito's request-rate quotas (TooManyRequestsException): 5/s for one operation on one pool, and across pools 15/s app-client reads, 15/s app-client writes, 20/s resource-server reads, 15/s resource-server writes (GET /_emulator/calls counts calls and throttles by operation)")
	fs.DurationVar(&cfg.clockOffset, "clock-offset", 0, "`offset` of the emulator's clock from this machine's, such as 5m or -5m, to test clients against a Cognito whose clock differs from theirs: creation dates, secret ids, token times and the Date header all use it")
	fs.StringVar(&cfg.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return cfg, errors.Join(errReported, err) // the flag package printed it
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q: all settings are flags", fs.Arg(0))
	}
	if _, _, err := net.SplitHostPort(cfg.addr); err != nil {
		return cfg, fmt.Errorf("invalid --addr %q: want host:port: %v", cfg.addr, err)
	}
	if cfg.baseURL != "" {
		u, err := url.Parse(cfg.baseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
			return cfg, fmt.Errorf("invalid --base-url %q: want http(s)://host[:port] without a path", cfg.baseURL)
		}
	}
	if !regionRe.MatchString(cfg.region) {
		return cfg, fmt.Errorf("invalid --region %q: want a region name such as us-east-1", cfg.region)
	}
	if cfg.poolDomain != "" && cfg.pool == "" {
		return cfg, errors.New("--create-pool-domain needs --create-pool")
	}
	if cfg.poolID != "" && cfg.pool == "" {
		return cfg, errors.New("--create-pool-id needs --create-pool")
	}
	if suffix, ok := strings.CutPrefix(cfg.poolID, cfg.region+"_"); cfg.poolID != "" && (!ok || !poolIDSuffixRe.MatchString(suffix)) {
		return cfg, fmt.Errorf("invalid --create-pool-id %q: want %s_ followed by letters and digits", cfg.poolID, cfg.region)
	}
	if cfg.stateFlush == 0 {
		return cfg, errors.New("invalid --state-flush-interval 0: want a positive duration such as 200ms, or a negative one to write through")
	}
	return cfg, nil
}
