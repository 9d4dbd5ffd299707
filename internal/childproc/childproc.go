// Package childproc starts the helper processes of the demo, the scale
// benchmark and the local node (etcd, kube-apiserver, the kubelet, ...) so that
// they stop with the Go program that started them and never with less.
//
// On Linux a child is asked to end with SIGTERM when its parent dies
// (PR_SET_PDEATHSIG). The kernel ties that signal to the thread that forked
// the child, not to the process: when that thread exits, the child is
// signalled although its parent lives on. The Go runtime ends a thread when a
// goroutine locked to it returns without unlocking, which is the right way to
// drop a thread moved into another network namespace; any such goroutine
// would then stop whatever child happened to be forked on that thread. So
// every child is forked on one thread that is locked for the life of the
// program and never exits (golang.org/issue/27505).
//
// Stopping a child is the standard library's: Command sets exec.Cmd's Cancel
// (SIGTERM to the child's process group) and WaitDelay (SIGKILL after a grace),
// and the caller ends the command's context.
package childproc

import (
	"os/exec"
	"runtime"
	"sync"
)

// Start starts cmd in a process group of its own, so that a terminal's
// Ctrl-C reaches the program alone, which then stops its children in order.
// On Linux the child also gets SIGTERM if the program dies without stopping
// it. Start replaces cmd.SysProcAttr.
func Start(cmd *exec.Cmd) error {
	cmd.SysProcAttr = procAttr()
	return Fork(cmd)
}

// Fork starts cmd with its own SysProcAttr, on the thread every child is
// forked on: for a child that needs attributes of its own (namespaces, another
// parent-death signal) and must still outlive any thread but that one.
func Fork(cmd *exec.Cmd) error {
	startOnce.Do(func() {
		starts = make(chan startRequest)
		go forker()
	})
	done := make(chan error, 1)
	starts <- startRequest{cmd, done}
	return <-done
}

type startRequest struct {
	cmd  *exec.Cmd
	done chan<- error
}

var (
	startOnce sync.Once
	starts    chan startRequest
)

// forker starts every child, on a thread of its own that it never unlocks
// and so never gives back to the runtime: that thread lives as long as the
// program, and so does the parent-death tie of each child forked on it.
func forker() {
	runtime.LockOSThread()
	for r := range starts {
		r.done <- r.cmd.Start()
	}
}
