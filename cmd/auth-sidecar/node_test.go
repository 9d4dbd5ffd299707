package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-m2m/operator/auth/authtest"
	"github.com/cognito-m2m/operator/internal/emulator"
	"github.com/cognito-m2m/operator/internal/emulator/emulatortest"
	"github.com/cognito-m2m/operator/internal/servicetest"
	"github.com/cognito-m2m/operator/internal/sidecar"
)

// startCommand runs the command (its run function, as main does) with a
// configuration file until the test ends, at debug level, and returns its
// listeners' addresses and its log.
func startCommand(t *testing.T, name, config string, o sidecar.Options) (map[string]string, *servicetest.LogBuffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &servicetest.LogBuffer{}
	addrs := make(chan map[string]string, 1)
	o.Listening = func(a map[string]string) { addrs <- a }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--config", path, "--admin-listen", "127.0.0.1:0", "--log-level", "debug"}, io.Discard, logs, o)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("%s sidecar exited %d:\n%s", name, code, logs)
		}
	})
	select {
	case a := <-addrs:
		return a, logs
	case code := <-done:
		t.Fatalf("%s sidecar exited %d:\n%s", name, code, logs)
	case <-time.After(10 * time.Second):
		t.Fatalf("%s sidecar did not start", name)
	}
	return nil, nil
}

// startNode runs a script of testdata under node until the test ends and
// returns the port it printed.
func startNode(t *testing.T, nodeBin, script string, env ...string) int {
	t.Helper()
	cmd := exec.Command(nodeBin, filepath.Join("testdata", script))
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &servicetest.LogBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", script, err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Process.Kill()
		cmd.Wait()
		if s := stderr.String(); s != "" {
			t.Logf("node %s stderr:\n%s", script, s)
		}
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case l, ok := <-line:
		var ready struct{ Port int }
		if !ok || json.Unmarshal([]byte(l), &ready) != nil || ready.Port == 0 {
			t.Fatalf("node %s printed %q, want {\"port\": N}; stderr:\n%s", script, l, stderr)
		}
		return ready.Port
	case <-time.After(20 * time.Second):
		t.Fatalf("node %s did not start; stderr:\n%s", script, stderr)
	}
	return 0
}

type nodeAnswer struct {
	Status          int
	WWWAuthenticate string
	Body            string
}

// TestNodeServicesThroughSidecars runs a Node.js caller and a Node.js
// service, neither with any OAuth code, through the two sides of the
// sidecar and the Cognito emulator: 200 with the scope, 403 without it, 401
// without a token, the token endpoint as a gRPC client would use it, and no
// failed call across a secret rotation done as the operator does it (a
// second secret in Cognito, the Secret's files rewritten with the new and
// the previous secret, the old secret deleted, the files rewritten again).
// Both sidecars log at debug level; no secret or token may be in the logs.
func TestNodeServicesThroughSidecars(t *testing.T) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("this test runs a Node.js caller and service and needs the node command on PATH (Node.js 18 or later; no npm packages): %v", err)
	}
	ctx := context.Background()
	// One fake clock for Cognito's token times, the caller's renewals and
	// the service's expiry checks, so that an hour passes in a step.
	clock := authtest.NewClock(time.Now())
	emu, _ := emulatortest.NewServer(t, emulator.Options{Now: clock.Now})
	sdk := emulatortest.SDK(emu)
	pool, err := sdk.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("sidecar")})
	if err != nil {
		t.Fatal(err)
	}
	poolID := aws.ToString(pool.UserPool.Id)
	if _, err := sdk.CreateResourceServer(ctx, &cip.CreateResourceServerInput{
		UserPoolId: &poolID, Identifier: aws.String("orders"), Name: aws.String("Orders"),
		Scopes: []types.ResourceServerScopeType{
			{ScopeName: aws.String("read"), ScopeDescription: aws.String("Read orders")},
			{ScopeName: aws.String("admin"), ScopeDescription: aws.String("Administer orders")},
		},
	}); err != nil {
		t.Fatal(err)
	}
	app, err := sdk.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId: &poolID, ClientName: aws.String("node-caller"), GenerateSecret: true,
		AllowedOAuthFlows:               []types.OAuthFlowType{types.OAuthFlowTypeClientCredentials},
		AllowedOAuthFlowsUserPoolClient: true,
		AllowedOAuthScopes:              []string{"orders/read"},
	})
	if err != nil {
		t.Fatal(err)
	}
	clientID, oldSecret := aws.ToString(app.UserPoolClient.ClientId), aws.ToString(app.UserPoolClient.ClientSecret)
	issuer := emu.IssuerURL(poolID)

	// The M2MClient Secret, mounted in the caller's sidecar.
	secretDir := filepath.Join(t.TempDir(), "m2m")
	writeSecret := func(secret, previous string) {
		t.Helper()
		servicetest.Secret{
			ClientID: clientID, ClientSecret: secret, PreviousSecret: previous,
			TokenEndpoint: emu.TokenURL(), Issuer: issuer, UserPoolID: poolID, Scopes: "orders/read",
		}.Write(t, secretDir)
	}
	writeSecret(oldSecret, "")

	// The service: Node behind the service side.
	servicePort := startNode(t, nodeBin, "service.mjs")
	serviceAddrs, serviceLogs := startCommand(t, "service", fmt.Sprintf(`
service:
  listen: 127.0.0.1:0
  upstream: http://127.0.0.1:%d
  issuer: %s
  realm: orders
  routes:
    - {path: /orders, methods: [GET], scopes: [orders/read]}
    - {path: /admin, scopes: [orders/admin]}
    - {path: /healthz, methods: [GET], public: true}
`, servicePort, issuer), sidecar.Options{Clock: clock})

	// The caller: Node behind the caller side.
	callerAddrs, callerLogs := startCommand(t, "caller", fmt.Sprintf(`
caller:
  credentialsDir: %s
  tokenListen: 127.0.0.1:0
  upstreams:
    - name: orders
      listen: 127.0.0.1:0
      url: http://%s
`, secretDir, serviceAddrs["service"]), sidecar.Options{Clock: clock})
	callerPort := startNode(t, nodeBin, "caller.mjs",
		"UPSTREAM=http://"+callerAddrs["upstream/orders"],
		"SERVICE=http://"+serviceAddrs["service"],
		"TOKEN=http://"+callerAddrs["token"])
	caller := "http://127.0.0.1:" + strconv.Itoa(callerPort)

	for _, admin := range []string{serviceAddrs["admin"], callerAddrs["admin"]} {
		servicetest.WaitOK(t, "http://"+admin+"/readyz")
	}

	ask := func(route, path string) (nodeAnswer, error) {
		resp, err := http.Get(caller + route + "?path=" + url.QueryEscape(path))
		if err != nil {
			return nodeAnswer{}, err
		}
		defer resp.Body.Close()
		var a nodeAnswer
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			return nodeAnswer{}, fmt.Errorf("node caller answered %s: %w", resp.Status, err)
		}
		return a, nil
	}
	mustAsk := func(route, path string) nodeAnswer {
		t.Helper()
		a, err := ask(route, path)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}

	// 200 with the scope; the service sees the caller, not the token.
	a := mustAsk("/call", "/orders")
	if a.Status != 200 {
		t.Fatalf("Node caller -> sidecars -> Node service: %d %s", a.Status, a.Body)
	}
	var seen struct{ ClientID, Scopes, Authorization *string }
	if err := json.Unmarshal([]byte(a.Body), &seen); err != nil {
		t.Fatal(err)
	}
	if aws.ToString(seen.ClientID) != clientID || aws.ToString(seen.Scopes) != "orders/read" || seen.Authorization != nil {
		t.Errorf("the Node service saw client %q, scopes %q, Authorization present %v; want %q, %q, absent",
			aws.ToString(seen.ClientID), aws.ToString(seen.Scopes), seen.Authorization != nil, clientID, "orders/read")
	}
	// 403 without the scope.
	if a := mustAsk("/call", "/admin"); a.Status != 403 || !strings.Contains(a.WWWAuthenticate, `error="insufficient_scope"`) {
		t.Errorf("a route needing orders/admin: %d %q, want 403 insufficient_scope", a.Status, a.WWWAuthenticate)
	}
	// 401 without a token.
	if a := mustAsk("/direct", "/orders"); a.Status != 401 || a.WWWAuthenticate != `Bearer realm="orders"` {
		t.Errorf("the service without a token: %d %q, want 401 Bearer realm=\"orders\"", a.Status, a.WWWAuthenticate)
	}
	// The token endpoint, used as a gRPC client would.
	if a := mustAsk("/token", "/orders"); a.Status != 200 {
		t.Errorf("with a token from the token endpoint: %d %s", a.Status, a.Body)
	}

	// renewals reads the caller sidecar's count of tokens obtained.
	renewals := func() int {
		resp, err := http.Get("http://" + callerAddrs["admin"] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == `m2m_client_token_renewals_total{client="caller"}` {
				n, _ := strconv.ParseFloat(f[1], 64)
				return int(n)
			}
		}
		t.Fatal("the caller sidecar's metrics have no m2m_client_token_renewals_total")
		return 0
	}
	// waitRenewals waits until the caller sidecar has taken in its n-th
	// token. The clock moves on only then: a renewal that lands after it
	// moved would schedule the next one from the later time.
	waitRenewals := func(n int) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for renewals() < n {
			if time.Now().After(deadline) {
				t.Fatalf("the caller sidecar has %d tokens, want %d:\n%s", renewals(), n, callerLogs)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitRenewals(1)

	// Load through the whole chain during the rotation.
	var calls, failed atomic.Int64
	var firstFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				calls.Add(1)
				a, err := ask("/call", "/orders")
				if err == nil && a.Status != 200 {
					err = fmt.Errorf("status %d: %s", a.Status, a.Body)
				}
				if err != nil {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()
	settle := func() { time.Sleep(300 * time.Millisecond) } // calls in each phase

	settle()
	// A second secret in Cognito; the Secret holds it and the previous one.
	added, err := sdk.AddUserPoolClientSecret(ctx, &cip.AddUserPoolClientSecretInput{UserPoolId: &poolID, ClientId: &clientID})
	if err != nil {
		t.Fatal(err)
	}
	newSecret, newID := aws.ToString(added.ClientSecretDescriptor.ClientSecretValue), aws.ToString(added.ClientSecretDescriptor.ClientSecretId)
	writeSecret(newSecret, oldSecret)
	settle()
	clock.Advance(50 * time.Minute) // past the renewal point of the first token
	waitRenewals(2)
	settle()

	// The old secret is deleted in Cognito and leaves the Secret.
	list, err := sdk.ListUserPoolClientSecrets(ctx, &cip.ListUserPoolClientSecretsInput{UserPoolId: &poolID, ClientId: &clientID})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list.ClientSecrets {
		if id := aws.ToString(s.ClientSecretId); id != newID {
			if _, err := sdk.DeleteUserPoolClientSecret(ctx, &cip.DeleteUserPoolClientSecretInput{UserPoolId: &poolID, ClientId: &clientID, ClientSecretId: &id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	writeSecret(newSecret, "")
	settle()
	clock.Advance(50 * time.Minute) // the first token has expired; the second is renewed
	waitRenewals(3)
	settle()
	stopLoad()

	t.Logf("%d calls through the Node caller, the two sidecars and the Node service during the rotation, %d failed", calls.Load(), failed.Load())
	if failed.Load() > 0 {
		t.Errorf("%d of %d calls failed during the rotation; first: %v", failed.Load(), calls.Load(), firstFailure.Load())
	}
	if calls.Load() < 20 {
		t.Errorf("only %d calls during the rotation", calls.Load())
	}
	// The last token came with the new secret: only it is left in Cognito.
	if a := mustAsk("/call", "/orders"); a.Status != 200 {
		t.Errorf("after the rotation: %d %s", a.Status, a.Body)
	}

	// No secret and no token in either sidecar's log, at debug level.
	var tokens []string
	req, _ := http.NewRequest("GET", "http://"+callerAddrs["token"]+"/token", nil)
	req.Header.Set(sidecar.TokenRequestHeader, "true")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		json.NewDecoder(resp.Body).Decode(&tr)
		resp.Body.Close()
		tokens = append(tokens, tr.AccessToken)
	}
	if len(tokens) != 1 || tokens[0] == "" {
		t.Fatal("the token endpoint gave no token after the rotation")
	}
	for name, logs := range map[string]string{"caller": callerLogs.String(), "service": serviceLogs.String()} {
		if !strings.Contains(logs, `"level":"DEBUG"`) {
			t.Errorf("the %s sidecar logged nothing at debug level; the check below would prove little:\n%s", name, logs)
		}
		for what, s := range map[string]string{"the old secret": oldSecret, "the new secret": newSecret, "a JWT": "eyJ", "the current token": tokens[0]} {
			if s != "" && strings.Contains(logs, s) {
				t.Errorf("the %s sidecar's log holds %s", name, what)
			}
		}
	}
}
