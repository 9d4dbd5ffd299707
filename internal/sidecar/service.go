package sidecar

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/cognito-m2m/operator/auth/verify"
)

// The headers that carry the caller's identity to the application. They
// follow oauth2-proxy's X-Auth-Request-* convention (its auth-request mode),
// so that an application or a framework written for it reads them as they
// are; the sidecar adds the client id and scopes of a machine caller.
const (
	// IdentityHeaderPrefix starts every header the sidecar sets. Any header
	// with this prefix that a caller sends is removed.
	IdentityHeaderPrefix = "X-Auth-Request-"
	// HeaderClientID carries the token's client_id, the calling app client.
	HeaderClientID = "X-Auth-Request-Client-Id"
	// HeaderScopes carries the token's granted scopes, separated by spaces.
	HeaderScopes = "X-Auth-Request-Scopes"
)

// strippedHeaders are identity headers of other proxies and load balancers
// that an application might trust; a caller could forge them, so they never
// reach the application. Names are compared lower-cased with '_' read as '-'
// (CGI, WSGI and Rack turn both into '_').
var strippedHeaders = []string{
	"authorization",
	"x-forwarded-user", "x-forwarded-email", "x-forwarded-preferred-username", "x-forwarded-groups",
	"x-forwarded-access-token", "x-forwarded-client-cert", "x-remote-user", "remote-user",
	"x-amzn-oidc-data", "x-amzn-oidc-identity", "x-amzn-oidc-accesstoken",
}

// verifyFunc checks a token; it is the one call into auth/verify.
type verifyFunc func(ctx context.Context, token string) (*verify.Claims, error)

// serviceHandler is the verifying reverse proxy.
type serviceHandler struct {
	rules        *Rules
	verify       verifyFunc
	proxy        *httputil.ReverseProxy
	strip        map[string]bool
	challenge    string // "Bearer" or `Bearer realm="..."`
	maxTokenSize int
	log          *slog.Logger
	m            *serviceMetrics
}

func newServiceHandler(sc *ServiceConfig, rules *Rules, vf verifyFunc, transport http.RoundTripper, log *slog.Logger, m *serviceMetrics) (*serviceHandler, error) {
	target, err := url.Parse(sc.Upstream)
	if err != nil {
		return nil, err
	}
	h := &serviceHandler{
		rules:        rules,
		verify:       vf,
		strip:        map[string]bool{},
		challenge:    "Bearer",
		maxTokenSize: 8 << 10,
		log:          log,
		m:            m,
	}
	if sc.Realm != "" {
		h.challenge = `Bearer realm="` + sc.Realm + `"`
	}
	for _, name := range append(strippedHeaders, sc.StripHeaders...) {
		h.strip[normalizeHeader(name)] = true
	}
	h.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // the application sees the Host its callers used
			pr.SetXForwarded()
		},
		Transport: transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			h.m.upstreamErrors.Inc()
			h.log.Warn("Application unreachable", "method", r.Method, "path", r.URL.Path, "error", proxyError(err))
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	return h, nil
}

func normalizeHeader(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

// Outcomes of a request on the service side, as metric labels and log values.
const (
	outcomeForwarded    = "forwarded"
	outcomePublic       = "public"
	outcomeUnauthorized = "unauthorized"
	outcomeForbidden    = "forbidden"
	outcomeNoRoute      = "no_route"
	outcomeBadPath      = "bad_path"
)

func (h *serviceHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := checkPath(r.URL.Path, r.URL.EscapedPath()); err != nil {
		h.refuse(w, r, http.StatusBadRequest, "", outcomeBadPath, err.Error(), "")
		return
	}
	d := h.rules.Decide(r.Method, r.URL.Path)
	if d.Matched && d.Public {
		h.stripIdentity(r.Header)
		h.m.count(outcomePublic)
		h.proxy.ServeHTTP(w, r)
		return
	}
	token, err := h.bearer(r)
	if err != nil {
		// RFC 6750 section 3.1: no error code when the request had no token.
		params := ""
		if !errors.Is(err, verify.ErrMissing) {
			params = `error="invalid_token"`
		}
		h.refuse(w, r, http.StatusUnauthorized, params, outcomeUnauthorized, verify.Reason(err), "")
		return
	}
	claims, err := h.verify(r.Context(), token)
	if err != nil {
		h.refuse(w, r, http.StatusUnauthorized, `error="invalid_token"`, outcomeUnauthorized, verify.Reason(err), "")
		return
	}
	if !d.Matched {
		h.refuse(w, r, http.StatusForbidden, "", outcomeNoRoute, "no route", claims.ClientID)
		return
	}
	for _, s := range d.Scopes {
		if !claims.HasScope(s) {
			h.refuse(w, r, http.StatusForbidden, `error="insufficient_scope", scope="`+strings.Join(d.Scopes, " ")+`"`,
				outcomeForbidden, "scope", claims.ClientID)
			return
		}
	}
	h.stripIdentity(r.Header)
	r.Header[HeaderClientID] = []string{claims.ClientID}
	r.Header[HeaderScopes] = []string{claims.Scope}
	h.m.count(outcomeForwarded)
	if h.log.Enabled(r.Context(), slog.LevelDebug) {
		h.log.Debug("Request forwarded", "method", r.Method, "path", r.URL.Path, "route", d.Route, "clientId", claims.ClientID)
	}
	h.proxy.ServeHTTP(w, r)
}

// stripIdentity removes the Authorization header and every identity header a
// caller may have sent. The handler owns the request's headers;
// ReverseProxy copies them to the outgoing request after this.
func (h *serviceHandler) stripIdentity(hdr http.Header) {
	for name := range hdr {
		n := normalizeHeader(name)
		if h.strip[n] || strings.HasPrefix(n, "x-auth-request-") {
			delete(hdr, name)
		}
	}
}

// bearer returns the token of the one Authorization header, if it is a Bearer
// one (RFC 6750 section 2.1).
func (h *serviceHandler) bearer(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return "", verify.ErrMissing
	}
	if len(values) > 1 {
		return "", verify.ErrMalformed
	}
	v := values[0]
	if len(v) > h.maxTokenSize+len("Bearer ") {
		return "", verify.ErrTooLarge
	}
	scheme, token, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", verify.ErrMissing
	}
	if token = strings.TrimSpace(token); token == "" {
		return "", verify.ErrMissing
	}
	return token, nil
}

// refuse answers a request the sidecar does not forward. The log line has
// the path without its query, and never the token.
func (h *serviceHandler) refuse(w http.ResponseWriter, r *http.Request, status int, params, outcome, reason, clientID string) {
	h.m.count(outcome)
	if status == http.StatusUnauthorized || params != "" {
		c := h.challenge
		if params != "" {
			if c == "Bearer" {
				c += " " + params
			} else {
				c += ", " + params
			}
		}
		w.Header().Set("WWW-Authenticate", c)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, http.StatusText(status), status)
	h.log.Debug("Request refused", "method", r.Method, "path", r.URL.Path, "status", status, "reason", reason, "clientId", clientID)
}

// proxyError is what is logged of a failed upstream request: not the
// *url.Error's URL, whose query belongs to the application's callers.
func proxyError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}
