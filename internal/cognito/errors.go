package cognito

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
)

// IsNotFound reports whether Cognito said the pool, client or resource server does
// not exist.
func IsNotFound(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf)
}

// IsThrottled reports whether Cognito refused the call for its request-rate quota.
func IsThrottled(err error) bool {
	var tm *types.TooManyRequestsException
	return errors.As(err, &tm)
}

// IsDefinite reports whether a request certainly did nothing: it was never sent
// (NotSentError), or Cognito refused it with a client-side (4xx) error such as an
// invalid parameter, a missing scope or throttling. A server error, a timeout or a
// reset connection is not definite: a create may still have happened.
func IsDefinite(err error) bool {
	var ns *NotSentError
	if errors.As(err, &ns) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorFault() == smithy.FaultClient
}

// NotSentError is a request that was never sent: its wait for the rate limit, or
// the mark written before it, failed.
type NotSentError struct {
	Op  string
	Err error
}

func (e *NotSentError) Error() string { return e.Op + " not sent: " + e.Err.Error() }
func (e *NotSentError) Unwrap() error { return e.Err }

// IsInvalidParameter reports whether Cognito refused the request's content: retrying
// the same request cannot succeed, so the object is stalled until its spec changes.
func IsInvalidParameter(err error) bool {
	var ip *types.InvalidParameterException
	return errors.As(err, &ip)
}

// IsLimitExceeded reports whether Cognito refused the request because a pool is
// full (25 resource servers, 1,000 app clients by default). It passes when room is
// freed, so it is retried, not a terminal error: otherwise a team that filled a
// pool once would block every other team's objects for good.
func IsLimitExceeded(err error) bool {
	var le *types.LimitExceededException
	return errors.As(err, &le)
}

// fromCognito reports whether err is Cognito's answer (none, or an API error), as
// opposed to a call that got no answer: a timeout, a reset, a cancelled context.
func fromCognito(err error) bool {
	var ae smithy.APIError
	return err == nil || errors.As(err, &ae)
}

// retryable reports whether the boundary should send a failed attempt again.
// A throttled attempt did nothing, so any operation may be sent again. Reads may
// be sent again after any failure but a refusal (a 4xx answer). A write that got
// a server error or no answer may have happened: sending it again could create
// a second app client, so it goes back to the reconciler, which knows how to
// look for what an interrupted create made.
func retryable(op string, err error) bool {
	switch {
	case err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return false
	case IsThrottled(err):
		return true
	}
	return isRead(op) && !IsDefinite(err)
}

func isRead(op string) bool {
	return strings.HasPrefix(op, "Describe") || strings.HasPrefix(op, "List")
}
