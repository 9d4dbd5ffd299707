// Command scale is `make bench-scale`: it measures the operator at scale
// against Cognito's request-rate quotas, on this machine, offline.
//
// It starts a real etcd and kube-apiserver, the Cognito emulator with --quotas
// and the manager as processes (internal/demo starts them, as for `make
// demo`), then runs these phases:
//
//   - servers: the ResourceServers, each granting every namespace, until Ready;
//   - create: N M2MClients of one scope each, until all are Ready; the time is
//     compared with the quota floor, N / the CreateUserPoolClient quota;
//   - (check: the invariants, with the quotas paused for the benchmark's own
//     calls: one app client per M2MClient, each Secret equal to Cognito);
//   - steady: nothing changes for a while; every Cognito call and API-server
//     write is the operator's drift checking;
//   - restart: the manager is stopped and started again, and what it does in
//     its first minute is counted;
//   - delete: every object is deleted, until gone, and Cognito must be empty.
//
// For each phase it reports Cognito calls by operation (the emulator's
// counters), the answers throttled (TooManyRequestsException, from the
// emulator's log), API-server writes to the operator's kinds, Secrets and
// Events (kube-apiserver's apiserver_request_total, with the benchmark's own
// writes counted apart), Ready=True objects that left Ready, and the manager's
// CPU time and peak RSS (/proc).
//
// With --chaos, while objects converge and while they are deleted, the manager
// is killed with SIGKILL at random intervals and restarted, and the emulator
// answers a share of requests with 5xx and throttling errors; the invariants
// must hold all the same.
//
// Every process listens on 127.0.0.1. A global --timeout bounds the run; on
// timeout, Ctrl-C or failure everything is stopped and the logs are kept.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/cognito-m2m/operator/internal/demo"
)

type config struct {
	objects, namespaces, servers int
	driftPeriod                  time.Duration
	steady, restartWindow        time.Duration
	chaos                        bool
	killMin, killMax             time.Duration
	errorRate, throttleRate      float64
	quotas                       bool
	managers                     int
	settle                       time.Duration
	outsideLoad                  float64
	timeout                      time.Duration
	keepLogs                     bool
	toolsDir                     string
	managerArgs                  stringList
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, " ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench-scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.objects, "objects", 1000, "number of M2MClients")
	fs.IntVar(&c.namespaces, "namespaces", 20, "namespaces the M2MClients are spread over")
	fs.IntVar(&c.servers, "resource-servers", 5, "ResourceServers, each granting every namespace; client i asks for a scope of server i mod this")
	fs.DurationVar(&c.driftPeriod, "drift-period", 10*time.Minute, "the manager's --drift-period (10m is its default)")
	fs.DurationVar(&c.steady, "steady", -1, "how long to observe the steady state; default one drift period, so that every object is due for one check; 0 skips it")
	fs.DurationVar(&c.restartWindow, "restart-window", time.Minute, "how long to observe a restarted manager (0 skips the restart)")
	fs.BoolVar(&c.chaos, "chaos", false, "kill -9 the manager at random and inject 5xx and throttling while objects converge and are deleted")
	fs.DurationVar(&c.killMin, "chaos-kill-min", 5*time.Second, "shortest time between two kills")
	fs.DurationVar(&c.killMax, "chaos-kill-max", 30*time.Second, "longest time between two kills")
	fs.Float64Var(&c.errorRate, "chaos-error-rate", 0.05, "share of Cognito requests answered InternalErrorException (HTTP 500) in chaos mode")
	fs.Float64Var(&c.throttleRate, "chaos-throttle-rate", 0.05, "share of Cognito requests answered TooManyRequestsException on top of the quotas, in chaos mode")
	fs.BoolVar(&c.quotas, "quotas", true, "run the emulator with Cognito's request-rate quotas")
	fs.IntVar(&c.managers, "managers", 0, "fleet run: this many managers, each with its own API server and --objects M2MClients, sharing one user pool with quotas (0: the single-manager run with its phases and invariants)")
	fs.DurationVar(&c.settle, "settle", -1, "fleet run: time after converging before the steady window, reported apart, in which the managers' first drift checks find their shares of the read quota; default one drift period")
	fs.Float64Var(&c.outsideLoad, "outside-load", 0, "fleet run: share of the CreateUserPoolClient quota taken by a caller outside the clusters (0 to 0.9)")
	fs.DurationVar(&c.timeout, "timeout", 45*time.Minute, "bound on the whole run")
	fs.BoolVar(&c.keepLogs, "keep-logs", false, "keep the processes' logs even when the run succeeds")
	fs.StringVar(&c.toolsDir, "tools-dir", "", "directory of etcd, kube-apiserver and kubectl (default $KUBEBUILDER_ASSETS, else bin/)")
	fs.Var(&c.managerArgs, "manager-arg", "a flag passed to the manager, such as --max-concurrent-reconciles=4 (repeatable)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.steady < 0 {
		c.steady = c.driftPeriod
	}
	if c.settle < 0 {
		c.settle = c.driftPeriod
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q: all settings are flags", fs.Arg(0))
	case c.objects < 1 || c.namespaces < 1 || c.servers < 1:
		return c, errors.New("--objects, --namespaces and --resource-servers must be at least 1")
	case c.namespaces > 100:
		return c, errors.New("--namespaces is at most 100")
	case c.chaos && (c.killMin <= 0 || c.killMax < c.killMin):
		return c, errors.New("want 0 < --chaos-kill-min <= --chaos-kill-max")
	case c.errorRate < 0 || c.throttleRate < 0 || c.errorRate+c.throttleRate > 1:
		return c, errors.New("the chaos error rates must be between 0 and 1")
	case c.managers < 0 || c.managers > 5:
		return c, errors.New("--managers is between 0 and 5")
	case c.outsideLoad < 0 || c.outsideLoad > 0.9:
		return c, errors.New("--outside-load is between 0 and 0.9")
	case c.outsideLoad > 0 && c.managers == 0:
		return c, errors.New("--outside-load needs --managers")
	case c.managers > 0 && (c.chaos || !c.quotas):
		return c, errors.New("the fleet run (--managers) has quotas on and no chaos")
	}
	return c, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "bench-scale: %v\n", err)
		}
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	signal.Ignore(syscall.SIGPIPE)
	if cfg.managers > 0 {
		os.Exit(runFleet(ctx, cfg, os.Stdout))
	}
	os.Exit(run(ctx, cfg, os.Stdout))
}

// bench is one run.
type bench struct {
	console
	cfg   config
	env   *demo.Env
	op    *operator
	fleet *fleet
	admin *emulatorAdmin
	log   *answerLog
	kube  *kubernetes.Clientset

	quotas *quotas // the emulator's quotas at start, nil when off
	floor  time.Duration
	phases []*phaseResult
	checks []*checkResult
}

func run(parent context.Context, cfg config, out io.Writer) (code int) {
	ctx, cancel := context.WithTimeoutCause(parent, cfg.timeout, fmt.Errorf("the run took longer than --timeout %s", cfg.timeout))
	defer cancel()
	emuArgs := []string{"--log-format", "json"}
	if cfg.quotas {
		emuArgs = append(emuArgs, "--quotas")
	}
	env, err := demo.New(demo.Options{
		ToolsDir:     cfg.toolsDir,
		Out:          out,
		Packages:     []string{"./cmd/manager", "./cmd/cognito-emulator"},
		EmulatorArgs: emuArgs,
		OperatorArgs: append([]string{"--drift-period", cfg.driftPeriod.String()}, cfg.managerArgs...),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench-scale: %v\n", err)
		return 1
	}
	b := &bench{console: newConsole(out), cfg: cfg, env: env, op: &operator{env: env}}
	defer func() {
		// The watch cache's connections first: kube-apiserver waits for them
		// when it shuts down.
		cancel()
		if b.fleet != nil {
			b.fleet.waitStopped(5 * time.Second)
		}
		b.printf("Stopping the manager, the emulator, kube-apiserver and etcd")
		if b.closeEnv(env, "", cfg.keepLogs || code != 0) {
			code = max(code, 1)
		}
	}()
	b.printf("Scale benchmark: %d M2MClients in %d namespaces, %d ResourceServers, drift period %s, quotas %s, chaos %s; run directory %s",
		cfg.objects, cfg.namespaces, cfg.servers, cfg.driftPeriod, onOff(cfg.quotas), onOff(cfg.chaos), env.RunDir)

	err = b.run(ctx)
	b.report()
	if code := b.exitCode(parent, ctx, err); code != 0 {
		return code
	}
	for _, c := range b.checks {
		if len(c.violations) > 0 {
			b.printf("FAILED: the invariants do not hold")
			return 1
		}
	}
	return 0
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (b *bench) run(ctx context.Context) error {
	cfg := b.cfg
	b.printf("Building the manager and the emulator")
	if err := b.env.Build(ctx); err != nil {
		return err
	}
	b.printf("Starting etcd and kube-apiserver, installing the CRDs")
	if err := b.env.StartControlPlane(ctx); err != nil {
		return err
	}
	b.printf("Starting the Cognito emulator (quotas %s)", onOff(cfg.quotas))
	if err := b.env.StartEmulator(ctx); err != nil {
		return err
	}
	b.admin = &emulatorAdmin{base: b.env.EmulatorURL, http: &http.Client{Timeout: 30 * time.Second}}
	b.log = &answerLog{path: b.env.LogDir + "/cognito-emulator.log"}
	q, err := b.admin.quotas(ctx)
	if err != nil {
		return err
	}
	b.quotas = q
	if q != nil {
		rate := q.PerOperationPerPool
		if r, ok := q.Categories["UserPoolClientUpdate"]; ok && (rate == 0 || r < rate) {
			rate = r
		}
		if rate > 0 {
			b.floor = time.Duration(float64(cfg.objects) / rate * float64(time.Second))
			b.printf("Quota floor: %d CreateUserPoolClient at %g/s = %s", cfg.objects, rate, b.floor)
		}
	}

	rc := b.env.RESTConfig()
	scheme, err := newScheme()
	if err != nil {
		return err
	}
	if b.fleet, err = newFleet(cfg, rc, scheme, ""); err != nil {
		return err
	}
	rc.QPS, rc.Burst = 500, 1000 // the benchmark's client must not be what limits the run
	if b.kube, err = kubernetes.NewForConfig(rc); err != nil {
		return err
	}
	if err := b.fleet.watch(ctx); err != nil {
		return err
	}

	b.printf("Starting the manager")
	if err := b.op.start(ctx); err != nil {
		return err
	}
	go b.op.sampleEvery(ctx, time.Second)

	if err := b.fleet.createNamespaces(ctx); err != nil {
		return err
	}
	if err := b.phase(ctx, "servers", func(ctx context.Context, p *phaseResult) error {
		if err := b.fleet.createServers(ctx); err != nil {
			return err
		}
		return b.waitFor(ctx, p, "every ResourceServer Ready", func(t tally) bool { return t.serversReady == cfg.servers })
	}); err != nil {
		return err
	}

	if err := b.phase(ctx, "create", func(ctx context.Context, p *phaseResult) error {
		stopChaos, err := b.startChaos(ctx)
		if err != nil {
			return err
		}
		defer stopChaos()
		p.progress, p.total = func(t tally) int { return t.clientsReady }, cfg.objects
		if err := b.fleet.createClients(ctx); err != nil {
			return err
		}
		p.notef("%d M2MClients created in %s", cfg.objects, time.Since(p.start).Round(100*time.Millisecond))
		if err := b.waitFor(ctx, p, "every M2MClient Ready", func(t tally) bool { return t.clientsReady == cfg.objects }); err != nil {
			return err
		}
		p.goal = time.Since(p.start)
		if cfg.chaos {
			// The manager may be down or mid-pass when the last object turns
			// Ready: stop the chaos, then wait for a clean state again.
			if err := stopChaos(); err != nil {
				return err
			}
			return b.waitFor(ctx, p, "every M2MClient Ready after the chaos", func(t tally) bool { return t.clientsReady == cfg.objects })
		}
		return nil
	}); err != nil {
		return err
	}

	if err := b.check(ctx, "converged", func(ctx context.Context) (*checkResult, error) {
		return checkConverged(ctx, b.fleet.c, b.env.Cognito(), b.env.UserPoolID, cfg.objects)
	}); err != nil {
		return err
	}

	if cfg.steady > 0 {
		if err := b.phase(ctx, "steady", func(ctx context.Context, p *phaseResult) error {
			return b.observe(ctx, p, cfg.steady)
		}); err != nil {
			return err
		}
	}

	if cfg.restartWindow > 0 {
		if err := b.phase(ctx, "restart", func(ctx context.Context, p *phaseResult) error {
			b.op.stop()
			if err := b.op.start(ctx); err != nil {
				return err
			}
			p.start = time.Now() // the window starts when the new manager is ready
			return b.observe(ctx, p, cfg.restartWindow)
		}); err != nil {
			return err
		}
	}

	if err := b.phase(ctx, "delete", func(ctx context.Context, p *phaseResult) error {
		stopChaos, err := b.startChaos(ctx)
		if err != nil {
			return err
		}
		defer stopChaos()
		p.progress, p.total = func(t tally) int { return cfg.objects - t.clients }, cfg.objects
		if err := b.fleet.deleteClients(ctx); err != nil {
			return err
		}
		if err := b.waitFor(ctx, p, "every M2MClient gone", func(t tally) bool { return t.clients == 0 }); err != nil {
			return err
		}
		p.goal = time.Since(p.start)
		if err := b.fleet.deleteServers(ctx); err != nil {
			return err
		}
		if err := b.waitFor(ctx, p, "every ResourceServer gone", func(t tally) bool { return t.servers == 0 }); err != nil {
			return err
		}
		return stopChaos()
	}); err != nil {
		return err
	}

	return b.check(ctx, "deleted", func(ctx context.Context) (*checkResult, error) {
		return checkEmpty(ctx, b.env.Cognito(), b.env.UserPoolID)
	})
}

// startChaos kills the manager at random intervals and injects faults, in
// chaos mode; the function it returns stops both (once) and restarts the
// manager if it is down.
func (b *bench) startChaos(ctx context.Context) (func() error, error) {
	if !b.cfg.chaos {
		return func() error { return nil }, nil
	}
	var faults []fault
	if b.cfg.errorRate > 0 {
		faults = append(faults, fault{ErrorType: "InternalErrorException", ErrorRate: b.cfg.errorRate})
	}
	if b.cfg.throttleRate > 0 {
		// The first matching fault that fires wins: this one applies to
		// the requests the first let through.
		faults = append(faults, fault{ErrorType: throttleError, ErrorRate: b.cfg.throttleRate / (1 - b.cfg.errorRate)})
	}
	if err := b.admin.setFaults(ctx, faults...); err != nil {
		return nil, err
	}
	kctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- b.killer(kctx) }()
	stopped := false
	var result error
	return func() error {
		if stopped {
			return result
		}
		stopped = true
		cancel()
		result = errors.Join(<-done, b.admin.setFaults(context.WithoutCancel(ctx)))
		return result
	}, nil
}

// killer sends SIGKILL to the manager at random intervals and restarts it at
// once, until ctx ends.
func (b *bench) killer(ctx context.Context) error {
	for {
		wait := b.cfg.killMin + rand.N(b.cfg.killMax-b.cfg.killMin+1)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		if err := b.op.kill(); err != nil {
			return err
		}
		b.printf("chaos: manager killed with SIGKILL (%d so far), restarting it", b.op.killCount())
		// Not bound by ctx: the manager must be running when the chaos stops.
		if err := b.op.start(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("restarting the manager after a kill: %w", err)
		}
	}
}

// check runs an invariant check with the quotas paused, between two phases,
// so that neither the checks' calls nor their throttling enter a phase.
func (b *bench) check(ctx context.Context, name string, fn func(context.Context) (*checkResult, error)) error {
	b.printf("Checking the invariants (%s), quotas paused for the benchmark's own calls", name)
	if b.quotas != nil {
		if err := b.admin.setQuotas(ctx, nil); err != nil {
			return err
		}
	}
	r, err := fn(ctx)
	if b.quotas != nil {
		err = errors.Join(err, b.admin.setQuotas(ctx, b.quotas))
	}
	if err != nil {
		return fmt.Errorf("invariant check %s: %w", name, err)
	}
	b.checks = append(b.checks, r)
	if len(r.violations) == 0 {
		b.printf("Invariants (%s) hold: %d M2MClients, %d app clients, %d resource servers in Cognito", name, r.objects, r.appClients, r.servers)
	} else {
		b.printf("Invariants (%s) VIOLATED %d times", name, len(r.violations))
	}
	return nil
}

// waitFor waits until the tally satisfies done, printing progress every 10 s,
// and fails when the manager exits on its own.
func (b *bench) waitFor(ctx context.Context, p *phaseResult, what string, done func(tally) bool) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	lastPrint := time.Now()
	for {
		t, err := b.fleet.tally(ctx)
		if err != nil {
			return err
		}
		p.track(t)
		if done(t) {
			b.progress(p, t, what+": done")
			return nil
		}
		if err := b.op.exited(); err != nil {
			return fmt.Errorf("the manager stopped: %w", err)
		}
		if time.Since(lastPrint) >= 10*time.Second {
			b.progress(p, t, "waiting for "+what)
			lastPrint = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// observe waits d, printing progress every 10 s.
func (b *bench) observe(ctx context.Context, p *phaseResult, d time.Duration) error {
	end := time.Now().Add(d)
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-tick.C:
		case <-time.After(time.Until(end)):
		}
		if err := b.op.exited(); err != nil {
			return fmt.Errorf("the manager stopped: %w", err)
		}
		t, err := b.fleet.tally(ctx)
		if err != nil {
			return err
		}
		b.progress(p, t, fmt.Sprintf("observing, %s left", time.Until(end).Round(time.Second)))
	}
	return nil
}

// progress prints one line: Ready counts and the phase's figures so far.
func (b *bench) progress(p *phaseResult, t tally, what string) {
	calls, _ := b.admin.calls(context.Background())
	errs, _ := b.log.snapshot()
	line := fmt.Sprintf("%-8s %6s  M2MClients Ready %d/%d  ResourceServers Ready %d/%d  Cognito calls %d, throttled %d  manager RSS %s",
		p.name, time.Since(p.start).Round(time.Second), t.clientsReady, t.clients, t.serversReady, t.servers,
		calls.sub(p.before.calls).total(), throttles(errs).total()-throttles(p.before.errs).total(), mib(b.op.peak()))
	b.printf("%s  (%s)", line, what)
}

func mib(bytes int64) string { return fmt.Sprintf("%.0f MiB", float64(bytes)/(1<<20)) }
