//go:build !unix

package demo

import (
	"os"
	"syscall"
)

func procAttr() *syscall.SysProcAttr { return nil }

// terminate kills the process: there is no SIGTERM to send.
func terminate(p *os.Process) error { return p.Kill() }
