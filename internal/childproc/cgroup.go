//go:build linux

package childproc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"
)

// Cgroup is a cgroup of this name in every mounted hierarchy, for a program
// that starts many processes and must find every one of them afterwards
// (the local node, the image builder). A process started into it
// (IntoCgroup) stays in it with all its descendants, however they detach
// from their parents, so finding what is left of a run, or a killed run, is
// reading cgroup.procs.
type Cgroup string

// hierarchies are the mounted cgroup hierarchies, each v1 controller and
// the v2 one, and the v2 one alone (/sys/fs/cgroup/unified on a hybrid
// host, or /sys/fs/cgroup). They are read from the mount table once: a
// sweep walks them many times, and they do not change under a program.
var hierarchies = sync.OnceValues(func() ([]string, string) {
	infos, _ := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	var hs []string
	var v2 string
	for _, i := range infos {
		hs = append(hs, i.Mountpoint)
		if i.FSType == "cgroup2" {
			v2 = i.Mountpoint
		}
	}
	return hs, v2
})

// Create makes the cgroup in every hierarchy.
func (c Cgroup) Create() error {
	hs, _ := hierarchies()
	for _, h := range hs {
		d := filepath.Join(h, string(c))
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		// A new v1 cpuset has no CPUs or memory nodes until given some.
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if b, err := os.ReadFile(filepath.Join(h, f)); err == nil {
				if err := os.WriteFile(filepath.Join(d, f), b, 0o644); err != nil {
					return fmt.Errorf("%s: %w", filepath.Join(d, f), err)
				}
			}
		}
	}
	return nil
}

// IntoCgroup has cmd start in the cgroup, which Create made: the child is
// created in its cgroup2 directory (clone3's CLONE_INTO_CGROUP, which only
// cgroup2 has), so not even its first instruction runs outside. Call the
// returned function once cmd has started.
func (c Cgroup) IntoCgroup(cmd *exec.Cmd) (func(), error) {
	_, v2 := hierarchies()
	if v2 == "" {
		return nil, errors.New("no cgroup2 hierarchy is mounted (a unified or hybrid cgroup host is needed)")
	}
	fd, err := syscall.Open(filepath.Join(v2, string(c)), syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	return func() { syscall.Close(fd) }, nil
}

// dirs are the cgroup and its children in every hierarchy, children first.
func (c Cgroup) dirs() []string {
	var dirs []string
	hs, _ := hierarchies()
	for _, h := range hs {
		_ = filepath.WalkDir(filepath.Join(h, string(c)), func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
	}
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	return dirs
}

// Processes are the processes in the cgroup or below it.
func (c Cgroup) Processes() []int {
	var pids []int
	for _, d := range c.dirs() {
		b, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && !slices.Contains(pids, pid) {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// Remove kills the cgroup's processes until none is left, then removes it.
func (c Cgroup) Remove() error {
	var last error
	for i := 0; i < 40; i++ {
		for _, pid := range c.Processes() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		last = nil
		for _, d := range c.dirs() {
			if err := syscall.Rmdir(d); err != nil && !errors.Is(err, os.ErrNotExist) {
				last = fmt.Errorf("rmdir %s: %w", d, err)
			}
		}
		if last == nil {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return last
}

// Leftovers lists the cgroup's processes and directories still on the host.
func (c Cgroup) Leftovers() []string {
	var left []string
	for _, pid := range c.Processes() {
		args, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		left = append(left, fmt.Sprintf("process %d (%s)", pid, strings.ReplaceAll(string(args), "\x00", " ")))
	}
	for _, d := range c.dirs() {
		left = append(left, "cgroup "+d)
	}
	return left
}
