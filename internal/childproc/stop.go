package childproc

import (
	"context"
	"os/exec"
	"time"
)

// Command returns a command for name and args that stops with ctx: when ctx
// ends, exec.Cmd's Cancel asks the child to end (SIGTERM, to its whole process
// group when it leads one, as Start makes it) and, if it has not exited
// grace later (exec.Cmd's WaitDelay), kills it (SIGKILL, the child alone).
// Start it with Start or Fork, which give it what the standard library does
// not: it never outlives the program, whichever thread forked it.
func Command(ctx context.Context, grace time.Duration, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error { return terminate(cmd) }
	cmd.WaitDelay = grace
	return cmd
}
