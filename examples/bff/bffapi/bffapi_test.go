package bffapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-m2m/operator/examples/bff/bffapi"
)

func TestHandler(t *testing.T) {
	weather := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("X-Test") {
		case "forbidden":
			http.Error(w, "forbidden", http.StatusForbidden)
		case "garbage":
			io.WriteString(w, "{not json")
		default:
			io.WriteString(w, `[{"date":"2026-03-02","temperatureC":10,"temperatureF":50,"summary":"Cool"}]`)
		}
	}))
	defer weather.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()

	tests := []struct {
		name     string
		weather  string
		header   string
		ready    error
		path     string
		wantCode int
		wantBody string
	}{
		{"forecasts", weather.URL, "", nil, "/weatherforecast", 200, `[{"date":"2026-03-02","temperatureC":10,"temperatureF":50,"summary":"Cool"}]` + "\n"},
		{"weather refuses", weather.URL, "forbidden", nil, "/weatherforecast", 502, `{"error":"weather service unavailable"}` + "\n"},
		{"weather garbage", weather.URL, "garbage", nil, "/weatherforecast", 502, `{"error":"weather service unavailable"}` + "\n"},
		{"weather down", down.URL, "", nil, "/weatherforecast", 502, `{"error":"weather service unavailable"}` + "\n"},
		{"ready", weather.URL, "", nil, "/readyz", 200, "ok\n"},
		{"no token", weather.URL, "", errors.New("token endpoint down"), "/readyz", 503, "not ready\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &http.Client{Transport: headerSetter{tt.header}}
			h := bffapi.NewHandler(bffapi.Options{
				Client: c, WeatherURL: tt.weather,
				Ready: func(context.Context) error { return tt.ready },
			})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			got := struct {
				Code int
				Body string
			}{rec.Code, rec.Body.String()}
			want := struct {
				Code int
				Body string
			}{tt.wantCode, tt.wantBody}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

// headerSetter stands in for the auth transport: it marks the request.
type headerSetter struct{ value string }

func (h headerSetter) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Test", h.value)
	return http.DefaultTransport.RoundTrip(r)
}
