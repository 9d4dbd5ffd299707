package main

// The fleet run (--managers N): Cognito's quotas belong to the account and the
// pool, not to one operator. Several clusters' managers, each with its own etcd
// and kube-apiserver as separate clusters have, share one emulator pool with
// its quotas; with --outside-load, something else (Terraform, a console, a
// script) takes a share of the CreateUserPoolClient quota too. Each manager
// must find its share by itself (adaptive pacing): the run measures how long
// all the M2MClients take to be Ready against the shared floor (all creates at
// the quota left by the outside load), the share of the managers' calls that
// Cognito throttled, and the throttles in a steady period.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/time/rate"

	"github.com/cognito-m2m/operator/internal/cognito"
	"github.com/cognito-m2m/operator/internal/demo"
)

// Targets of the fleet run (issue 18).
const (
	fleetFloorFactor   = 1.25 // all Ready within this many times the shared floor
	fleetThrottleShare = 0.05 // at most this share of the managers' calls throttled
)

// cluster is one of a fleet run's clusters.
type cluster struct {
	name  string
	env   *demo.Env
	op    *operator
	fleet *fleet
}

// fleetBench is one fleet run.
type fleetBench struct {
	console
	cfg      config
	clusters []*cluster
	admin    *emulatorAdmin
	log      *answerLog
	outside  *outsideLoad
	pool     string
}

func runFleet(parent context.Context, cfg config, out io.Writer) (code int) {
	ctx, cancel := context.WithTimeoutCause(parent, cfg.timeout, fmt.Errorf("the run took longer than --timeout %s", cfg.timeout))
	defer cancel()
	b := &fleetBench{console: newConsole(out), cfg: cfg}
	defer func() {
		cancel()
		for _, c := range b.clusters {
			if c.fleet != nil {
				c.fleet.waitStopped(5 * time.Second)
			}
		}
		// The emulator's cluster last: the others' managers call it.
		for _, c := range slices.Backward(b.clusters) {
			if b.closeEnv(c.env, c.name, cfg.keepLogs || code != 0) {
				code = max(code, 1)
			}
		}
	}()
	b.printf("Fleet benchmark: %d managers, each with its own API server and %d M2MClients in %d namespaces, sharing one user pool; outside load %.0f%% of the CreateUserPoolClient quota; drift period %s",
		cfg.managers, cfg.objects, cfg.namespaces, cfg.outsideLoad*100, cfg.driftPeriod)
	return b.exitCode(parent, ctx, b.run(ctx))
}

func (b *fleetBench) run(ctx context.Context) error {
	cfg := b.cfg
	for k := range cfg.managers {
		pkgs := []string{"./cmd/manager"}
		var emuArgs []string
		if k == 0 {
			pkgs = append(pkgs, "./cmd/cognito-emulator")
			emuArgs = []string{"--log-format", "json", "--quotas"}
		}
		env, err := demo.New(demo.Options{
			ToolsDir: cfg.toolsDir, Out: b.out, Packages: pkgs, EmulatorArgs: emuArgs,
			OperatorArgs: append([]string{"--drift-period", cfg.driftPeriod.String()}, cfg.managerArgs...),
		})
		if err != nil {
			return err
		}
		c := &cluster{name: fmt.Sprintf("cluster %d", k+1), env: env, op: &operator{env: env}}
		b.clusters = append(b.clusters, c)
	}
	b.printf("Building; starting %d pairs of etcd and kube-apiserver and the emulator (quotas on)", cfg.managers)
	first := b.clusters[0].env
	for _, c := range b.clusters {
		if err := c.env.Build(ctx); err != nil {
			return err
		}
		if err := c.env.StartControlPlane(ctx); err != nil {
			return err
		}
		if c.env == first {
			if err := first.StartEmulator(ctx); err != nil {
				return err
			}
			continue
		}
		// Every manager calls the first cluster's emulator, in the same pool.
		c.env.EmulatorURL, c.env.UserPoolID = first.EmulatorURL, first.UserPoolID
		c.env.TokenEndpoint, c.env.Issuer = first.TokenEndpoint, first.Issuer
	}
	b.pool = first.UserPoolID
	b.admin = &emulatorAdmin{base: first.EmulatorURL, http: &http.Client{Timeout: 30 * time.Second}}
	b.log = &answerLog{path: first.LogDir + "/cognito-emulator.log"}
	q, err := b.admin.quotas(ctx)
	if err != nil {
		return err
	}
	createRate := 0.0
	if q != nil {
		createRate = q.PerOperationPerPool
		if r, ok := q.Categories["UserPoolClientUpdate"]; ok && (createRate == 0 || r < createRate) {
			createRate = r
		}
	}
	if createRate <= 0 {
		return errors.New("the fleet run needs the emulator's quotas")
	}
	total := cfg.objects * cfg.managers
	left := createRate * (1 - cfg.outsideLoad)
	floor := time.Duration(float64(total) / left * float64(time.Second))
	b.printf("Shared floor: %d CreateUserPoolClient at %g/s (%g/s less the outside load's %.0f%%) = %s",
		total, left, createRate, cfg.outsideLoad*100, floor)

	scheme, err := newScheme()
	if err != nil {
		return err
	}
	for k, c := range b.clusters {
		prefix := ""
		if cfg.managers > 1 {
			prefix = fmt.Sprintf("m%d-", k+1)
		}
		if c.fleet, err = newFleet(cfg, c.env.RESTConfig(), scheme, prefix); err != nil {
			return err
		}
		if err := c.fleet.watch(ctx); err != nil {
			return err
		}
		if err := c.op.start(ctx); err != nil {
			return fmt.Errorf("starting the manager of %s: %w", c.name, err)
		}
		go c.op.sampleEvery(ctx, time.Second)
		if err := c.fleet.createNamespaces(ctx); err != nil {
			return err
		}
		if err := c.fleet.createServers(ctx); err != nil {
			return err
		}
	}
	if err := b.waitAll(ctx, "every ResourceServer Ready", func(t tally) bool { return t.serversReady == cfg.servers }); err != nil {
		return err
	}

	if cfg.outsideLoad > 0 {
		b.outside = newOutsideLoad(first, createRate*cfg.outsideLoad)
		go b.outside.run(ctx)
		b.printf("Outside load: CreateUserPoolClient (and a delete of each) at %g/s", createRate*cfg.outsideLoad)
	}

	// create
	before, err := b.snap(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	errs := make(chan error, len(b.clusters))
	for _, c := range b.clusters {
		go func() { errs <- c.fleet.createClients(ctx) }()
	}
	for range b.clusters {
		if err := <-errs; err != nil {
			return err
		}
	}
	if err := b.waitAll(ctx, "every M2MClient Ready", func(t tally) bool { return t.clientsReady == cfg.objects }); err != nil {
		return err
	}
	converged := time.Since(start)
	created, err := b.snap(ctx)
	if err != nil {
		return err
	}

	if err := b.checkConverged(ctx, total); err != nil {
		return err
	}

	// settle, then steady
	var settled fleetSnap
	if cfg.settle > 0 {
		b.printf("Settling: %s, the first round of drift checks", cfg.settle)
		if err := sleep(ctx, cfg.settle); err != nil {
			return err
		}
	}
	if settled, err = b.snap(ctx); err != nil {
		return err
	}
	var steadyBefore, steadyAfter fleetSnap
	if cfg.steady > 0 {
		if steadyBefore, err = b.snap(ctx); err != nil {
			return err
		}
		b.printf("Steady: observing for %s", cfg.steady)
		if err := sleep(ctx, cfg.steady); err != nil {
			return err
		}
		if steadyAfter, err = b.snap(ctx); err != nil {
			return err
		}
	}

	if b.outside != nil {
		b.outside.stop()
	}
	// delete
	b.printf("Deleting every object")
	for _, c := range b.clusters {
		go func() { errs <- c.fleet.deleteClients(ctx) }()
	}
	for range b.clusters {
		if err := <-errs; err != nil {
			return err
		}
	}
	if err := b.waitAll(ctx, "every M2MClient gone", func(t tally) bool { return t.clients == 0 }); err != nil {
		return err
	}
	for _, c := range b.clusters {
		if err := c.fleet.deleteServers(ctx); err != nil {
			return err
		}
	}
	if err := b.waitAll(ctx, "every ResourceServer gone", func(t tally) bool { return t.servers == 0 }); err != nil {
		return err
	}

	return b.report(converged, floor, created.sub(before), settled.sub(created), steadyAfter.sub(steadyBefore), cfg.steady > 0)
}

// waitAll waits until every cluster's tally satisfies done.
func (b *fleetBench) waitAll(ctx context.Context, what string, done func(tally) bool) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last, start := time.Now(), time.Now()
	for {
		all := true
		var sum tally
		for _, c := range b.clusters {
			t, err := c.fleet.tally(ctx)
			if err != nil {
				return err
			}
			all = all && done(t)
			sum.clients += t.clients
			sum.clientsReady += t.clientsReady
			sum.servers += t.servers
			sum.serversReady += t.serversReady
			if err := c.op.exited(); err != nil {
				return fmt.Errorf("the manager of %s stopped: %w", c.name, err)
			}
		}
		if all || time.Since(last) >= 10*time.Second {
			b.printf("%6s  M2MClients Ready %d/%d  ResourceServers Ready %d/%d  (%s%s)", time.Since(start).Round(time.Second),
				sum.clientsReady, sum.clients, sum.serversReady, sum.servers, what, map[bool]string{true: ": done", false: ""}[all])
			last = time.Now()
		}
		if all {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// fleetSnap is the cumulative counters of a fleet run at one moment.
type fleetSnap struct {
	calls, throttled       int // the emulator's, for CreateUserPoolClient and in all
	createCalls, createThr int
	outCalls, outThrottled int    // the outside load's
	managers               counts // the managers' own request counters, by outcome
}

func (s fleetSnap) sub(o fleetSnap) fleetSnap {
	return fleetSnap{
		calls: s.calls - o.calls, throttled: s.throttled - o.throttled,
		createCalls: s.createCalls - o.createCalls, createThr: s.createThr - o.createThr,
		outCalls: s.outCalls - o.outCalls, outThrottled: s.outThrottled - o.outThrottled,
		managers: s.managers.sub(o.managers),
	}
}

func (b *fleetBench) snap(ctx context.Context) (fleetSnap, error) {
	var s fleetSnap
	calls, err := b.admin.calls(ctx)
	if err != nil {
		return s, err
	}
	errs, err := b.log.snapshot()
	if err != nil {
		return s, err
	}
	thr := throttles(errs)
	s.calls, s.throttled = calls.total(), thr.total()
	s.createCalls, s.createThr = calls["CreateUserPoolClient"], thr["CreateUserPoolClient"]
	if b.outside != nil {
		s.outCalls, s.outThrottled = b.outside.counts()
	}
	s.managers = counts{}
	for _, c := range b.clusters {
		m, err := managerRequests(ctx, c.env.OperatorMetricsURL)
		if err != nil {
			return s, fmt.Errorf("reading the metrics of the manager of %s: %w", c.name, err)
		}
		for k, v := range m {
			s.managers[k] += v
		}
	}
	return s, nil
}

// managerRequests reads a manager's cognito_m2m_cognito_requests_total by outcome.
func managerRequests(ctx context.Context, url string) (counts, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, err
	}
	out := counts{}
	for _, m := range fams["cognito_m2m_cognito_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "outcome" {
				out[l.GetValue()] += int(m.GetCounter().GetValue())
			}
		}
	}
	return out, nil
}

// checkConverged checks, with the quotas paused, that the pool holds exactly
// one app client per M2MClient of every cluster and no duplicate name.
func (b *fleetBench) checkConverged(ctx context.Context, want int) error {
	q, err := b.admin.quotas(ctx)
	if err != nil {
		return err
	}
	if err := b.admin.setQuotas(ctx, nil); err != nil {
		return err
	}
	defer func() { _ = b.admin.setQuotas(context.WithoutCancel(ctx), q) }()
	apps, err := appClients(ctx, b.clusters[0].env.Cognito(), b.pool)
	if err != nil {
		return err
	}
	names := map[string]int{}
	n := 0
	for _, a := range apps {
		if strings.HasPrefix(a.name, outsideName) {
			continue
		}
		n++
		names[a.name]++
	}
	var bad []string
	if n != want {
		bad = append(bad, fmt.Sprintf("%d app clients for %d M2MClients", n, want))
	}
	for name, k := range names {
		if k > 1 {
			bad = append(bad, fmt.Sprintf("%d app clients named %q", k, name))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("invariants violated: %s", strings.Join(bad[:min(len(bad), 10)], "; "))
	}
	b.printf("Invariants hold: %d app clients for %d M2MClients, no duplicate", n, want)
	return nil
}

func (b *fleetBench) report(converged, floor time.Duration, create, settle, steady fleetSnap, hadSteady bool) error {
	cfg := b.cfg
	ratio := converged.Seconds() / floor.Seconds()
	mgrCalls := create.calls - create.outCalls
	mgrThr := create.throttled - create.outThrottled
	share := float64(mgrThr) / float64(max(mgrCalls, 1))
	fmt.Fprintf(b.out, "\nFleet run: %d managers x %d M2MClients, outside load %.0f%%\n", cfg.managers, cfg.objects, cfg.outsideLoad*100)
	fmt.Fprintf(b.out, "  all Ready in        %s = %.2fx the shared floor %s (target <= %.2fx)\n", converged.Round(100*time.Millisecond), ratio, floor.Round(100*time.Millisecond), fleetFloorFactor)
	fmt.Fprintf(b.out, "  managers' calls     %d, throttled %d = %.1f%% (target <= %.0f%%); CreateUserPoolClient %d calls, %d throttled (outside load's included)\n",
		mgrCalls, mgrThr, share*100, fleetThrottleShare*100, create.createCalls, create.createThr)
	fmt.Fprintf(b.out, "  managers' own count %d requests: %s\n", create.managers.total(), formatCounts(create.managers))
	if b.outside != nil {
		fmt.Fprintf(b.out, "  outside load        %d calls, %d throttled\n", create.outCalls, create.outThrottled)
	}
	var failed []string
	if ratio > fleetFloorFactor {
		failed = append(failed, fmt.Sprintf("convergence %.2fx the floor > %.2fx", ratio, fleetFloorFactor))
	}
	if share > fleetThrottleShare {
		failed = append(failed, fmt.Sprintf("%.1f%% of the managers' calls throttled > %.0f%%", share*100, fleetThrottleShare*100))
	}
	if cfg.settle > 0 {
		fmt.Fprintf(b.out, "  settling (%s)  %d calls by the managers, %d throttled (not a target: the managers learn their shares)\n",
			cfg.settle, settle.calls-settle.outCalls, settle.throttled-settle.outThrottled)
	}
	if hadSteady {
		st := steady.throttled - steady.outThrottled
		fmt.Fprintf(b.out, "  steady (%s)    %d calls by the managers, %d throttled\n", cfg.steady, steady.calls-steady.outCalls, st)
		if st > 0 {
			failed = append(failed, fmt.Sprintf("%d throttles in steady state", st))
		}
	}
	for _, c := range b.clusters {
		fmt.Fprintf(b.out, "  %s: manager CPU %s, peak RSS %s\n", c.name, c.op.cpu().Round(100*time.Millisecond), mib(c.op.peak()))
	}
	if len(failed) > 0 {
		return fmt.Errorf("targets missed: %s", strings.Join(failed, "; "))
	}
	b.printf("Targets met.")
	return nil
}

func formatCounts(c counts) string {
	var parts []string
	for _, k := range sortedKeys(c) {
		parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
	}
	return strings.Join(parts, ", ")
}

// outsideName prefixes the outside load's app clients.
const outsideName = "outside-load-"

// outsideLoad creates app clients at a fixed rate and deletes each after the
// next is made, as a script sharing the account would: it does not adapt, and
// it does not retry.
type outsideLoad struct {
	api  *cip.Client
	pool string
	rate float64

	mu              sync.Mutex
	calls, throttle int
	cancel          context.CancelFunc
	done            chan struct{}
}

func newOutsideLoad(env *demo.Env, r float64) *outsideLoad {
	api := cip.NewFromConfig(aws.Config{
		Region:      env.Region,
		Credentials: awscreds.NewStaticCredentialsProvider("outside", "outside-not-a-secret", ""),
	}, cognito.SDKOptions(env.EmulatorURL))
	return &outsideLoad{api: api, pool: env.UserPoolID, rate: r, done: make(chan struct{})}
}

func (l *outsideLoad) counts() (int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls, l.throttle
}

func (l *outsideLoad) note(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if cognito.IsThrottled(err) {
		l.throttle++
	}
}

func (l *outsideLoad) run(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	l.mu.Lock()
	l.cancel = cancel
	l.mu.Unlock()
	defer close(l.done)
	lim := rate.NewLimiter(rate.Limit(l.rate), 1)
	var last string
	for i := 0; ; i++ {
		if lim.Wait(ctx) != nil {
			break
		}
		out, err := l.api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
			UserPoolId: aws.String(l.pool), ClientName: aws.String(fmt.Sprintf("%s%d", outsideName, i)),
		})
		if ctx.Err() != nil {
			break
		}
		l.note(err)
		if err != nil {
			continue
		}
		if last != "" {
			l.delete(ctx, last)
		}
		last = aws.ToString(out.UserPoolClient.ClientId)
	}
	if last != "" {
		l.delete(context.WithoutCancel(parent), last)
	}
}

func (l *outsideLoad) delete(ctx context.Context, id string) {
	for range 20 {
		_, err := l.api.DeleteUserPoolClient(ctx, &cip.DeleteUserPoolClientInput{UserPoolId: aws.String(l.pool), ClientId: aws.String(id)})
		if ctx.Err() == nil {
			l.note(err)
		}
		if err == nil || !cognito.IsThrottled(err) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "bench-scale: the outside load could not delete app client %s\n", id)
}

// stop ends the load and waits until its last client is deleted.
func (l *outsideLoad) stop() {
	l.mu.Lock()
	cancel := l.cancel
	l.mu.Unlock()
	if cancel != nil {
		cancel()
		<-l.done
	}
}
