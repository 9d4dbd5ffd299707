package chart

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/go-logr/logr"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/internal/emulator"
)

// TestUpgradeFromThePreviousChart installs the chart as it was at the
// previous commit that changed it, creates objects, upgrades to this
// working tree's chart, and checks that nothing the users rely on moves:
// every object stays Ready, no Secret changes, and no app client is created
// or deleted in Cognito. Then it uninstalls with objects present and checks
// what docs/install.md says happens.
//
// The cheapest real path: a real API server (envtest), real Helm, the
// Cognito emulator, and the operator's manager as a process that
// authenticates as the chart's ServiceAccount, so it works with the RBAC
// each chart version grants. No kubelet runs: the manager's restart stands
// for the Deployment's rollout.
func TestUpgradeFromThePreviousChart(t *testing.T) {
	ctrllog.SetLogger(logr.Discard()) // envtest logs through it
	repo := root(t)
	oldRev, oldChart := previousChart(t, repo)
	t.Logf("upgrading from the chart of %s", oldRev)
	bin := t.TempDir()
	goBuild(t, repo, bin, "./cmd/manager", "./cmd/cognito-emulator")

	srv, err := newAPIServer(repo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.stop(); err != nil {
			t.Errorf("stopping the API server: %v", err)
		}
	})
	ctx := context.Background()
	kube := kubernetes.NewForConfigOrDie(srv.config)
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	c, err := client.New(srv.config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}

	emu := startEmulator(t, filepath.Join(bin, "cognito-emulator"))
	cognito := cip.New(cip.Options{Region: emu.Region, BaseEndpoint: aws.String(emu.BaseURL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	const opNS, appNS = "cognito-m2m-system", "team-a"
	values := []string{"--namespace", opNS, "--kubeconfig", srv.kubeconfig, "--wait=hookOnly",
		"--set", "region=" + emu.Region, "--set", "userPoolId=" + emu.UserPoolID,
		"--set", "cognito.endpoint=" + emu.BaseURL, "--set", "cognito.tokenEndpoint=" + emu.TokenEndpoint,
		"--set", "cognito.issuerBaseUrl=" + emu.BaseURL}
	mustHelm(t, append([]string{"install", "m2m", oldChart, "--create-namespace"}, values...)...)
	for _, name := range crdNames {
		waitEstablished(t, dynamicFor(t, srv), name)
	}
	// The manager as the chart deploys it: its flags, as the chart's
	// ServiceAccount.
	manager := func() *managerProc {
		return startManager(t, filepath.Join(bin, "manager"), saKubeconfig(t, srv, kube, opNS, "m2m-cognito-m2m-operator"),
			"--region="+emu.Region, "--user-pool-id="+emu.UserPoolID, "--cognito-endpoint="+emu.BaseURL,
			"--token-endpoint="+emu.TokenEndpoint, "--issuer-base-url="+emu.BaseURL,
			"--leader-elect", "--leader-election-namespace="+opNS)
	}
	m := manager()

	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: appNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs := &v1alpha1.ResourceServer{}
	m2m := &v1alpha1.M2MClient{}
	for obj, file := range map[client.Object]string{rs: "cognito_v1alpha1_resourceserver.yaml", m2m: "cognito_v1alpha1_m2mclient.yaml"} {
		if err := yaml.Unmarshal([]byte(readFile(t, "config/samples/"+file)), obj); err != nil {
			t.Fatal(err)
		}
		obj.SetNamespace(appNS)
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	// A second client, deleted after the upgrade, and one Retained.
	second := m2m.DeepCopy()
	second.ObjectMeta = metav1.ObjectMeta{Name: "second", Namespace: appNS}
	second.Spec.Secret.Name = "second-credentials"
	retained := second.DeepCopy()
	retained.Name, retained.Spec.Secret.Name = "retained", "retained-credentials"
	retained.Spec.DeletionPolicy = v1alpha1.DeletionPolicyRetain
	for _, o := range []client.Object{second, retained} {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	objects := []client.Object{rs, m2m, second, retained}
	waitAllReady(t, c, objects)
	secretsBefore := secretDigests(t, kube, appNS)
	clientsBefore := appClients(t, cognito, emu.UserPoolID)
	if len(clientsBefore) != 3 || len(secretsBefore) != 3 {
		t.Fatalf("before the upgrade: %d app clients, %d Secrets; want 3 of each", len(clientsBefore), len(secretsBefore))
	}

	// The upgrade: the chart's objects change, then the Deployment's pod is
	// replaced by one of the new spec.
	mustHelm(t, append([]string{"upgrade", "m2m", chartDir(t)}, values...)...)
	m.stop(t)
	m = manager()
	// The new manager has looked at every object when each controller has
	// reconciled them all at least once.
	waitReconciled(t, m, map[string]int{"resourceserver": 1, "m2mclient": 3})
	waitAllReady(t, c, objects)
	if after := secretDigests(t, kube, appNS); !equalMaps(after, secretsBefore) {
		t.Errorf("Secrets changed across the upgrade:\nbefore %v\nafter  %v", secretsBefore, after)
	}
	if after := appClients(t, cognito, emu.UserPoolID); !slices.Equal(after, clientsBefore) {
		t.Errorf("app clients changed across the upgrade: before %v, after %v", clientsBefore, after)
	}
	calls := m.cognitoCalls(t)
	for _, op := range []string{"CreateUserPoolClient", "DeleteUserPoolClient", "CreateResourceServer", "DeleteResourceServer"} {
		if n := calls[op]; n != 0 {
			t.Errorf("the upgraded operator called %s %v times", op, n)
		}
	}

	// Uninstalling, as docs/install.md orders it: objects first, while the
	// operator runs. The app client goes with its object; a Retained one
	// stays in Cognito.
	for _, o := range []client.Object{second, retained} {
		if err := c.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	waitGone(t, c, second, retained)
	left := appClients(t, cognito, emu.UserPoolID)
	if id := second.Status.ClientID; slices.Contains(left, id) {
		t.Errorf("app client %s of a deleted M2MClient is still in Cognito", id)
	}
	if id := retained.Status.ClientID; !slices.Contains(left, id) {
		t.Errorf("app client %s of a Retained M2MClient was deleted", id)
	}

	// Then the release, with objects still present (the order docs/install.md
	// warns about): the CRDs and the objects stay, finalizers included, and
	// nothing deletes them any more.
	mustHelm(t, "uninstall", "m2m", "--namespace", opNS, "--kubeconfig", srv.kubeconfig, "--wait")
	m.stop(t)
	for _, name := range crdNames {
		if _, err := dynamicFor(t, srv).Resource(crdGVR).Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("CRD %s after uninstall: %v (the chart keeps it)", name, err)
		}
	}
	if err := c.Delete(ctx, m2m); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if err := c.Get(ctx, client.ObjectKeyFromObject(m2m), m2m); err != nil || m2m.DeletionTimestamp == nil {
		t.Fatalf("with no operator, a deleted M2MClient should wait on its finalizer: %v, deletionTimestamp %v", err, m2m.DeletionTimestamp)
	}
	// The documented way out: remove the finalizer. The app client stays in
	// Cognito, to be deleted there by hand.
	clearFinalizers := readFile(t, "docs/install.md")
	const patch = `{"metadata":{"finalizers":null}}`
	if !strings.Contains(clearFinalizers, patch) {
		t.Fatalf("docs/install.md does not give the patch %s that clears a finalizer", patch)
	}
	if err := c.Patch(ctx, m2m, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, m2m)
	if !slices.Contains(appClients(t, cognito, emu.UserPoolID), m2m.Status.ClientID) {
		t.Error("clearing the finalizer by hand deleted the app client: it should stay in Cognito")
	}
}

// previousChart writes the chart as it was at the previous commit that
// changed it into a temporary directory: the chart before the newest commit
// that changed it (its first parent, which for a merge into main is main's
// chart before the merge), or that commit's chart when the working tree
// changes the chart again. The chart's README does not count: the upgrade is
// about what Helm applies.
func previousChart(t *testing.T, repo string) (rev, dir string) {
	t.Helper()
	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err
	}
	spec := []string{"--", chartRel, ":(exclude)" + chartRel + "/README.md"}
	newest, err := git(append([]string{"log", "--format=%H", "-n", "1"}, spec...)...)
	if err != nil || newest == "" {
		t.Fatalf("git log of %s: %v (the test needs the repository's history: clone without --depth)", chartRel, err)
	}
	rev = newest
	if _, err := git(append([]string{"diff", "--quiet", newest}, spec...)...); err == nil {
		rev = newest + "^1"
		if _, err := git("rev-parse", "--verify", "-q", rev); err != nil {
			t.Fatalf("%s has no parent: no previous chart (clone without --depth)", newest)
		}
	}
	dir = t.TempDir()
	cmd := exec.Command("sh", "-c", fmt.Sprintf("git archive %s %s | tar -x -C %s", rev, chartRel, dir))
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git archive %s %s: %v: %s", rev, chartRel, err, out)
	}
	short, _ := git("rev-parse", "--short", rev)
	return short, filepath.Join(dir, chartRel)
}

func goBuild(t *testing.T, repo, dir string, pkgs ...string) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"build", "-o", dir + "/"}, pkgs...)...)
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v: %s", pkgs, err, out)
	}
}

// startEmulator runs the Cognito emulator on loopback with one pool.
func startEmulator(t *testing.T, bin string) emulator.ReadyLine {
	t.Helper()
	log := filepath.Join(t.TempDir(), "emulator.log")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--region", "us-east-1", "--create-pool", "upgrade", "--create-pool-domain", "upgrade")
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		f.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(log)
		if r, ok := emulator.FindReadyLine(string(b)); ok {
			return r
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(log)
	t.Fatalf("the emulator printed no ready line in 30s:\n%s", b)
	return emulator.ReadyLine{}
}

type managerProc struct {
	cmd     *exec.Cmd
	log     string
	metrics string
	done    chan struct{}
}

// startManager runs the manager and waits for its /readyz.
func startManager(t *testing.T, bin, kubeconfig string, args ...string) *managerProc {
	t.Helper()
	metrics, probe := freePort(t), freePort(t)
	log := filepath.Join(t.TempDir(), "manager.log")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	// The test reads the manager's call counts over plain HTTP: who may scrape
	// /metrics is TestMetricsNeedAnAuthorizedToken's to check, not the upgrade's.
	cmd := exec.Command(bin, append(args, "--metrics-bind-address="+metrics, "--metrics-secure=false", "--health-probe-bind-address="+probe)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m := &managerProc{cmd: cmd, log: log, metrics: "http://" + metrics + "/metrics", done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(m.done) }()
	t.Cleanup(func() {
		m.stop(t)
		if t.Failed() {
			b, _ := os.ReadFile(log)
			t.Logf("manager log (%s), last lines:\n%s", log, lastLines(string(b), 30))
		}
	})
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + probe + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return m
			}
		}
		select {
		case <-m.done:
			b, _ := os.ReadFile(log)
			t.Fatalf("the manager exited:\n%s", lastLines(string(b), 30))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the manager was not ready within a minute: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (m *managerProc) stop(t *testing.T) {
	select {
	case <-m.done:
		return
	default:
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(30 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
}

// metricFamilies reads the manager's Prometheus metrics.
func (m *managerProc) metricFamilies(t *testing.T) map[string]float64 {
	t.Helper()
	resp, err := http.Get(m.metrics)
	if err != nil {
		t.Fatalf("reading the manager's metrics: %v", err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(&buf)
	if err != nil {
		t.Fatalf("parsing the manager's metrics: %v", err)
	}
	out := map[string]float64{}
	for name, fam := range fams {
		for _, s := range fam.GetMetric() {
			key := name
			for _, l := range s.GetLabel() {
				key += fmt.Sprintf(" %s=%s", l.GetName(), l.GetValue())
			}
			out[key] = s.GetCounter().GetValue()
		}
	}
	return out
}

// cognitoCalls are the manager's Cognito requests by operation, any outcome.
func (m *managerProc) cognitoCalls(t *testing.T) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m.metricFamilies(t) {
		f := strings.Fields(k)
		if f[0] != "cognito_m2m_cognito_requests_total" {
			continue
		}
		for _, l := range f[1:] {
			if op, ok := strings.CutPrefix(l, "operation="); ok {
				out[op] += v
			}
		}
	}
	return out
}

// waitReconciled waits until each controller has finished at least n
// reconciles (controller-runtime's count).
func waitReconciled(t *testing.T, m *managerProc, want map[string]int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got := map[string]float64{}
		for k, v := range m.metricFamilies(t) {
			f := strings.Fields(k)
			if f[0] != "controller_runtime_reconcile_total" {
				continue
			}
			for _, l := range f[1:] {
				if ctl, ok := strings.CutPrefix(l, "controller="); ok {
					got[ctl] += v
				}
			}
		}
		done := true
		for ctl, n := range want {
			done = done && got[ctl] >= float64(n)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reconciles after 2m: %v, want at least %v", got, want)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// saKubeconfig is a kubeconfig that authenticates as a ServiceAccount, with
// a token from the TokenRequest API, as a pod's would.
func saKubeconfig(t *testing.T, srv *apiServer, kube kubernetes.Interface, namespace, name string) string {
	t.Helper()
	tr, err := kube.CoreV1().ServiceAccounts(namespace).CreateToken(context.Background(), name,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a token for ServiceAccount %s/%s: %v", namespace, name, err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: srv.config.Host, CertificateAuthorityData: srv.config.CAData}
	cfg.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["sa"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "sa", Namespace: namespace}
	cfg.CurrentContext = "sa"
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func waitAllReady(t *testing.T, c client.Client, objs []client.Object) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for _, o := range objs {
		for {
			err := c.Get(context.Background(), client.ObjectKeyFromObject(o), o)
			var conds []metav1.Condition
			switch x := o.(type) {
			case *v1alpha1.ResourceServer:
				conds = x.Status.Conditions
			case *v1alpha1.M2MClient:
				conds = x.Status.Conditions
			}
			ready := apimeta.FindStatusCondition(conds, v1alpha1.ConditionReady)
			if err == nil && ready != nil && ready.Status == metav1.ConditionTrue && ready.ObservedGeneration == o.GetGeneration() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%T %s not Ready: %v %+v", o, o.GetName(), err, conds)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func waitGone(t *testing.T, c client.Client, objs ...client.Object) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for _, o := range objs {
		for {
			err := c.Get(context.Background(), client.ObjectKeyFromObject(o), o.DeepCopyObject().(client.Object))
			if client.IgnoreNotFound(err) == nil && err != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%T %s still there after a minute: %v", o, o.GetName(), err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// secretDigests are the namespace's Secrets by name: resourceVersion and a
// digest of the data (never the data, which must not reach the log).
func secretDigests(t *testing.T, kube kubernetes.Interface, namespace string) map[string]string {
	t.Helper()
	list, err := kube.CoreV1().Secrets(namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range list.Items {
		h := sha256.New()
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range s.Data {
				if !yield(k) {
					return
				}
			}
		}) {
			fmt.Fprintf(h, "%s=%x;", k, s.Data[k])
		}
		out[s.Name] = fmt.Sprintf("rv %s data %x", s.ResourceVersion, h.Sum(nil)[:6])
	}
	return out
}

// appClients are the ids of the pool's app clients, sorted.
func appClients(t *testing.T, c *cip.Client, pool string) []string {
	t.Helper()
	var ids []string
	p := cip.NewListUserPoolClientsPaginator(c, &cip.ListUserPoolClientsInput{UserPoolId: aws.String(pool), MaxResults: aws.Int32(60)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("listing app clients: %v", err)
		}
		for _, c := range page.UserPoolClients {
			ids = append(ids, aws.ToString(c.ClientId))
		}
	}
	slices.Sort(ids)
	return ids
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func dynamicFor(t *testing.T, srv *apiServer) dynamic.Interface {
	t.Helper()
	return dynamic.NewForConfigOrDie(srv.config)
}
