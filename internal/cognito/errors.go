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

// IsDefinite reports whether Cognito answered a request with a refusal that means it
// did nothing: a client-side (4xx) error such as an invalid parameter, a missing
// scope or throttling. A server error, a timeout or a reset connection is not
// definite: a create may still have happened.
func IsDefinite(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorFault() == smithy.FaultClient
}

// IsInvalidParameter reports whether Cognito refused the request's content: retrying
// the same request cannot succeed, so the object is stalled until its spec changes.
func IsInvalidParameter(err error) bool {
	var ip *types.InvalidParameterException
	if errors.As(err, &ip) {
		return true
	}
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
