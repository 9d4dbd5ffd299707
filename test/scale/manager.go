package main

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/cognito-m2m/operator/internal/demo"
)

// operator runs the manager process across kills and restarts, and keeps its
// CPU time and peak memory over all the processes.
type operator struct {
	env *demo.Env

	mu      sync.Mutex
	proc    *demo.Process
	doneCPU time.Duration // of the processes that have exited
	lastCPU time.Duration // of the running one, at the last sample
	peakRSS int64
	starts  int
	kills   int
}

// start starts a new manager process and waits for its /readyz.
func (o *operator) start(ctx context.Context) error {
	p, err := o.env.StartOperator(ctx)
	o.mu.Lock()
	defer o.mu.Unlock()
	if p != nil {
		o.proc, o.lastCPU = p, 0
		o.starts++
	}
	return err
}

// kill sends SIGKILL to the running manager, as a crash would.
func (o *operator) kill() error {
	o.sample()
	o.mu.Lock()
	p := o.proc
	o.mu.Unlock()
	if p == nil {
		return nil
	}
	err := p.Kill()
	o.retire(p)
	o.mu.Lock()
	o.kills++
	o.mu.Unlock()
	return err
}

// stop shuts the running manager down gracefully, as a rolling update does.
func (o *operator) stop() {
	o.sample()
	o.mu.Lock()
	p := o.proc
	o.mu.Unlock()
	if p != nil {
		p.Stop()
		o.retire(p)
	}
}

// retire moves an exited process's CPU time to the total.
func (o *operator) retire(p *demo.Process) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.proc == p {
		o.doneCPU += o.lastCPU
		o.proc, o.lastCPU = nil, 0
	}
}

// sample reads /proc for the running manager. Between two samples of a
// process that is then killed, its CPU time is lost: sampling every second
// bounds that.
func (o *operator) sample() {
	o.mu.Lock()
	p := o.proc
	o.mu.Unlock()
	if p == nil || p.Exited() != nil {
		return
	}
	s, err := readProc(p.Pid())
	if err != nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.proc == p {
		o.lastCPU = s.cpu
		o.peakRSS = max(o.peakRSS, s.peakRSS)
	}
}

// sampleEvery samples until ctx ends.
func (o *operator) sampleEvery(ctx context.Context, d time.Duration) {
	wait.UntilWithContext(ctx, func(context.Context) { o.sample() }, d)
}

// cpu is the CPU time of all the manager processes so far.
func (o *operator) cpu() time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.doneCPU + o.lastCPU
}

func (o *operator) killCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.kills
}

func (o *operator) peak() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.peakRSS
}

// exited returns an error when the running manager stopped by itself.
func (o *operator) exited() error {
	o.mu.Lock()
	p := o.proc
	o.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.Exited()
}
