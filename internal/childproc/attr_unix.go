//go:build unix && !linux

package childproc

import (
	"os"
	"syscall"
)

func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

var sigterm os.Signal = syscall.SIGTERM
