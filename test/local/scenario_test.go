// Package local is the end-to-end test on this machine: the `make demo` scenario
// (package internal/demo) against a local etcd and kube-apiserver, with the Cognito
// emulator, the operator, weather and the BFF as processes, plus the checks a demo
// does not show: a token without the scope is refused, and deleting an M2MClient
// with kubectl removes its app client and its Secret.
//
// It needs the etcd, kube-apiserver and kubectl of `make tools` in bin/ (or
// $KUBEBUILDER_ASSETS), and fails, never skips, when they are missing. The kind
// end-to-end test (test/e2e) runs the same story in a real cluster.
package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/cognito-m2m/operator/internal/demo"
	"github.com/cognito-m2m/operator/test/e2e/scenario"
)

func TestDemoScenario(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := &lineLogger{t: t}
	env, err := demo.New(demo.Options{Out: out, StepTimeout: 2 * time.Minute})
	if err != nil {
		t.Fatalf("cannot run the local end-to-end test: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			env.MarkFailed()
		}
		if err := env.Close(); err != nil {
			t.Errorf("cleaning up: %v", err)
		}
		if t.Failed() {
			t.Logf("the logs of every process are kept in %s", env.LogDir)
		}
		out.flush()
	})

	// The demo's own steps, exactly as `make demo` runs them.
	if err := env.Up(ctx); err != nil {
		t.Fatal(err)
	}
	forecasts, err := env.Forecast(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(forecasts) != 5 {
		t.Errorf("the BFF returned %d forecasts, want 5: %+v", len(forecasts), forecasts)
	}
	status, challenge, err := env.Unauthenticated(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if status != 401 || !strings.HasPrefix(challenge, "Bearer") {
		t.Errorf("weather without a token: %d with WWW-Authenticate %q, want 401 with a Bearer challenge", status, challenge)
	}
	calls, err := env.CognitoCalls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The server did not exist yet: one Describe answered not-found, then the creates.
	for _, call := range []string{"CreateResourceServer ok", "CreateUserPoolClient ok", "DescribeResourceServer client_error"} {
		if calls[call] < 1 {
			t.Errorf("the operator's metrics do not count %s: %v", call, calls)
		}
	}

	// The rest goes beyond the demo.
	weatherURL := env.WeatherURL + "/weatherforecast"
	mine, err := env.ReadSecret(ctx, demo.SecretName)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a token with the scope is accepted by weather directly", func(t *testing.T) {
		status, body, _, err := demo.Get(ctx, weatherURL, token(ctx, t, mine))
		if err != nil || status != 200 {
			t.Fatalf("weather with the weather-reader's token: %d %s (%v), want 200", status, body, err)
		}
	})

	t.Run("a valid token without the scope is refused with 403", func(t *testing.T) {
		manifest := filepath.Join(t.TempDir(), "inventory.yaml")
		if err := os.WriteFile(manifest, []byte(scenario.OtherAPI), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := env.KubectlCmd(ctx, false, "apply", "-n", "default", "-f", manifest); err != nil {
			t.Fatal(err)
		}
		if _, err := env.WaitReady(ctx, "resourceserver/inventory", "m2mclient/inventory-reader"); err != nil {
			t.Fatalf("%v (operator log: %s)", err, filepath.Join(env.LogDir, "operator.log"))
		}
		other, err := env.ReadSecret(ctx, "inventory-reader-credentials")
		if err != nil {
			t.Fatal(err)
		}
		if got := string(other["scopes"]); got != "InventoryService/inventory_read" {
			t.Fatalf("inventory-reader's scopes: %q, want InventoryService/inventory_read", got)
		}
		status, body, h, err := demo.Get(ctx, weatherURL, token(ctx, t, other))
		if err != nil {
			t.Fatal(err)
		}
		if challenge := h.Get("WWW-Authenticate"); status != 403 || !strings.Contains(challenge, `error="insufficient_scope"`) {
			t.Errorf("weather with a token for InventoryService/inventory_read: %d %s, WWW-Authenticate %q; want 403 with error=\"insufficient_scope\"",
				status, strings.TrimSpace(string(body)), challenge)
		}
	})

	t.Run("kubectl delete removes the app client from Cognito and the Secret", func(t *testing.T) {
		cognito := env.Cognito()
		describe := &cip.DescribeUserPoolClientInput{UserPoolId: aws.String(env.UserPoolID), ClientId: aws.String(env.ClientID)}
		if _, err := cognito.DescribeUserPoolClient(ctx, describe); err != nil {
			t.Fatalf("the app client %s before the delete: %v", env.ClientID, err)
		}
		// kubectl delete waits for the operator's finalizer to be removed.
		if _, err := env.KubectlCmd(ctx, false, "delete", "-n", "default", "m2mclient/"+demo.M2MClientName, "--timeout=60s"); err != nil {
			t.Fatal(err)
		}
		_, err := cognito.DescribeUserPoolClient(ctx, describe)
		if nf := new(types.ResourceNotFoundException); !errors.As(err, &nf) {
			t.Errorf("the app client %s after kubectl delete: DescribeUserPoolClient returned %v, want ResourceNotFoundException", env.ClientID, err)
		}
		out, err := env.KubectlCmd(ctx, true, "get", "secret", demo.SecretName, "-n", "default", "--ignore-not-found", "-o", "name")
		if err != nil {
			t.Fatal(err)
		}
		if s := strings.TrimSpace(string(out)); s != "" {
			t.Errorf("the Secret is still there after kubectl delete: %s", s)
		}
	})
}

// token gets an access token from the emulator with a Secret's credentials. It is
// never logged.
func token(ctx context.Context, t *testing.T, secret map[string][]byte) string {
	t.Helper()
	cfg := clientcredentials.Config{
		ClientID:     string(secret["client_id"]),
		ClientSecret: string(secret["client_secret"]),
		TokenURL:     string(secret["token_endpoint"]),
		Scopes:       strings.Fields(string(secret["scopes"])),
	}
	tok, err := cfg.Token(ctx)
	if err != nil {
		t.Fatalf("token for client %s: %v", cfg.ClientID, err)
	}
	return tok.AccessToken
}

// lineLogger turns the demo's progress into test log lines; a step's line is
// logged when it ends.
type lineLogger struct {
	t   *testing.T
	mu  sync.Mutex
	buf []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			return len(p), nil
		}
		l.t.Log(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.t.Log(string(l.buf))
		l.buf = nil
	}
}
