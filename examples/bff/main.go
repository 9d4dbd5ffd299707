// Command bff is the example backend-for-frontend: GET /weatherforecast calls the
// weather service with an access token obtained from Cognito with the client
// credentials of a mounted M2MClient Secret. A rotated Secret is picked up
// without a restart. It also serves /healthz, /readyz (a token can be obtained)
// and /metrics.
//
// Configuration, by flag or environment variable (flags win):
//
//	--listen           BFF_LISTEN           address to listen on (default :8080)
//	--credentials-dir  BFF_CREDENTIALS_DIR  the mounted Secret with client_id,
//	                                        client_secret, token_endpoint, scopes
//	                                        (default /var/run/secrets/m2m)
//	--weather-url      BFF_WEATHER_URL      base URL of weather (default http://weather:8080)
//	--weather-timeout  BFF_WEATHER_TIMEOUT  bound on one weather call (default 10s)
//	--no-auth          BFF_NO_AUTH          do no OAuth: call weather without a token, through
//	                                        the auth sidecar (cmd/auth-sidecar), whose loopback
//	                                        listener is then --weather-url and which holds the
//	                                        credentials; --credentials-dir is not read
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cognito-m2m/operator/auth/authprom"
	"github.com/cognito-m2m/operator/auth/client"
	"github.com/cognito-m2m/operator/auth/credentials"
	"github.com/cognito-m2m/operator/examples/bff/bffapi"
	"github.com/cognito-m2m/operator/examples/internal/serve"
)

type config struct {
	Listen         string
	CredentialsDir string
	WeatherURL     string
	WeatherTimeout time.Duration
	NoAuth         bool

	clock client.Clock // tests only
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	var timeout string
	fs := serve.NewFlags("bff", getenv, stderr)
	fs.String(&c.Listen, "listen", "BFF_LISTEN", ":8080", "address to listen on")
	fs.String(&c.CredentialsDir, "credentials-dir", "BFF_CREDENTIALS_DIR", "/var/run/secrets/m2m", "directory of the mounted M2MClient Secret")
	fs.String(&c.WeatherURL, "weather-url", "BFF_WEATHER_URL", "http://weather:8080", "base URL of the weather service")
	fs.String(&timeout, "weather-timeout", "BFF_WEATHER_TIMEOUT", "10s", "bound on one weather call")
	fs.Bool(&c.NoAuth, "no-auth", "BFF_NO_AUTH", "do no OAuth: call weather through the auth sidecar's listener (--weather-url), without a token")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	var err error
	if c.WeatherTimeout, err = time.ParseDuration(timeout); err != nil {
		return config{}, fmt.Errorf("weather timeout: %w", err)
	}
	return c, nil
}

// run serves on ln until ctx ends, then shuts down gracefully.
func run(ctx context.Context, c config, ln net.Listener, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	opts := bffapi.Options{WeatherURL: c.WeatherURL, Logger: log}
	base := http.DefaultTransport.(*http.Transport).Clone()
	if c.NoAuth {
		// The auth sidecar attaches the token; readiness is its own.
		opts.Client = &http.Client{Transport: base, Timeout: c.WeatherTimeout}
		log.Info("In-process auth off: calls to weather go through the auth sidecar", "weather", c.WeatherURL)
	} else {
		creds, err := credentials.OpenDir(c.CredentialsDir)
		if err != nil {
			return err
		}
		ts, err := client.New(client.Config{Credentials: creds, Clock: c.clock})
		if err != nil {
			return err
		}
		defer ts.Close()
		opts.Client = &http.Client{Transport: &client.Transport{Source: ts, Base: base}, Timeout: c.WeatherTimeout}
		opts.Ready = func(ctx context.Context) error {
			_, err := ts.TokenContext(ctx)
			return err
		}
		reg.MustRegister(authprom.NewClientCollector("weather", ts))
		cr := creds.Credentials()
		log.Info("Calling with tokens", "weather", c.WeatherURL, "clientID", cr.ClientID, "tokenEndpoint", cr.TokenEndpoint, "scopes", cr.Scopes)
	}
	mux := http.NewServeMux()
	mux.Handle("/", bffapi.NewHandler(opts))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      c.WeatherTimeout + 10*time.Second,
		IdleTimeout:       time.Minute,
	}
	return serve.Run(ctx, srv, ln, log)
}

func main() {
	serve.Main(parseConfig, func(c config) string { return c.Listen }, run)
}
