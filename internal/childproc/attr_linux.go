//go:build linux

package childproc

import (
	"os"
	"syscall"
)

func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

var sigterm os.Signal = syscall.SIGTERM
