//go:build !unix

package childproc

import "os/exec"

// terminate kills cmd: there is no signal asking it to end.
func terminate(cmd *exec.Cmd) error { return cmd.Process.Kill() }
