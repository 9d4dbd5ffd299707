package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"golang.org/x/oauth2"

	"github.com/cognito-m2m/operator/auth/credentials"
)

// Reasons a token request fails, as FetchError.Reason and metric labels. The OAuth
// error codes are Cognito's (RFC 6749 section 5.2).
const (
	ReasonInvalidClient      = "invalid_client"
	ReasonInvalidScope       = "invalid_scope"
	ReasonUnauthorizedClient = "unauthorized_client"
	ReasonInvalidRequest     = "invalid_request"
	ReasonUnsupportedGrant   = "unsupported_grant_type"
	ReasonOAuthError         = "oauth_error"  // another OAuth error code
	ReasonServerError        = "server_error" // 5xx without an OAuth error
	ReasonHTTPStatus         = "http_status"  // another status without an OAuth error
	ReasonTimeout            = "timeout"
	ReasonNetwork            = "network"
	ReasonBadResponse        = "bad_response"
	ReasonCredentials        = "credentials" // incomplete credentials
)

var allReasons = []string{
	ReasonInvalidClient, ReasonInvalidScope, ReasonUnauthorizedClient, ReasonInvalidRequest,
	ReasonUnsupportedGrant, ReasonOAuthError, ReasonServerError, ReasonHTTPStatus,
	ReasonTimeout, ReasonNetwork, ReasonBadResponse, ReasonCredentials,
}

// FetchError is a failed token request. Its message names the client, the
// endpoint and what failed; it never contains a secret.
type FetchError struct {
	// Reason is one of the Reason constants.
	Reason string
	// ClientID and Endpoint identify the request.
	ClientID, Endpoint string
	// StatusCode is the HTTP status, when there was a response.
	StatusCode int
	// Description is the OAuth error_description or other detail.
	Description string

	err error
}

func (e *FetchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "token request for client %q to %s failed: %s", e.ClientID, e.Endpoint, e.Reason)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", e.Description)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *FetchError) Unwrap() error { return e.err }

var oauthCodes = map[string]bool{
	ReasonInvalidClient: true, ReasonInvalidScope: true, ReasonUnauthorizedClient: true,
	ReasonInvalidRequest: true, ReasonUnsupportedGrant: true,
}

func newFetchError(err error, c credentials.Credentials, secret credentials.Secret) *FetchError {
	fe := &FetchError{ClientID: c.ClientID, Endpoint: c.TokenEndpoint, err: err}
	var re *oauth2.RetrieveError
	var ne net.Error
	switch {
	case errors.As(err, &re):
		if re.Response != nil {
			fe.StatusCode = re.Response.StatusCode
		}
		fe.Description = re.ErrorDescription
		switch {
		case oauthCodes[re.ErrorCode]:
			fe.Reason = re.ErrorCode
		case re.ErrorCode != "":
			fe.Reason = ReasonOAuthError
			fe.Description = strings.TrimSpace(re.ErrorCode + " " + re.ErrorDescription)
		case fe.StatusCode == 401:
			fe.Reason = ReasonInvalidClient
		case fe.StatusCode >= 500:
			fe.Reason = ReasonServerError
		default:
			fe.Reason = ReasonHTTPStatus
		}
	case errors.Is(err, context.DeadlineExceeded):
		fe.Reason = ReasonTimeout
	case errors.As(err, &ne):
		fe.Reason = ReasonNetwork
		if ne.Timeout() {
			fe.Reason = ReasonTimeout
		}
		fe.Description = err.Error()
	default:
		fe.Reason = ReasonBadResponse
		fe.Description = err.Error()
	}
	if s := secret.Reveal(); s != "" {
		fe.Description = strings.ReplaceAll(fe.Description, s, "[redacted]")
	}
	return fe
}
