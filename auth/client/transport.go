package client

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Transport is an http.RoundTripper that sends each request with the bearer token
// of Source. On a 401 it renews the token once (if nobody did already and the
// retry budget allows) and sends the request again, if the request can be
// replayed: no body, or a GetBody to make a new one. Otherwise the 401 is returned.
//
// The token goes only to the origin (scheme, host and port) of the request the
// caller made, and only while every hop of a redirect chain stayed there. When
// an http.Client follows a redirect elsewhere, the transport sends that request
// without a token, and every later hop too, even one back to the origin: the
// other host chose its path (and, with a 307, resends a POST's body to it).
// net/http drops an Authorization header that the caller set when a redirect
// leaves the host, but a transport adds its header to every request it is given,
// after that decision, so it must apply the rule itself. It is stricter than
// net/http's: another port, another scheme (an https request redirected to
// http) or a subdomain is another origin.
type Transport struct {
	// Source provides the tokens.
	Source *TokenSource
	// Base sends the requests; default http.DefaultTransport.
	Base http.RoundTripper
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	// Only a request made to follow a redirect has a Response.
	if req.Response != nil && !chainOnOrigin(req) {
		return t.base().RoundTrip(req)
	}
	tok, err := t.Source.token(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", tok.header)
	resp, err := t.base().RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !replayable(req) {
		return resp, err
	}
	fresh, err := t.Source.renewAfterReject(req.Context(), tok)
	if err != nil {
		return resp, nil // the service's 401 says more than why no retry happened
	}
	retry := req.Clone(req.Context())
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		if retry.Body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	retry.Header.Set("Authorization", fresh.header)
	t.Source.stats.retries.Add(1)
	return t.base().RoundTrip(retry)
}

func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// chainOnOrigin reports whether req, made by an http.Client to follow a
// redirect, and every request before it in the chain, down to the one the
// caller made, have the same origin.
func chainOnOrigin(req *http.Request) bool {
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	for r := req; r != first; r = r.Response.Request {
		if !sameOrigin(r.URL, first.URL) {
			return false
		}
	}
	return true
}

// sameOrigin reports whether two URLs have the same scheme, host and port, with
// the scheme's default port filled in.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(hostPort(a), hostPort(b))
}

func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}
