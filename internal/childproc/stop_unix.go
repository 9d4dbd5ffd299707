//go:build unix

package childproc

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// terminate sends SIGTERM to the process group cmd leads, or to cmd alone
// when it leads none: a child's own children (a shell's, say) are asked too,
// as a terminal's Ctrl-C would ask them.
func terminate(cmd *exec.Cmd) error {
	attr := cmd.SysProcAttr
	if attr == nil || !attr.Setpgid || attr.Pgid != 0 {
		return cmd.Process.Signal(syscall.SIGTERM)
	}
	// The process id names the group only while the process is not yet
	// reaped; signal 0 through the process handle checks that first.
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		return err
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
	return nil
}
