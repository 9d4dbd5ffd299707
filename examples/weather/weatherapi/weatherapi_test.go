package weatherapi_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-m2m/operator/auth/authtest"
	"github.com/cognito-m2m/operator/auth/verify"
	"github.com/cognito-m2m/operator/examples/weather/weatherapi"
)

func TestForecasts(t *testing.T) {
	today := time.Date(2026, 12, 30, 15, 0, 0, 0, time.UTC)
	got := weatherapi.Forecasts(today, rand.New(rand.NewPCG(1, 2)))
	var dates []string
	for _, f := range got {
		dates = append(dates, f.Date)
		if f.TemperatureF != weatherapi.FahrenheitOf(f.TemperatureC) || f.Summary == "" {
			t.Errorf("inconsistent forecast %+v", f)
		}
	}
	if diff := cmp.Diff([]string{"2026-12-31", "2027-01-01", "2027-01-02", "2027-01-03", "2027-01-04"}, dates); diff != "" {
		t.Errorf("dates (-want +got):\n%s", diff)
	}
}

func TestFahrenheit(t *testing.T) {
	for c, f := range map[int]int{0: 32, 100: 212, -40: -40, 37: 98} {
		if got := weatherapi.FahrenheitOf(c); got != f {
			t.Errorf("FahrenheitOf(%d) = %d, want %d", c, got, f)
		}
	}
}

func TestHandler(t *testing.T) {
	srv := authtest.NewServer(t)
	v, err := verify.New(verify.Config{Issuer: srv.Issuer})
	if err != nil {
		t.Fatal(err)
	}
	h := httptest.NewServer(weatherapi.NewHandler(weatherapi.Options{Verifier: v}))
	defer h.Close()
	get := func(path, token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", h.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if got := get("/readyz", "").StatusCode; got != 503 {
		t.Errorf("readyz before keys: %d, want 503", got)
	}
	if err := v.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, token string
		want              int
	}{
		{"healthz", "/healthz", "", 200},
		{"readyz", "/readyz", "", 200},
		{"forecast", "/weatherforecast", srv.AccessToken("c", weatherapi.DefaultScope), 200},
		{"forecast without token", "/weatherforecast", "", 401},
		{"forecast with other scope", "/weatherforecast", srv.AccessToken("c", "MyService/weather_write"), 403},
		{"unknown path", "/nothing", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := get(tt.path, tt.token)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.path == "/weatherforecast" && tt.want == 200 {
				var f []weatherapi.Forecast
				if err := json.NewDecoder(resp.Body).Decode(&f); err != nil || len(f) != 5 {
					t.Errorf("body: %d forecasts, %v; want 5", len(f), err)
				}
			}
		})
	}
}
