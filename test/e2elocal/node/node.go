//go:build linux

// Package node runs a single-node Kubernetes cluster on this machine from
// upstream parts run as processes, as Kubernetes' hack/local-up-cluster.sh
// does: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, a
// kubelet on containerd 2.x and runc, kube-proxy in iptables mode, and
// CoreDNS. It needs root and Linux.
//
// The node and the test that uses it run in a network and a mount namespace
// of their own (Isolated): its bridge, iptables rules and mounts never touch
// the host's, and nothing in it can reach anything outside it. What it
// changes outside (a cgroup, kernel settings, directories) Sweep undoes
// after the run, and before one after a killed run. CoreDNS has no upstream.
package node

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/cognito-m2m/operator/internal/childproc"
	"github.com/cognito-m2m/operator/internal/imagebuild"
)

// The node's fixed names and addresses. There is one node per machine.
const (
	Name        = "cognito-m2m-node"
	Bridge      = "cm2m0"
	NodeIP      = "10.244.0.1"
	PodCIDR     = "10.244.0.0/24"
	ServiceCIDR = "10.96.0.0/24"
	// APIServer is the API server's URL on the bridge.
	APIServer = "https://" + NodeIP + ":6443"

	stateDir = "/var/lib/" + Name
	// kubeletRootDir is the kubelet's --root-dir: pods, their volumes.
	kubeletRootDir = stateDir + "/kubelet"
	runDir         = "/run/" + Name
	etcdURL        = "http://127.0.0.1:23790"
	etcdPeer       = "http://127.0.0.1:23800"
)

// Options say where the binaries are and where logs go.
type Options struct {
	// BinDir holds the node's binaries (hack/node/build.sh), and Tools the
	// etcd of `make tools`.
	BinDir, ToolsDir string
	// LogDir receives one log file per process.
	LogDir string
	// Logf reports progress.
	Logf func(format string, args ...any)
	// Images are imported into containerd before the kubelet starts: at
	// least PauseImage.
	Images []imagebuild.OCIImage
}

// Node is a running node. It stops with the program: each process gets
// SIGTERM when the program ends (childproc), and Sweep, outside, kills
// whatever is left in the node's cgroup.
type Node struct {
	opts  Options
	procs []*proc
	// Kubeconfig is an administrator's kubeconfig (system:masters).
	Kubeconfig string
	pki        *pki
}

type proc struct {
	name string
	done chan struct{}
	err  error
}

func (n *Node) bin(name string) string { return filepath.Join(n.opts.BinDir, name) }

// Up starts the node and waits until it is Ready with cluster DNS serving.
// It runs only inside Isolated.
func Up(ctx context.Context, opts Options) (*Node, error) {
	n := &Node{opts: opts}
	if os.Getenv(insideEnv) == "" {
		return n, errors.New("the local node runs only inside node.Isolated (call it from TestMain)")
	}
	for _, b := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl", "coredns", "containerd", "containerd-shim-runc-v2", "ctr"} {
		if _, err := os.Stat(n.bin(b)); err != nil {
			return n, fmt.Errorf("node binary missing (hack/node/build.sh builds it): %w", err)
		}
	}
	for _, b := range []string{"runc", "iptables", "ip"} {
		if _, err := exec.LookPath(b); err != nil {
			return n, fmt.Errorf("%s missing (hack/node/deps.sh installs it): %w", b, err)
		}
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		return n, fmt.Errorf("CNI plugins missing (Debian package containernetworking-plugins): %w", err)
	}
	for _, d := range []string{stateDir, runDir, opts.LogDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return n, err
		}
	}
	steps := []struct {
		what string
		f    func(context.Context) error
	}{
		{"network", n.setupNetwork},
		{"certificates", n.setupPKI},
		{"etcd", n.startEtcd},
		{"kube-apiserver", n.startAPIServer},
		{"containerd", n.startContainerd},
		{"kubelet", n.startKubelet},
		{"controller-manager, scheduler", n.startControllers},
		{"kube-proxy", n.startProxy},
		{"CoreDNS", n.startDNS},
		{"node Ready, DNS serving", n.waitReady},
	}
	for _, s := range steps {
		start := time.Now()
		if err := s.f(ctx); err != nil {
			return n, fmt.Errorf("%s: %w", s.what, err)
		}
		n.logf("node: %s (%s)", s.what, time.Since(start).Round(100*time.Millisecond))
	}
	return n, nil
}

func (n *Node) logf(format string, args ...any) {
	if n.opts.Logf != nil {
		n.opts.Logf(format, args...)
	}
}

// setupNetwork brings up, in the node's network namespace, loopback and
// the bridge the node's address and the pods are on.
func (n *Node) setupNetwork(ctx context.Context) error {
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", Bridge, "type", "bridge"},
		{"addr", "add", NodeIP + "/24", "dev", Bridge},
		{"link", "set", Bridge, "up"},
		// The test's own connections to Service addresses, and the API
		// server's, leave from the node's address: the namespace has no
		// other route.
		{"route", "add", ServiceCIDR, "dev", Bridge, "src", NodeIP},
	} {
		if err := run(ctx, "ip", args...); err != nil {
			return err
		}
	}
	for k, v := range map[string]string{
		"net/ipv4/ip_forward":                       "1",
		"net/bridge/bridge-nf-call-iptables":        "1",
		"net/ipv6/conf/" + Bridge + "/disable_ipv6": "1",
	} {
		if err := os.WriteFile("/proc/sys/"+k, []byte(v), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (n *Node) setupPKI(context.Context) error {
	p, err := newPKI(filepath.Join(stateDir, "pki"))
	if err != nil {
		return err
	}
	n.pki = p
	ip := net.ParseIP(NodeIP)
	for _, c := range []struct {
		name, cn string
		orgs     []string
		ips      []net.IP
		dns      []string
	}{
		{"apiserver", "kube-apiserver", nil, []net.IP{ip, net.ParseIP("10.96.0.1"), net.ParseIP("127.0.0.1")},
			[]string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "localhost"}},
		{"kubelet-serving", Name, nil, []net.IP{ip}, []string{Name}},
		{"admin", "admin", []string{"system:masters"}, nil, nil},
		{"apiserver-kubelet-client", "kube-apiserver-kubelet-client", []string{"system:masters"}, nil, nil},
		{"kubelet", "system:node:" + Name, []string{"system:nodes"}, nil, nil},
		{"controller-manager", "system:kube-controller-manager", nil, nil, nil},
		{"scheduler", "system:kube-scheduler", nil, nil, nil},
		{"kube-proxy", "system:kube-proxy", nil, nil, nil},
	} {
		if err := p.issue(c.name, c.cn, c.orgs, c.ips, c.dns); err != nil {
			return err
		}
	}
	if err := p.serviceAccountKey(); err != nil {
		return err
	}
	for _, c := range []string{"admin", "kubelet", "controller-manager", "scheduler", "kube-proxy"} {
		if err := p.kubeconfig(n.kubeconfigPath(c), APIServer, c); err != nil {
			return err
		}
	}
	n.Kubeconfig = n.kubeconfigPath("admin")
	return nil
}

func (n *Node) kubeconfigPath(who string) string {
	return filepath.Join(stateDir, who+".kubeconfig")
}

func (n *Node) startEtcd(ctx context.Context) error {
	if _, err := n.start("etcd", filepath.Join(n.opts.ToolsDir, "etcd"),
		"--data-dir", filepath.Join(stateDir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", etcdPeer, "--initial-advertise-peer-urls", etcdPeer,
		"--initial-cluster", "default="+etcdPeer,
		"--unsafe-no-fsync", "--log-level", "warn"); err != nil {
		return err
	}
	return n.waitHTTP(ctx, "etcd", etcdURL+"/health", nil)
}

func (n *Node) startAPIServer(ctx context.Context) error {
	p := n.pki.path
	if _, err := n.start("kube-apiserver", n.bin("kube-apiserver"),
		"--etcd-servers", etcdURL,
		"--bind-address", NodeIP, "--advertise-address", NodeIP, "--secure-port", "6443",
		"--cert-dir", filepath.Join(stateDir, "apiserver"),
		"--tls-cert-file", p("apiserver.crt"), "--tls-private-key-file", p("apiserver.key"),
		"--client-ca-file", p("ca.crt"),
		"--service-cluster-ip-range", ServiceCIDR,
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", p("sa.key"), "--service-account-signing-key-file", p("sa.key"),
		"--authorization-mode", "Node,RBAC",
		"--kubelet-client-certificate", p("apiserver-kubelet-client.crt"),
		"--kubelet-client-key", p("apiserver-kubelet-client.key"),
		"--kubelet-certificate-authority", p("ca.crt"),
		// The node's address, never a lookup of its name in the host's DNS.
		"--kubelet-preferred-address-types", "InternalIP",
		"--allow-privileged=true",
		"--profiling=false",
	); err != nil {
		return err
	}
	return n.waitHTTP(ctx, "kube-apiserver", APIServer+"/readyz", n.adminTLS())
}

// adminTLS is the client TLS configuration of the admin certificate.
func (n *Node) adminTLS() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(n.pki.caCert)
	cert, err := tls.LoadX509KeyPair(n.pki.path("admin.crt"), n.pki.path("admin.key"))
	if err != nil {
		return &tls.Config{RootCAs: pool}
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}
}

func (n *Node) containerdSocket() string {
	return filepath.Join(runDir, "containerd", "containerd.sock")
}

func (n *Node) startContainerd(ctx context.Context) error {
	cfg := filepath.Join(stateDir, "containerd.toml")
	cniConf := filepath.Join(stateDir, "cni")
	if err := os.MkdirAll(cniConf, 0o755); err != nil {
		return err
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		return err
	}
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`version = 3
root = %q
state = %q
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing", "io.containerd.nri.v1.nri"]

[grpc]
  address = %q

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = %q

[plugins."io.containerd.cri.v1.runtime"]
  # No CAP_SYS_RESOURCE on this kind of host: a negative oom_score_adj fails
  # in runc, so none lower than containerd's own is asked for.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = %q
    max_conf_num = 1
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = %q
        SystemdCgroup = false

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
`, filepath.Join(stateDir, "containerd"), filepath.Join(runDir, "containerd"), n.containerdSocket(), PauseRef, cniConf, runc)), 0o600); err != nil {
		return err
	}
	// The bridge plugin puts pods on the node's bridge, with the node's
	// address as their gateway; host-local keeps its leases in the state
	// directory.
	if err := os.WriteFile(filepath.Join(cniConf, "10-cm2m.conflist"), []byte(fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "cm2m",
  "plugins": [
    {
      "type": "bridge",
      "bridge": %q,
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": %q,
        "ranges": [[{"subnet": %q, "gateway": %q}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "loopback"}
  ]
}
`, Bridge, filepath.Join(stateDir, "cni-ipam"), PodCIDR, NodeIP)), 0o644); err != nil {
		return err
	}
	// containerd finds its shim on PATH.
	p, err := n.start("containerd", n.bin("containerd"), "--config", cfg, "--log-level", "warn")
	if err != nil {
		return err
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := n.Ctr(ctx, "version")
		return err == nil, p.exited()
	}); err != nil {
		return fmt.Errorf("containerd not answering: %w", err)
	}
	return n.ImportImages(ctx, n.opts.Images...)
}

// path is the PATH of node processes, for those that run others: the
// node's binaries first, then the system's (runc, iptables, mount).
func (n *Node) path() string {
	return "PATH=" + n.opts.BinDir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
}

// Ctr runs ctr against the node's containerd in the kubelet's namespace.
func (n *Node) Ctr(ctx context.Context, args ...string) ([]byte, error) {
	return output(ctx, n.bin("ctr"), append([]string{"-a", n.containerdSocket(), "-n", "k8s.io"}, args...)...)
}

// ImportImages writes each image as an OCI archive and imports it into
// containerd's namespace of the kubelet.
func (n *Node) ImportImages(ctx context.Context, images ...imagebuild.OCIImage) error {
	dir, err := os.MkdirTemp("", "cognito-m2m-images-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for i, img := range images {
		path := filepath.Join(dir, fmt.Sprintf("%d.tar", i))
		if err := imagebuild.WriteArchive(path, false, img); err != nil {
			return fmt.Errorf("image %s: %w", img.Ref, err)
		}
		if err := n.ImportArchives(ctx, path); err != nil {
			return err
		}
	}
	return nil
}

// ImportArchives imports OCI image archives (an image builder's output, or
// imagebuild.WriteArchive's) into containerd's namespace of the kubelet, under the name
// each archive's index gives its image (io.containerd.image.name).
func (n *Node) ImportArchives(ctx context.Context, archives ...string) error {
	for _, path := range archives {
		if out, err := n.Ctr(ctx, "images", "import", "--no-unpack=false", path); err != nil {
			return fmt.Errorf("ctr images import %s: %w: %s", path, err, out)
		}
	}
	return nil
}

func (n *Node) startKubelet(context.Context) error {
	p := n.pki.path
	emptyResolv := filepath.Join(stateDir, "resolv.conf")
	// Pods get the cluster DNS only, never the host's resolvers.
	if err := os.WriteFile(emptyResolv, nil, 0o644); err != nil {
		return err
	}
	kubeletCfg := filepath.Join(stateDir, "kubelet.yaml")
	if err := os.WriteFile(kubeletCfg, []byte(fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This host runs cgroup v1, which kubelet 1.35 and later refuse unless told.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /%s
containerRuntimeEndpoint: unix://%s
address: %s
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
tlsCertFile: %s
tlsPrivateKeyFile: %s
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %s}
authorization: {mode: Webhook}
clusterDNS: [%s]
clusterDomain: cluster.local
resolvConf: %s
podLogsDir: %s
failSwapOn: false
syncFrequency: 10s
evictionHard: {memory.available: 50Mi, nodefs.available: 1%%, imagefs.available: 1%%, nodefs.inodesFree: 1%%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
`, cgroup, n.containerdSocket(), NodeIP, p("kubelet-serving.crt"), p("kubelet-serving.key"), p("ca.crt"),
		NodeIP, emptyResolv, filepath.Join(stateDir, "pod-logs"))), 0o600); err != nil {
		return err
	}
	if _, err := n.start("kubelet", n.bin("kubelet"),
		"--config", kubeletCfg, "--kubeconfig", n.kubeconfigPath("kubelet"),
		"--root-dir", kubeletRootDir,
		"--hostname-override", Name, "--node-ip", NodeIP, "--v", "1",
		// Remounts of Secret volumes and the Secret watches behind them are
		// logged only at level 4: the log must show when a rotated secret
		// reached a pod.
		"--vmodule", "operation_generator=4,watch_based_manager=4"); err != nil {
		return err
	}
	return nil
}

func (n *Node) startControllers(context.Context) error {
	p := n.pki.path
	if _, err := n.start("kube-controller-manager", n.bin("kube-controller-manager"),
		"--kubeconfig", n.kubeconfigPath("controller-manager"),
		"--authentication-kubeconfig", n.kubeconfigPath("controller-manager"),
		"--authorization-kubeconfig", n.kubeconfigPath("controller-manager"),
		"--secure-port", "0", "--leader-elect=false",
		"--use-service-account-credentials",
		"--service-account-private-key-file", p("sa.key"), "--root-ca-file", p("ca.crt"),
		"--service-cluster-ip-range", ServiceCIDR,
		"--cluster-cidr", PodCIDR, "--allocate-node-cidrs=false"); err != nil {
		return err
	}
	if _, err := n.start("kube-scheduler", n.bin("kube-scheduler"),
		"--kubeconfig", n.kubeconfigPath("scheduler"),
		"--authentication-kubeconfig", n.kubeconfigPath("scheduler"),
		"--authorization-kubeconfig", n.kubeconfigPath("scheduler"),
		"--secure-port", "0", "--leader-elect=false"); err != nil {
		return err
	}
	return nil
}

func (n *Node) startProxy(context.Context) error {
	proxyCfg := filepath.Join(stateDir, "kube-proxy.yaml")
	if err := os.WriteFile(proxyCfg, []byte(fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: %s}
hostnameOverride: %s
bindAddress: %s
healthzBindAddress: %s:10256
metricsBindAddress: %s:10249
clusterCIDR: %s
nodePortAddresses: [%s/32]
iptables: {localhostNodePorts: false}
# Leave the host's conntrack settings alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
`, n.kubeconfigPath("kube-proxy"), Name, NodeIP, NodeIP, NodeIP, PodCIDR, NodeIP)), 0o600); err != nil {
		return err
	}
	_, err := n.start("kube-proxy", n.bin("kube-proxy"), "--config", proxyCfg)
	return err
}

func (n *Node) startDNS(context.Context) error {
	corefile := filepath.Join(stateDir, "Corefile")
	if err := os.WriteFile(corefile, []byte(fmt.Sprintf(`cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {
    bind %[1]s
    errors
    health %[1]s:8082
    ready %[1]s:8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig %[2]s
        pods insecure
    }
}
# Everything else: NXDOMAIN. There is no forward plugin in this build.
.:53 {
    bind %[1]s
    errors
    template ANY ANY {
        rcode NXDOMAIN
    }
}
`, NodeIP, n.kubeconfigPath("admin"))), 0o600); err != nil {
		return err
	}
	_, err := n.start("coredns", n.bin("coredns"), "-conf", corefile)
	return err
}

func (n *Node) waitReady(ctx context.Context) error {
	var out []byte
	if err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		var err error
		out, err = n.Kubectl(ctx, "get", "node", Name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		return err == nil && strings.TrimSpace(string(out)) == "True", n.anyExited()
	}); err != nil {
		return fmt.Errorf("node %s not Ready: %w: %s", Name, err, out)
	}
	if err := n.waitHTTP(ctx, "coredns", "http://"+NodeIP+":8181/ready", nil); err != nil {
		return err
	}
	// Pods of the default namespace need its service account.
	if err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := n.Kubectl(ctx, "-n", "default", "get", "serviceaccount", "default")
		return err == nil, nil
	}); err != nil {
		return fmt.Errorf("no default service account: %w", err)
	}
	return nil
}

// Kubectl runs the node's kubectl as administrator.
func (n *Node) Kubectl(ctx context.Context, args ...string) ([]byte, error) {
	return output(ctx, n.bin("kubectl"), append([]string{"--kubeconfig", n.Kubeconfig}, args...)...)
}

// Netns returns the path of the network namespace of a running container
// (by its process), for checks made from inside the pod network.
func (n *Node) Netns(ctx context.Context, containerID string) (string, error) {
	out, err := n.Ctr(ctx, "tasks", "ls")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == containerID {
			return "/proc/" + f[1] + "/ns/net", nil
		}
	}
	return "", fmt.Errorf("no running task for container %s", containerID)
}

// start runs a node process with its output in LogDir.
func (n *Node) start(name, bin string, args ...string) (*proc, error) {
	log, err := os.Create(filepath.Join(n.opts.LogDir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), n.path())
	// Its own process group: a terminal's Ctrl-C ends the test, and the
	// process ends with the test, and only then (see childproc).
	if err := childproc.Start(cmd); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	n.procs = append(n.procs, p)
	return p, nil
}

func (p *proc) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited: %v", p.name, p.err)
	default:
		return nil
	}
}

// Running reports the first node process that has stopped, if any.
func (n *Node) Running() error { return n.anyExited() }

// PodVolumeDir is where the kubelet keeps a pod's volume of a plugin, such as
// kubernetes.io~secret.
func (n *Node) PodVolumeDir(podUID, plugin, volume string) string {
	return filepath.Join(kubeletRootDir, "pods", podUID, "volumes", plugin, volume)
}

func (n *Node) anyExited() error {
	for _, p := range n.procs {
		if err := p.exited(); err != nil {
			return err
		}
	}
	return nil
}

func (n *Node) waitHTTP(ctx context.Context, name, url string, tlsCfg *tls.Config) error {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	var last string
	if err := wait.PollUntilContextTimeout(ctx, 300*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := c.Do(req)
		if err != nil {
			last = err.Error()
			return false, n.anyExited()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		last = fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(b))
		return resp.StatusCode == http.StatusOK, n.anyExited()
	}); err != nil {
		return fmt.Errorf("%s not ready at %s: %w: %s (log: %s)", name, url, err, last, filepath.Join(n.opts.LogDir, name+".log"))
	}
	return nil
}

func run(ctx context.Context, name string, args ...string) error {
	out, err := output(ctx, name, args...)
	if err != nil {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

func output(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w", filepath.Base(name), strings.Join(args, " "), err)
	}
	return out, nil
}
