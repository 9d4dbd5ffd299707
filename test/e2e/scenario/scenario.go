// Package scenario is the end-to-end story both real-cluster tests run: the
// kind test (test/e2e) and the local-node test (test/e2elocal). Only
// creating the cluster and loading the images differ; they are the Cluster
// a test passes to Run.
//
// The story: helm install the chart with the in-cluster Cognito emulator,
// apply the samples and wait for Ready, deploy examples/weather and
// examples/bff from their manifests as they are, in two variants side by side
// (OAuth in the applications, deploy.yaml; none in them, behind the auth
// sidecar, deploy-sidecar.yaml), then for each variant: fetch the forecast
// through the BFF's Service, 401 without a token, 403 without the scope and
// 200 with it; the operator's metrics and probes through the pod network; a
// secret rotation under load on both variants' BFFs (zero failed calls, no
// restart of a BFF or its sidecar) while the operator pod is killed twice
// during a batch of new clients (no duplicate app clients); and the delete
// that removes the app client from Cognito.
package scenario

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"golang.org/x/oauth2/clientcredentials"
	corev1 "k8s.io/api/core/v1"
)

// The release and the objects the scenario creates.
const (
	Release    = "cognito-m2m-operator"
	OpNS       = "cognito-m2m-system"
	AppNS      = "default"
	EmulatorSv = Release + "-emulator"
	MetricsSv  = Release + "-metrics"
	Region     = "us-east-1"
	UserPoolID = Region + "_local0000" // the chart's fixed emulator pool
	SecretName = "weather-reader-credentials"
	batchSize  = 20
)

// Image is one of the Dockerfile's targets and the local name it is loaded
// under.
type Image struct{ Target, Repo, Tag string }

// Ref is repo:tag.
func (i Image) Ref() string { return i.Repo + ":" + i.Tag }

// Images are the Dockerfile's targets. The example manifests name the
// weather and bff images as they are (pulled only when absent); the chart is
// given the other two.
var Images = []Image{
	{"manager", "cognito-m2m/operator", "e2e"},
	{"cognito-emulator", "cognito-m2m/cognito-emulator", "e2e"},
	{"weather", "cognito-m2m/weather", "latest"},
	{"bff", "cognito-m2m/bff", "latest"},
	{"auth-sidecar", "cognito-m2m/auth-sidecar", "latest"},
}

// Cluster is what differs between the clusters the scenario runs on.
type Cluster interface {
	// Kubeconfig is the path of an administrator's kubeconfig.
	Kubeconfig() string
	// LoadImages makes the images available to the cluster's nodes under
	// their Ref, without a registry.
	LoadImages(t *testing.T, images []Image)
	// ServiceURL returns an http:// URL on the test's machine that reaches
	// the port of a Service, for the rest of the test.
	ServiceURL(t *testing.T, namespace, service string, port int) string
}

// MountReader is a Cluster whose test can read what the kubelet wrote into
// a pod's Secret volume. The scenario uses it to tell a stale mount from a
// wrong Secret when a rotation fails, and to measure how long the kubelet
// takes to refresh a mounted Secret.
type MountReader interface {
	// SecretVolume returns the files of a pod's Secret volume, by key.
	SecretVolume(t *testing.T, namespace, pod, volume string) (map[string][]byte, error)
}

// Env is one run's tools and cluster.
type Env struct {
	Root, Helm, KubectlBin string
	Cluster                Cluster
	// Chart, when a Cluster's LoadImages sets it, is a packaged release's
	// chart to install with its own default images (which LoadImages
	// loaded) instead of the working tree's chart with Images.
	Chart string
}

// NewEnv finds the repository and its tools (bin/ of make tools, else PATH).
func NewEnv(t *testing.T, c Cluster) *Env {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Root: root, Helm: Tool(t, root, "helm"), KubectlBin: Tool(t, root, "kubectl"), Cluster: c}
}

// Run runs the whole scenario on the cluster.
func Run(t *testing.T, e *Env) {
	t.Cleanup(func() {
		if t.Failed() {
			e.Diagnose(t)
		}
	})
	step := stepper(t, 9)

	step("build the images and load them into the cluster")
	e.Cluster.LoadImages(t, Images)

	step("helm install the operator with the in-cluster Cognito emulator")
	chart, images := e.Chart, []string(nil)
	if chart == "" {
		chart = filepath.Join(e.Root, "charts", "cognito-m2m-operator")
		images = []string{"--set", "image.repository=" + Images[0].Repo, "--set", "image.tag=" + Images[0].Tag,
			"--set", "emulator.image.repository=" + Images[1].Repo, "--set", "emulator.image.tag=" + Images[1].Tag}
	}
	e.Run(t, 6*time.Minute, e.Helm, append([]string{"install", Release, chart,
		"--kubeconfig", e.Cluster.Kubeconfig(), "--namespace", OpNS, "--create-namespace",
		"--set", "emulator.enabled=true", "--set", "image.pullPolicy=Never", "--set", "emulator.image.pullPolicy=Never",
		"--set", "logging.level=debug",
		"--wait", "--timeout", "5m"}, images...)...)
	e.Kubectl(t, 5*time.Minute, "-n", OpNS, "rollout", "status", "deployment/"+Release, "--timeout=4m")
	e.Kubectl(t, 5*time.Minute, "-n", OpNS, "rollout", "status", "deployment/"+EmulatorSv, "--timeout=4m")
	// The chart's own test: the CRDs are established and the operator is
	// ready, checked from a pod of the operator's image.
	e.Run(t, 4*time.Minute, e.Helm, "test", Release, "--kubeconfig", e.Cluster.Kubeconfig(), "--namespace", OpNS, "--timeout", "3m", "--logs")

	step("apply the sample ResourceServer and M2MClient and wait for Ready")
	e.Kubectl(t, time.Minute, "-n", AppNS, "apply", "-f", filepath.Join(e.Root, "config/samples/cognito_v1alpha1_resourceserver.yaml"))
	e.Kubectl(t, time.Minute, "-n", AppNS, "apply", "-f", filepath.Join(e.Root, "config/samples/cognito_v1alpha1_m2mclient.yaml"))
	e.Kubectl(t, 4*time.Minute, "-n", AppNS, "wait", "--for=condition=Ready", "resourceserver/weather", "--timeout=3m")
	e.Kubectl(t, 4*time.Minute, "-n", AppNS, "wait", "--for=condition=Ready", "m2mclient/weather-reader", "--timeout=3m")
	clientID := strings.TrimSpace(e.Kubectl(t, time.Minute, "-n", AppNS, "get", "m2mclient/weather-reader", "-o", "jsonpath={.status.clientId}"))
	if clientID == "" {
		t.Fatal("M2MClient weather-reader is Ready without status.clientId")
	}
	// Key names only: values never reach the test log.
	keys := e.Kubectl(t, time.Minute, "-n", AppNS, "get", "secret", SecretName, "-o", `go-template={{range $k, $v := .data}}{{$k}} {{end}}`)
	for _, k := range []string{"client_id", "client_secret", "token_endpoint", "issuer", "scopes"} {
		if !slices.Contains(strings.Fields(keys), k) {
			t.Errorf("Secret %s has keys %q, missing %s", SecretName, keys, k)
		}
	}
	t.Logf("  app client %s, Secret %s with keys %s", clientID, SecretName, keys)
	// Short-lived tokens (Cognito's minimum), so that the BFF asks for new
	// ones during and after the rotation below.
	e.Kubectl(t, time.Minute, "-n", AppNS, "patch", "m2mclient/weather-reader", "--type=merge", "-p", `{"spec":{"accessTokenValidity":"5m"}}`)
	e.waitObserved(t, "m2mclient/weather-reader")

	step("deploy the weather service and the BFF, in each variant: in-process OAuth and the auth sidecar")
	for _, v := range variants {
		// The manifests are applied as users apply them; they must name
		// the images this test built, and what the steps below rely on.
		if err := v.check(e.Root); err != nil {
			t.Fatal(err)
		}
		for _, rel := range v.manifests {
			e.Kubectl(t, time.Minute, "-n", AppNS, "apply", "-f", filepath.Join(e.Root, rel))
		}
	}
	for _, v := range variants {
		for _, app := range []string{v.weather, v.bff} {
			e.Kubectl(t, 5*time.Minute, "-n", AppNS, "rollout", "status", "deployment/"+app, "--timeout=4m")
		}
	}

	step("fetch the forecast through each variant's BFF Service")
	bffs := make([]string, len(variants)) // URLs of the BFF Services, by variant
	for i, v := range variants {
		bffs[i] = e.Cluster.ServiceURL(t, AppNS, v.bff, 8080)
		body := Eventually(t, 2*time.Minute, "GET /weatherforecast from "+v.bff+" answers 200", func() ([]byte, error) {
			return Get(bffs[i]+"/weatherforecast", "", http.StatusOK)
		})
		checkForecast(t, body)
		t.Logf("  %s forecast: %s", v.name, bytes.TrimSpace(body))
	}

	step("each variant's weather service: 401 without a token, 403 without the scope, 200 with it")
	emulator := e.Cluster.ServiceURL(t, OpNS, EmulatorSv, 9229)
	e.checkTokens(t, emulator)

	step("the operator's metrics and probes answer through the pod network")
	e.checkOperatorEndpoints(t)

	step("rotate the secret under load on both variants' BFFs while the operator pod is killed during a batch of new clients")
	cognito := e.Cognito(t, emulator)
	e.rotateUnderLoad(t, bffs, emulator, func() { e.killDuringBatch(t, cognito) })

	step("delete the M2MClient: its app client is gone from Cognito, and the Secret with it")
	if !HasClient(t, cognito, clientID) {
		t.Fatalf("app client %s is not in the emulator's pool %s before the delete", clientID, UserPoolID)
	}
	e.Kubectl(t, 3*time.Minute, "-n", AppNS, "delete", "m2mclient/weather-reader", "--wait=true", "--timeout=2m")
	if HasClient(t, cognito, clientID) {
		t.Errorf("app client %s is still in pool %s after the M2MClient was deleted", clientID, UserPoolID)
	}
	_, err := cognito.DescribeUserPoolClient(context.Background(), &cip.DescribeUserPoolClientInput{UserPoolId: aws.String(UserPoolID), ClientId: aws.String(clientID)})
	if rnf := new(types.ResourceNotFoundException); !errors.As(err, &rnf) {
		t.Errorf("DescribeUserPoolClient after delete: %v, want ResourceNotFoundException", err)
	}
	Eventually(t, time.Minute, "the Secret is garbage-collected with its M2MClient", func() ([]byte, error) {
		out, err := e.KubectlErr(time.Minute, "-n", AppNS, "get", "secret", SecretName, "--ignore-not-found", "-o", "name")
		if err == nil && strings.TrimSpace(out) != "" {
			err = errors.New("still there")
		}
		return nil, err
	})
	t.Log("Done: forecast through the BFF and 401/403 in both variants, rotation under load, operator killed, app client removed from Cognito")
}

func stepper(t *testing.T, total int) func(string) {
	n := 0
	return func(what string) {
		n++
		t.Logf("Step %d/%d: %s", n, total, what)
	}
}

func checkForecast(t *testing.T, body []byte) {
	t.Helper()
	var forecasts []struct {
		Date         string `json:"date"`
		TemperatureC int    `json:"temperatureC"`
		Summary      string `json:"summary"`
	}
	if err := json.Unmarshal(body, &forecasts); err != nil {
		t.Fatalf("BFF forecast is not JSON: %v\n%s", err, body)
	}
	if len(forecasts) != 5 {
		t.Fatalf("BFF returned %d forecasts, want 5: %s", len(forecasts), body)
	}
	for i, f := range forecasts {
		if _, err := time.Parse(time.DateOnly, f.Date); err != nil || f.Summary == "" {
			t.Errorf("forecast %d is malformed: %+v", i, f)
		}
	}
}

// OtherAPI is a second resource server and a client of it only: its token is
// valid, from the same pool, but lacks weather's scope. The local test (test/local)
// uses it for its 403 check too.
const OtherAPI = `apiVersion: cognito.m2m.dev/v1alpha1
kind: ResourceServer
metadata:
  name: inventory
spec:
  identifier: InventoryService
  name: Inventory service
  scopes:
    - name: inventory_read
      description: Read the inventory
---
apiVersion: cognito.m2m.dev/v1alpha1
kind: M2MClient
metadata:
  name: inventory-reader
spec:
  scopes:
    - resourceServer:
        name: inventory
      scopes: [inventory_read]
  secret:
    name: inventory-reader-credentials
`

// checkTokens calls each variant's weather service without a token, with a
// valid token of the same pool that lacks weather's scope, and with the
// weather-reader's token.
func (e *Env) checkTokens(t *testing.T, emulator string) {
	t.Helper()
	manifest := filepath.Join(t.TempDir(), "inventory.yaml")
	if err := os.WriteFile(manifest, []byte(OtherAPI), 0o600); err != nil {
		t.Fatal(err)
	}
	e.Kubectl(t, time.Minute, "-n", AppNS, "apply", "-f", manifest)
	e.Kubectl(t, 4*time.Minute, "-n", AppNS, "wait", "--for=condition=Ready", "resourceserver/inventory", "m2mclient/inventory-reader", "--timeout=3m")
	other := e.token(t, emulator, e.SecretData(t, AppNS, "inventory-reader-credentials"))
	mine := e.token(t, emulator, e.SecretData(t, AppNS, SecretName))

	for _, v := range variants {
		forecast := e.Cluster.ServiceURL(t, AppNS, v.weather, 8080) + "/weatherforecast"
		resp, err := do(forecast, "")
		if err != nil {
			t.Fatal(err)
		}
		if c := resp.header.Get("WWW-Authenticate"); resp.status != http.StatusUnauthorized || c != v.challenge {
			t.Errorf("%s without a token: %d, WWW-Authenticate %q; want 401 with %q", v.weather, resp.status, c, v.challenge)
		}
		resp, err = do(forecast, other)
		if err != nil {
			t.Fatal(err)
		}
		if c := resp.header.Get("WWW-Authenticate"); resp.status != http.StatusForbidden || !strings.Contains(c, `error="insufficient_scope"`) {
			t.Errorf("%s with a token for InventoryService/inventory_read: %d %s, WWW-Authenticate %q; want 403 with error=\"insufficient_scope\"",
				v.weather, resp.status, bytes.TrimSpace(resp.body), c)
		}
		resp, err = do(forecast, mine)
		if err != nil || resp.status != http.StatusOK {
			t.Errorf("%s with the weather-reader's token: %d %s %v, want 200", v.weather, resp.status, bytes.TrimSpace(resp.body), err)
		}
		t.Logf("  %s: 401 with %s, 403, 200", v.weather, v.challenge)
	}
	e.Kubectl(t, 3*time.Minute, "-n", AppNS, "delete", "-f", manifest, "--timeout=2m")
}

// token gets an access token with a Secret's credentials from the emulator
// reached at emulator (the Secret's token endpoint is the in-cluster one).
// It is never logged.
func (e *Env) token(t *testing.T, emulator string, secret map[string][]byte) string {
	t.Helper()
	u, err := url.Parse(string(secret["token_endpoint"]))
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientcredentials.Config{
		ClientID:     string(secret["client_id"]),
		ClientSecret: string(secret["client_secret"]),
		TokenURL:     emulator + u.Path,
		Scopes:       strings.Fields(string(secret["scopes"])),
	}
	tok, err := cfg.Token(context.Background())
	if err != nil {
		t.Fatalf("token for client %s: %v", cfg.ClientID, err)
	}
	return tok.AccessToken
}

// checkOperatorEndpoints reads the operator's metrics through its Service as
// Prometheus does (over HTTPS, with the token of a ServiceAccount bound to the
// chart's metrics-reader ClusterRole; without a token it gets 401), and its
// probes from its pod, through the API server's proxy, which connects to the
// pod's address on the pod network.
func (e *Env) checkOperatorEndpoints(t *testing.T) {
	t.Helper()
	const reader = "e2e-metrics-reader"
	e.Kubectl(t, time.Minute, "-n", OpNS, "create", "serviceaccount", reader)
	e.Kubectl(t, time.Minute, "create", "clusterrolebinding", reader, "--clusterrole="+Release+"-metrics-reader", "--serviceaccount="+OpNS+":"+reader)
	token := strings.TrimSpace(e.Kubectl(t, time.Minute, "-n", OpNS, "create", "token", reader))
	url := strings.Replace(e.Cluster.ServiceURL(t, OpNS, MetricsSv, 8443), "http://", "https://", 1) + "/metrics"
	scrape := func(token string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		// The chart's default certificate is self-signed: who gets in is what is checked.
		c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("scraping the operator's metrics: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, _ := scrape(""); status != http.StatusUnauthorized {
		t.Errorf("the operator's metrics without a token: %d, want 401", status)
	}
	status, metrics := scrape(token)
	if status != http.StatusOK {
		t.Errorf("the operator's metrics with the metrics reader's token: %d, want 200", status)
	}
	for _, m := range []string{`controller_runtime_reconcile_total{controller="m2mclient"`, `controller_runtime_reconcile_total{controller="resourceserver"`} {
		if !strings.Contains(metrics, m) {
			t.Errorf("the operator's metrics have no %s", m)
		}
	}
	pod := e.operatorPods(t)[0]
	for _, p := range []string{"healthz", "readyz"} {
		out := e.Kubectl(t, time.Minute, "get", "--raw", fmt.Sprintf("/api/v1/namespaces/%s/pods/%s:8081/proxy/%s", OpNS, pod, p))
		if strings.TrimSpace(out) != "ok" {
			t.Errorf("operator /%s: %q, want ok", p, out)
		}
	}
	t.Logf("  metrics (%d bytes) through Service %s, /healthz and /readyz of pod %s", len(metrics), MetricsSv, pod)
}

func (e *Env) operatorPods(t *testing.T) []string {
	t.Helper()
	out := e.Kubectl(t, time.Minute, "-n", OpNS, "get", "pods", "-l", "app.kubernetes.io/component=manager",
		"--field-selector=status.phase=Running", "-o", "jsonpath={.items[*].metadata.name}")
	pods := strings.Fields(out)
	if len(pods) == 0 {
		t.Fatal("no running operator pod")
	}
	return pods
}

type rotationStatus struct {
	CurrentSecretID  string `json:"currentSecretId"`
	PreviousSecretID string `json:"previousSecretId"`
	Phase            string `json:"phase"`
}

func (e *Env) rotation(t *testing.T) rotationStatus {
	t.Helper()
	var r rotationStatus
	out := e.Kubectl(t, time.Minute, "-n", AppNS, "get", "m2mclient/weather-reader", "-o", "jsonpath={.status.rotation}")
	if strings.TrimSpace(out) != "" {
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("status.rotation: %v: %s", err, out)
		}
	}
	return r
}

// pods lists the pods of a Deployment of the examples.
func (e *Env) pods(t *testing.T, app string) []podState {
	t.Helper()
	var list corev1.PodList
	out := e.Kubectl(t, time.Minute, "-n", AppNS, "get", "pods", "-l", "app.kubernetes.io/name="+app, "-o", "json")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("pods of %s: %v", app, err)
	}
	return podStates(list)
}

// renewals reads a BFF pod's count of tokens obtained, from its metrics.
func (e *Env) renewals(t *testing.T, v variant, pod string) int {
	t.Helper()
	out := e.Kubectl(t, time.Minute, "get", "--raw", fmt.Sprintf("/api/v1/namespaces/%s/pods/%s:%d/proxy/metrics", AppNS, pod, v.metricsPort))
	n, err := tokenRenewals([]byte(out), v.tokenClient)
	if err != nil {
		t.Fatalf("%s %s, port %d: %v", v.bff, pod, v.metricsPort, err)
	}
	return n
}

// bffLoad is the load on one variant's BFF during the rotation.
type bffLoad struct {
	v             variant
	url           string
	pods          []podState
	calls, failed atomic.Int64
	firstErr      atomic.Value
}

// rotateUnderLoad keeps calling each variant's BFF (which calls its
// weather) while the operator rotates the client secret with the default
// grace period, runs during the grace period, and then goes on until every
// BFF pod has obtained a token after the old secret was deleted. No call may
// fail and no BFF pod may restart, its auth sidecar included.
func (e *Env) rotateUnderLoad(t *testing.T, bffs []string, emulator string, during func()) {
	t.Helper()
	before := e.rotation(t)
	var loads []*bffLoad
	var allPods []podState
	for i, v := range variants {
		l := &bffLoad{v: v, url: bffs[i], pods: e.pods(t, v.bff)}
		if len(l.pods) == 0 {
			t.Fatalf("no pod of %s", v.bff)
		}
		loads = append(loads, l)
		allPods = append(allPods, l.pods...)
	}
	mounts := e.watchMounts(t, allPods)
	defer mounts.stop()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, l := range loads {
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					l.calls.Add(1)
					if _, err := Get(l.url+"/weatherforecast", "", http.StatusOK); err != nil {
						l.failed.Add(1)
						l.firstErr.CompareAndSwap(nil, err.Error())
					}
					time.Sleep(20 * time.Millisecond)
				}
			})
		}
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()

	e.Kubectl(t, time.Minute, "-n", AppNS, "annotate", "m2mclient/weather-reader", "--overwrite",
		fmt.Sprintf("cognito.m2m.dev/rotate=%d", time.Now().UnixNano()))
	Eventually(t, 2*time.Minute, "the rotation reaches its grace period", func() ([]byte, error) {
		if r := e.rotation(t); r.Phase != "Grace" {
			return nil, fmt.Errorf("phase %q", r.Phase)
		}
		return nil, nil
	})
	during()
	Eventually(t, 8*time.Minute, "the rotation ends (the default grace period is 5m)", func() ([]byte, error) {
		r := e.rotation(t)
		if r.Phase != "" || r.PreviousSecretID != "" || r.CurrentSecretID == before.CurrentSecretID {
			return nil, fmt.Errorf("rotation status %+v", r)
		}
		return nil, nil
	})
	secret := e.SecretData(t, AppNS, SecretName)
	if _, ok := secret["client_secret_previous"]; ok {
		t.Errorf("Secret %s still has client_secret_previous after the rotation", SecretName)
	}
	// The Secret alone must sign in now that the old secret is deleted: if
	// it does and a BFF pod cannot, the pod's mount is what is stale.
	e.token(t, emulator, secret)
	after := map[string]int{}
	for _, l := range loads {
		for _, p := range l.pods {
			after[p.name] = e.renewals(t, l.v, p.name)
		}
	}
	// Tokens last 5m and are renewed at about 75% of that: each BFF pod
	// (its sidecar in the sidecar variant) signs in with the new secret,
	// read from the refreshed mount, within about 4 minutes of the old one
	// being deleted.
	Eventually(t, 6*time.Minute, "every BFF pod obtains a token after the old secret is deleted", func() ([]byte, error) {
		for _, l := range loads {
			for _, p := range l.pods {
				if n := e.renewals(t, l.v, p.name); n <= after[p.name] {
					return nil, fmt.Errorf("%s %s: %d tokens obtained, none since the rotation ended%s", l.v.bff, p.name, n, mounts.describe(p.name, secret))
				}
			}
		}
		return nil, nil
	})
	stopLoad()
	mounts.report(t, secret)
	for _, l := range loads {
		calls, failed := l.calls.Load(), l.failed.Load()
		t.Logf("  %d calls through %s during the rotation, %d failed", calls, l.v.bff, failed)
		if failed > 0 {
			t.Errorf("%d of %d calls through %s failed during the rotation; first: %v", failed, calls, l.v.bff, l.firstErr.Load())
		}
		if calls < 100 {
			t.Errorf("only %d calls through %s during the rotation", calls, l.v.bff)
		}
		if now := e.pods(t, l.v.bff); !slices.Equal(now, l.pods) {
			t.Errorf("%s pods (name, restarts of all containers and sidecars) changed during the rotation: before %v, after %v", l.v.bff, l.pods, now)
		}
	}
}

// mountWatch follows the BFF pods' mounted Secret on a cluster that can read
// it (MountReader): when each mount first held the rotated secret, and what it
// holds now. Only digests and key names are ever reported.
type mountWatch struct {
	stop     func()
	mu       sync.Mutex
	start    time.Time
	firstNew map[string]time.Duration // pod -> when its mount first differed from the start
	initial  map[string]map[string][]byte
	last     map[string]map[string][]byte
	lastErr  map[string]error
}

// watchMounts polls every BFF pod's Secret volume each second until stopped.
func (e *Env) watchMounts(t *testing.T, pods []podState) *mountWatch {
	w := &mountWatch{stop: func() {}, start: time.Now(), firstNew: map[string]time.Duration{},
		initial: map[string]map[string][]byte{}, last: map[string]map[string][]byte{}, lastErr: map[string]error{}}
	mr, ok := e.Cluster.(MountReader)
	if !ok {
		return w
	}
	for _, p := range pods {
		files, err := mr.SecretVolume(t, AppNS, p.name, secretVolume)
		if err != nil {
			t.Logf("  cannot read BFF %s's mounted Secret: %v", p.name, err)
			return w
		}
		w.initial[p.name], w.last[p.name] = files, files
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	w.stop = sync.OnceFunc(func() { close(done); <-finished })
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			for _, p := range pods {
				files, err := mr.SecretVolume(t, AppNS, p.name, secretVolume)
				w.mu.Lock()
				w.lastErr[p.name] = err
				if err == nil {
					w.last[p.name] = files
					if _, seen := w.firstNew[p.name]; !seen && !bytes.Equal(files["client_secret"], w.initial[p.name]["client_secret"]) {
						w.firstNew[p.name] = time.Since(w.start)
					}
				}
				w.mu.Unlock()
			}
		}
	}()
	return w
}

// describe says how a pod's mount compares with the Secret, for an error.
func (w *mountWatch) describe(pod string, secret map[string][]byte) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	files, ok := w.last[pod]
	if !ok {
		return ""
	}
	s := "; its mounted Secret " + compareFiles(files, secret)
	if err := w.lastErr[pod]; err != nil {
		s += fmt.Sprintf(" (last read failed: %v)", err)
	}
	if d, ok := w.firstNew[pod]; ok {
		s += fmt.Sprintf(", first changed %s after the rotation began", d.Round(time.Second))
	} else {
		s += ", unchanged since the rotation began"
	}
	return s
}

// report logs when each mount took the rotated secret, and fails if a mount
// does not match the Secret at the end.
func (w *mountWatch) report(t *testing.T, secret map[string][]byte) {
	t.Helper()
	w.stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	for pod, files := range w.last {
		if d, ok := w.firstNew[pod]; ok {
			t.Logf("  BFF %s: the kubelet refreshed its mounted Secret %s after the rotation began", pod, d.Round(time.Second))
		}
		if diff := compareFiles(files, secret); diff != "matches the Secret" {
			t.Errorf("BFF %s: after the rotation its mounted Secret %s", pod, diff)
		}
	}
}

// compareFiles names the keys in which a mounted Secret differs from the
// Secret's data, with short digests; never a value.
func compareFiles(files, secret map[string][]byte) string {
	var diffs []string
	for k, v := range secret {
		got, ok := files[k]
		switch {
		case !ok:
			diffs = append(diffs, k+" missing")
		case !bytes.Equal(got, v):
			diffs = append(diffs, fmt.Sprintf("%s is %s, the Secret's %s", k, digest8(got), digest8(v)))
		}
	}
	for k := range files {
		if _, ok := secret[k]; !ok {
			diffs = append(diffs, k+" not in the Secret")
		}
	}
	if len(diffs) == 0 {
		return "matches the Secret"
	}
	slices.Sort(diffs)
	return "differs: " + strings.Join(diffs, ", ")
}

func digest8(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b))[:15] }

// killDuringBatch creates a batch of M2MClients and deletes the operator pod
// twice while it reconciles them: every client ends Ready with exactly one
// app client in Cognito.
func (e *Env) killDuringBatch(t *testing.T, cognito *cip.Client) {
	t.Helper()
	var b strings.Builder
	var names []string
	for i := range batchSize {
		name := fmt.Sprintf("batch-%d", i)
		names = append(names, name)
		fmt.Fprintf(&b, `---
apiVersion: cognito.m2m.dev/v1alpha1
kind: M2MClient
metadata:
  name: %s
  labels: {e2e-batch: "true"}
spec:
  clientName: e2e-%s
  scopes:
    - resourceServer: {name: weather}
      scopes: [weather_read]
`, name, name)
	}
	manifest := filepath.Join(t.TempDir(), "batch.yaml")
	if err := os.WriteFile(manifest, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	e.Kubectl(t, time.Minute, "-n", AppNS, "apply", "-f", manifest)
	created := 0
	for kill := 1; kill <= 2; kill++ {
		// Kill as soon as the running operator has created one more app
		// client of the batch, while it works on the others.
		deadline := time.Now().Add(3 * time.Minute)
		for {
			out, err := e.KubectlErr(time.Minute, "-n", AppNS, "get", "m2mclients", "-l", "e2e-batch", "-o", "jsonpath={.items[*].status.clientId}")
			if n := len(strings.Fields(out)); err == nil && (n > created || n == batchSize) {
				created = n
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the operator created no app client of the batch within 3m (%d so far): %v", created, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		pods := strings.Fields(e.Kubectl(t, time.Minute, "-n", OpNS, "get", "pods", "-l", "app.kubernetes.io/component=manager",
			"-o", `go-template={{range .items}}{{if not .metadata.deletionTimestamp}}{{.metadata.name}} {{end}}{{end}}`))
		e.Kubectl(t, time.Minute, append([]string{"-n", OpNS, "delete", "pod", "--wait=false"}, pods...)...)
		t.Logf("  operator pod %s deleted with %d of %d app clients created (%d of 2)", strings.Join(pods, " "), created, batchSize, kill)
	}
	e.Kubectl(t, 5*time.Minute, "-n", OpNS, "rollout", "status", "deployment/"+Release, "--timeout=4m")
	args := []string{"-n", AppNS, "wait", "--for=condition=Ready", "--timeout=4m"}
	for _, n := range names {
		args = append(args, "m2mclient/"+n)
	}
	e.Kubectl(t, 5*time.Minute, args...)

	count := map[string]int{}
	p := cip.NewListUserPoolClientsPaginator(cognito, &cip.ListUserPoolClientsInput{UserPoolId: aws.String(UserPoolID), MaxResults: aws.Int32(60)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("ListUserPoolClients: %v", err)
		}
		for _, c := range page.UserPoolClients {
			count[aws.ToString(c.ClientName)]++
		}
	}
	var dups []string
	for _, n := range names {
		if c := count["e2e-"+n]; c != 1 {
			t.Errorf("Cognito has %d app clients named e2e-%s, want exactly 1", c, n)
			dups = append(dups, "e2e-"+n)
		}
	}
	if len(dups) > 0 {
		// The emulator's log outlives the killed operator pods: which
		// creates happened, and when.
		out, _ := e.KubectlErr(time.Minute, "-n", OpNS, "logs", "deployment/"+EmulatorSv, "--tail=-1")
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "CreateUserPoolClient") {
				t.Log(line)
			}
		}
		t.Log(e.Kubectl(t, time.Minute, "-n", OpNS, "get", "events", "--sort-by=.lastTimestamp"))
	}
	e.Kubectl(t, 3*time.Minute, "-n", AppNS, "delete", "-f", manifest, "--timeout=2m")
	t.Logf("  %d clients, each with one app client, after two operator deaths", len(names))
}

// waitObserved waits until the operator has finished a pass on the current
// generation of an object and it is Ready.
func (e *Env) waitObserved(t *testing.T, obj string) {
	t.Helper()
	Eventually(t, 2*time.Minute, obj+" observed and Ready", func() ([]byte, error) {
		out, err := e.KubectlErr(time.Minute, "-n", AppNS, "get", obj, "-o",
			`jsonpath={.metadata.generation} {.status.observedGeneration} {.status.conditions[?(@.type=="Ready")].status}`)
		if err != nil {
			return nil, err
		}
		f := strings.Fields(out)
		if len(f) != 3 || f[0] != f[1] || f[2] != "True" {
			return nil, fmt.Errorf("generation, observed, Ready: %q", out)
		}
		return nil, nil
	})
}

// SecretData reads a Secret's data; it is never logged.
func (e *Env) SecretData(t *testing.T, namespace, name string) map[string][]byte {
	t.Helper()
	var s struct {
		Data map[string][]byte `json:"data"`
	}
	if err := json.Unmarshal([]byte(e.Kubectl(t, time.Minute, "-n", namespace, "get", "secret", name, "-o", "json")), &s); err != nil {
		t.Fatalf("Secret %s/%s: %v", namespace, name, err)
	}
	return s.Data
}

// Diagnose logs what helps to understand a failure; never Secret data.
func (e *Env) Diagnose(t *testing.T) {
	for _, args := range [][]string{
		{"get", "nodes,pods,deployments,services,endpointslices", "-A", "-o", "wide"},
		{"get", "resourceservers,m2mclients", "-A", "-o", "yaml"},
		{"get", "events", "-A", "--sort-by=.lastTimestamp"},
		{"-n", OpNS, "logs", "deployment/" + Release, "--tail=200"},
		{"-n", OpNS, "logs", "deployment/" + EmulatorSv, "--tail=100"},
	} {
		out, _ := e.KubectlErr(time.Minute, args...)
		t.Logf("kubectl %s:\n%s", strings.Join(args, " "), out)
	}
	for _, v := range variants {
		for _, app := range []string{v.weather, v.bff} {
			args := []string{"-n", AppNS, "logs", "deployment/" + app, "--all-containers", "--prefix", "--tail=50"}
			out, _ := e.KubectlErr(time.Minute, args...)
			t.Logf("kubectl %s:\n%s", strings.Join(args, " "), out)
		}
	}
}

// Tool prefers the repository's pinned bin/NAME, else PATH.
func Tool(t *testing.T, root, name string) string {
	t.Helper()
	if p := filepath.Join(root, "bin", name); isExecutable(p) {
		return p
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found in %s/bin or PATH: run `make tools`", name, root)
	}
	return p
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// RepoRoot is the directory of the project's go.mod, above the working
// directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/cognito-m2m/operator\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("the repository root (go.mod of github.com/cognito-m2m/operator) is not above the working directory")
		}
		dir = parent
	}
}

// RunErr runs a command with a deadline and returns its combined output.
func (e *Env) RunErr(timeout time.Duration, stdin io.Reader, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = stdin
	// BuildKit: the Dockerfile uses cache mounts and $BUILDPLATFORM.
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.Cluster.Kubeconfig(), "DOCKER_BUILDKIT=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s %s: %w", filepath.Base(name), strings.Join(args, " "), err)
	}
	return out.String(), err
}

// Run is RunErr that fails the test with the command's output.
func (e *Env) Run(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	out, err := e.RunErr(timeout, nil, name, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}

// KubectlErr runs kubectl against the cluster.
func (e *Env) KubectlErr(timeout time.Duration, args ...string) (string, error) {
	return e.RunErr(timeout, nil, e.KubectlBin, append([]string{"--kubeconfig", e.Cluster.Kubeconfig()}, args...)...)
}

// Kubectl runs kubectl and fails the test on error.
func (e *Env) Kubectl(t *testing.T, timeout time.Duration, args ...string) string {
	t.Helper()
	return e.Run(t, timeout, e.KubectlBin, append([]string{"--kubeconfig", e.Cluster.Kubeconfig()}, args...)...)
}

// PortForward forwards a free local port to the target's port for the rest
// of the test and returns http://127.0.0.1:<port>.
func (e *Env) PortForward(t *testing.T, namespace, target string, port int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	local := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, e.KubectlBin, "--kubeconfig", e.Cluster.Kubeconfig(), "-n", namespace,
		"port-forward", target, fmt.Sprintf("%d:%d", local, port), "--address", "127.0.0.1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "Forwarding from") {
				ready <- true
			}
		}
		close(ready)
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("kubectl port-forward %s exited: %s", target, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("kubectl port-forward %s not ready within 1m: %s", target, stderr.String())
	}
	t.Logf("  port-forward %s/%s -> 127.0.0.1:%d", namespace, target, local)
	return fmt.Sprintf("http://127.0.0.1:%d", local)
}

// Cognito returns the unmodified AWS SDK client pointed at the emulator.
func (e *Env) Cognito(t *testing.T, url string) *cip.Client {
	t.Helper()
	return cip.NewFromConfig(aws.Config{
		Region:       Region,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("e2e", "e2e", ""),
	})
}

// HasClient reports whether the emulator's pool lists the app client.
func HasClient(t *testing.T, c *cip.Client, clientID string) bool {
	t.Helper()
	p := cip.NewListUserPoolClientsPaginator(c, &cip.ListUserPoolClientsInput{UserPoolId: aws.String(UserPoolID), MaxResults: aws.Int32(60)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("ListUserPoolClients: %v", err)
		}
		for _, cl := range page.UserPoolClients {
			if aws.ToString(cl.ClientId) == clientID {
				return true
			}
		}
	}
	return false
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(url, token string) (response, error) {
	c := http.Client{Timeout: 15 * time.Second}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return response{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return response{resp.StatusCode, resp.Header, body}, err
}

// Get fetches url, with a bearer token unless empty, and wants the status;
// it returns the body.
func Get(url, token string, want int) ([]byte, error) {
	r, err := do(url, token)
	if err != nil {
		return nil, err
	}
	if r.status != want {
		return r.body, fmt.Errorf("GET %s: %d, want %d: %s", url, r.status, want, bytes.TrimSpace(r.body))
	}
	return r.body, nil
}

// Eventually retries f every two seconds until it succeeds or the timeout
// passes, logging what it waits for.
func Eventually(t *testing.T, timeout time.Duration, what string, f func() ([]byte, error)) []byte {
	t.Helper()
	t.Logf("  waiting up to %s until %s", timeout, what)
	deadline := time.Now().Add(timeout)
	for {
		out, err := f()
		if err == nil {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(2 * time.Second)
	}
}
