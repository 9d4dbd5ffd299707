package sidecar

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cognito-m2m/operator/auth/authtest"
	"github.com/cognito-m2m/operator/internal/servicetest"
)

// start runs a sidecar until the test ends and returns its listeners'
// addresses and its logs (debug level).
func start(t *testing.T, cfg Config, o Options) (map[string]string, *servicetest.LogBuffer) {
	t.Helper()
	logs := &servicetest.LogBuffer{}
	o.Logger = logs.Logger()
	o.AdminListen = "127.0.0.1:0"
	addrs := make(chan map[string]string, 1)
	o.Listening = func(a map[string]string) { addrs <- a }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sidecar: %v", err)
		}
	})
	select {
	case a := <-addrs:
		return a, logs
	case err := <-done:
		t.Fatalf("sidecar did not start: %v\n%s", err, logs)
	case <-time.After(10 * time.Second):
		t.Fatal("sidecar did not start within 10s")
	}
	return nil, nil
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

func waitReady(t *testing.T, admin string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := do(t, "GET", "http://"+admin+"/readyz", nil)
		if r.status == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 10s: %d %s", r.status, r.body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// echoApp is an application that answers with the headers it received.
func echoApp(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"path": r.URL.Path, "host": r.Host, "header": r.Header})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestServiceSide(t *testing.T) {
	cognito := authtest.NewServer(t)
	app := echoApp(t)
	cfg := Config{Service: &ServiceConfig{
		Listen:   "127.0.0.1:0",
		Upstream: app.URL,
		Issuer:   cognito.Issuer,
		Realm:    "weather",
		Routes: []Route{
			{Path: "/weatherforecast", Methods: []string{"GET"}, Scopes: []string{"MyService/weather_read"}},
			{Path: "/admin", Scopes: []string{"MyService/admin", "MyService/weather_read"}},
			{Path: "/healthz", Public: true},
		},
		StripHeaders: []string{"X-User-Roles"},
	}}
	addrs, logs := start(t, cfg, Options{})
	waitReady(t, addrs["admin"])
	base := "http://" + addrs["service"]
	reader := cognito.AccessToken("reader-client", "MyService/weather_read")
	writer := cognito.AccessToken("writer-client", "MyService/weather_write")
	forged := map[string]string{
		"X-Auth-Request-Client-Id": "forged", "X_Auth_Request_Scopes": "MyService/admin", "X-Auth-Request-Email": "x@example.com",
		"X-Forwarded-User": "forged", "X-User-Roles": "admin",
	}
	seen := func(r response) map[string][]string {
		t.Helper()
		var got struct{ Header map[string][]string }
		if err := json.Unmarshal([]byte(r.body), &got); err != nil {
			t.Fatalf("application answer %q: %v", r.body, err)
		}
		return got.Header
	}

	t.Run("401 without a token, no error code", func(t *testing.T) {
		r := do(t, "GET", base+"/weatherforecast", nil)
		if r.status != 401 || r.header.Get("WWW-Authenticate") != `Bearer realm="weather"` {
			t.Errorf("got %d %q", r.status, r.header.Get("WWW-Authenticate"))
		}
	})
	t.Run("401 with an invalid token", func(t *testing.T) {
		for name, h := range map[string]string{
			"garbage": "Bearer not-a-jwt",
			"foreign": "Bearer " + authtest.SignWith(authtest.Key(3), map[string]any{"alg": "RS256", "kid": cognito.KeyID()}, cognito.Claims("c", "MyService/weather_read")),
			"basic":   "Basic dXNlcjpwYXNz",
		} {
			r := do(t, "GET", base+"/weatherforecast", map[string]string{"Authorization": h})
			want := `Bearer realm="weather", error="invalid_token"`
			if name == "basic" {
				want = `Bearer realm="weather"` // not a bearer token: none was sent
			}
			if r.status != 401 || r.header.Get("WWW-Authenticate") != want {
				t.Errorf("%s: got %d %q, want 401 %q", name, r.status, r.header.Get("WWW-Authenticate"), want)
			}
		}
	})
	t.Run("403 without the route's scope", func(t *testing.T) {
		r := do(t, "GET", base+"/weatherforecast", map[string]string{"Authorization": "Bearer " + writer})
		if want := `Bearer realm="weather", error="insufficient_scope", scope="MyService/weather_read"`; r.status != 403 || r.header.Get("WWW-Authenticate") != want {
			t.Errorf("got %d %q, want 403 %q", r.status, r.header.Get("WWW-Authenticate"), want)
		}
		r = do(t, "GET", base+"/admin/users", map[string]string{"Authorization": "Bearer " + reader})
		if r.status != 403 || !strings.Contains(r.header.Get("WWW-Authenticate"), `scope="MyService/admin MyService/weather_read"`) {
			t.Errorf("admin with the read scope only: %d %q", r.status, r.header.Get("WWW-Authenticate"))
		}
	})
	t.Run("403 where no route allows", func(t *testing.T) {
		for _, req := range [][2]string{{"POST", "/weatherforecast"}, {"GET", "/other"}} {
			r := do(t, req[0], base+req[1], map[string]string{"Authorization": "Bearer " + reader})
			if r.status != 403 || r.header.Get("WWW-Authenticate") != "" {
				t.Errorf("%s %s: %d %q, want 403 without a challenge", req[0], req[1], r.status, r.header.Get("WWW-Authenticate"))
			}
		}
	})
	t.Run("400 for a path read differently by the application", func(t *testing.T) {
		for _, p := range []string{"/healthz/../admin", "/admin;x=1", "/healthz%2F..%2Fadmin", "//admin"} {
			if r := do(t, "GET", base+p, nil); r.status != 400 {
				t.Errorf("%s: %d, want 400", p, r.status)
			}
		}
	})
	t.Run("200 with the scope; identity passed, forged identity and the token removed", func(t *testing.T) {
		h := map[string]string{"Authorization": "Bearer " + reader}
		for k, v := range forged {
			h[k] = v
		}
		r := do(t, "GET", base+"/WeatherForecast?days=5", h)
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		got := seen(r)
		if want := []string{"reader-client"}; !equal(got["X-Auth-Request-Client-Id"], want) {
			t.Errorf("client id header %q, want %q", got["X-Auth-Request-Client-Id"], want)
		}
		if want := []string{"MyService/weather_read"}; !equal(got["X-Auth-Request-Scopes"], want) {
			t.Errorf("scopes header %q, want %q", got["X-Auth-Request-Scopes"], want)
		}
		for _, name := range []string{"Authorization", "X_auth_request_scopes", "X-Auth-Request-Email", "X-Forwarded-User", "X-User-Roles"} {
			if v, ok := got[name]; ok {
				t.Errorf("the application received %s: %q", name, v)
			}
		}
		if got["X-Forwarded-For"] == nil {
			t.Error("no X-Forwarded-For")
		}
	})
	t.Run("public route without a token, forged identity removed", func(t *testing.T) {
		r := do(t, "GET", base+"/healthz", forged)
		if r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
		for name := range seen(r) {
			if strings.HasPrefix(strings.ToLower(name), "x-auth-request") || strings.HasPrefix(strings.ToLower(name), "x_auth_request") || name == "X-User-Roles" {
				t.Errorf("the application received %s on a public route", name)
			}
		}
	})
	t.Run("metrics", func(t *testing.T) {
		m := do(t, "GET", "http://"+addrs["admin"]+"/metrics", nil).body
		for _, want := range []string{
			`m2m_sidecar_service_requests_total{outcome="forwarded"} 1`,
			`m2m_sidecar_service_requests_total{outcome="bad_path"} 4`,
			`m2m_verifier_keys{verifier="service"} 1`,
			`m2m_verifier_rejected_total{reason="signature",verifier="service"} 1`,
		} {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
	for _, tok := range []string{reader, writer} {
		if strings.Contains(logs.String(), tok) {
			t.Errorf("logs hold a token:\n%s", logs)
		}
	}
}

func equal(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// TestServiceNotReadyWithoutKeys: readiness waits for the signing keys.
func TestServiceNotReadyWithoutKeys(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	addrs, _ := start(t, Config{Service: &ServiceConfig{
		Listen: "127.0.0.1:0", Upstream: "http://127.0.0.1:1", Issuer: dead.URL + "/pool",
		Routes: []Route{{Path: "/", Scopes: []string{"a/b"}}},
	}}, Options{})
	r := do(t, "GET", "http://"+addrs["admin"]+"/readyz", nil)
	if r.status != 503 || !strings.Contains(r.body, "signing keys not loaded") {
		t.Errorf("readyz %d %q, want 503 naming the keys", r.status, r.body)
	}
	if r := do(t, "GET", "http://"+addrs["admin"]+"/healthz", nil); r.status != 200 {
		t.Errorf("healthz %d", r.status)
	}
}
