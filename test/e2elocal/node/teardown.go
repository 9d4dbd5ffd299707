//go:build linux

package node

import (
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

	"github.com/moby/sys/mountinfo"
	"github.com/prometheus/procfs"
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
	traces.Kill()
	errs := []error{traces.Unmount(), traces.RemoveCgroups()}
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

// traces are the node's: every process it starts has a path under its
// directories on its command line (a configuration, a data directory, a
// socket), and the pods' processes live in its cgroups.
var traces = Traces{Dirs: []string{stateDir, runDir}, MountDirs: []string{"/run/containerd"}, Cgroup: cgroupDir}

// Leftovers lists what of a node is still on the host: nothing after Sweep.
func Leftovers() []string {
	left := traces.Leftovers()
	if _, err := os.Stat("/sys/class/net/" + Bridge); err == nil {
		left = append(left, "bridge "+Bridge)
	}
	for _, bin := range []string{"iptables", "ip6tables"} {
		chains, jumps := nodeRules(bin)
		for _, r := range append(chains, jumps...) {
			left = append(left, fmt.Sprintf("%s -t %s %s", bin, r.table, r.spec))
		}
	}
	for _, d := range []string{stateDir, runDir} {
		if _, err := os.Stat(d); err == nil {
			left = append(left, "directory "+d)
		}
	}
	return left
}

// Traces are what a set of programs may leave on the host, found the same
// way for the node and the image builder: processes whose command line
// names one of Dirs, that live in the cgroups named Cgroup, or that Owns
// claims; mounts under Dirs and MountDirs; and those cgroups.
type Traces struct {
	Dirs, MountDirs []string
	Cgroup          string
	Owns            func(pid int) bool
}

// Processes are the programs' processes, never this one or its ancestors
// (whose command lines may name a directory, as hack/release --state does).
func (tr Traces) Processes() []int {
	callers := map[int]bool{}
	for pid := os.Getpid(); pid > 1 && !callers[pid]; {
		callers[pid] = true
		p, err := procfs.NewProc(pid)
		if err != nil {
			break
		}
		st, err := p.Stat()
		if err != nil {
			break
		}
		pid = st.PPID
	}
	inCgroups := map[int]bool{}
	for _, d := range tr.Cgroups() {
		b, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(f)
			inCgroups[pid] = true
		}
	}
	procs, _ := procfs.AllProcs()
	var pids []int
	for _, p := range procs {
		if callers[p.PID] {
			continue
		}
		c := Cmdline(p.PID)
		if inCgroups[p.PID] || slices.ContainsFunc(tr.Dirs, func(d string) bool { return d != "" && strings.Contains(c, d) }) ||
			(tr.Owns != nil && tr.Owns(p.PID)) {
			pids = append(pids, p.PID)
		}
	}
	return pids
}

// Cmdline is a process's command line, its arguments joined by spaces.
func Cmdline(pid int) string {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return ""
	}
	args, _ := p.CmdLine()
	return strings.Join(args, " ")
}

// Kill kills the processes until none is left (or 5s have passed).
func (tr Traces) Kill() {
	for i := 0; i < 20; i++ {
		pids := tr.Processes()
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Mounts are the mount points under the directories (container root
// filesystems, volumes, network namespaces), the deepest first.
func (tr Traces) Mounts() []string {
	infos, _ := mountinfo.GetMounts(func(i *mountinfo.Info) (bool, bool) {
		under := func(d string) bool { return d != "" && (i.Mountpoint == d || strings.HasPrefix(i.Mountpoint, d+"/")) }
		return !slices.ContainsFunc(tr.Dirs, under) && !slices.ContainsFunc(tr.MountDirs, under), false
	})
	var mounts []string
	for _, i := range infos {
		mounts = append(mounts, i.Mountpoint)
	}
	return deepestFirst(mounts)
}

// Unmount unmounts the mounts, lazily those that are busy.
func (tr Traces) Unmount() error {
	for i := 0; i < 10 && len(tr.Mounts()) > 0; i++ {
		for _, m := range tr.Mounts() {
			if err := syscall.Unmount(m, 0); err != nil {
				_ = syscall.Unmount(m, syscall.MNT_DETACH)
			}
		}
	}
	if m := tr.Mounts(); len(m) > 0 {
		return fmt.Errorf("cannot unmount %s", strings.Join(m, ", "))
	}
	return nil
}

// CgroupHierarchies are the mounted cgroup hierarchies: each v1 controller
// and the v2 one (/sys/fs/cgroup/unified on a hybrid host, or
// /sys/fs/cgroup itself).
func CgroupHierarchies() []string {
	infos, _ := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	var hs []string
	for _, i := range infos {
		hs = append(hs, i.Mountpoint)
	}
	return hs
}

// Cgroups are the cgroups named Cgroup and their children, children first.
func (tr Traces) Cgroups() []string {
	if tr.Cgroup == "" {
		return nil
	}
	var dirs []string
	for _, h := range CgroupHierarchies() {
		_ = filepath.WalkDir(filepath.Join(h, tr.Cgroup), func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
	}
	return deepestFirst(dirs)
}

// RemoveCgroups removes the cgroups, killing what still lives in them.
func (tr Traces) RemoveCgroups() error {
	var last error
	for i := 0; i < 20; i++ {
		last = nil
		for _, d := range tr.Cgroups() {
			if err := syscall.Rmdir(d); err != nil && !errors.Is(err, os.ErrNotExist) {
				last = fmt.Errorf("rmdir %s: %w", d, err)
			}
		}
		if last == nil {
			return nil
		}
		tr.Kill()
	}
	return last
}

// Leftovers lists the processes, mounts and cgroups still on the host.
func (tr Traces) Leftovers() []string {
	var left []string
	for _, pid := range tr.Processes() {
		left = append(left, fmt.Sprintf("process %d (%s)", pid, Cmdline(pid)))
	}
	for _, m := range tr.Mounts() {
		left = append(left, "mount "+m)
	}
	for _, d := range tr.Cgroups() {
		left = append(left, "cgroup "+d)
	}
	return left
}

func deepestFirst(paths []string) []string {
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })
	return paths
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

// rule is an iptables chain (-N) or rule (-A, num its position in its chain)
// as `iptables -S` prints it.
type rule struct {
	table, chain, spec string
	num                int
}

// nodeRules lists the node's chains and the rules of other chains that jump
// to them, in every table.
func nodeRules(bin string) (chains, jumps []rule) {
	if _, err := exec.LookPath(bin); err != nil {
		return nil, nil
	}
	for _, t := range tables {
		b, err := exec.Command(bin, "-w", "-t", t, "-S").Output()
		if err != nil {
			continue
		}
		num := map[string]int{}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			switch {
			case f[0] == "-N" && ours(f[1]):
				chains = append(chains, rule{table: t, chain: f[1], spec: line})
			case f[0] == "-A":
				num[f[1]]++
				if !ours(f[1]) && jumpsToOurs(f) {
					jumps = append(jumps, rule{table: t, chain: f[1], spec: line, num: num[f[1]]})
				}
			}
		}
	}
	return chains, jumps
}

func jumpsToOurs(f []string) bool {
	for i := 0; i+1 < len(f); i++ {
		if (f[i] == "-j" || f[i] == "-g") && ours(f[i+1]) {
			return true
		}
	}
	return false
}

// removeChains deletes the rules of other chains that jump to the node's
// chains (by number, from the last, so that the numbers stay right), then
// flushes and deletes the node's chains.
func removeChains(bin string) error {
	chains, jumps := nodeRules(bin)
	var errs []error
	for i := len(jumps) - 1; i >= 0; i-- {
		errs = append(errs, iptables(bin, jumps[i].table, "-D", jumps[i].chain, strconv.Itoa(jumps[i].num)))
	}
	for _, c := range chains {
		_ = iptables(bin, c.table, "-F", c.chain)
	}
	for _, c := range chains {
		errs = append(errs, iptables(bin, c.table, "-X", c.chain))
	}
	return errors.Join(errs...)
}

func iptables(bin, table string, args ...string) error {
	if out, err := exec.Command(bin, append([]string{"-w", "-t", table}, args...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s -t %s %s: %w: %s", bin, table, strings.Join(args, " "), err, out)
	}
	return nil
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
