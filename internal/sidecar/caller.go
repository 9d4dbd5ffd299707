package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/cognito-m2m/operator/auth/client"
)

// TokenRequestHeader must be sent, with the value "true", to the token
// endpoint. A request forged through the application (server-side request
// forgery) rarely controls its headers, so it cannot read the token; the
// cloud metadata services ask the same of their callers.
const TokenRequestHeader = "X-M2M-Token-Request"

// newCallerProxy returns the handler of one upstream's listener: every request
// goes to the upstream's origin with the sidecar's token, whatever
// Authorization the application sent. ReverseProxy never follows redirects;
// a redirect to the upstream itself is rewritten to come back through the
// listener, and any other is passed on as it is, so the token goes to the
// upstream's origin and nowhere else.
func newCallerProxy(u Upstream, attach http.RoundTripper, log *slog.Logger, m *callerMetrics) (http.Handler, error) {
	target, err := url.Parse(u.URL)
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(target.Path, "/")
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Del("Authorization")
			pr.Out.Header.Del("Proxy-Authorization")
			m.forwarded.Inc()
		},
		Transport: attach,
		ModifyResponse: func(resp *http.Response) error {
			if log.Enabled(resp.Request.Context(), slog.LevelDebug) {
				log.Debug("Request forwarded", "upstream", u.Name, "method", resp.Request.Method, "path", resp.Request.URL.Path, "status", resp.StatusCode)
			}
			if loc := resp.Header.Get("Location"); loc != "" {
				if l, err := url.Parse(loc); err == nil && l.IsAbs() && sameOrigin(l, target) && strings.HasPrefix(l.Path, base) {
					rel := url.URL{Path: strings.TrimPrefix(l.Path, base), RawQuery: l.RawQuery, Fragment: l.Fragment}
					if rel.Path == "" {
						rel.Path = "/"
					}
					resp.Header.Set("Location", rel.String())
				}
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			status := http.StatusBadGateway
			switch {
			case isTokenError(err):
				status = http.StatusServiceUnavailable
				m.noToken.Inc()
			case isTimeout(err):
				status = http.StatusGatewayTimeout
				m.upstreamErrors.Inc()
			default:
				m.upstreamErrors.Inc()
			}
			log.Warn("Upstream call failed", "upstream", u.Name, "method", r.Method, "path", r.URL.Path, "status", status, "error", proxyError(err))
			w.WriteHeader(status)
		},
	}, nil
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(hostPort(a), hostPort(b))
}

func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// isTokenError reports whether a request failed for want of a token rather
// than at the upstream.
func isTokenError(err error) bool {
	var fe *client.FetchError
	return errors.As(err, &fe) || errors.Is(err, client.ErrBackoff) || errors.Is(err, client.ErrRetryBudget) || errors.Is(err, client.ErrClosed)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// tokenSource is what the caller side needs of a client.TokenSource.
type tokenSource interface {
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// tokenResponse is the token endpoint's answer, shaped like an OAuth 2.0
// token response so that client libraries can read it.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// newTokenHandler serves GET /token: the current access token as JSON, for
// clients that set the Authorization header themselves. It answers from the
// cache; a client asks again whenever it likes, or before expires_in runs out.
func newTokenHandler(ts tokenSource, now func() time.Time, log *slog.Logger, m *tokenMetrics) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Header.Get(TokenRequestHeader) != "true" {
			http.Error(w, TokenRequestHeader+": true is required", http.StatusForbidden)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		tok, err := ts.TokenContext(ctx)
		if err != nil {
			m.noToken.Inc()
			log.Warn("No access token to hand out", "error", err)
			http.Error(w, "no access token", http.StatusServiceUnavailable)
			return
		}
		m.served.Inc()
		log.Debug("Token handed out", "expiresAt", tok.Expiry)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(tokenResponse{
			AccessToken: tok.AccessToken,
			TokenType:   "Bearer",
			ExpiresIn:   max(0, int64(tok.Expiry.Sub(now())/time.Second)),
		})
	})
	return mux
}
