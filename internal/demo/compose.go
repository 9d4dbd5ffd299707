package demo

import (
	"context"
	"errors"
	"fmt"
	"os"

	"k8s.io/client-go/rest"
)

// The parts of Up, for programs that compose their own run from them, such as
// the scale benchmark (test/scale), which needs the emulator with quotas and an
// operator it can kill and restart. They print no steps.

// Build builds Options.Packages into the run directory.
func (e *Env) Build(ctx context.Context) error { return e.build(ctx, &Step{}) }

// StartControlPlane starts etcd and kube-apiserver and installs the CRDs.
func (e *Env) StartControlPlane(ctx context.Context) error {
	return e.startControlPlane(ctx, &Step{})
}

// StartEmulator starts the Cognito emulator with a user pool, and Options.EmulatorArgs.
func (e *Env) StartEmulator(ctx context.Context) error { return e.startEmulator(ctx, &Step{}) }

// StartOperator starts the operator with Options.OperatorArgs, waits for its
// /readyz, and returns its process. Each call starts a new process, on new
// ports, logging to the same operator.log; Close stops those still running.
func (e *Env) StartOperator(ctx context.Context) (*Process, error) {
	err := e.startOperator(ctx, &Step{})
	if e.operator == nil {
		return nil, err
	}
	return &Process{p: e.operator}, err
}

// RESTConfig is an administrator's configuration for the local API server,
// once StartControlPlane has run.
func (e *Env) RESTConfig() *rest.Config {
	if e.cp == nil {
		return nil
	}
	return rest.CopyConfig(e.cp.Config)
}

// Process is a child process started by an Env.
type Process struct{ p *process }

// Pid is the process id, for reading /proc/<pid>.
func (p *Process) Pid() int { return p.p.cmd.Process.Pid }

// Log is the path of its log file.
func (p *Process) Log() string { return p.p.log }

// Exited returns an error, with the end of the log, once the process has stopped.
func (p *Process) Exited() error { return p.p.exited() }

// Stop asks the process to shut down (SIGTERM), kills it if it has not
// exited after its grace, and waits for it to exit.
func (p *Process) Stop() { p.p.stop() }

// Kill sends SIGKILL, as a crash or the OOM killer would, and waits for the exit.
func (p *Process) Kill() error {
	if err := p.p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s: %w", p.p.name, err)
	}
	<-p.p.done
	return nil
}
