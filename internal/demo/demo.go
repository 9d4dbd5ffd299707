// Package demo brings up the whole system on one machine, offline, with no AWS
// account and no Docker, and runs the project's story end to end: a local
// Kubernetes control plane (etcd and kube-apiserver), the Cognito emulator and
// the operator as processes; the example ResourceServer and M2MClient applied
// with kubectl and waited on until Ready; the weather service and the BFF
// started with the credentials from the Secret the operator wrote, laid out as
// the kubelet mounts a Secret; a call through the BFF, and a call to weather
// without a token that it refuses.
//
// `make demo` (cmd/demo) and the local end-to-end test (test/local) run the same
// steps, so what the README promises is what the tests check.
//
// Every process writes to its own log file in the run directory. Env.Close stops
// everything in reverse order and removes the run directory, or, after a failure,
// keeps the logs.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/cognito-m2m/operator/auth/authtest"
	"github.com/cognito-m2m/operator/auth/credentials"
	"github.com/cognito-m2m/operator/examples/bff/bffapi"
	"github.com/cognito-m2m/operator/internal/emulator"
)

// Module is the module path that identifies the repository root.
const Module = "github.com/cognito-m2m/operator"

// The example objects of config/samples.
const (
	ResourceServerName = "weather"
	M2MClientName      = "weather-reader"
	SecretName         = "weather-reader-credentials"
)

// How long a stopped process gets to shut down before it is killed: the
// operator more (it finishes its reconciles and releases its lease; the
// chart gives it 30s), the emulator and the services less.
const (
	operatorGrace = 20 * time.Second
	serviceGrace  = 10 * time.Second
)

// Steps is the number of steps of the whole scenario: Up's, then Forecast,
// Unauthenticated and CognitoCalls.
const Steps = 11

// Options configure a run. The zero value runs the demo from the repository that
// contains the working directory.
type Options struct {
	// Root is the repository root; default: the directory holding the module's
	// go.mod, found from the working directory upwards.
	Root string
	// ToolsDir holds etcd, kube-apiserver and kubectl; default $KUBEBUILDER_ASSETS,
	// else <Root>/bin, where `make tools` builds them.
	ToolsDir string
	// Out receives the progress lines; default os.Stdout.
	Out io.Writer
	// Namespace of the example objects; default "default".
	Namespace string
	// Region of the emulated user pool; default us-east-1.
	Region string
	// StepTimeout bounds each step that waits; default 2m (cold builds included).
	StepTimeout time.Duration
	// Packages are the commands built into the run directory; default the
	// manager, the emulator, weather and the BFF.
	Packages []string
	// EmulatorArgs and OperatorArgs are flags added to the emulator's and the
	// operator's own, such as --quotas or --drift-period.
	EmulatorArgs, OperatorArgs []string
}

// Env is a running demo: where everything is and how to reach it.
type Env struct {
	opts     Options
	progress *Progress
	tools    string

	// RunDir holds the logs, the binaries, the kubeconfig and the mounted Secret.
	RunDir string
	// LogDir holds one log file per process, and kubectl.log.
	LogDir string
	// Kubeconfig is an admin kubeconfig for the local API server.
	Kubeconfig string
	// Kubectl is the kubectl binary used.
	Kubectl string
	// APIServerURL is the local API server's address.
	APIServerURL string
	// EmulatorURL is the Cognito emulator's base URL; UserPoolID its pool.
	EmulatorURL, UserPoolID, Region string
	// TokenEndpoint and Issuer are the pool's, as the operator writes them.
	TokenEndpoint, Issuer string
	// OperatorMetricsURL and OperatorProbeURL are the operator's endpoints.
	OperatorMetricsURL, OperatorProbeURL string
	// CredentialsDir is where the Secret is mounted; ClientID is its client_id.
	CredentialsDir, ClientID string
	// WeatherURL and BFFURL are the example services' base URLs.
	WeatherURL, BFFURL string

	binDir   string
	files    []*os.File // logs written by this process, closed by Close
	cp       *envtest.Environment
	procs    []*process
	operator *process // the last operator started
	metrics  *metricsAccess
	failed   bool
}

// New checks the tools and creates the run directory; it starts nothing.
func New(opts Options) (*Env, error) {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.StepTimeout == 0 {
		opts.StepTimeout = 2 * time.Minute
	}
	if opts.Packages == nil {
		opts.Packages = []string{"./cmd/manager", "./cmd/cognito-emulator", "./examples/weather", "./examples/bff"}
	}
	if opts.Root == "" {
		root, err := FindRoot()
		if err != nil {
			return nil, err
		}
		opts.Root = root
	}
	tools := opts.ToolsDir
	if tools == "" {
		tools = os.Getenv("KUBEBUILDER_ASSETS")
	}
	if tools == "" {
		tools = filepath.Join(opts.Root, "bin")
	}
	var missing []string
	for _, bin := range []string{"etcd", "kube-apiserver", "kubectl"} {
		if _, err := os.Stat(filepath.Join(tools, bin)); err != nil {
			missing = append(missing, bin)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s not found in %s: run `make tools` to build them (pinned, offline from the Go module proxy), or set KUBEBUILDER_ASSETS",
			strings.Join(missing, ", "), tools)
	}
	dir, err := os.MkdirTemp("", "cognito-m2m-demo-")
	if err != nil {
		return nil, err
	}
	e := &Env{
		opts: opts, tools: tools, progress: NewProgress(opts.Out, Steps),
		RunDir: dir, LogDir: filepath.Join(dir, "logs"), binDir: filepath.Join(dir, "bin"),
		Kubeconfig: filepath.Join(dir, "kubeconfig"), Kubectl: filepath.Join(tools, "kubectl"),
		CredentialsDir: filepath.Join(dir, "secrets", SecretName), Region: opts.Region,
	}
	if err := os.MkdirAll(e.LogDir, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return e, nil
}

// FindRoot returns the repository root: the nearest directory upwards from the
// working directory whose go.mod declares this module.
func FindRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("module "+Module)) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("not inside the %s repository: run from its checkout", Module)
		}
		dir = parent
	}
}

// Progress is where the steps are reported, for a caller's own lines.
func (e *Env) Progress() *Progress { return e.progress }

// stillInterval is how often a long step says it is still running: a person should
// never wait 30 seconds without a line.
const stillInterval = 20 * time.Second

// step runs one numbered step with its own timeout. A failure marks the run
// failed, so that Close keeps the logs; an interruption (ctx ended) does not.
func (e *Env) step(ctx context.Context, title string, run func(ctx context.Context, s *Step) error) error {
	if ctx.Err() != nil {
		return ErrInterrupted // the last step was not cancellable and ended after it
	}
	s := e.progress.Start(title)
	sctx, cancel := context.WithTimeoutCause(ctx, e.opts.StepTimeout, fmt.Errorf("step timed out after %s", e.opts.StepTimeout))
	defer cancel()
	defer s.keepAlive(stillInterval)()
	err := run(sctx, s)
	if err != nil && ctx.Err() != nil {
		// Stopped by the caller: not a failure, so nothing is kept.
		s.Done(ErrInterrupted)
		return ErrInterrupted
	}
	s.Done(err)
	if err != nil {
		e.failed = true
		return &StepError{Step: s.n, Title: title, Err: err}
	}
	return nil
}

// StepError says which step failed.
type StepError struct {
	Step  int
	Title string
	Err   error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("step %d/%d (%s) failed: %v", e.Step, Steps, e.Title, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// Up runs the steps that bring the system up, 1 to 8: build, control plane,
// emulator, operator, apply the samples, wait for Ready, mount the Secret, start
// weather and the BFF. It stops at the first failure; call Close in every case.
func (e *Env) Up(ctx context.Context) error {
	steps := []struct {
		title string
		run   func(context.Context, *Step) error
	}{
		{"Building manager, cognito-emulator, weather and bff (go build)", e.build},
		{"Starting etcd and kube-apiserver from " + e.tools + ", installing the CRDs from config/crd/bases", e.startControlPlane},
		{"Starting the Cognito emulator (waiting for its ready line on stdout)", e.startEmulator},
		{"Starting the operator (waiting for its /readyz)", e.startOperator},
		{"Applying config/samples (kubectl apply -f config/samples/ -n " + e.opts.Namespace + ")", e.applySamples},
		{fmt.Sprintf("Waiting for Ready (kubectl wait --for=condition=Ready resourceserver/%s m2mclient/%s)", ResourceServerName, M2MClientName), e.waitReady},
		{"Mounting Secret " + SecretName + " as files, the way the kubelet does", e.mountSecret},
		{"Starting weather and the BFF with those credentials (waiting for their /readyz)", e.startServices},
	}
	for _, s := range steps {
		if err := e.step(ctx, s.title, s.run); err != nil {
			return err
		}
	}
	return nil
}

func (e *Env) build(ctx context.Context, s *Step) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the go command is needed to build the binaries: %w", err)
	}
	if err := os.MkdirAll(e.binDir, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(e.LogDir, "build.log")
	log, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.CommandContext(ctx, goBin, append([]string{"build", "-o", e.binDir + string(filepath.Separator)}, e.opts.Packages...)...)
	cmd.Dir = e.opts.Root
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("go build: %w; see %s", context.Cause(ctx), logPath)
		}
		return fmt.Errorf("go build: %w; the end of %s:\n%s", err, logPath, tail(logPath, 20))
	}
	s.Detailf("binaries in %s", e.binDir)
	return nil
}

func (e *Env) startControlPlane(ctx context.Context, s *Step) error {
	etcdLog, err := e.createLog("etcd.log")
	if err != nil {
		return err
	}
	apiLog, err := e.createLog("kube-apiserver.log")
	if err != nil {
		return err
	}
	envtestLog, err := e.createLog("envtest.log")
	if err != nil {
		return err
	}
	// envtest logs through controller-runtime's global logger: to a file, and
	// never unset (controller-runtime prints a stack trace to stderr when it is).
	ctrllog.SetLogger(zap.New(zap.WriteTo(envtestLog)))
	timeout := time.Until(deadline(ctx))
	e.cp = &envtest.Environment{
		ControlPlane: envtest.ControlPlane{
			Etcd:      &envtest.Etcd{Out: etcdLog, Err: etcdLog},
			APIServer: &envtest.APIServer{Out: apiLog, Err: apiLog},
		},
		BinaryAssetsDirectory:    e.tools,
		CRDDirectoryPaths:        []string{filepath.Join(e.opts.Root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: timeout,
		ControlPlaneStopTimeout:  20 * time.Second,
	}
	cfg, err := e.cp.Start()
	if err != nil {
		return fmt.Errorf("%w; see %s and %s", err, etcdLog.Name(), apiLog.Name())
	}
	admin, err := e.cp.AddUser(envtest.User{Name: "demo-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		return err
	}
	if err := os.WriteFile(e.Kubeconfig, kc, 0o600); err != nil {
		return err
	}
	e.APIServerURL = cfg.Host
	s.Detailf("API server %s, kubeconfig %s", e.APIServerURL, e.Kubeconfig)
	return nil
}

func (e *Env) startEmulator(ctx context.Context, s *Step) error {
	p, err := e.startProcess("cognito-emulator", serviceGrace, filepath.Join(e.binDir, "cognito-emulator"), append([]string{
		"--addr", "127.0.0.1:0", "--region", e.Region,
		"--create-pool", "demo", "--create-pool-domain", "demo",
	}, e.opts.EmulatorArgs...), nil)
	if err != nil {
		return err
	}
	for {
		if ready, ok := findReadyLine(p.log); ok {
			if ready.UserPoolID == "" || ready.BaseURL == "" {
				return fmt.Errorf("the emulator's ready line has no userPoolId or baseUrl; see %s", p.log)
			}
			e.EmulatorURL, e.UserPoolID = ready.BaseURL, ready.UserPoolID
			e.TokenEndpoint, e.Issuer = ready.TokenEndpoint, ready.Issuer
			s.Detailf("user pool %s at %s", e.UserPoolID, e.EmulatorURL)
			return nil
		}
		if err := p.exited(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no ready line: %w; see %s", context.Cause(ctx), p.log)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// findReadyLine looks for the emulator's ready line in its log, which also
// holds its stderr.
func findReadyLine(path string) (emulator.ReadyLine, bool) {
	b, _ := os.ReadFile(path)
	return emulator.FindReadyLine(string(b))
}

func (e *Env) startOperator(ctx context.Context, s *Step) error {
	addrs, err := freeAddrs(2)
	if err != nil {
		return err
	}
	metrics, probe := addrs[0], addrs[1]
	access, err := e.prepareMetrics(ctx)
	if err != nil {
		return err
	}
	e.OperatorMetricsURL, e.OperatorProbeURL = "https://"+metrics+"/metrics", "http://"+probe
	p, err := e.startProcess("operator", operatorGrace, filepath.Join(e.binDir, "manager"), append([]string{
		"--region", e.Region,
		"--user-pool-id", e.UserPoolID,
		"--cognito-endpoint", e.EmulatorURL,
		"--token-endpoint", e.TokenEndpoint,
		"--issuer-base-url", e.EmulatorURL,
		"--metrics-bind-address", metrics,
		"--metrics-cert-dir", access.certDir,
		"--health-probe-bind-address", probe,
	}, e.opts.OperatorArgs...), []string{
		"KUBECONFIG=" + e.Kubeconfig,
		// The emulator checks that a request is signed, not by whom.
		"AWS_ACCESS_KEY_ID=demo", "AWS_SECRET_ACCESS_KEY=demo-not-a-secret", "AWS_SESSION_TOKEN=",
		"AWS_REGION=" + e.Region, "AWS_EC2_METADATA_DISABLED=true", "AWS_PROFILE=", "AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
	})
	if err != nil {
		return err
	}
	e.operator = p
	if err := waitHTTP(ctx, p, e.OperatorProbeURL+"/readyz"); err != nil {
		return err
	}
	s.Detailf("ready at %s/readyz; metrics %s; log %s", e.OperatorProbeURL, e.OperatorMetricsURL, p.log)
	return nil
}

// KubectlCmd runs kubectl against the local API server, from the repository
// root, and returns its stdout. Commands and their stderr go to kubectl.log;
// stdout too unless quiet (it may hold a Secret).
func (e *Env) KubectlCmd(ctx context.Context, quiet bool, args ...string) ([]byte, error) {
	log, err := os.OpenFile(filepath.Join(e.LogDir, "kubectl.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	fmt.Fprintf(log, "$ kubectl %s\n", strings.Join(args, " "))
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, e.Kubectl, args...)
	cmd.Dir = e.opts.Root
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.Kubeconfig, "KUBECACHEDIR="+filepath.Join(e.RunDir, "kube-cache"))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if !quiet {
		log.Write(stdout.Bytes())
	}
	log.Write(stderr.Bytes())
	if err != nil {
		return stdout.Bytes(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

func (e *Env) applySamples(ctx context.Context, s *Step) error {
	// The README's command, as a user types it.
	out, err := e.KubectlCmd(ctx, false, "apply", "-f", "config/samples/", "-n", e.opts.Namespace)
	s.Detailf("%s", strings.TrimSpace(string(out)))
	return err
}

func (e *Env) waitReady(ctx context.Context, s *Step) error {
	out, err := e.WaitReady(ctx, "resourceserver/"+ResourceServerName, "m2mclient/"+M2MClientName)
	s.Detailf("%s", strings.TrimSpace(string(out)))
	if err != nil {
		// Say why it is not Ready: the conditions hold the operator's reason.
		if conds, cerr := e.KubectlCmd(context.WithoutCancel(ctx), false, "get", "resourceservers,m2mclients", "-n", e.opts.Namespace,
			"-o", `jsonpath={range .items[*]}{.kind}/{.metadata.name}: {range .status.conditions[*]}{.type}={.status} ({.reason}: {.message}) {end}{"\n"}{end}`); cerr == nil {
			err = fmt.Errorf("%w\n%s(operator log: %s)", err, conds, filepath.Join(e.LogDir, "operator.log"))
		}
	}
	return err
}

// WaitReady waits with kubectl wait until the objects are Ready, up to the
// step timeout.
func (e *Env) WaitReady(ctx context.Context, objects ...string) ([]byte, error) {
	timeout := time.Until(deadline(ctx)).Round(time.Second)
	args := append([]string{"wait", "--for=condition=Ready", "-n", e.opts.Namespace, "--timeout=" + timeout.String()}, objects...)
	return e.KubectlCmd(ctx, false, args...)
}

// ReadSecret reads a Secret's data with kubectl. The values are not logged.
func (e *Env) ReadSecret(ctx context.Context, name string) (map[string][]byte, error) {
	out, err := e.KubectlCmd(ctx, true, "get", "secret", name, "-n", e.opts.Namespace, "-o", "json")
	if err != nil {
		return nil, err
	}
	var secret struct {
		Data map[string][]byte `json:"data"`
	}
	if err := json.Unmarshal(out, &secret); err != nil {
		return nil, fmt.Errorf("decoding Secret %s: %w", name, err)
	}
	return secret.Data, nil
}

// secretKeys are the keys the operator always writes.
var secretKeys = []string{
	credentials.KeyClientID, credentials.KeyClientSecret, credentials.KeyTokenEndpoint,
	credentials.KeyIssuer, credentials.KeyScopes, credentials.KeyUserPoolID,
}

func (e *Env) mountSecret(ctx context.Context, s *Step) error {
	data, err := e.ReadSecret(ctx, SecretName)
	if err != nil {
		return err
	}
	for _, k := range secretKeys {
		if len(data[k]) == 0 {
			return fmt.Errorf("Secret %s has no %s", SecretName, k)
		}
	}
	if err := authtest.WriteSecretDir(e.CredentialsDir, secretFiles(data)); err != nil {
		return err
	}
	e.ClientID = string(data[credentials.KeyClientID])
	s.Detailf("%s/", e.CredentialsDir)
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := string(data[k])
		if credentials.IsSecretKey(k) {
			v = Mask(v)
		}
		s.Detailf("  %-15s %s", k, v)
	}
	return nil
}

// Mask hides a secret entirely, keeping only that it is set.
func Mask(secret string) string {
	if secret == "" {
		return "(empty)"
	}
	return "******** (masked)"
}

func (e *Env) startServices(ctx context.Context, s *Step) error {
	addrs, err := freeAddrs(2)
	if err != nil {
		return err
	}
	weatherAddr, bffAddr := addrs[0], addrs[1]
	e.WeatherURL, e.BFFURL = "http://"+weatherAddr, "http://"+bffAddr
	weather, err := e.startProcess("weather", serviceGrace, filepath.Join(e.binDir, "weather"), []string{
		"--listen", weatherAddr, "--issuer-file", filepath.Join(e.CredentialsDir, credentials.KeyIssuer),
	}, nil)
	if err != nil {
		return err
	}
	bff, err := e.startProcess("bff", serviceGrace, filepath.Join(e.binDir, "bff"), []string{
		"--listen", bffAddr, "--credentials-dir", e.CredentialsDir, "--weather-url", e.WeatherURL,
	}, nil)
	if err != nil {
		return err
	}
	if err := waitHTTP(ctx, weather, e.WeatherURL+"/readyz"); err != nil {
		return err
	}
	if err := waitHTTP(ctx, bff, e.BFFURL+"/readyz"); err != nil {
		return err
	}
	s.Detailf("weather %s, BFF %s", e.WeatherURL, e.BFFURL)
	return nil
}

// Forecast is step 9: GET /weatherforecast on the BFF, which calls weather with
// a token for the mounted credentials. It prints the forecasts as a table.
func (e *Env) Forecast(ctx context.Context) ([]bffapi.Forecast, error) {
	var forecasts []bffapi.Forecast
	url := e.BFFURL + "/weatherforecast"
	err := e.step(ctx, "Calling the BFF: GET "+url, func(ctx context.Context, s *Step) error {
		status, body, _, err := get(ctx, url, "")
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("the BFF answered %d: %s (logs: bff.log, weather.log)", status, strings.TrimSpace(string(body)))
		}
		if err := json.Unmarshal(body, &forecasts); err != nil {
			return fmt.Errorf("decoding the forecasts: %w", err)
		}
		s.Detailf("200 OK, %d forecasts fetched from weather with a token for client %s:", len(forecasts), e.ClientID)
		s.Detailf("  %-10s  %5s  %5s  %s", "Date", "°C", "°F", "Summary")
		for _, f := range forecasts {
			s.Detailf("  %-10s  %5d  %5d  %s", f.Date, f.TemperatureC, f.TemperatureF, f.Summary)
		}
		return nil
	})
	return forecasts, err
}

// Unauthenticated is step 10: GET /weatherforecast on weather with no token. It
// returns the status and the WWW-Authenticate header; anything but 401 fails.
func (e *Env) Unauthenticated(ctx context.Context) (status int, challenge string, err error) {
	url := e.WeatherURL + "/weatherforecast"
	err = e.step(ctx, "Calling weather without a token: GET "+url+" (expecting 401)", func(ctx context.Context, s *Step) error {
		var body []byte
		var h http.Header
		if status, body, h, err = get(ctx, url, ""); err != nil {
			return err
		}
		challenge = h.Get("WWW-Authenticate")
		if status != http.StatusUnauthorized {
			return fmt.Errorf("weather answered %d, want 401: %s", status, strings.TrimSpace(string(body)))
		}
		s.Detailf("%d %s, refused as it should be", status, http.StatusText(status))
		s.Detailf("WWW-Authenticate: %s", challenge)
		return nil
	})
	return status, challenge, err
}

// CognitoCalls is step 11: the operator's own count of its Cognito requests, read
// from its /metrics, by operation and outcome. No request counted is a failure.
func (e *Env) CognitoCalls(ctx context.Context) (map[string]float64, error) {
	calls := map[string]float64{}
	err := e.step(ctx, "Reading the operator's Cognito request counts from "+e.OperatorMetricsURL, func(ctx context.Context, s *Step) error {
		if e.metrics == nil {
			return errors.New("the operator was not started")
		}
		status, body, err := e.metrics.scrape(ctx, e.OperatorMetricsURL)
		if err != nil {
			return err
		}
		s.Detailf("as ServiceAccount %s/%s, which may GET /metrics and nothing else", e.opts.Namespace, MetricsReader)
		if status != http.StatusOK {
			return fmt.Errorf("the operator's metrics answered %d", status)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("parsing the operator's metrics: %w", err)
		}
		fam := families[cognitoRequestsMetric]
		if fam == nil || len(fam.GetMetric()) == 0 {
			return fmt.Errorf("the operator's metrics have no %s series", cognitoRequestsMetric)
		}
		s.Detailf("%s:", cognitoRequestsMetric)
		for _, m := range fam.GetMetric() {
			var op, outcome string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "operation":
					op = l.GetValue()
				case "outcome":
					outcome = l.GetValue()
				}
			}
			calls[op+" "+outcome] = m.GetCounter().GetValue()
		}
		for _, k := range slices.Sorted(maps.Keys(calls)) {
			s.Detailf("  %-40s %4.0f", k, calls[k])
		}
		return nil
	})
	return calls, err
}

// cognitoRequestsMetric is the operator's count of Cognito requests.
const cognitoRequestsMetric = "cognito_m2m_cognito_requests_total"

// Get calls url with an optional bearer token and returns the status, the body
// and the headers. The token never appears in errors.
func Get(ctx context.Context, url, token string) (int, []byte, http.Header, error) {
	return get(ctx, url, token)
}

func get(ctx context.Context, url, token string) (int, []byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, resp.Header, err
}

// Cognito returns the AWS SDK's Cognito client pointed at the emulator, as the
// operator uses it.
func (e *Env) Cognito() *cip.Client {
	return cip.NewFromConfig(aws.Config{
		Region:      e.Region,
		Credentials: awscreds.NewStaticCredentialsProvider("demo", "demo-not-a-secret", ""),
	}, func(o *cip.Options) { o.BaseEndpoint = aws.String(e.EmulatorURL) })
}

// Failed reports whether a step failed, in which case Close keeps the logs.
func (e *Env) Failed() bool { return e.failed }

// MarkFailed makes Close keep the logs, for a caller whose own check failed.
func (e *Env) MarkFailed() { e.failed = true }

// Close stops every process in reverse order of start (the services, the
// operator, the emulator), then the API server and etcd, and removes the run
// directory; after a failure it keeps the logs and says where they are.
func (e *Env) Close() error {
	for _, p := range slices.Backward(e.procs) {
		p.stop()
	}
	var errs []error
	if e.cp != nil {
		if err := e.cp.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping the control plane: %w", err))
		}
	}
	for _, f := range e.files {
		f.Close()
	}
	if e.failed {
		// Keep the logs only: the binaries are large and the credentials are secret.
		entries, _ := os.ReadDir(e.RunDir)
		for _, ent := range entries {
			if ent.Name() != "logs" {
				if err := os.RemoveAll(filepath.Join(e.RunDir, ent.Name())); err != nil {
					errs = append(errs, err)
				}
			}
		}
	} else if err := os.RemoveAll(e.RunDir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// createLog creates a log file that Close closes.
func (e *Env) createLog(name string) (*os.File, error) {
	f, err := os.Create(filepath.Join(e.LogDir, name))
	if err == nil {
		e.files = append(e.files, f)
	}
	return f, err
}

// deadline is ctx's deadline, or a minute from now.
func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(time.Minute)
}

// SyncSecret refreshes the mounted Secret every interval until ctx ends, as the
// kubelet does, so that a rotated client secret reaches the BFF. Failures are
// written to kubectl.log and retried.
func (e *Env) SyncSecret(ctx context.Context, interval time.Duration) {
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		data, err := e.ReadSecret(ctx, SecretName)
		if err != nil || ctx.Err() != nil {
			return
		}
		if e.secretChanged(data) {
			_ = authtest.WriteSecretDir(e.CredentialsDir, secretFiles(data))
		}
	}, interval)
}

// secretChanged compares data with the mounted files.
func (e *Env) secretChanged(data map[string][]byte) bool {
	for k, v := range data {
		cur, err := os.ReadFile(filepath.Join(e.CredentialsDir, k))
		if err != nil || !bytes.Equal(cur, v) {
			return true
		}
	}
	return false
}
