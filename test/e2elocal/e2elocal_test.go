//go:build e2elocal && linux

package e2elocal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cognito-m2m/operator/test/e2e/scenario"
	"github.com/cognito-m2m/operator/test/e2elocal/images"
	"github.com/cognito-m2m/operator/test/e2elocal/node"
)

func TestLocalNodeEndToEnd(t *testing.T) {
	root, err := scenario.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	binDir := filepath.Join(root, "bin", "node")
	imgDir := t.TempDir()
	// The sandbox image's program, built like the Dockerfile's binaries.
	goBuild(t, root, imgDir, "./test/e2elocal/pause")

	logDir, err := os.MkdirTemp("", "cognito-m2m-node-logs-")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var n *node.Node
	var downOnce sync.Once
	down := func() {
		downOnce.Do(func() {
			if n == nil {
				return
			}
			t0 := time.Now()
			if err := n.Down(); err != nil {
				t.Errorf("tearing the node down: %v", err)
			}
			t.Logf("node: torn down (%s)", time.Since(t0).Round(100*time.Millisecond))
		})
	}
	t.Cleanup(func() {
		down()
		if t.Failed() {
			t.Logf("the node's logs are kept in %s", logDir)
		} else {
			os.RemoveAll(logDir)
		}
	})
	// Ctrl-C or a kill: tear the node down before exiting.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "\n%v: tearing the local node down (logs in %s)\n", s, logDir)
		down()
		os.Exit(1)
	}()

	t.Log("Create the cluster: a local node from upstream parts")
	n, err = node.Up(context.Background(), node.Options{
		BinDir: binDir, ToolsDir: filepath.Join(root, "bin"), LogDir: logDir, Logf: t.Logf,
		Images: []node.Image{node.PauseImage(filepath.Join(imgDir, "pause"))},
	})
	if err != nil {
		t.Fatalf("%v (logs in %s)", err, logDir)
	}
	t.Logf("node: Ready in %s", time.Since(start).Round(100*time.Millisecond))

	c := &localCluster{node: n, root: root, imgDir: imgDir}
	e := scenario.NewEnv(t, c)
	// The node's own kubectl carries its version.
	e.KubectlBin = filepath.Join(binDir, "kubectl")
	c.env = e
	scenario.Run(t, e)

	t.Run("network stays on the node's bridge", func(t *testing.T) { checkNetwork(t, e, n) })
	if err := n.Running(); err != nil {
		t.Errorf("a node process stopped during the test: %v", err)
	}
}

// localCluster is the local node; images are built from the Dockerfile
// offline with BuildKit (package images) and imported into containerd.
type localCluster struct {
	node         *node.Node
	env          *scenario.Env
	root, imgDir string
	podUIDs      sync.Map // "namespace/pod" -> UID, for SecretVolume
}

func (c *localCluster) Kubeconfig() string { return c.node.Kubeconfig }

func (c *localCluster) LoadImages(t *testing.T, imgs []scenario.Image) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Now()
	// buildkitd's state is kept in the per-user cache: a later run builds
	// unchanged sources in seconds (the first compiles for minutes).
	state, err := images.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	b, err := images.Start(ctx, images.Options{Root: c.root, BinDir: filepath.Join(c.root, "bin", "node"), StateDir: state, Logf: t.Logf})
	defer func() {
		if err := b.Close(); err != nil {
			t.Errorf("closing the image builder: %v", err)
		}
	}()
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]string{}
	for _, img := range imgs {
		refs[img.Target] = "docker.io/" + img.Ref()
	}
	var archives []string
	for _, tg := range images.ProjectTargets(c.imgDir, refs) {
		t1 := time.Now()
		if err := b.Build(ctx, tg); err != nil {
			t.Fatal(err)
		}
		t.Logf("  built %s from the Dockerfile in %s", tg.Ref, time.Since(t1).Round(100*time.Millisecond))
		archives = append(archives, tg.Archive)
	}
	if err := c.node.ImportArchives(ctx, archives...); err != nil {
		t.Fatal(err)
	}
	t.Logf("images: built and imported in %s", time.Since(t0).Round(100*time.Millisecond))
}

// SecretVolume reads the files the kubelet keeps for a pod's Secret volume
// under its root directory (the keys, without the ..data links).
// The scenario reads each mount every second: a pod's UID is looked up once.
func (c *localCluster) SecretVolume(t *testing.T, namespace, pod, volume string) (map[string][]byte, error) {
	key := namespace + "/" + pod
	uid, ok := c.podUIDs.Load(key)
	if !ok {
		out, err := c.env.KubectlErr(time.Minute, "-n", namespace, "get", "pod", pod, "-o", "jsonpath={.metadata.uid}")
		if err != nil {
			return nil, err
		}
		uid, _ = c.podUIDs.LoadOrStore(key, strings.TrimSpace(out))
	}
	dir := c.node.PodVolumeDir(uid.(string), "kubernetes.io~secret", volume)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), "..") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, en.Name()))
		if err != nil {
			return nil, err
		}
		files[en.Name()] = b
	}
	return files, nil
}

// ServiceURL is the Service's cluster IP: kube-proxy's rules route the
// host's own connections to it, as they do a pod's.
func (c *localCluster) ServiceURL(t *testing.T, namespace, service string, port int) string {
	t.Helper()
	ip := strings.TrimSpace(c.env.Kubectl(t, time.Minute, "-n", namespace, "get", "svc", service, "-o", "jsonpath={.spec.clusterIP}"))
	if net.ParseIP(ip) == nil {
		t.Fatalf("Service %s/%s has no cluster IP: %q", namespace, service, ip)
	}
	return fmt.Sprintf("http://%s", net.JoinHostPort(ip, fmt.Sprint(port)))
}

// goBuild builds packages into dir as the Dockerfile's build stage does.
func goBuild(t *testing.T, root, dir string, pkgs ...string) {
	t.Helper()
	args := append([]string{"build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", dir + "/"}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// checkNetwork checks from inside a BFF pod's network namespace that the
// pod reaches the node's address and nothing else on or off the machine,
// that cluster DNS answers cluster.local and nothing else, and that the API
// server reaches the kubelet by its InternalIP.
func checkNetwork(t *testing.T, e *scenario.Env, n *node.Node) {
	ctx := context.Background()
	addrs := strings.Fields(e.Kubectl(t, time.Minute, "get", "node", node.Name, "-o", `jsonpath={range .status.addresses[*]}{.type}={.address} {end}`))
	if !contains(addrs, "InternalIP="+node.NodeIP) {
		t.Errorf("node addresses %v lack InternalIP=%s", addrs, node.NodeIP)
	}
	// Logs go through the API server to the kubelet at its InternalIP.
	if out, err := e.KubectlErr(time.Minute, "-n", scenario.AppNS, "logs", "deployment/bff", "--tail=1"); err != nil {
		t.Errorf("kubectl logs: %v: %s", err, out)
	}

	// Cluster DNS: Services resolve, nothing else does.
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort(node.NodeIP, "53"))
	}}
	svcIP := strings.TrimSpace(e.Kubectl(t, time.Minute, "-n", scenario.AppNS, "get", "svc", "weather", "-o", "jsonpath={.spec.clusterIP}"))
	if got, err := r.LookupHost(ctx, "weather.default.svc.cluster.local"); err != nil || !contains(got, svcIP) {
		t.Errorf("weather.default.svc.cluster.local: %v %v, want %s", got, err, svcIP)
	}
	for _, name := range []string{"example.com", "amazonaws.com", "weather.default.svc.cluster.locall"} {
		_, err := r.LookupHost(ctx, name)
		var dnsErr *net.DNSError
		if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
			t.Errorf("%s: %v, want NXDOMAIN", name, err)
		}
	}

	// A probe namespace the test makes: 10.245.0.1 on the host side of a
	// veth pair, 10.245.0.2 inside. It stands for any other interface of
	// the machine, the external one included, without sending a packet
	// off it.
	probe := newProbe(t)
	hostLn := listen(t, "", "10.245.0.1:18080")
	nsLn := listen(t, probe.netns, "10.245.0.2:18080")
	nodeLn := listen(t, "", node.NodeIP+":18080")
	for _, ln := range []net.Listener{hostLn, nsLn, nodeLn} {
		go serve(ln)
	}
	// From the host both answer: the probe works.
	for _, a := range []string{"10.245.0.1:18080", "10.245.0.2:18080"} {
		if err := dial("", a); err != nil {
			t.Fatalf("the probe is broken: from the host, %s: %v", a, err)
		}
	}
	pod := strings.TrimSpace(e.Kubectl(t, time.Minute, "-n", scenario.AppNS, "get", "pods", "-l", "app.kubernetes.io/name=bff",
		"-o", "jsonpath={.items[0].status.containerStatuses[0].containerID}"))
	netns, err := n.Netns(ctx, strings.TrimPrefix(pod, "containerd://"))
	if err != nil {
		t.Fatal(err)
	}
	if err := dial(netns, node.NodeIP+":18080"); err != nil {
		t.Errorf("from a pod, the node's address %s: %v, want a connection", node.NodeIP, err)
	}
	for _, a := range []string{"10.245.0.1:18080", "10.245.0.2:18080"} {
		if err := dial(netns, a); err == nil {
			t.Errorf("from a pod, %s answered: pods must reach the node's bridge only", a)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type probe struct{ name, netns string }

func newProbe(t *testing.T) *probe {
	t.Helper()
	p := &probe{name: "cm2m-probe", netns: "/run/netns/cm2m-probe"}
	_, err := os.Stat("/run/netns")
	madeDir := errors.Is(err, os.ErrNotExist)
	cleanup := func() {
		_ = exec.Command("ip", "link", "del", "cm2mp0").Run()
		_ = exec.Command("ip", "netns", "del", p.name).Run()
		if madeDir {
			// ip netns makes its directory a mount point of its own.
			_ = syscall.Unmount("/run/netns", syscall.MNT_DETACH)
			_ = os.Remove("/run/netns")
		}
	}
	cleanup()
	t.Cleanup(cleanup)
	for _, args := range [][]string{
		{"netns", "add", p.name},
		{"link", "add", "cm2mp0", "type", "veth", "peer", "name", "cm2mp1"},
		{"link", "set", "cm2mp1", "netns", p.name},
		{"addr", "add", "10.245.0.1/30", "dev", "cm2mp0"},
		{"link", "set", "cm2mp0", "up"},
		{"-n", p.name, "addr", "add", "10.245.0.2/30", "dev", "cm2mp1"},
		{"-n", p.name, "link", "set", "cm2mp1", "up"},
		{"-n", p.name, "route", "add", "default", "via", "10.245.0.1"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return p
}

// inNetns runs f on an OS thread in the network namespace at path ("" for
// the host's). The thread is not reused afterwards.
func inNetns(path string, f func() error) error {
	if path == "" {
		return f()
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread exits with the goroutine instead of
		// going back to the scheduler in the wrong namespace.
		runtime.LockOSThread()
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer syscall.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", path, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

func listen(t *testing.T, netns, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	err := inNetns(netns, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

// dial connects from the network namespace at netns ("" for the host's).
func dial(netns, addr string) error {
	return inNetns(netns, func() error {
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	})
}
