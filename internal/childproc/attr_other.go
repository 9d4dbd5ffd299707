//go:build !unix

package childproc

import "syscall"

func procAttr() *syscall.SysProcAttr { return nil }
