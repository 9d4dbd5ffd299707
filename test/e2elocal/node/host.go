//go:build linux

package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/cognito-m2m/operator/internal/childproc"
)

// insideEnv marks the test program run again inside the node's namespaces.
const insideEnv = "COGNITO_M2M_NODE_INSIDE"

// Isolated runs run (a test binary's m.Run) in namespaces and a cgroup of
// the node's, and returns its exit code: the process runs itself again in a
// new network namespace, where the node's bridge, routes, iptables rules and
// network sysctls live and vanish with it, and a new private mount
// namespace, which holds the kubelet's, containerd's and the pods' mounts
// the same way. Every process the node starts, a daemonized shim or a pod's
// container as well, stays in the node's cgroup, and so does nothing but
// read cgroup.procs to be found afterwards. This outer process waits, then
// Sweep kills and removes what is left and restores what the node changed
// outside its namespaces. prepare runs first, outside: the node's namespace
// has no network at all.
//
// Call it from TestMain; Up works only inside.
func Isolated(run func() int, prepare func() error) int {
	if os.Getenv(insideEnv) != "" {
		return run()
	}
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "local node: %v\n", err)
		return 1
	}
	if os.Geteuid() != 0 {
		return fail(errors.New("it needs root (namespaces, cgroups, mounts)"))
	}
	if err := prepare(); err != nil {
		return fail(err)
	}
	if err := Sweep(); err != nil {
		return fail(fmt.Errorf("cleaning up an earlier run: %w", err))
	}
	if err := setupHost(); err != nil {
		return fail(errors.Join(err, Sweep()))
	}
	code, err := runInside()
	if err := errors.Join(err, Sweep()); err != nil {
		return fail(err)
	}
	return code
}

// runInside runs this program again in the node's namespaces and cgroup. A
// terminal's Ctrl-C reaches it as it reaches this process, and ends it;
// this process lives on to sweep.
func runInside() (int, error) {
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Args[0] = os.Args[0] // as ps shows it
	cmd.Env = append(os.Environ(), insideEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:   syscall.CLONE_NEWNET,
		Unshareflags: syscall.CLONE_NEWNS, // the go runtime then makes / private
		Pdeathsig:    syscall.SIGTERM,
	}
	started, err := cgroup.IntoCgroup(cmd)
	if err != nil {
		return 1, err
	}
	defer started()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	if err := childproc.Fork(cmd); err != nil {
		return 1, err
	}
	go func() {
		for s := range sig {
			_ = cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return max(exit.ExitCode(), 1), nil // -1 when killed by a signal
	}
	return 0, err
}

// HostNetns is the host's network namespace, seen from inside the node's.
func HostNetns() string { return fmt.Sprintf("/proc/%d/ns/net", os.Getppid()) }

// setupHost saves the kernel settings the kubelet changes, notes which of
// the host's directories the node will create, and makes its cgroup.
func setupHost() error {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return err
	}
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
	if err := os.WriteFile(savedSysctls(), b, 0o600); err != nil {
		return err
	}
	// Directories of the host the node's programs create when missing:
	// containerd's shims keep their sockets in /run/containerd/s whatever
	// the state directory, libmount its table in /run/mount, CNI its result
	// cache in /var/lib/cni, and the kubelet /var/lib/kubelet/device-plugins
	// whatever its root directory. Sweep removes those this run creates.
	var created []string
	for _, d := range hostDirs {
		if _, err := os.Stat(d); errors.Is(err, os.ErrNotExist) {
			created = append(created, d)
		}
	}
	if err := os.WriteFile(createdDirs(), []byte(strings.Join(created, "\n")), 0o600); err != nil {
		return err
	}
	return cgroup.Create()
}

// Sweep removes what a node leaves on the host, whether its run ended or
// was killed: the processes in its cgroup and the cgroup, its directories,
// and the kernel settings the kubelet changed. It is safe to call when
// nothing is left.
func Sweep() error {
	errs := []error{cgroup.Remove(), restoreSysctls()}
	if b, err := os.ReadFile(createdDirs()); err == nil {
		for _, d := range strings.Fields(string(b)) {
			if slices.Contains(hostDirs, d) {
				errs = append(errs, os.RemoveAll(d))
			}
		}
	}
	for _, d := range []string{runDir, stateDir} {
		errs = append(errs, os.RemoveAll(d))
	}
	if left := Leftovers(); len(left) > 0 {
		errs = append(errs, fmt.Errorf("left on the host: %s", strings.Join(left, "; ")))
	}
	return errors.Join(errs...)
}

// hostDirs are directories outside its own that the node may create.
var hostDirs = []string{"/run/containerd", "/run/mount", "/var/lib/cni", "/var/lib/kubelet"}

func createdDirs() string { return filepath.Join(stateDir, "created-dirs") }

// cgroup holds every process of the node; the kubelet puts the pods under
// it (cgroupRoot).
const cgroup = childproc.Cgroup(Name)

// Leftovers lists what of a node is still on the host: nothing after Sweep.
func Leftovers() []string {
	left := cgroup.Leftovers()
	for _, d := range []string{stateDir, runDir} {
		if _, err := os.Stat(d); err == nil {
			left = append(left, "directory "+d)
		}
	}
	return left
}

// sysctls the kubelet changes (unless --protect-kernel-defaults); they are
// not the network namespace's, so they are saved before the node starts and
// restored by Sweep.
var sysctls = []string{
	"vm.overcommit_memory",
	"vm.panic_on_oom",
	"kernel.panic",
	"kernel.panic_on_oops",
	"kernel.keys.root_maxkeys",
	"kernel.keys.root_maxbytes",
}

func sysctlPath(key string) string {
	return "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
}

func savedSysctls() string { return filepath.Join(stateDir, "sysctl.json") }

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
		if err := os.WriteFile(sysctlPath(k), []byte(v), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("restore %s=%s: %w", k, v, err))
		}
	}
	return errors.Join(errs...)
}
