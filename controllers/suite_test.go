package controllers_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/controllers"
	"github.com/cognito-m2m/operator/internal/cognito"
	"github.com/cognito-m2m/operator/internal/emulator"
)

// The suite runs one real etcd and kube-apiserver (envtest) and one Cognito emulator
// over HTTP for all tests; each test gets its own namespace, user pool and manager.
var (
	restCfg *rest.Config
	scheme  = runtime.NewScheme()
	emu     *emulator.Emulator
	emuURL  string
	k8s     client.Client
)

func TestMain(m *testing.M) {
	flag.Parse()
	// The operator's logs go to the test output with -v only: they are the first
	// place to look when a test fails, and noise when all pass.
	logTo := io.Discard
	if testing.Verbose() {
		logTo = os.Stderr
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(logTo), zap.UseDevMode(true)))
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	code := m.Run()
	stopSuite()
	os.Exit(code)
}

var (
	suiteOnce sync.Once
	suiteErr  error
	stops     []func()
)

// needSuite starts the API server and the emulator the first time a test needs
// them, so that the pure tests of this package run without etcd.
func needSuite(t *testing.T) {
	t.Helper()
	suiteOnce.Do(func() { suiteErr = startSuite() })
	if suiteErr != nil {
		t.Fatal(suiteErr)
	}
}

func startSuite() error {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join("..", "bin")
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		return fmt.Errorf("controller tests need etcd and kube-apiserver in %s: run `make tools` (%v)", assets, err)
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	var err error
	if restCfg, err = env.Start(); err != nil {
		return fmt.Errorf("starting the test API server: %w", err)
	}
	stops = append(stops, func() { _ = env.Stop() })
	if k8s, err = client.New(restCfg, client.Options{Scheme: scheme}); err != nil {
		return err
	}
	if emu, err = emulator.New(emulator.Options{}); err != nil {
		return err
	}
	srv := httptest.NewServer(emu.Handler())
	stops = append(stops, srv.Close)
	emu.SetBaseURL(srv.URL)
	emuURL = srv.URL
	return nil
}

func stopSuite() {
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
}

// cognitoClient is the real AWS SDK client pointed at the emulator, configured as
// the manager configures it: the SDK's retries are off, the operator's boundary
// retries, so that the tests see the operator's retries and backoff.
func cognitoClient() *cip.Client {
	return cip.NewFromConfig(aws.Config{
		Region:      emulator.DefaultRegion,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret-key", ""),
	}, cognito.SDKOptions(emuURL))
}

// ctrlConfig lets each test start its own manager with the same controller names.
func ctrlConfig() config.Controller {
	return config.Controller{SkipNameValidation: ptr.To(true)}
}

// testEnv is one test's namespace, pool and running manager.
type testEnv struct {
	t      *testing.T
	ns     string
	pool   string
	api    *hookedAPI
	cancel context.CancelFunc
	done   chan struct{}
	mgr    ctrl.Manager
	cfg    controllers.Config
	deps   controllers.Deps
	// watchNamespaces makes the manager namespace-scoped, as --watch-namespaces.
	watchNamespaces []string
	// user, when set, is who the manager acts as (impersonated), so that it has
	// exactly that user's RBAC instead of the suite's administrator's.
	user string
	// wrapClient, when set, wraps the manager's client (its cached reads).
	wrapClient func(client.Client) client.Client
}

type envOption func(*testEnv)

func withConfig(f func(*controllers.Config)) envOption {
	return func(e *testEnv) { f(&e.cfg) }
}

var nsCounter atomic.Int32

// newEnv creates a namespace and a user pool with a domain, and starts a manager
// whose default pool it is, with a 2s drift period.
func newEnv(t *testing.T, opts ...envOption) *testEnv {
	t.Helper()
	needSuite(t)
	ns := fmt.Sprintf("t%d", nsCounter.Add(1))
	if err := k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	pool, err := emu.EnsureUserPool("pool-"+ns, "dom-"+ns)
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, ns: ns, pool: pool, api: &hookedAPI{API: cognitoClient()}}
	e.cfg = controllers.Config{
		Tenancy: controllers.Tenancy{DefaultUserPoolID: pool},
		Region:  emulator.DefaultRegion, TokenEndpoint: emu.TokenURL(), IssuerBase: emuURL, DriftPeriod: 2 * time.Second,
	}
	e.deps = controllers.Deps{Cognito: e.api}
	for _, o := range opts {
		o(e)
	}
	e.start()
	t.Cleanup(e.cleanup)
	return e
}

// start runs a manager configured as cmd/manager configures it.
func (e *testEnv) start() {
	e.t.Helper()
	cfg := restCfg
	if e.user != "" {
		cfg = rest.CopyConfig(restCfg)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: e.user}
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:     scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Cache:      controllers.CacheOptions(e.watchNamespaces),
		Client:     controllers.ClientOptions(),
		Controller: ctrlConfig(),
		NewClient: func(cfg *rest.Config, o client.Options) (client.Client, error) {
			c, err := client.New(cfg, o)
			if err != nil || e.wrapClient == nil {
				return c, err
			}
			return e.wrapClient(c), nil
		},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.mgr = mgr
	deps := e.deps
	deps.Recorder = mgr.GetEventRecorder("cognito-m2m-operator")
	deps.APIReader = mgr.GetAPIReader()
	if err := controllers.Setup(mgr, e.cfg, deps); err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	go func() {
		defer close(e.done)
		if err := mgr.Start(ctx); err != nil {
			e.t.Errorf("manager: %v", err)
		}
	}()
}

// stop stops the manager as a kill would: nothing more is reconciled.
func (e *testEnv) stop() {
	if e.cancel != nil {
		e.cancel()
		<-e.done
		e.cancel = nil
	}
}

// killOn makes the manager die at its first call of op: before the call, or after
// Cognito answered it. The manager's context ends there, so nothing after that
// point (not a status write, not a Secret) reaches the API server.
func (e *testEnv) killOn(op string, before bool) {
	cancel := e.cancel
	var once sync.Once
	kill := func(called string) error {
		if called != op {
			return nil
		}
		killed := false
		once.Do(func() { cancel(); killed = true })
		if killed {
			return errors.New("killed")
		}
		return nil
	}
	if before {
		e.api.setHooks(kill, nil)
	} else {
		e.api.setHooks(nil, kill)
	}
}

// waitKilled waits until the manager killed by killOn has stopped.
func (e *testEnv) waitKilled() {
	e.t.Helper()
	select {
	case <-e.done:
		e.cancel = nil
	case <-time.After(30 * time.Second):
		e.t.Fatal("the kill point was never reached")
	}
}

// restart starts a new manager, as a restarted process would, with a fresh call
// counter and no hooks.
func (e *testEnv) restart() {
	e.api = &hookedAPI{API: cognitoClient()}
	e.deps.Cognito = e.api
	e.start()
}

// cleanup deletes the test's objects with the manager still running (so finalizers
// run), then stops it.
func (e *testEnv) cleanup() {
	if e.cancel == nil {
		e.start()
	}
	ctx := context.Background()
	_ = k8s.DeleteAllOf(ctx, &v1alpha1.M2MClient{}, client.InNamespace(e.ns))
	_ = k8s.DeleteAllOf(ctx, &v1alpha1.ResourceServer{}, client.InNamespace(e.ns))
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var a v1alpha1.M2MClientList
		var b v1alpha1.ResourceServerList
		_ = k8s.List(ctx, &a, client.InNamespace(e.ns))
		_ = k8s.List(ctx, &b, client.InNamespace(e.ns))
		if len(a.Items)+len(b.Items) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.stop()
}

// eventually polls cond until it returns nil, or fails the test with its last error.
func eventually(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("condition not met in %s: %v", timeout, err)
}

// waitCondition waits for an object's condition to have status (and reason, if set).
func waitCondition(t *testing.T, obj client.Object, condType string, status metav1.ConditionStatus, reason string) {
	t.Helper()
	eventually(t, 30*time.Second, func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		conds := *obj.(interface{ GetConditions() *[]metav1.Condition }).GetConditions()
		c := apimeta.FindStatusCondition(conds, condType)
		if c == nil {
			return fmt.Errorf("no %s condition yet", condType)
		}
		if c.Status != status || (reason != "" && c.Reason != reason) {
			return fmt.Errorf("%s is %s/%s (%s), want %s/%s", condType, c.Status, c.Reason, c.Message, status, reason)
		}
		if status == metav1.ConditionTrue && condType == v1alpha1.ConditionReady && c.ObservedGeneration != obj.GetGeneration() {
			return fmt.Errorf("Ready is for generation %d, object is at %d", c.ObservedGeneration, obj.GetGeneration())
		}
		return nil
	})
}

func waitReady(t *testing.T, obj client.Object) {
	t.Helper()
	waitCondition(t, obj, v1alpha1.ConditionReady, metav1.ConditionTrue, "")
}

func waitGone(t *testing.T, obj client.Object) {
	t.Helper()
	eventually(t, 30*time.Second, func() error {
		err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (err %v)", err)
	})
}

func mustCreate(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8s.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// hookedAPI is the real SDK client with a hook before and after each call, to count
// calls per test and to inject an interruption at an exact point.
type hookedAPI struct {
	cognito.API
	mu     sync.Mutex
	calls  map[string]int
	after  func(op string) error
	before func(op string) error
}

func (h *hookedAPI) record(op string) error {
	h.mu.Lock()
	if h.calls == nil {
		h.calls = map[string]int{}
	}
	h.calls[op]++
	before := h.before
	h.mu.Unlock()
	if before != nil {
		return before(op)
	}
	return nil
}

func (h *hookedAPI) afterCall(op string) error {
	h.mu.Lock()
	after := h.after
	h.mu.Unlock()
	if after != nil {
		return after(op)
	}
	return nil
}

func (h *hookedAPI) counts() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for k, v := range h.calls {
		out[k] = v
	}
	return out
}

func (h *hookedAPI) reset() {
	h.mu.Lock()
	h.calls = nil
	h.mu.Unlock()
}

func (h *hookedAPI) setHooks(before, after func(op string) error) {
	h.mu.Lock()
	h.before, h.after = before, after
	h.mu.Unlock()
}

func keyOf(obj client.Object) client.ObjectKey { return client.ObjectKeyFromObject(obj) }

func inNS(ns string) client.InNamespace { return client.InNamespace(ns) }

// editBackoff is how long a test's spec edit keeps trying through conflicts: a
// manager failing a create writes the object's status after each try, and a
// person's `kubectl edit` would also try again, for seconds, not milliseconds.
var editBackoff = wait.Backoff{Steps: 20, Duration: 20 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Cap: 2 * time.Second}
