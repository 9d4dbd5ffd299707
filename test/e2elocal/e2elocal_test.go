//go:build e2elocal && linux

package e2elocal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cognito-m2m/operator/internal/imagebuild"
	"github.com/cognito-m2m/operator/test/e2e/scenario"
	"github.com/cognito-m2m/operator/test/e2elocal/node"
)

// TestMain runs the tests inside the local node's namespaces and cgroup
// (node.Isolated), after filling the module cache while the module proxy is
// still reachable: the release's image build needs the whole module graph.
func TestMain(m *testing.M) {
	os.Exit(node.Isolated(m.Run, func() error {
		root, err := scenario.RepoRoot()
		if err == nil {
			_, err = imagebuild.FillHostModuleCache(context.Background(), root)
		}
		return err
	}))
}

func TestLocalNodeEndToEnd(t *testing.T) {
	root, err := scenario.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	binDir := filepath.Join(root, "bin", "node")
	imgDir := t.TempDir()
	// The sandbox image's program, built like the Dockerfile's binaries.
	goBuild(t, root, imgDir, "./test/e2elocal/pause")
	pause, err := os.ReadFile(filepath.Join(imgDir, "pause"))
	if err != nil {
		t.Fatal(err)
	}

	logDir, err := os.MkdirTemp("", "cognito-m2m-node-logs-")
	if err != nil {
		t.Fatal(err)
	}
	// The node stops with the test program; node.Isolated sweeps after it.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the node's logs are kept in %s", logDir)
		} else {
			os.RemoveAll(logDir)
		}
	})
	start := time.Now()
	t.Log("Create the cluster: a local node from upstream parts")
	n, err := node.Up(context.Background(), node.Options{
		BinDir: binDir, ToolsDir: filepath.Join(root, "bin"), LogDir: logDir, Logf: t.Logf,
		Images: []imagebuild.OCIImage{node.PauseImage(pause)},
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
	t.Run("install.yaml of the release", c.installYAML)
	if err := n.Running(); err != nil {
		t.Errorf("a node process stopped during the test: %v", err)
	}
}

// localCluster is the local node. Its images, chart and install.yaml are a
// release's, made offline as `make release` makes them (hack/release,
// which builds the Dockerfile with BuildKit, internal/imagebuild).
type localCluster struct {
	node               *node.Node
	env                *scenario.Env
	root, imgDir, dist string
	podUIDs            sync.Map // "namespace/pod" -> UID, for SecretVolume
}

// The release the test makes: its version and the registry path its images
// are named under (hack/release's default).
const (
	releaseVersion  = "v0.0.0-e2elocal"
	releaseRegistry = "ghcr.io/cognito-m2m"
)

func (c *localCluster) Kubeconfig() string { return c.node.Kubeconfig }

// LoadImages makes the release with hack/release for this machine's
// platform only: the same code path as make release, whose arm64 half would
// double the images' compile time on CI's two cores (make release checks
// both platforms). It imports each image from its release archive (the
// host's platform of its image index) and has the scenario install the
// release's packaged chart, whose default images these are. The examples'
// manifests name their images as users build them, so each image is also
// tagged with the scenario's name for it.
func (c *localCluster) LoadImages(t *testing.T, imgs []scenario.Image) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Now()
	c.dist = filepath.Join(c.imgDir, "dist")
	cmd := exec.Command("go", "run", "./hack/release", "--version", releaseVersion, "--out", c.dist,
		"--registry", releaseRegistry, "--helm", c.env.Helm, "--platforms", "linux/"+runtime.GOARCH)
	cmd.Dir = c.root
	out, err := cmd.CombinedOutput()
	t.Logf("hack/release:\n%s", out)
	if err != nil {
		t.Fatalf("hack/release: %v", err)
	}
	for _, img := range imgs {
		name := path.Base(img.Repo)
		if err := c.node.ImportArchives(ctx, filepath.Join(c.dist, "images", name+".oci.tar")); err != nil {
			t.Fatal(err)
		}
		if out, err := c.node.Ctr(ctx, "images", "tag", "--force", releaseRegistry+"/"+name+":"+releaseVersion, "docker.io/"+img.Ref()); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	c.env.Chart = filepath.Join(c.dist, "cognito-m2m-operator-"+strings.TrimPrefix(releaseVersion, "v")+".tgz")
	t.Logf("images: release made and imported in %s", time.Since(t0).Round(100*time.Millisecond))
}

// installYAML replaces the chart's install with the release's install.yaml
// as a user without Helm applies it, and waits until its operator, on the
// release's image, is ready.
func (c *localCluster) installYAML(t *testing.T) {
	e, deploy := c.env, "deployment/"+scenario.Release
	e.Run(t, 4*time.Minute, e.Helm, "uninstall", scenario.Release, "--kubeconfig", c.Kubeconfig(), "--namespace", scenario.OpNS, "--wait", "--timeout", "3m")
	// The CRDs stay after helm uninstall, and Helm owns their fields.
	e.Kubectl(t, 2*time.Minute, "apply", "--server-side", "--force-conflicts", "-f", filepath.Join(c.dist, "install.yaml"))
	// The chart's defaults name no region: the patch the install guide
	// tells users of install.yaml to make.
	e.Kubectl(t, time.Minute, "-n", scenario.OpNS, "patch", deploy, "--type=json",
		"-p", `[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--region=`+scenario.Region+`"}]`)
	e.Kubectl(t, 4*time.Minute, "-n", scenario.OpNS, "rollout", "status", deploy, "--timeout=3m")
	img := strings.TrimSpace(e.Kubectl(t, time.Minute, "-n", scenario.OpNS, "get", deploy, "-o", "jsonpath={.spec.template.spec.containers[0].image}"))
	if want := releaseRegistry + "/operator:" + releaseVersion; img != want {
		t.Errorf("install.yaml runs the operator image %q, want the release's %q", img, want)
	}
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
	if !slices.Contains(addrs, "InternalIP="+node.NodeIP) {
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
	if got, err := r.LookupHost(ctx, "weather.default.svc.cluster.local"); err != nil || !slices.Contains(got, svcIP) {
		t.Errorf("weather.default.svc.cluster.local: %v %v, want %s", got, err, svcIP)
	}
	for _, name := range []string{"example.com", "amazonaws.com", "weather.default.svc.cluster.locall"} {
		_, err := r.LookupHost(ctx, name)
		var dnsErr *net.DNSError
		if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
			t.Errorf("%s: %v, want NXDOMAIN", name, err)
		}
	}

	// The host's addresses, in its own network namespace, outside the
	// node's: a listener on all of them answers from there (the check
	// works), and never from a pod. A pod's packets for them end in the
	// node's namespace, which has no route out; none leaves the machine.
	host := node.HostNetns()
	var hostAddrs []string
	err := inNetns(host, func() error {
		addrs, err := net.InterfaceAddrs()
		for _, a := range addrs {
			if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil && !ip.IP.IsLoopback() {
				hostAddrs = append(hostAddrs, net.JoinHostPort(ip.IP.String(), "18080"))
			}
		}
		return err
	})
	if err != nil || len(hostAddrs) == 0 {
		t.Fatalf("the host's addresses: %v %v", hostAddrs, err)
	}
	go serve(listen(t, host, ":18080"))
	go serve(listen(t, "", node.NodeIP+":18080"))
	for _, a := range hostAddrs {
		if err := dial(host, a); err != nil {
			t.Fatalf("the check is broken: from the host, %s: %v", a, err)
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
	for _, a := range hostAddrs {
		if err := dial(netns, a); err == nil {
			t.Errorf("from a pod, the host's %s answered: pods must reach the node's bridge only", a)
		}
	}
}

// inNetns runs f on an OS thread in the network namespace at path ("" for
// the node's, the test's own). The thread is not reused afterwards.
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

// dial connects from the network namespace at netns ("" for the node's).
func dial(netns, addr string) error {
	return inNetns(netns, func() error {
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	})
}
