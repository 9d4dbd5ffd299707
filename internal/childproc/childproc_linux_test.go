//go:build linux

package childproc

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// A goroutine that locks its thread and returns makes the Go runtime end
// that thread. A child forked on it must live on: the local node's network
// test does exactly this (it enters a pod's network namespace), and before
// this package existed it stopped the node's etcd.
func TestChildOutlivesTheThreadThatStartedIt(t *testing.T) {
	cmd, err := startOnEndingThread()
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	select {
	case <-exited:
		t.Fatalf("the child stopped when the thread that asked for it ended: %v", waitErr)
	case <-time.After(2 * time.Second):
	}
}

// startOnEndingThread starts `sleep 60` from a goroutine locked to a thread
// that ends when the goroutine returns. The runtime keeps the main thread
// instead of ending it, so a goroutine that finds itself there tries again.
func startOnEndingThread() (*exec.Cmd, error) {
	type result struct {
		cmd  *exec.Cmd
		err  error
		main bool
	}
	for range 100 {
		res := make(chan result, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			if syscall.Gettid() == os.Getpid() {
				res <- result{main: true}
				return
			}
			cmd := exec.Command("sleep", "60")
			res <- result{cmd: cmd, err: Start(cmd)}
		}()
		if r := <-res; !r.main {
			return r.cmd, r.err
		}
	}
	return nil, fmt.Errorf("no goroutine ran off the main thread")
}

// The child still stops when its parent dies: a parent process (this test
// binary, run again) starts a child and is killed with SIGKILL, which gives
// it no chance to clean up.
func TestChildStopsWhenItsParentDies(t *testing.T) {
	if os.Getenv("CHILDPROC_PARENT") == "1" {
		return // runs as the parent, in TestMain
	}
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), "CHILDPROC_PARENT=1")
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Fscan(out, &pid); err != nil {
		_ = parent.Process.Kill()
		t.Fatalf("reading the child's pid from the parent: %v", err)
	}
	child, _ := os.FindProcess(pid)
	t.Cleanup(func() { _ = child.Kill() })
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the child %d is not running: %v", pid, err)
	}
	_ = parent.Process.Kill()
	_ = parent.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the child %d still runs 5s after its parent was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMain(m *testing.M) {
	if os.Getenv("CHILDPROC_PARENT") == "1" {
		// The parent of TestChildStopsWhenItsParentDies: start a child on a
		// thread that then ends, to show both properties at once, print its
		// pid and wait to be killed.
		cmd, err := startOnEndingThread()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println(strconv.Itoa(cmd.Process.Pid))
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}
