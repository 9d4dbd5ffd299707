//go:build linux

package childproc

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// A process started into a cgroup leaves a grandchild that detaches from it
// and outlives it, as containerd's shims do. The cgroup still finds the
// grandchild, and Remove kills it and leaves nothing behind.
func TestCgroupFindsWhatADetachedProcessLeft(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("cgroups are made by root only; CI runs this as root")
	}
	c := Cgroup(fmt.Sprintf("cognito-m2m-childproc-test-%d", os.Getpid()))
	t.Cleanup(func() { _ = c.Remove() })
	if err := c.Create(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", "setsid sleep 300 >/dev/null 2>&1 </dev/null & echo $!")
	started, err := c.IntoCgroup(cmd)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.Output()
	started()
	if err != nil {
		t.Fatal(err)
	}
	sleep, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("the shell printed %q", out)
	}
	// The shell has exited; its child lives on, reparented.
	if err := syscall.Kill(sleep, 0); err != nil {
		t.Fatalf("the detached process %d is not running: %v", sleep, err)
	}
	if got := c.Processes(); len(got) != 1 || got[0] != sleep {
		t.Fatalf("processes in the cgroup = %v, want [%d]", got, sleep)
	}
	if err := c.Remove(); err != nil {
		t.Fatal(err)
	}
	if left := c.Leftovers(); len(left) > 0 {
		t.Errorf("left after Remove: %s", strings.Join(left, "; "))
	}
}
