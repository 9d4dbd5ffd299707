package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/cognito-m2m/operator/internal/demo"
)

// console prints a run's progress, each line stamped with the time since the
// run started; the single-cluster and the fleet runs share it.
type console struct {
	out   io.Writer
	start time.Time
}

func newConsole(out io.Writer) console { return console{out: out, start: time.Now()} }

// printf prints a line with the time since the start.
func (c console) printf(format string, args ...any) {
	fmt.Fprintf(c.out, "[%6s] %s\n", time.Since(c.start).Round(time.Second), fmt.Sprintf(format, args...))
}

// closeEnv stops an environment's processes and removes its run directory,
// keeping the logs when keep is set, and says where they are kept. name, when
// set, tells one environment of several apart. It reports whether clean-up
// failed.
func (c console) closeEnv(env *demo.Env, name string, keep bool) (failed bool) {
	of := ""
	if name != "" {
		of = " of " + name
	}
	if keep {
		env.MarkFailed()
	}
	if err := env.Close(); err != nil {
		c.printf("Clean-up%s incomplete: %v", of, err)
		failed = true
	}
	if env.Failed() {
		c.printf("Logs%s kept in %s", of, env.LogDir)
	}
	return failed
}

// sleep waits for d, or until ctx ends and returns its cause.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// exitCode reports how a run that returned err ended, and is its exit code:
// 130 when the caller interrupted it (parent ended), 1 when it failed (with
// the run's own time-out named), 0 otherwise.
func (c console) exitCode(parent, ctx context.Context, err error) int {
	switch {
	case err == nil:
		return 0
	case parent.Err() != nil:
		c.printf("Interrupted.")
		return 130
	case ctx.Err() != nil:
		err = fmt.Errorf("%w: %w", err, context.Cause(ctx))
	}
	c.printf("FAILED: %v", err)
	return 1
}
