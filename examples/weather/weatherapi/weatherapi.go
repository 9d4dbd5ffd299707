// Package weatherapi is the HTTP API of the example weather service, the
// resource server of the seed example: GET /weatherforecast returns five days of
// forecasts to callers whose access token grants the read scope.
package weatherapi

import (
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/cognito-m2m/operator/auth/verify"
)

// DefaultScope is the scope the example ResourceServer declares for reading.
const DefaultScope = "MyService/weather_read"

// Forecast is one day's forecast.
type Forecast struct {
	Date         string `json:"date"` // YYYY-MM-DD
	TemperatureC int    `json:"temperatureC"`
	TemperatureF int    `json:"temperatureF"`
	Summary      string `json:"summary"`
}

var summaries = []string{"Freezing", "Bracing", "Chilly", "Cool", "Mild", "Warm", "Balmy", "Hot", "Sweltering", "Scorching"}

// Forecasts returns the forecasts for the five days after today.
func Forecasts(today time.Time, r *rand.Rand) []Forecast {
	out := make([]Forecast, 5)
	for i := range out {
		c := r.IntN(76) - 20
		out[i] = Forecast{
			Date:         today.AddDate(0, 0, i+1).Format(time.DateOnly),
			TemperatureC: c,
			TemperatureF: FahrenheitOf(c),
			Summary:      summaries[r.IntN(len(summaries))],
		}
	}
	return out
}

// FahrenheitOf converts whole degrees Celsius to whole degrees Fahrenheit.
func FahrenheitOf(c int) int { return 32 + c*9/5 }

// Options configure the handler.
type Options struct {
	// Verifier checks the callers' tokens; required unless NoAuth.
	Verifier *verify.Verifier
	// NoAuth serves every request without checking a token, for a service
	// behind the auth sidecar (cmd/auth-sidecar), which checks them. It must
	// be said explicitly: a missing Verifier is not taken for it.
	NoAuth bool
	// Scope is required of callers of /weatherforecast; default DefaultScope.
	Scope string
	// Logger receives one line per rejected request; default slog.Default().
	Logger *slog.Logger
	// Now gives today's date; default time.Now.
	Now func() time.Time
}

// NewHandler returns the service's routes: /weatherforecast behind the scope,
// /healthz (the process is up) and /readyz (signing keys are loaded). With
// NoAuth, /weatherforecast is open and /readyz always ready.
func NewHandler(o Options) http.Handler {
	if o.Verifier == nil && !o.NoAuth {
		panic("weatherapi: Options.Verifier is required unless NoAuth is set")
	}
	if o.Scope == "" {
		o.Scope = DefaultScope
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	auth := &verify.Middleware{
		Verifier: o.Verifier,
		Scopes:   []string{o.Scope},
		Realm:    "weather",
		OnReject: func(r *http.Request, status int, err error) {
			o.Logger.Info("Request rejected", "path", r.URL.Path, "status", status, "reason", verify.Reason(err))
		},
	}
	var forecasts http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, Forecasts(o.Now(), rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))))
	})
	if !o.NoAuth {
		forecasts = auth.Wrap(forecasts)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /weatherforecast", forecasts)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if o.NoAuth {
			w.Write([]byte("ok\n"))
			return
		}
		if err := o.Verifier.Ready(); err != nil {
			http.Error(w, "signing keys not loaded", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
