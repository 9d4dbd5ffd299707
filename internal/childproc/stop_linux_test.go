package childproc

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startReady starts script under sh through Command and Start, and waits for
// the line it prints once its signal handling is in place.
func startReady(t *testing.T, grace time.Duration, script string) (*exec.Cmd, context.CancelFunc, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := Command(ctx, grace, "sh", "-c", script)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := Start(cmd); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cancel()
		_ = cmd.Wait()
		t.Fatalf("reading the child's first line: %v", err)
	}
	return cmd, cancel, line[:len(line)-1]
}

// signalled is the signal that ended cmd, once Wait has returned.
func signalled(cmd *exec.Cmd) syscall.Signal {
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0
	}
	return ws.Signal()
}

// A child that ignores SIGTERM is killed once WaitDelay has passed, and not
// before: the grace is what it gets to shut down.
func TestCommandKillsAChildThatIgnoresSIGTERMAfterWaitDelay(t *testing.T) {
	const grace = 500 * time.Millisecond
	cmd, cancel, _ := startReady(t, grace, `trap "" TERM; echo ready; exec sleep 60`)
	start := time.Now()
	cancel()
	waited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(grace + 10*time.Second):
		_ = cmd.Process.Kill()
		<-waited
		t.Fatalf("the child still ran %v after the context ended, with a grace of %v", time.Since(start), grace)
	}
	took := time.Since(start)
	if got := signalled(cmd); got != syscall.SIGKILL {
		t.Errorf("the child ended by %v (%v), want SIGKILL", got, cmd.ProcessState)
	}
	if took < grace {
		t.Errorf("the child was killed %v after the context ended, before its grace of %v", took, grace)
	}
	if took > grace+5*time.Second {
		t.Errorf("the child was killed %v after the context ended, long after its grace of %v", took, grace)
	}
}

// A child that ends on SIGTERM ends by it, well within its grace.
func TestCommandAsksAChildToEndWithSIGTERM(t *testing.T) {
	const grace = time.Minute
	cmd, cancel, _ := startReady(t, grace, `echo ready; exec sleep 60`)
	start := time.Now()
	cancel()
	_ = cmd.Wait()
	if got := signalled(cmd); got != syscall.SIGTERM {
		t.Errorf("the child ended by %v (%v), want SIGTERM", got, cmd.ProcessState)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the child took %v to end on SIGTERM", took)
	}
}

// SIGTERM reaches the child's whole process group: a shell's own child ends
// with it rather than living on without a parent.
func TestCommandAsksTheChildsGroupToEnd(t *testing.T) {
	cmd, cancel, line := startReady(t, time.Minute, `sleep 60 & echo $!; wait`)
	pid, err := strconv.Atoi(line)
	if err != nil {
		cancel()
		_ = cmd.Wait()
		t.Fatalf("the shell printed %q, not its child's pid", line)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	cancel()
	_ = cmd.Wait()
	if err := waitGone(pid, 5*time.Second); err != nil {
		t.Error(err)
	}
}

// waitGone waits until no process pid exists (an unreaped zombie counts as
// gone: it has ended).
func waitGone(pid int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		if syscall.Kill(pid, 0) != nil || isZombie(pid) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the grandchild %d still runs %v after its group was asked to end", pid, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// isZombie reports whether pid has ended but is not yet reaped by its parent.
func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}
