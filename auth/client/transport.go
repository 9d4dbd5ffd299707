package client

import (
	"io"
	"net/http"
)

// Transport is an http.RoundTripper that sends each request with the bearer token
// of Source. On a 401 it renews the token once (if nobody did already and the
// retry budget allows) and sends the request again, if the request can be
// replayed: no body, or a GetBody to make a new one. Otherwise the 401 is returned.
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
