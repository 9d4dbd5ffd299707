// Package bffapi is the HTTP API of the example backend-for-frontend: GET
// /weatherforecast fetches the forecasts from the weather service with an access
// token attached by the client it is given, and returns them.
package bffapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// Forecast is one day's forecast as the weather service returns it.
type Forecast struct {
	Date         string `json:"date"`
	TemperatureC int    `json:"temperatureC"`
	TemperatureF int    `json:"temperatureF"`
	Summary      string `json:"summary"`
}

// Options configure the handler.
type Options struct {
	// Client calls the weather service; its transport attaches the token.
	Client *http.Client
	// WeatherURL is the weather service's base URL.
	WeatherURL string
	// Ready reports whether the service can serve, e.g. whether a token can be
	// obtained; nil means always ready.
	Ready func(context.Context) error
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// maxBody bounds the weather response read into memory.
const maxBody = 1 << 20

// NewHandler returns the service's routes: /weatherforecast, /healthz, /readyz.
func NewHandler(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	base := strings.TrimSuffix(o.WeatherURL, "/")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /weatherforecast", func(w http.ResponseWriter, r *http.Request) {
		forecasts, status, err := fetch(r.Context(), o.Client, base+"/weatherforecast")
		if err != nil {
			// The error names the URL and what failed; it never holds the token.
			o.Logger.Warn("Weather call failed", "error", err, "status", status)
			writeJSON(w, http.StatusBadGateway, map[string]string{"error": "weather service unavailable"})
			return
		}
		writeJSON(w, http.StatusOK, forecasts)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if o.Ready != nil {
			if err := o.Ready(r.Context()); err != nil {
				o.Logger.Warn("Not ready", "error", err)
				http.Error(w, "not ready", http.StatusServiceUnavailable)
				return
			}
		}
		w.Write([]byte("ok\n"))
	})
	return mux
}

type statusError struct{ status string }

func (e statusError) Error() string { return "weather answered " + e.status }

func fetch(ctx context.Context, c *http.Client, url string) ([]Forecast, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		return nil, resp.StatusCode, statusError{resp.Status}
	}
	var f []Forecast
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&f); err != nil {
		return nil, resp.StatusCode, err
	}
	return f, resp.StatusCode, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
