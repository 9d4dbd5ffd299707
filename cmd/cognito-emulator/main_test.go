package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cognito-m2m/operator/internal/emulator"
	"github.com/cognito-m2m/operator/internal/servicetest"
)

// buildBinary compiles the command once per test binary run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := mkdirTemp()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "cognito-emulator")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", &buildError{string(out), err}
	}
	return bin, nil
})

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

// started is a running emulator process and its start-up line.
type started struct {
	cmd    *exec.Cmd
	ready  emulator.ReadyLine
	stderr *servicetest.LogBuffer
}

func start(t *testing.T, args ...string) *started {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &started{cmd: cmd, stderr: &servicetest.LogBuffer{}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatalf("no start-up line; stderr:\n%s", s.stderr)
		}
		if s.ready, ok = emulator.ParseReadyLine(line); !ok {
			t.Fatalf("start-up line %q is not the ready line", line)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no start-up line within 20s; stderr:\n%s", s.stderr)
	}
	return s
}

// stop sends SIGTERM and returns the exit code.
func (s *started) stop(t *testing.T) int {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(10 * time.Second):
		t.Fatal("no exit within 10s of SIGTERM")
		return -1
	}
}

func TestBinaryStartsServesAndStops(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	s := start(t, "--addr", "127.0.0.1:0", "--region", "eu-central-1", "--create-pool", "demo",
		"--create-pool-domain", "demo-auth", "--state-file", state)
	r := s.ready
	if !regexp.MustCompile(`^eu-central-1_[0-9A-Za-z]{9}$`).MatchString(r.UserPoolID) {
		t.Errorf("userPoolId %q is not a pool id", r.UserPoolID)
	}
	base := "http://" + r.Addr
	want := emulator.ReadyLine{Event: emulator.ReadyEvent, Addr: r.Addr, BaseURL: base, Region: "eu-central-1",
		TokenEndpoint: base + "/oauth2/token", UserPoolID: r.UserPoolID, Issuer: base + "/" + r.UserPoolID, Domain: "demo-auth"}
	if r != want {
		t.Errorf("start-up line = %+v, want %+v", r, want)
	}

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
	resp, err = http.Get(r.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil || doc.Issuer != r.Issuer {
		t.Errorf("discovery issuer %q (%v), want %q", doc.Issuer, err, r.Issuer)
	}
	// Every call is logged, without secrets.
	req, _ := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(`{"UserPoolId":"`+r.UserPoolID+`"}`))
	req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.DescribeUserPool")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-central-1/cognito-idp/aws4_request, Signature=topsecretsig")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("DescribeUserPool: %d", resp.StatusCode)
	}

	if code := s.stop(t); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0; stderr:\n%s", code, s.stderr)
	}
	logs := s.stderr.String()
	if !strings.Contains(logs, "operation=DescribeUserPool") || !strings.Contains(logs, "userPoolId="+r.UserPoolID) {
		t.Errorf("no log record of the call:\n%s", logs)
	}
	if strings.Contains(logs, "topsecretsig") {
		t.Error("logs contain the Authorization header")
	}

	// With the same state file, a restart keeps the pool id.
	again := start(t, "--addr", "127.0.0.1:0", "--region", "eu-central-1", "--create-pool", "demo", "--state-file", state)
	if again.ready.UserPoolID != r.UserPoolID {
		t.Errorf("after restart userPoolId = %q, want %q", again.ready.UserPoolID, r.UserPoolID)
	}
}

func TestBinaryCreatesPoolWithFixedID(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	args := []string{"--addr", "127.0.0.1:0", "--create-pool", "local", "--create-pool-id", "us-east-1_local0000",
		"--create-pool-domain", "local-auth", "--state-file", state}
	s := start(t, args...)
	base := "http://" + s.ready.Addr
	want := emulator.ReadyLine{Event: emulator.ReadyEvent, Addr: s.ready.Addr, BaseURL: base, Region: "us-east-1",
		TokenEndpoint: base + "/oauth2/token", UserPoolID: "us-east-1_local0000", Issuer: base + "/us-east-1_local0000", Domain: "local-auth"}
	if s.ready != want {
		t.Errorf("start-up line = %+v, want %+v", s.ready, want)
	}
	resp, err := http.Get(s.ready.Issuer + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("JWKS of the fixed pool: %d", resp.StatusCode)
	}
	if code := s.stop(t); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0; stderr:\n%s", code, s.stderr)
	}

	// A restart on the same state file reuses the pool rather than failing
	// or adding a second one.
	again := start(t, args...)
	if again.ready.UserPoolID != "us-east-1_local0000" {
		t.Errorf("after restart userPoolId = %q", again.ready.UserPoolID)
	}
}

// The state file is written behind the changes: a kill -9 after the flush
// interval loses nothing, and a graceful stop writes what is still pending.
func TestBinaryStateFileWriteBehind(t *testing.T) {
	ctx := context.Background()
	state := filepath.Join(t.TempDir(), "state.json")
	args := func(interval string) []string {
		return []string{"--addr", "127.0.0.1:0", "--create-pool", "p", "--create-pool-id", "us-east-1_wb0000",
			"--state-file", state, "--state-flush-interval", interval}
	}
	createClient := func(s *started, name string) string {
		t.Helper()
		out, err := sdkClient(s).CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
			UserPoolId: aws.String(s.ready.UserPoolID), ClientName: aws.String(name)})
		if err != nil {
			t.Fatalf("CreateUserPoolClient: %v", err)
		}
		return *out.UserPoolClient.ClientId
	}
	describe := func(s *started, id string) error {
		_, err := sdkClient(s).DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{
			UserPoolId: aws.String(s.ready.UserPoolID), ClientId: aws.String(id)})
		return err
	}
	inFile := func(id string) bool {
		b, err := os.ReadFile(state)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Contains(b, []byte(id))
	}

	t.Run("kill -9 after the interval", func(t *testing.T) {
		s := start(t, args("200ms")...)
		id := createClient(s, "before-kill")
		time.Sleep(time.Second) // the interval and a wide margin for a loaded machine
		if err := s.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = s.cmd.Wait()
		if !inFile(id) {
			t.Errorf("client %s not in the state file 1s after its creation", id)
		}
		again := start(t, args("200ms")...)
		if err := describe(again, id); err != nil {
			t.Errorf("client created before kill -9: %v", err)
		}
		if code := again.stop(t); code != 0 {
			t.Errorf("exit code after SIGTERM = %d; stderr:\n%s", code, again.stderr)
		}
	})

	t.Run("graceful stop before the interval", func(t *testing.T) {
		s := start(t, args("1h")...)
		id := createClient(s, "before-stop")
		// Not written yet: the change waits for the interval...
		if inFile(id) {
			t.Fatalf("client %s written at once with a 1h interval: the file is not written behind", id)
		}
		// ...and SIGTERM writes it.
		if code := s.stop(t); code != 0 {
			t.Fatalf("exit code after SIGTERM = %d; stderr:\n%s", code, s.stderr)
		}
		if !inFile(id) {
			t.Errorf("client %s not in the state file after a graceful stop", id)
		}
		again := start(t, args("1h")...)
		if err := describe(again, id); err != nil {
			t.Errorf("client created before the graceful stop: %v", err)
		}
	})
}

// sdkClient is the real AWS SDK client pointed at a started emulator.
func sdkClient(s *started) *cip.Client {
	return cip.NewFromConfig(aws.Config{
		Region:       s.ready.Region,
		BaseEndpoint: aws.String(s.ready.BaseURL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret-key", ""),
	}, func(o *cip.Options) { o.RetryMaxAttempts = 1 })
}

// The binaries that ship do not link test support: the emulator's test
// server lives in emulatortest.
func TestBinariesLinkNoTestSupport(t *testing.T) {
	const module = "github.com/cognito-m2m/operator"
	out, err := exec.Command("go", "list", "-deps", module+"/cmd/manager", module+"/cmd/cognito-emulator").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for pkg := range strings.Lines(string(out)) {
		switch pkg = strings.TrimSpace(pkg); pkg {
		case "testing", "net/http/httptest", module + "/internal/emulator/emulatortest":
			t.Errorf("the manager or the emulator binary links %s", pkg)
		}
	}
}

func TestBinaryRefusesBadStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cases := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"port in use", []string{"--addr", ln.Addr().String()}, 1, "--addr " + ln.Addr().String()},
		{"address without port", []string{"--addr", "localhost"}, 2, "--addr"},
		{"unknown flag", []string{"--port", "9"}, 2, "-port"},
		{"bad region", []string{"--region", "mars"}, 2, "--region"},
		{"bad base URL", []string{"--base-url", "ftp://x"}, 2, "--base-url"},
		{"domain without pool", []string{"--create-pool-domain", "x"}, 2, "--create-pool"},
		{"pool id without pool", []string{"--create-pool-id", "us-east-1_local0000"}, 2, "--create-pool-id needs --create-pool"},
		{"pool id of another region", []string{"--region", "eu-west-1", "--create-pool", "p", "--create-pool-id", "us-east-1_local0000"}, 2, "--create-pool-id"},
		{"pool id with a dash", []string{"--create-pool", "p", "--create-pool-id", "us-east-1_a-b"}, 2, "--create-pool-id"},
		{"zero flush interval", []string{"--state-flush-interval", "0s"}, 2, "--state-flush-interval"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary(t), tc.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := cmd.ProcessState.ExitCode()
			if err == nil || code != tc.wantCode {
				t.Errorf("exit code %d (%v), want %d", code, err, tc.wantCode)
			}
			if !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("stderr does not name %q:\n%s", tc.wantErr, stderr.String())
			}
		})
	}
}

// With --clock-offset the emulator's clock, and so Cognito's timestamps and
// the Date header the AWS SDK measures clock skew from, is ahead of (or behind)
// the machine's.
func TestBinaryClockOffset(t *testing.T) {
	for _, offset := range []time.Duration{5 * time.Minute, -5 * time.Minute} {
		t.Run(offset.String(), func(t *testing.T) {
			s := start(t, "--addr", "127.0.0.1:0", "--create-pool", "skewed", "--clock-offset", offset.String())
			sdk := cip.NewFromConfig(aws.Config{Region: emulator.DefaultRegion, RetryMaxAttempts: 1,
				Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")},
				func(o *cip.Options) { o.BaseEndpoint = aws.String(s.ready.BaseURL) })
			before := time.Now()
			out, err := sdk.CreateUserPoolClient(context.Background(), &cip.CreateUserPoolClientInput{
				UserPoolId: aws.String(s.ready.UserPoolID), ClientName: aws.String("c")})
			if err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			created := aws.ToTime(out.UserPoolClient.CreationDate)
			if created.Before(before.Add(offset-time.Second)) || created.After(after.Add(offset+time.Second)) {
				t.Errorf("CreationDate %s, want about %s", created, before.Add(offset))
			}
			server, ok := awsmiddleware.GetServerTime(out.ResultMetadata)
			if !ok || server.Before(before.Add(offset-2*time.Second)) || server.After(after.Add(offset+time.Second)) {
				t.Errorf("Date header %s (present %v), want about %s", server, ok, before.Add(offset))
			}
		})
	}
}
