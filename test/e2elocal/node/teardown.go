//go:build linux

package node

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Down stops the node in order (the kubelet and the other clients of the API
// server, the pods' containers, containerd, the API server, etcd), then
// Sweep removes every trace of it from the host.
func (n *Node) Down() error {
	byName := map[string]*proc{}
	for _, p := range n.procs {
		byName[p.name] = p
	}
	stop := func(names ...string) {
		for _, name := range names {
			if p := byName[name]; p != nil {
				p.stop()
			}
		}
	}
	stop("coredns", "kube-proxy", "kube-scheduler", "kube-controller-manager", "kubelet")
	if p := byName["containerd"]; p != nil && p.exited() == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		n.killTasks(ctx)
		cancel()
	}
	stop("containerd", "kube-apiserver", "etcd")
	return Sweep(n.opts.Logf)
}

// killTasks kills every container of the kubelet's namespace through
// containerd, so that the shims exit and release their mounts.
func (n *Node) killTasks(ctx context.Context) {
	out, err := n.Ctr(ctx, "tasks", "ls", "-q")
	if err != nil {
		return
	}
	for _, id := range strings.Fields(string(out)) {
		_, _ = n.Ctr(ctx, "tasks", "kill", "-a", "-s", "SIGKILL", id)
	}
	for _, id := range strings.Fields(string(out)) {
		_, _ = n.Ctr(ctx, "tasks", "delete", "-f", id)
	}
}

// Sweep removes what a node leaves on the host, whether it stopped cleanly or
// was killed: its processes (found by the state directories on their command
// lines and by the node's cgroups), mounts and network namespaces under its
// directories, cgroups, the bridge and what is attached to it, every iptables
// rule and chain of the node, kube-proxy, the kubelet and CNI, and the sysctls
// it changed. It is safe to call when nothing is left.
func Sweep(logf func(string, ...any)) error {
	var errs []error
	for i := 0; i < 20; i++ {
		if killed := killProcesses(); killed == 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err := unmountAll(); err != nil {
		errs = append(errs, err)
	}
	if err := removeCgroups(); err != nil {
		errs = append(errs, err)
	}
	if err := removeBridge(); err != nil {
		errs = append(errs, err)
	}
	for _, bin := range []string{"iptables", "ip6tables"} {
		if err := removeChains(bin); err != nil {
			errs = append(errs, err)
		}
	}
	if err := restoreSysctls(); err != nil {
		errs = append(errs, err)
	}
	if b, err := os.ReadFile(createdDirs()); err == nil {
		for _, d := range strings.Fields(string(b)) {
			if slices.Contains(hostDirs, d) {
				if err := os.RemoveAll(d); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	for _, d := range []string{runDir, stateDir} {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	if left := Leftovers(); len(left) > 0 {
		errs = append(errs, fmt.Errorf("left on the host: %s", strings.Join(left, "; ")))
	}
	return errors.Join(errs...)
}

// hostDirs are directories outside its own that the node may create.
var hostDirs = []string{"/run/containerd", "/run/mount", "/var/lib/cni", "/var/lib/kubelet"}

func createdDirs() string { return filepath.Join(stateDir, "created-dirs") }

// Leftovers lists what of a node is still on the host: nothing after Sweep.
func Leftovers() []string {
	var left []string
	for _, pid := range nodeProcesses() {
		left = append(left, fmt.Sprintf("process %d (%s)", pid, Cmdline(pid)))
	}
	for _, m := range nodeMounts() {
		left = append(left, "mount "+m)
	}
	for _, d := range cgroupDirs() {
		left = append(left, "cgroup "+d)
	}
	if _, err := os.Stat("/sys/class/net/" + Bridge); err == nil {
		left = append(left, "bridge "+Bridge)
	}
	for _, bin := range []string{"iptables", "ip6tables"} {
		for table, rules := range nodeRules(bin) {
			for _, r := range rules {
				left = append(left, fmt.Sprintf("%s -t %s %s", bin, table, r))
			}
		}
	}
	for _, d := range []string{stateDir, runDir} {
		if _, err := os.Stat(d); err == nil {
			left = append(left, "directory "+d)
		}
	}
	return left
}

// nodeProcesses are the processes started by a node: every one has a path
// under the node's directories on its command line (a configuration, a data
// directory, a socket), and the pods' processes live in the node's cgroups.
func nodeProcesses() []int {
	seen := map[int]bool{}
	self := os.Getpid()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		c := Cmdline(pid)
		if strings.Contains(c, stateDir) || strings.Contains(c, runDir) {
			seen[pid] = true
		}
	}
	for _, d := range cgroupDirs() {
		b, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && pid != self {
				seen[pid] = true
			}
		}
	}
	pids := make([]int, 0, len(seen))
	for p := range seen {
		pids = append(pids, p)
	}
	sort.Ints(pids)
	return pids
}

// Cmdline is a process's command line, its arguments joined by spaces.
func Cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

func killProcesses() int {
	pids := nodeProcesses()
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return len(pids)
}

// nodeMounts are the mount points under the node's directories (container
// root filesystems, Secret and projected volumes, network namespaces), the
// deepest first.
func nodeMounts() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := strings.ReplaceAll(fields[4], `\040`, " ")
		for _, d := range []string{stateDir, runDir, "/run/containerd"} {
			if mp == d || strings.HasPrefix(mp, d+"/") {
				mounts = append(mounts, mp)
			}
		}
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	return mounts
}

func unmountAll() error {
	for i := 0; i < 10; i++ {
		mounts := nodeMounts()
		if len(mounts) == 0 {
			return nil
		}
		for _, m := range mounts {
			if err := syscall.Unmount(m, 0); err != nil {
				_ = syscall.Unmount(m, syscall.MNT_DETACH)
			}
		}
	}
	if m := nodeMounts(); len(m) > 0 {
		return fmt.Errorf("cannot unmount %s", strings.Join(m, ", "))
	}
	return nil
}

// CgroupHierarchies are the mounted cgroup hierarchies: each v1 controller
// and the v2 one (/sys/fs/cgroup/unified on a hybrid host, or
// /sys/fs/cgroup itself).
func CgroupHierarchies() []string {
	var hs []string
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, " - ")
		if i < 0 {
			continue
		}
		fs := strings.Fields(line[i+3:])
		if len(fs) > 0 && (fs[0] == "cgroup" || fs[0] == "cgroup2") {
			hs = append(hs, strings.Fields(line)[4])
		}
	}
	return hs
}

// cgroupDirs are the node's cgroups, children before parents.
func cgroupDirs() []string {
	var dirs []string
	for _, h := range CgroupHierarchies() {
		root := filepath.Join(h, cgroupDir)
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
	}
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	return dirs
}

// makeCgroups creates the cgroup the kubelet puts pods under (cgroupRoot).
func makeCgroups() error {
	for _, h := range CgroupHierarchies() {
		d := filepath.Join(h, cgroupDir)
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

func removeCgroups() error {
	var last error
	for i := 0; i < 20; i++ {
		last = nil
		for _, d := range cgroupDirs() {
			if err := syscall.Rmdir(d); err != nil && !errors.Is(err, os.ErrNotExist) {
				last = fmt.Errorf("rmdir %s: %w", d, err)
			}
		}
		if last == nil {
			return nil
		}
		killProcesses()
		time.Sleep(250 * time.Millisecond)
	}
	return last
}

func removeBridge() error {
	if _, err := os.Stat("/sys/class/net/" + Bridge); err != nil {
		return nil
	}
	// Host ends of pods' veth pairs that outlived their namespace.
	ports, _ := os.ReadDir("/sys/class/net/" + Bridge + "/brif")
	for _, p := range ports {
		_ = exec.Command("ip", "link", "del", p.Name()).Run()
	}
	if out, err := exec.Command("ip", "link", "del", Bridge).CombinedOutput(); err != nil {
		return fmt.Errorf("ip link del %s: %w: %s", Bridge, err, out)
	}
	return nil
}

// ours says whether an iptables chain belongs to the node: its own, or
// kube-proxy's and the kubelet's (KUBE-), or the CNI plugins' (CNI-). No
// other program on this kind of machine makes such chains.
func ours(chainName string) bool {
	for _, p := range []string{chain + "-", "KUBE-", "CNI-"} {
		if strings.HasPrefix(chainName, p) {
			return true
		}
	}
	return false
}

var tables = []string{"filter", "nat", "mangle", "raw"}

// nodeRules lists, per table, the node's chains and the rules of other chains
// that jump to them.
func nodeRules(bin string) map[string][]string {
	out := map[string][]string{}
	if _, err := exec.LookPath(bin); err != nil {
		return out
	}
	for _, t := range tables {
		b, err := exec.Command(bin, "-w", "-t", t, "-S").Output()
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			switch {
			case f[0] == "-N" && ours(f[1]):
				out[t] = append(out[t], line)
			case f[0] == "-A" && !ours(f[1]) && jumpsToOurs(f):
				out[t] = append(out[t], line)
			}
		}
	}
	return out
}

func jumpsToOurs(f []string) bool {
	for i := 0; i+1 < len(f); i++ {
		if (f[i] == "-j" || f[i] == "-g") && ours(f[i+1]) {
			return true
		}
	}
	return false
}

// removeChains deletes, in every table, the rules of other chains that jump
// to the node's chains (by number, from the last), then flushes and deletes
// the node's chains.
func removeChains(bin string) error {
	if _, err := exec.LookPath(bin); err != nil {
		return nil
	}
	var errs []error
	for _, t := range tables {
		b, err := exec.Command(bin, "-w", "-t", t, "-S").Output()
		if err != nil {
			continue
		}
		type ruleRef struct {
			chain string
			num   int
		}
		var jumps []ruleRef
		var chains []string
		num := map[string]int{}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			switch f[0] {
			case "-N":
				if ours(f[1]) {
					chains = append(chains, f[1])
				}
			case "-A":
				num[f[1]]++
				if !ours(f[1]) && jumpsToOurs(f) {
					jumps = append(jumps, ruleRef{f[1], num[f[1]]})
				}
			}
		}
		for i := len(jumps) - 1; i >= 0; i-- {
			if out, err := exec.Command(bin, "-w", "-t", t, "-D", jumps[i].chain, strconv.Itoa(jumps[i].num)).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("%s -t %s -D %s %d: %w: %s", bin, t, jumps[i].chain, jumps[i].num, err, out))
			}
		}
		for _, c := range chains {
			_ = exec.Command(bin, "-w", "-t", t, "-F", c).Run()
		}
		for _, c := range chains {
			if out, err := exec.Command(bin, "-w", "-t", t, "-X", c).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("%s -t %s -X %s: %w: %s", bin, t, c, err, out))
			}
		}
	}
	return errors.Join(errs...)
}

// sysctls the node, the kubelet and kube-proxy may change; their values are
// saved before the node starts and restored by Sweep.
var sysctls = []string{
	"net.ipv4.ip_forward",
	"net.bridge.bridge-nf-call-iptables",
	"net.ipv4.conf.all.route_localnet",
	"vm.overcommit_memory",
	"vm.panic_on_oom",
	"kernel.panic",
	"kernel.panic_on_oops",
	"kernel.keys.root_maxkeys",
	"kernel.keys.root_maxbytes",
	"net.netfilter.nf_conntrack_max",
	"net.netfilter.nf_conntrack_tcp_timeout_established",
	"net.netfilter.nf_conntrack_tcp_timeout_close_wait",
}

func sysctlPath(key string) string {
	return "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
}

func writeSysctl(key, value string) error {
	return os.WriteFile(sysctlPath(key), []byte(value), 0o644)
}

func savedSysctls() string { return filepath.Join(stateDir, "sysctl.json") }

func saveSysctls() error {
	saved := map[string]string{}
	for _, k := range sysctls {
		if b, err := os.ReadFile(sysctlPath(k)); err == nil {
			saved[k] = strings.TrimSpace(string(b))
		}
	}
	b, err := json.Marshal(saved)
	if err != nil {
		return err
	}
	return os.WriteFile(savedSysctls(), b, 0o600)
}

func restoreSysctls() error {
	b, err := os.ReadFile(savedSysctls())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var saved map[string]string
	if err := json.Unmarshal(b, &saved); err != nil {
		return err
	}
	var errs []error
	for k, v := range saved {
		cur, err := os.ReadFile(sysctlPath(k))
		if err == nil && strings.TrimSpace(string(cur)) == v {
			continue
		}
		if err := writeSysctl(k, v); err != nil {
			errs = append(errs, fmt.Errorf("restore %s=%s: %w", k, v, err))
		}
	}
	return errors.Join(errs...)
}
