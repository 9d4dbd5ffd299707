//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

var (
	clusterName = flag.String("e2e.cluster", "cognito-m2m-e2e", "name of the kind cluster to create")
	keepCluster = flag.Bool("e2e.keep-cluster", false, "keep the kind cluster (and print its kubeconfig) after the test")
	kindBinary  = flag.String("e2e.kind", "kind", "kind binary")
)

const (
	release    = "cognito-m2m-operator"
	opNS       = "cognito-m2m-system"
	appNS      = "default"
	emulatorSv = release + "-emulator"
	region     = "us-east-1"
	userPoolID = region + "_local0000" // the chart's fixed emulator pool
	secretName = "weather-reader-credentials"
)

// images are the Dockerfile's targets and the local names they are built
// and loaded under. The example manifests name the weather and bff images
// as they are (pulled only when absent); the chart is given the other two.
var images = []struct{ target, repo, tag string }{
	{"manager", "cognito-m2m/operator", "e2e"},
	{"cognito-emulator", "cognito-m2m/cognito-emulator", "e2e"},
	{"weather", "cognito-m2m/weather", "latest"},
	{"bff", "cognito-m2m/bff", "latest"},
}

func TestKindEndToEnd(t *testing.T) {
	e := newEnv(t)

	t.Log("Step 1/9: create the kind cluster")
	e.createCluster(t)

	t.Log("Step 2/9: build the images and load them into the cluster")
	for _, img := range images {
		ref := img.repo + ":" + img.tag
		t.Logf("  docker build --target %s -t %s", img.target, ref)
		e.run(t, 20*time.Minute, "docker", "build", "--target", img.target, "-t", ref, e.root)
		e.run(t, 5*time.Minute, *kindBinary, "load", "docker-image", ref, "--name", *clusterName)
	}

	t.Log("Step 3/9: helm install the operator with the in-cluster Cognito emulator")
	e.run(t, 6*time.Minute, e.helm, "install", release, filepath.Join(e.root, "charts", "cognito-m2m-operator"),
		"--kubeconfig", e.kubeconfig, "--namespace", opNS, "--create-namespace",
		"--set", "emulator.enabled=true",
		"--set", "image.repository="+images[0].repo, "--set", "image.tag="+images[0].tag, "--set", "image.pullPolicy=Never",
		"--set", "emulator.image.repository="+images[1].repo, "--set", "emulator.image.tag="+images[1].tag,
		"--set", "emulator.image.pullPolicy=Never",
		"--set", "logging.level=debug",
		"--wait", "--timeout", "5m")
	e.kubectl(t, 5*time.Minute, "-n", opNS, "rollout", "status", "deployment/"+release, "--timeout=4m")
	e.kubectl(t, 5*time.Minute, "-n", opNS, "rollout", "status", "deployment/"+emulatorSv, "--timeout=4m")

	t.Log("Step 4/9: apply the sample ResourceServer and M2MClient and wait for Ready")
	e.kubectl(t, time.Minute, "-n", appNS, "apply", "-f", filepath.Join(e.root, "config/samples/cognito_v1alpha1_resourceserver.yaml"))
	e.kubectl(t, time.Minute, "-n", appNS, "apply", "-f", filepath.Join(e.root, "config/samples/cognito_v1alpha1_m2mclient.yaml"))
	e.kubectl(t, 4*time.Minute, "-n", appNS, "wait", "--for=condition=Ready", "resourceserver/weather", "--timeout=3m")
	e.kubectl(t, 4*time.Minute, "-n", appNS, "wait", "--for=condition=Ready", "m2mclient/weather-reader", "--timeout=3m")
	clientID := strings.TrimSpace(e.kubectl(t, time.Minute, "-n", appNS, "get", "m2mclient/weather-reader", "-o", "jsonpath={.status.clientId}"))
	if clientID == "" {
		t.Fatal("M2MClient weather-reader is Ready without status.clientId")
	}
	// Key names only: values never reach the test log.
	keys := e.kubectl(t, time.Minute, "-n", appNS, "get", "secret", secretName, "-o", `go-template={{range $k, $v := .data}}{{$k}} {{end}}`)
	for _, k := range []string{"client_id", "client_secret", "token_endpoint", "issuer", "scopes"} {
		if !slices.Contains(strings.Fields(keys), k) {
			t.Errorf("Secret %s has keys %q, missing %s", secretName, keys, k)
		}
	}
	t.Logf("  app client %s, Secret %s with keys %s", clientID, secretName, keys)

	t.Log("Step 5/9: deploy the weather service and the BFF")
	for _, img := range images[2:] {
		rel := "examples/" + img.target + "/deploy.yaml"
		// The manifests are applied as users apply them; they must name
		// the image this test built.
		if ref := img.repo + ":" + img.tag; !strings.Contains(e.readFile(t, rel), "image: "+ref) {
			t.Fatalf("%s does not use the image %s built from the Dockerfile", rel, ref)
		}
		e.kubectl(t, time.Minute, "-n", appNS, "apply", "-f", filepath.Join(e.root, rel))
	}
	for _, app := range []string{"weather", "bff"} {
		e.kubectl(t, 5*time.Minute, "-n", appNS, "rollout", "status", "deployment/"+app, "--timeout=4m")
	}

	t.Log("Step 6/9: fetch the forecast through the BFF")
	bff := e.portForward(t, appNS, "svc/bff", 8080)
	var forecasts []struct {
		Date         string `json:"date"`
		TemperatureC int    `json:"temperatureC"`
		TemperatureF int    `json:"temperatureF"`
		Summary      string `json:"summary"`
	}
	body := eventually(t, 2*time.Minute, "GET /weatherforecast from the BFF answers 200", func() ([]byte, error) {
		return get(bff+"/weatherforecast", http.StatusOK)
	})
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
	t.Logf("  forecast: %s", bytes.TrimSpace(body))

	t.Log("Step 7/9: the weather service refuses a call without a token")
	weather := e.portForward(t, appNS, "svc/weather", 8080)
	if _, err := get(weather+"/weatherforecast", http.StatusUnauthorized); err != nil {
		t.Errorf("weather without a token: %v", err)
	}

	t.Log("Step 8/9: delete the M2MClient")
	emu := e.cognito(t, e.portForward(t, opNS, "svc/"+emulatorSv, 9229))
	if !hasClient(t, emu, clientID) {
		t.Fatalf("app client %s is not in the emulator's pool %s before the delete", clientID, userPoolID)
	}
	e.kubectl(t, 3*time.Minute, "-n", appNS, "delete", "m2mclient/weather-reader", "--wait=true", "--timeout=2m")

	t.Log("Step 9/9: the app client is gone from the emulator, and the Secret with it")
	if hasClient(t, emu, clientID) {
		t.Errorf("app client %s is still in pool %s after the M2MClient was deleted", clientID, userPoolID)
	}
	_, err := emu.DescribeUserPoolClient(context.Background(), &cip.DescribeUserPoolClientInput{UserPoolId: aws.String(userPoolID), ClientId: aws.String(clientID)})
	if rnf := new(types.ResourceNotFoundException); !errors.As(err, &rnf) {
		t.Errorf("DescribeUserPoolClient after delete: %v, want ResourceNotFoundException", err)
	}
	eventually(t, time.Minute, "the Secret is garbage-collected with its M2MClient", func() ([]byte, error) {
		out, err := e.kubectlErr(time.Minute, "-n", appNS, "get", "secret", secretName, "--ignore-not-found", "-o", "name")
		if err == nil && strings.TrimSpace(out) != "" {
			err = errors.New("still there")
		}
		return nil, err
	})
	t.Log("Done: forecast fetched through the BFF, app client removed from Cognito")
}

// env is one run's tools, paths and cluster.
type env struct {
	root, helm, kubectlBin string
	kubeconfig             string
	dir                    string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{root: root}
	e.helm = tool(t, root, "helm")
	e.kubectlBin = tool(t, root, "kubectl")
	for _, bin := range []string{"docker", *kindBinary} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: the kind end-to-end test needs Docker and kind", bin)
		}
	}
	if e.dir, err = os.MkdirTemp("", "cognito-m2m-e2e-"); err != nil {
		t.Fatal(err)
	}
	e.kubeconfig = filepath.Join(e.dir, "kubeconfig")
	return e
}

// tool prefers the repository's pinned bin/NAME, else PATH.
func tool(t *testing.T, root, name string) string {
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

func repoRoot() (string, error) {
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

// createCluster creates the kind cluster and registers its deletion, or,
// with -e2e.keep-cluster, a note of how to reach it.
func (e *env) createCluster(t *testing.T) {
	t.Helper()
	// Never touch a cluster this run did not create, such as one kept by an
	// earlier -e2e.keep-cluster run.
	if slices.Contains(strings.Fields(e.run(t, time.Minute, *kindBinary, "get", "clusters")), *clusterName) {
		t.Fatalf("kind cluster %q already exists: delete it (%s delete cluster --name %s) or pass -e2e.cluster",
			*clusterName, *kindBinary, *clusterName)
	}
	// Registered first, so that a half-created cluster is deleted too.
	t.Cleanup(func() {
		if t.Failed() {
			e.diagnose(t)
		}
		if *keepCluster {
			t.Logf("Keeping kind cluster %q: export KUBECONFIG=%s; delete it with: %s delete cluster --name %s",
				*clusterName, e.kubeconfig, *kindBinary, *clusterName)
			return
		}
		t.Logf("Deleting kind cluster %q", *clusterName)
		if out, err := e.runErr(5*time.Minute, nil, *kindBinary, "delete", "cluster", "--name", *clusterName, "--kubeconfig", e.kubeconfig); err != nil {
			t.Errorf("kind delete cluster: %v\n%s", err, out)
		}
		os.RemoveAll(e.dir)
	})
	e.run(t, 10*time.Minute, *kindBinary, "create", "cluster", "--name", *clusterName, "--kubeconfig", e.kubeconfig, "--wait", "5m")
}

// diagnose logs what helps to understand a failure; never Secret data.
func (e *env) diagnose(t *testing.T) {
	for _, args := range [][]string{
		{"get", "pods,deployments,services", "-A", "-o", "wide"},
		{"get", "resourceservers,m2mclients", "-A", "-o", "yaml"},
		{"get", "events", "-A", "--sort-by=.lastTimestamp"},
		{"-n", opNS, "logs", "deployment/" + release, "--tail=200"},
		{"-n", opNS, "logs", "deployment/" + emulatorSv, "--tail=100"},
		{"-n", appNS, "logs", "deployment/weather", "--tail=50"},
		{"-n", appNS, "logs", "deployment/bff", "--tail=50"},
	} {
		out, _ := e.kubectlErr(time.Minute, args...)
		t.Logf("kubectl %s:\n%s", strings.Join(args, " "), out)
	}
}

func (e *env) readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runErr runs a command with a deadline and returns its combined output.
func (e *env) runErr(timeout time.Duration, stdin io.Reader, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = stdin
	// BuildKit: the Dockerfile uses cache mounts and $BUILDPLATFORM.
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.kubeconfig, "DOCKER_BUILDKIT=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s %s: %w", filepath.Base(name), strings.Join(args, " "), err)
	}
	return out.String(), err
}

// run is runErr that fails the test with the command's output.
func (e *env) run(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	out, err := e.runErr(timeout, nil, name, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}

func (e *env) kubectlErr(timeout time.Duration, args ...string) (string, error) {
	return e.runErr(timeout, nil, e.kubectlBin, append([]string{"--kubeconfig", e.kubeconfig}, args...)...)
}

func (e *env) kubectl(t *testing.T, timeout time.Duration, args ...string) string {
	t.Helper()
	return e.run(t, timeout, e.kubectlBin, append([]string{"--kubeconfig", e.kubeconfig}, args...)...)
}

// portForward forwards a free local port to the target's port for the rest
// of the test and returns http://127.0.0.1:<port>.
func (e *env) portForward(t *testing.T, namespace, target string, port int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	local := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, e.kubectlBin, "--kubeconfig", e.kubeconfig, "-n", namespace,
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

// cognito returns the unmodified AWS SDK client pointed at the emulator.
func (e *env) cognito(t *testing.T, url string) *cip.Client {
	t.Helper()
	return cip.NewFromConfig(aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("e2e", "e2e", ""),
	})
}

// hasClient reports whether the emulator's pool lists the app client.
func hasClient(t *testing.T, c *cip.Client, clientID string) bool {
	t.Helper()
	p := cip.NewListUserPoolClientsPaginator(c, &cip.ListUserPoolClientsInput{UserPoolId: aws.String(userPoolID), MaxResults: aws.Int32(60)})
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

// get fetches url and wants the status; it returns the body.
func get(url string, want int) ([]byte, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return body, fmt.Errorf("GET %s: %s, want %d: %s", url, resp.Status, want, bytes.TrimSpace(body))
	}
	return body, nil
}

// eventually retries f every two seconds until it succeeds or the timeout
// passes, logging what it waits for.
func eventually(t *testing.T, timeout time.Duration, what string, f func() ([]byte, error)) []byte {
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
