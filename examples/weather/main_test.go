package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-m2m/operator/auth/authtest"
	"github.com/cognito-m2m/operator/internal/servicetest"
)

func TestParseConfig(t *testing.T) {
	issuerFile := filepath.Join(t.TempDir(), "issuer")
	os.WriteFile(issuerFile, []byte("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_F\n"), 0o600)
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    config
		wantErr bool
	}{
		{
			name: "flags",
			args: []string{"--listen", ":9000", "--issuer", "https://i.example/p", "--scope", "S/read", "--client-ids", "a, b", "--leeway", "5s"},
			want: config{Listen: ":9000", Issuer: "https://i.example/p", Scope: "S/read", ClientIDs: []string{"a", "b"}, Leeway: 5 * time.Second},
		},
		{
			name: "environment",
			env:  map[string]string{"WEATHER_LISTEN": ":7000", "WEATHER_REGION": "eu-west-1", "WEATHER_USER_POOL_ID": "eu-west-1_X"},
			want: config{Listen: ":7000", Region: "eu-west-1", UserPoolID: "eu-west-1_X", Scope: "MyService/weather_read"},
		},
		{
			name: "flag beats environment",
			args: []string{"--scope", "S/flag"},
			env:  map[string]string{"WEATHER_SCOPE": "S/env", "WEATHER_ISSUER": "https://i.example/p"},
			want: config{Listen: ":8080", Issuer: "https://i.example/p", Scope: "S/flag"},
		},
		{
			name: "issuer from the mounted Secret",
			env:  map[string]string{"WEATHER_ISSUER_FILE": issuerFile},
			want: config{Listen: ":8080", Issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_F", IssuerFile: issuerFile, Scope: "MyService/weather_read"},
		},
		{
			name: "no auth, behind the sidecar",
			args: []string{"--no-auth", "--listen", "127.0.0.1:8081"},
			want: config{Listen: "127.0.0.1:8081", Scope: "MyService/weather_read", NoAuth: true},
		},
		{
			name: "no auth from the environment",
			env:  map[string]string{"WEATHER_NO_AUTH": "true", "WEATHER_LISTEN": "[::1]:8081"},
			want: config{Listen: "[::1]:8081", Scope: "MyService/weather_read", NoAuth: true},
		},
		{name: "no auth on every interface", args: []string{"--no-auth"}, wantErr: true},
		{name: "no auth on the pod address", args: []string{"--no-auth", "--listen", "10.0.0.7:8081"}, wantErr: true},
		{name: "bad WEATHER_NO_AUTH", env: map[string]string{"WEATHER_NO_AUTH": "maybe", "WEATHER_ISSUER": "https://i.example/p"}, wantErr: true},
		{name: "no issuer", wantErr: true},
		{name: "bad leeway", args: []string{"--issuer", "https://i.example/p", "--leeway", "soon"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunServesAndShutsDown(t *testing.T) {
	srv := authtest.NewServer(t)
	base := servicetest.Serve(t, func(ctx context.Context, ln net.Listener) error {
		return run(ctx, config{Issuer: srv.Issuer, Scope: "MyService/weather_read"}, ln, slog.New(slog.DiscardHandler))
	})
	servicetest.WaitOK(t, base+"/readyz") // ready once Run has loaded the keys
	req, _ := http.NewRequest("GET", base+"/weatherforecast", nil)
	req.Header.Set("Authorization", "Bearer "+srv.AccessToken("c", "MyService/weather_read"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("forecast status %d, want 200", resp.StatusCode)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `m2m_verifier_tokens_verified_total{verifier="weather"} 1`) {
		t.Errorf("metrics do not count the verified token:\n%s", body)
	}
}

// TestRunWithoutAuth: with --no-auth the forecast needs no token (the
// sidecar in front checks it) and the service is ready at once.
func TestRunWithoutAuth(t *testing.T) {
	c, err := parseConfig([]string{"--no-auth", "--listen", "127.0.0.1:0"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	base := servicetest.Serve(t, func(ctx context.Context, ln net.Listener) error {
		return run(ctx, c, ln, slog.New(slog.DiscardHandler))
	})
	for _, path := range []string{"/readyz", "/weatherforecast"} {
		if status := servicetest.Status(t, base+path); status != 200 {
			t.Errorf("%s without a token: %d, want 200", path, status)
		}
	}
}
