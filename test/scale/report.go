package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// snapshot is every cumulative counter at one moment.
type snapshot struct {
	calls  counts // emulator requests by operation
	errs   counts // emulator error answers by "operation errorType"
	writes counts // API-server writes by "resource[/subresource] VERB"
	own    counts // the benchmark's own writes, keyed the same
	lost   counts // objects that left Ready, by phase
	why    counts // … by "phase reason"
	cpu    time.Duration
	kills  int
}

func (b *bench) snapshot(ctx context.Context) (snapshot, error) {
	var s snapshot
	var err error
	// A snapshot must complete even when the run was interrupted, for the report.
	ctx = context.WithoutCancel(ctx)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if s.calls, err = b.admin.calls(ctx); err != nil {
		return s, fmt.Errorf("reading the emulator's call counters: %w", err)
	}
	if s.errs, err = b.log.snapshot(); err != nil {
		return s, fmt.Errorf("reading the emulator's log: %w", err)
	}
	if s.writes, err = apiWrites(ctx, b.kube.Discovery().RESTClient()); err != nil {
		return s, err
	}
	s.own = b.fleet.ownWrites()
	s.lost, s.why = b.fleet.readyLost()
	b.op.sample()
	s.cpu = b.op.cpu()
	s.kills = b.op.killCount()
	return s, nil
}

// phaseResult is what happened during one phase.
type phaseResult struct {
	name          string
	start, end    time.Time
	goal          time.Duration // time to the phase's goal (all Ready, all gone), when it has one
	before, after snapshot
	notes         []string
	failed        bool

	// progress, when set, counts the objects done towards the phase's goal of
	// total, for the milestones.
	progress func(tally) int
	total    int
	peak     int
	reached  map[int]time.Duration // percent done → time to it
}

// milestones are the shares of the goal whose times are reported, in percent.
var milestones = []int{50, 90, 99, 100}

// track records the milestones the tally has reached.
func (p *phaseResult) track(t tally) {
	if p.progress == nil || p.total == 0 {
		return
	}
	n := p.progress(t)
	p.peak = max(p.peak, n)
	if p.reached == nil {
		p.reached = map[int]time.Duration{}
	}
	for _, m := range milestones {
		if _, ok := p.reached[m]; !ok && n*100 >= m*p.total {
			p.reached[m] = time.Since(p.start)
		}
	}
}

// milestoneLine says when each milestone was reached: "50% 1m40s, 90% 3m0s, 99% not reached (peak 991)".
func (p *phaseResult) milestoneLine() string {
	var parts []string
	for _, m := range milestones {
		if d, ok := p.reached[m]; ok {
			parts = append(parts, fmt.Sprintf("%d%% at %.0fs", m, d.Seconds()))
		} else {
			parts = append(parts, fmt.Sprintf("%d%% not reached (peak %d of %d)", m, p.peak, p.total))
			break
		}
	}
	return strings.Join(parts, ", ")
}

func (p *phaseResult) notef(format string, args ...any) {
	p.notes = append(p.notes, fmt.Sprintf(format, args...))
}

func (p *phaseResult) calls() counts { return p.after.calls.sub(p.before.calls) }
func (p *phaseResult) throttled() counts {
	return throttles(p.after.errs).sub(throttles(p.before.errs))
}
func (p *phaseResult) otherErrs() counts {
	return otherErrors(p.after.errs).sub(otherErrors(p.before.errs))
}
func (p *phaseResult) own() counts { return p.after.own.sub(p.before.own) }
func (p *phaseResult) wall() time.Duration {
	return p.end.Sub(p.start)
}

// operatorWrites are the API-server writes in the phase less the benchmark's own.
func (p *phaseResult) operatorWrites() counts {
	return p.after.writes.sub(p.before.writes).sub(p.own())
}

func (p *phaseResult) readyLost() int { return p.after.lost[p.name] - p.before.lost[p.name] }

// phase runs fn between two snapshots and records the result, also when fn fails.
func (b *bench) phase(ctx context.Context, name string, fn func(context.Context, *phaseResult) error) error {
	before, err := b.snapshot(ctx)
	if err != nil {
		return err
	}
	b.fleet.setPhase(name)
	p := &phaseResult{name: name, start: time.Now(), before: before}
	b.printf("Phase %s", name)
	err = fn(ctx, p)
	p.end = time.Now()
	after, serr := b.snapshot(ctx)
	if serr != nil {
		// The phase's figures cannot be told; it is left out of the report.
		if err == nil {
			err = serr
		}
		return err
	}
	p.after, p.failed = after, err != nil
	b.phases = append(b.phases, p)
	b.fleet.setPhase("")
	return err
}

func (b *bench) findPhase(name string) *phaseResult {
	for _, p := range b.phases {
		if p.name == name {
			return p
		}
	}
	return nil
}

// report prints the results of the phases run so far.
func (b *bench) report() {
	if len(b.phases) == 0 {
		return
	}
	cfg := b.cfg
	w := b.out
	fmt.Fprintf(w, "\n=== Scale benchmark results ===\n")
	fmt.Fprintf(w, "parameters: %d M2MClients (one scope each) in %d namespaces, %d ResourceServers; drift period %s; steady state %s; restart window %s; quotas %s; chaos %s",
		cfg.objects, cfg.namespaces, cfg.servers, cfg.driftPeriod, cfg.steady, cfg.restartWindow, onOff(cfg.quotas), onOff(cfg.chaos))
	if cfg.chaos {
		fmt.Fprintf(w, " (kill -9 every %s-%s, %.0f%% 5xx, %.0f%% injected throttles)", cfg.killMin, cfg.killMax, 100*cfg.errorRate, 100*cfg.throttleRate)
	}
	if len(cfg.managerArgs) > 0 {
		fmt.Fprintf(w, "; manager flags %s", cfg.managerArgs.String())
	}
	fmt.Fprintln(w)
	if b.quotas != nil {
		fmt.Fprintf(w, "quotas: %g/s per operation per pool; categories %v\n", b.quotas.PerOperationPerPool, b.quotas.Categories)
	}
	objects := cfg.objects + cfg.servers

	fmt.Fprintf(w, "\nSummary\n")
	if p := b.findPhase("create"); p != nil {
		calls := p.calls()
		fmt.Fprintf(w, "  create:  %s; Cognito calls %d (%s); TooManyRequests answered %d\n",
			b.goalLine(p, "all %d Ready", cfg.objects), calls.total(), inline(calls), p.throttled().total())
		fmt.Fprintf(w, "           Ready: %s\n", p.milestoneLine())
	}
	if p := b.findPhase("steady"); p != nil {
		periods := p.wall().Seconds() / cfg.driftPeriod.Seconds()
		calls := p.calls()
		fmt.Fprintf(w, "  steady:  %.2f Cognito calls per object per drift period (%d calls, %d objects, %.1f periods of %s); %d throttled; %d API-server writes by the operator; %d objects left Ready\n",
			float64(calls.total())/float64(objects)/periods, calls.total(), objects, periods, cfg.driftPeriod,
			p.throttled().total(), p.operatorWrites().total(), p.readyLost())
		fmt.Fprintf(w, "           calls: %s\n", inline(calls))
	}
	if p := b.findPhase("restart"); p != nil {
		calls := p.calls()
		fmt.Fprintf(w, "  restart: %d Describe calls in the first %s after the restart (%s); %d throttled; %d API-server writes by the operator; %d objects left Ready\n",
			calls.withPrefix("Describe"), p.wall().Round(time.Second), inline(calls), p.throttled().total(), p.operatorWrites().total(), p.readyLost())
	}
	if p := b.findPhase("delete"); p != nil {
		calls := p.calls()
		fmt.Fprintf(w, "  delete:  %s; Cognito calls %d (%s); TooManyRequests answered %d\n",
			b.goalLine(p, "all %d gone", cfg.objects), calls.total(), inline(calls), p.throttled().total())
		fmt.Fprintf(w, "           gone: %s\n", p.milestoneLine())
	}
	last := b.phases[len(b.phases)-1].after
	fmt.Fprintf(w, "  manager: peak RSS %s (VmHWM, highest of %d processes); CPU %.1fs in all; %d kill -9\n",
		mib(b.op.peak()), b.op.starts, last.cpu.Seconds(), last.kills)
	for _, c := range b.checks {
		if len(c.violations) == 0 {
			fmt.Fprintf(w, "  invariants (%s): hold: %d M2MClients, %d app clients and %d resource servers in Cognito\n", c.name, c.objects, c.appClients, c.servers)
			continue
		}
		fmt.Fprintf(w, "  invariants (%s): %d VIOLATIONS (%d M2MClients, %d app clients, %d resource servers in Cognito)\n", c.name, len(c.violations), c.objects, c.appClients, c.servers)
		for i, v := range c.violations {
			if i == maxViolationsShown {
				fmt.Fprintf(w, "    … and %d more\n", len(c.violations)-i)
				break
			}
			fmt.Fprintf(w, "    - %s\n", v)
		}
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := func(first string) {
		fmt.Fprintf(tw, "%s\t", first)
		for _, p := range b.phases {
			fmt.Fprintf(tw, "%s\t", p.name)
		}
		fmt.Fprintln(tw)
	}

	fmt.Fprintf(w, "\nPhases\n")
	header("")
	row(tw, "wall time", b.phases, func(p *phaseResult) string { return p.wall().Round(100 * time.Millisecond).String() })
	row(tw, "time to goal", b.phases, func(p *phaseResult) string {
		if p.goal == 0 {
			return "-"
		}
		return p.goal.Round(100 * time.Millisecond).String()
	})
	row(tw, "manager CPU", b.phases, func(p *phaseResult) string {
		return fmt.Sprintf("%.1fs", (p.after.cpu - p.before.cpu).Seconds())
	})
	row(tw, "kill -9", b.phases, func(p *phaseResult) string { return fmt.Sprint(p.after.kills - p.before.kills) })
	row(tw, "left Ready", b.phases, func(p *phaseResult) string { return fmt.Sprint(p.readyLost()) })
	tw.Flush()

	fmt.Fprintf(w, "\nCognito calls by operation (TooManyRequests answered in parentheses%s)\n", map[bool]string{true: ", injected ones included"}[cfg.chaos])
	header("operation")
	var allCalls []counts
	for _, p := range b.phases {
		allCalls = append(allCalls, p.calls())
	}
	for _, op := range sortedKeys(allCalls...) {
		row(tw, op, b.phases, func(p *phaseResult) string { return callCell(p.calls()[op], p.throttled()[op]) })
	}
	row(tw, "total", b.phases, func(p *phaseResult) string { return callCell(p.calls().total(), p.throttled().total()) })
	tw.Flush()

	var allErrs []counts
	for _, p := range b.phases {
		allErrs = append(allErrs, p.otherErrs())
	}
	if keys := sortedKeys(allErrs...); len(keys) > 0 {
		fmt.Fprintf(w, "\nOther error answers by operation%s\n", map[bool]string{true: " (injected 5xx included)"}[cfg.chaos])
		header("operation error")
		for _, k := range keys {
			row(tw, k, b.phases, func(p *phaseResult) string { return fmt.Sprint(p.otherErrs()[k]) })
		}
		tw.Flush()
	}

	fmt.Fprintf(w, "\nAPI-server writes by the operator (apiserver_request_total less the benchmark's own writes)\n")
	header("request")
	var allWrites []counts
	for _, p := range b.phases {
		allWrites = append(allWrites, p.operatorWrites())
	}
	for _, k := range sortedKeys(allWrites...) {
		row(tw, k, b.phases, func(p *phaseResult) string { return fmt.Sprint(p.operatorWrites()[k]) })
	}
	row(tw, "total", b.phases, func(p *phaseResult) string { return fmt.Sprint(p.operatorWrites().total()) })
	tw.Flush()
	var own []string
	for _, p := range b.phases {
		if o := p.own(); len(o) > 0 {
			own = append(own, p.name+": "+inline(o))
		}
	}
	fmt.Fprintf(w, "  the benchmark's own writes, left out: %s\n", strings.Join(own, "; "))

	var reasons []string
	for _, p := range b.phases {
		for k, v := range p.after.why {
			if n := v - p.before.why[k]; n > 0 && strings.HasPrefix(k, p.name+" ") {
				reasons = append(reasons, fmt.Sprintf("%s: %d", k, n))
			}
		}
	}
	if len(reasons) > 0 {
		sort.Strings(reasons)
		fmt.Fprintf(w, "\nObjects that left Ready=True, by phase and reason: %s\n", strings.Join(reasons, ", "))
	}
	fmt.Fprintln(w)
}

// goalLine says how long the phase took to its goal and how that compares
// with the quota floor.
func (b *bench) goalLine(p *phaseResult, what string, n int) string {
	s := fmt.Sprintf(what, n)
	if p.goal == 0 {
		return s + " not reached"
	}
	s += fmt.Sprintf(" in %.1fs", p.goal.Seconds())
	if b.floor > 0 {
		s += fmt.Sprintf(" = %.2fx the quota floor (%s)", p.goal.Seconds()/b.floor.Seconds(), b.floor)
	}
	return s
}

func row(tw *tabwriter.Writer, label string, phases []*phaseResult, cell func(*phaseResult) string) {
	fmt.Fprintf(tw, "%s\t", label)
	for _, p := range phases {
		fmt.Fprintf(tw, "%s\t", cell(p))
	}
	fmt.Fprintln(tw)
}

func callCell(calls, throttled int) string {
	switch {
	case calls == 0 && throttled == 0:
		return "-"
	case throttled == 0:
		return fmt.Sprint(calls)
	}
	return fmt.Sprintf("%d (%d)", calls, throttled)
}

// inline prints counters as "a 1, b 2", largest first.
func inline(c counts) string {
	keys := sortedKeys(c)
	sort.SliceStable(keys, func(i, j int) bool { return c[keys[i]] > c[keys[j]] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
