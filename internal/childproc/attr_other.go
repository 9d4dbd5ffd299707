//go:build !unix

package childproc

import (
	"os"
	"syscall"
)

func procAttr() *syscall.SysProcAttr { return nil }

var sigterm os.Signal
