// Package sidecar is the auth sidecar (cmd/auth-sidecar): machine-to-machine
// auth with Cognito for applications in any language, built on the auth
// packages.
//
// The caller side listens on loopback, one listener per upstream, and
// forwards each request to its upstream with the bearer token of the mounted
// M2MClient Secret (auth/credentials and auth/client: one cached token,
// renewed before expiry, the Secret re-read before each token request with
// the previous secret as fallback during a rotation). A loopback token
// endpoint hands the token to clients that set headers themselves.
//
// The service side is a reverse proxy in front of the application: it
// refuses a request without a valid token (401) or without the scopes its
// route requires (403), removes identity headers a caller could forge, and
// passes the caller's client id and scopes in X-Auth-Request-* headers.
//
// An admin listener serves /healthz, /readyz (keys loaded and a token held)
// and /metrics.
package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cognito-m2m/operator/auth/authprom"
	"github.com/cognito-m2m/operator/auth/client"
	"github.com/cognito-m2m/operator/auth/credentials"
	"github.com/cognito-m2m/operator/auth/verify"
)

// Options are the process-level settings, from flags, and test hooks.
type Options struct {
	// AdminListen serves /healthz, /readyz and /metrics; required.
	AdminListen string
	// Logger defaults to a discarding one.
	Logger *slog.Logger
	// Clock is the time of the token source, the verifier and the token
	// endpoint; tests give one fake clock to all three. Default the system
	// clock.
	Clock client.Clock
	// Listening, when set, is told the address of each listener once all are
	// bound: "admin", "service", "token" and "upstream/<name>".
	Listening func(addrs map[string]string)
	// Registry receives the metrics; default a new one.
	Registry *prometheus.Registry
}

// Run runs the sidecar until ctx ends, then shuts down gracefully. It
// returns an error without serving anything when the configuration cannot
// be put to work (credentials unreadable, a port taken).
func Run(ctx context.Context, cfg Config, o Options) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
		o.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	log := o.Logger
	m := newMetrics(o.Registry)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var servers []*namedServer
	var readiness []func() error

	if sc := cfg.Service; sc != nil {
		h, v, err := buildService(sc, o, m)
		if err != nil {
			return err
		}
		o.Registry.MustRegister(authprom.NewVerifierCollector("service", v))
		go v.Run(ctx)
		readiness = append(readiness, func() error {
			if err := v.Ready(); err != nil {
				return fmt.Errorf("service: %w", err)
			}
			return nil
		})
		servers = append(servers, &namedServer{name: "service", addr: sc.Listen, handler: h})
		log.Info("Service side configured", "listen", sc.Listen, "upstream", sc.Upstream, "issuer", v.Issuer(), "routes", len(sc.Routes))
	}
	if cc := cfg.Caller; cc != nil {
		creds, err := credentials.OpenDir(cc.CredentialsDir)
		if err != nil {
			return fmt.Errorf("caller.credentialsDir: %w", err)
		}
		ts, err := newTokenSource(creds, o.Clock)
		if err != nil {
			return fmt.Errorf("caller: %w", err)
		}
		defer ts.Close()
		o.Registry.MustRegister(authprom.NewClientCollector("caller", ts))
		c := creds.Credentials()
		log.Info("Caller side configured", "clientId", c.ClientID, "tokenEndpoint", c.TokenEndpoint, "scopes", c.Scopes, "upstreams", len(cc.Upstreams))
		for _, u := range cc.Upstreams {
			base := newTransport()
			base.ResponseHeaderTimeout = upstreamTimeout
			if d := u.Timeout.Value(); d > 0 {
				base.ResponseHeaderTimeout = d
			}
			h, err := newCallerProxy(u, &client.Transport{Source: ts, Base: base}, log, m.forUpstream(u.Name))
			if err != nil {
				return fmt.Errorf("caller.upstreams %s: %w", u.Name, err)
			}
			servers = append(servers, &namedServer{name: "upstream/" + u.Name, addr: u.Listen, handler: h})
			log.Info("Upstream configured", "upstream", u.Name, "listen", u.Listen, "url", u.URL)
		}
		if cc.TokenListen != "" {
			servers = append(servers, &namedServer{name: "token", addr: cc.TokenListen, handler: newTokenHandler(ts, o.Clock.Now, log, m.forTokenEndpoint())})
		}
		readiness = append(readiness, func() error {
			s := ts.Stats()
			if !s.HasToken || s.TokenExpiresIn <= 0 {
				return errors.New("caller: no access token yet")
			}
			return nil
		})
		go warmToken(ctx, ts, log)
	}
	ready := func() error {
		var errs []error
		for _, f := range readiness {
			if err := f(); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	servers = append(servers, &namedServer{name: "admin", addr: o.AdminListen, handler: adminHandler(ready, o.Registry, log)})

	// Bind every listener before serving any, so that a port in use fails
	// the start rather than leaving half a sidecar.
	addrs := map[string]string{}
	for _, s := range servers {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			for _, t := range servers {
				if t.ln != nil {
					t.ln.Close()
				}
			}
			return fmt.Errorf("listen for %s on %s: %w", s.name, s.addr, err)
		}
		s.ln = ln
		addrs[s.name] = ln.Addr().String()
	}
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	errc := make(chan error, len(servers))
	for _, s := range servers {
		s.srv = &http.Server{
			Handler:           s.handler,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       90 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          errLog,
		}
		go func() {
			if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", s.name, err)
			}
		}()
		log.Info("Listening", "listener", s.name, "addr", s.ln.Addr().String())
	}
	if o.Listening != nil {
		o.Listening(addrs)
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		log.Error("Listener failed", "error", runErr)
	}
	log.Info("Shutting down")
	sctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	for _, s := range servers {
		if err := s.srv.Shutdown(sctx); err != nil && runErr == nil {
			runErr = fmt.Errorf("shut down %s: %w", s.name, err)
		}
	}
	return runErr
}

// systemClock is the time of a sidecar outside tests.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
func (systemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

type namedServer struct {
	name, addr string
	handler    http.Handler
	ln         net.Listener
	srv        *http.Server
}

// buildService makes the verifier and the verifying proxy.
func buildService(sc *ServiceConfig, o Options, m *metrics) (http.Handler, *verify.Verifier, error) {
	issuer := sc.Issuer
	if sc.IssuerFile != "" {
		b, err := os.ReadFile(sc.IssuerFile)
		if err != nil {
			return nil, nil, fmt.Errorf("service.issuerFile: %w", err)
		}
		issuer = strings.TrimSpace(string(b))
		if err := upstreamURL(issuer); err != nil {
			return nil, nil, fmt.Errorf("service.issuerFile %s: issuer %v", sc.IssuerFile, err)
		}
	}
	v, err := verify.New(verify.Config{
		Issuer:    issuer,
		JWKSURL:   sc.JWKSURL,
		ClientIDs: sc.ClientIDs,
		Leeway:    sc.Leeway.Value(),
		Clock:     o.Clock,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("service: %w", err)
	}
	rules, err := NewRules(sc.Routes)
	if err != nil {
		return nil, nil, err
	}
	h, err := newServiceHandler(sc, rules, v.Verify, newTransport(), o.Logger, m.forService())
	if err != nil {
		return nil, nil, fmt.Errorf("service.upstream: %w", err)
	}
	return h, v, nil
}

// newTokenSource is the one place the caller side builds its token source.
func newTokenSource(creds credentials.Source, clock client.Clock) (*client.TokenSource, error) {
	return client.New(client.Config{Credentials: creds, Clock: clock})
}

// newTransport is the connection pool to one upstream. Every request of a
// sidecar goes to the same host, so it keeps many idle connections to it,
// not net/http's two.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 256
	return t
}

// warmToken obtains the first token at start, so that the sidecar becomes
// ready before the application's first call; the token source renews it
// from then on.
func warmToken(ctx context.Context, ts *client.TokenSource, log *slog.Logger) {
	wait := time.Second
	for {
		tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		_, err := ts.TokenContext(tctx)
		cancel()
		if err == nil {
			log.Info("Access token obtained")
			return
		}
		if ctx.Err() != nil {
			return
		}
		// FetchError names the client and the endpoint, never the secret.
		log.Warn("No access token yet", "error", err, "retryIn", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// adminHandler serves the probes and the metrics.
func adminHandler(ready func() error, reg *prometheus.Registry, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := ready(); err != nil {
			log.Debug("Not ready", "reason", err)
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}
