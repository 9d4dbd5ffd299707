//go:build unix

package demo

import (
	"os"
	"syscall"
)

// procAttr puts a child in its own process group, so that the Ctrl-C a terminal
// sends to the demo's group reaches the demo alone, which then stops its children
// in order (the services, the operator, then the API server). On Linux the child
// is also killed if the demo dies without cleaning up.
func procAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(a)
	return a
}

// terminate asks a process to shut down gracefully.
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
