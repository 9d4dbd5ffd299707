package cognito

import (
	"errors"

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

// IsScopeMissing reports whether a requested scope does not exist in the pool.
func IsScopeMissing(err error) bool {
	var sd *types.ScopeDoesNotExistException
	return errors.As(err, &sd)
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

// Code is the error's API code (its __type), or "" for errors that did not come
// from Cognito. It is safe to show: it never carries request content.
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
