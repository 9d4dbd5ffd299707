package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-m2m/operator/auth/authtest"
	"github.com/cognito-m2m/operator/auth/verify"
	"github.com/cognito-m2m/operator/examples/bff/bffapi"
	"github.com/cognito-m2m/operator/examples/weather/weatherapi"
	"github.com/cognito-m2m/operator/internal/servicetest"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    config
		wantErr bool
	}{
		{
			name: "defaults",
			want: config{Listen: ":8080", CredentialsDir: "/var/run/secrets/m2m", WeatherURL: "http://weather:8080", WeatherTimeout: 10 * time.Second},
		},
		{
			name: "environment, then flags",
			args: []string{"--weather-url", "http://127.0.0.1:9001"},
			env:  map[string]string{"BFF_LISTEN": ":9000", "BFF_CREDENTIALS_DIR": "/tmp/creds", "BFF_WEATHER_URL": "http://ignored", "BFF_WEATHER_TIMEOUT": "3s"},
			want: config{Listen: ":9000", CredentialsDir: "/tmp/creds", WeatherURL: "http://127.0.0.1:9001", WeatherTimeout: 3 * time.Second},
		},
		{
			name: "no auth",
			args: []string{"--no-auth", "--weather-url", "http://127.0.0.1:15001"},
			want: config{Listen: ":8080", CredentialsDir: "/var/run/secrets/m2m", WeatherURL: "http://127.0.0.1:15001", WeatherTimeout: 10 * time.Second, NoAuth: true},
		},
		{
			name: "no auth from the environment",
			env:  map[string]string{"BFF_NO_AUTH": "1"},
			want: config{Listen: ":8080", CredentialsDir: "/var/run/secrets/m2m", WeatherURL: "http://weather:8080", WeatherTimeout: 10 * time.Second, NoAuth: true},
		},
		{name: "bad BFF_NO_AUTH", env: map[string]string{"BFF_NO_AUTH": "maybe"}, wantErr: true},
		{name: "bad timeout", args: []string{"--weather-timeout", "x"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(config{})); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

const (
	bffClientID = "bff-client-id"
	oldSecret   = "old-secret-0123456789"
	newSecret   = "new-secret-9876543210"
	readScope   = "MyService/weather_read"
)

// TestEndToEnd runs weather and the BFF against a stand-in for Cognito: the BFF
// gets its credentials from a directory written like a mounted Secret, and
// keeps working through a secret rotation without a restart.
func TestEndToEnd(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := authtest.NewClock(start)
	cognito := authtest.NewServer(t)
	cognito.SetClock(clock.Now)
	cognito.AddClient(bffClientID, oldSecret, readScope)
	cognito.AddClient("writer", "writer-secret", "MyService/weather_write")
	logs := &servicetest.LogBuffer{}
	log := logs.Logger()

	// weather
	v, err := verify.New(verify.Config{Issuer: cognito.Issuer, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	weather := httptest.NewServer(weatherapi.NewHandler(weatherapi.Options{Verifier: v, Logger: log, Now: clock.Now}))
	defer weather.Close()

	// The M2MClient Secret, mounted.
	dir := t.TempDir()
	writeSecret := func(secret, previous string) {
		t.Helper()
		servicetest.Secret{
			ClientID: bffClientID, ClientSecret: secret, PreviousSecret: previous,
			TokenEndpoint: cognito.TokenEndpoint, Issuer: cognito.Issuer, Scopes: readScope,
		}.Write(t, dir)
	}
	writeSecret(oldSecret, "")

	// bff, the real command's run function.
	bff := servicetest.Serve(t, func(ctx context.Context, ln net.Listener) error {
		return run(ctx, config{CredentialsDir: dir, WeatherURL: weather.URL, WeatherTimeout: 10 * time.Second, clock: clock}, ln, log)
	})

	call := func(url, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	forecasts := func(step string) {
		t.Helper()
		status, body := call(bff+"/weatherforecast", "")
		if status != 200 {
			t.Fatalf("%s: BFF status %d (%s), want 200", step, status, body)
		}
		var f []bffapi.Forecast
		if err := json.Unmarshal([]byte(body), &f); err != nil || len(f) != 5 {
			t.Fatalf("%s: BFF body %q: want five forecasts", step, body)
		}
		if f[0].Date != "2026-03-02" {
			t.Errorf("%s: first forecast for %s", step, f[0].Date)
		}
	}
	// renewals is the BFF's count of tokens obtained, from its metrics: it
	// moves only once a renewal is stored and the next one scheduled.
	renewals := func() int {
		_, body := call(bff+"/metrics", "")
		for _, line := range strings.Split(body, "\n") {
			if f := strings.Fields(line); len(f) == 2 && strings.HasPrefix(f[0], "m2m_client_token_renewals_total{") {
				n, _ := strconv.ParseFloat(f[1], 64)
				return int(n)
			}
		}
		return 0
	}
	// waitUses waits until the BFF has obtained its token with the secret n
	// times, and has taken in the last of them. The fake clock may move on
	// only then: a renewal that lands after the clock moved would schedule
	// the next one from the later time, past the end of the test.
	waitUses := func(secret string, n, obtained int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for cognito.SecretUses(bffClientID, secret) < n || renewals() < obtained {
			if time.Now().After(deadline) {
				t.Fatalf("the BFF did not renew its token with the secret (%d uses, want %d; %d tokens obtained, want %d)",
					cognito.SecretUses(bffClientID, secret), n, renewals(), obtained)
			}
			time.Sleep(time.Millisecond)
		}
	}

	// The BFF call goes through.
	forecasts("first call")
	if status, _ := call(bff+"/readyz", ""); status != 200 {
		t.Errorf("bff readyz %d, want 200", status)
	}

	// weather refuses a caller without a token, and one without the scope.
	status, _ := call(weather.URL+"/weatherforecast", "")
	if status != 401 {
		t.Errorf("weather without a token: %d, want 401", status)
	}
	status, _ = call(weather.URL+"/weatherforecast", cognito.AccessToken("writer", "MyService/weather_write"))
	if status != 403 {
		t.Errorf("weather with a token lacking the scope: %d, want 403", status)
	}

	// Rotation, as the operator does it: a second secret at Cognito, the Secret
	// rewritten with the new one and the previous one.
	cognito.AddSecret(bffClientID, newSecret)
	writeSecret(newSecret, oldSecret)
	clock.Advance(50 * time.Minute) // past the renewal point of the first token
	waitUses(newSecret, 1, 2)
	forecasts("during the rotation")

	// After a grace period the old secret is revoked and leaves the Secret.
	cognito.RevokeSecret(bffClientID, oldSecret)
	writeSecret(newSecret, "")
	clock.Advance(50 * time.Minute) // the first token has expired by now
	waitUses(newSecret, 2, 3)
	forecasts("after the rotation")

	want := map[string]int{"old secret": 1, "new secret": 2, "token requests": 3}
	got := map[string]int{
		"old secret":     cognito.SecretUses(bffClientID, oldSecret),
		"new secret":     cognito.SecretUses(bffClientID, newSecret),
		"token requests": cognito.TokenRequests(),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("token endpoint use (-want +got):\n%s", diff)
	}

	// Neither service logged a secret or a token.
	out := logs.String()
	for _, s := range []string{oldSecret, newSecret, "eyJ"} {
		if strings.Contains(out, s) {
			t.Errorf("logs contain %q:\n%s", s, out)
		}
	}
	if !strings.Contains(out, `"reason":"missing"`) || !strings.Contains(out, `"reason":"scope"`) {
		t.Errorf("weather did not log its rejections:\n%s", out)
	}
}

// TestRunWithoutAuth: with --no-auth the BFF reads no credentials and sends
// no Authorization header; the sidecar it calls adds the token.
func TestRunWithoutAuth(t *testing.T) {
	var auth []string
	var mu sync.Mutex
	weather := httptest.NewServer(weatherapi.NewHandler(weatherapi.Options{NoAuth: true}))
	defer weather.Close()
	spy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		resp, err := http.Get(weather.URL + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer spy.Close()
	c := config{CredentialsDir: "/nonexistent", WeatherURL: spy.URL, WeatherTimeout: 10 * time.Second, NoAuth: true}
	bff := servicetest.Serve(t, func(ctx context.Context, ln net.Listener) error {
		return run(ctx, c, ln, slog.New(slog.DiscardHandler))
	})
	for _, path := range []string{"/readyz", "/weatherforecast"} {
		if status := servicetest.Status(t, bff+path); status != 200 {
			t.Errorf("%s: %d, want 200", path, status)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auth) != 1 || auth[0] != "" {
		t.Errorf("weather calls' Authorization headers %q, want one call without", auth)
	}
}
