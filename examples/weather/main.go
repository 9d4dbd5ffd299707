// Command weather is the example resource server: GET /weatherforecast returns
// five days of forecasts to callers whose Cognito access token grants the read
// scope. It also serves /healthz, /readyz (signing keys loaded) and /metrics.
//
// Configuration, by flag or environment variable (flags win):
//
//	--listen        WEATHER_LISTEN         address to listen on (default :8080)
//	--issuer        WEATHER_ISSUER         the user pool's issuer URL, or
//	--issuer-file   WEATHER_ISSUER_FILE    a file holding it, such as the issuer key
//	                                       of a mounted M2MClient Secret, or
//	--region and --user-pool-id            WEATHER_REGION, WEATHER_USER_POOL_ID
//	--scope         WEATHER_SCOPE          required scope (default MyService/weather_read)
//	--client-ids    WEATHER_CLIENT_IDS     comma-separated accepted client ids (default any)
//	--jwks-url      WEATHER_JWKS_URL       JWKS location (default <issuer>/.well-known/jwks.json)
//	--leeway        WEATHER_LEEWAY         clock skew allowed on exp, nbf and iat (0s: verify.DefaultLeeway, 5s; negative: none)
//	--no-auth       WEATHER_NO_AUTH        do no OAuth: serve behind the auth sidecar (cmd/auth-sidecar),
//	                                       which verifies the callers; --listen must then be a loopback
//	                                       address, so that nothing but the sidecar reaches the service
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cognito-m2m/operator/auth/authprom"
	"github.com/cognito-m2m/operator/auth/verify"
	"github.com/cognito-m2m/operator/examples/internal/serve"
	"github.com/cognito-m2m/operator/examples/weather/weatherapi"
)

type config struct {
	Listen     string
	Issuer     string
	IssuerFile string
	Region     string
	UserPoolID string
	Scope      string
	ClientIDs  []string
	JWKSURL    string
	Leeway     time.Duration
	NoAuth     bool
}

// parseConfig reads flags, falling back to environment variables.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	var clientIDs string
	var leeway string
	fs := serve.NewFlags("weather", getenv, stderr)
	fs.String(&c.Listen, "listen", "WEATHER_LISTEN", ":8080", "address to listen on")
	fs.String(&c.Issuer, "issuer", "WEATHER_ISSUER", "", "issuer URL of the user pool")
	fs.String(&c.IssuerFile, "issuer-file", "WEATHER_ISSUER_FILE", "", "file holding the issuer URL")
	fs.String(&c.Region, "region", "WEATHER_REGION", "", "AWS region of the user pool (with --user-pool-id)")
	fs.String(&c.UserPoolID, "user-pool-id", "WEATHER_USER_POOL_ID", "", "user pool id (with --region)")
	fs.String(&c.Scope, "scope", "WEATHER_SCOPE", weatherapi.DefaultScope, "scope required of callers")
	fs.String(&clientIDs, "client-ids", "WEATHER_CLIENT_IDS", "", "comma-separated accepted client ids; empty accepts any")
	fs.String(&c.JWKSURL, "jwks-url", "WEATHER_JWKS_URL", "", "JWKS URL; default <issuer>/.well-known/jwks.json")
	fs.String(&leeway, "leeway", "WEATHER_LEEWAY", "0s", "clock skew allowed on exp, nbf and iat (0s: the verifier's default, 5s; negative: none)")
	fs.Bool(&c.NoAuth, "no-auth", "WEATHER_NO_AUTH", "do no OAuth: serve behind the auth sidecar, on a loopback --listen address")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	var err error
	for _, id := range strings.Split(clientIDs, ",") {
		if id = strings.TrimSpace(id); id != "" {
			c.ClientIDs = append(c.ClientIDs, id)
		}
	}
	if c.Leeway, err = time.ParseDuration(leeway); err != nil {
		return config{}, fmt.Errorf("leeway: %w", err)
	}
	if c.Issuer == "" && c.IssuerFile != "" {
		b, err := os.ReadFile(c.IssuerFile)
		if err != nil {
			return config{}, fmt.Errorf("issuer file: %w", err)
		}
		c.Issuer = strings.TrimSpace(string(b))
	}
	if c.NoAuth {
		// The service trusts every caller that reaches it: only the sidecar
		// in its pod may.
		host, _, err := net.SplitHostPort(c.Listen)
		if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			return config{}, fmt.Errorf("--no-auth needs a loopback --listen address such as 127.0.0.1:8081, not %q: the auth sidecar must be the only way in", c.Listen)
		}
		return c, nil
	}
	if c.Issuer == "" && (c.Region == "" || c.UserPoolID == "") {
		return config{}, errors.New("set --issuer, --issuer-file, or --region and --user-pool-id")
	}
	return c, nil
}

// run serves on ln until ctx ends, then shuts down gracefully.
func run(ctx context.Context, c config, ln net.Listener, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reg := prometheus.NewRegistry()
	opts := weatherapi.Options{Scope: c.Scope, Logger: log, NoAuth: c.NoAuth}
	if c.NoAuth {
		log.Info("In-process auth off: callers are verified by the auth sidecar in front of this service")
	} else {
		v, err := newVerifier(c)
		if err != nil {
			return err
		}
		go v.Run(ctx)
		reg.MustRegister(authprom.NewVerifierCollector("weather", v))
		opts.Verifier = v
		log.Info("Verifying tokens", "issuer", v.Issuer(), "scope", c.Scope)
	}
	mux := http.NewServeMux()
	mux.Handle("/", weatherapi.NewHandler(opts))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    32 << 10,
	}
	return serve.Run(ctx, srv, ln, log)
}

func newVerifier(c config) (*verify.Verifier, error) {
	return verify.New(verify.Config{
		Issuer:     c.Issuer,
		Region:     c.Region,
		UserPoolID: c.UserPoolID,
		ClientIDs:  c.ClientIDs,
		JWKSURL:    c.JWKSURL,
		Leeway:     c.Leeway,
	})
}

func main() {
	serve.Main(parseConfig, func(c config) string { return c.Listen }, run)
}
