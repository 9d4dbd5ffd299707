package emulator

import (
	"fmt"
	"net/http"
)

// Error types the emulator answers with. The names are the `__type` values of
// the Cognito API model, which the AWS SDK maps to its typed errors.
const (
	errInternal              = "InternalErrorException"
	errInternalServer        = "InternalServerException"
	errInvalidParameter      = "InvalidParameterException"
	errInvalidOAuthFlow      = "InvalidOAuthFlowException"
	errLimitExceeded         = "LimitExceededException"
	errResourceNotFound      = "ResourceNotFoundException"
	errScopeDoesNotExist     = "ScopeDoesNotExistException"
	errTooManyRequests       = "TooManyRequestsException"
	errUnknownOperation      = "UnknownOperationException"
	errSerialization         = "SerializationException"
	errMissingAuthentication = "MissingAuthenticationTokenException"
	errIncompleteSignature   = "IncompleteSignatureException"
)

// msgClientCredentialsWithoutScopes is Cognito's refusal of the
// client-credentials flow on a client without a custom scope, as widely
// reported by Terraform and CDK users.
const msgClientCredentialsWithoutScopes = "client_credentials flow can not be selected if there are no custom scopes"

// apiError is a control-plane error as it goes on the wire.
type apiError struct {
	Type    string
	Message string
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

// status is the HTTP status AWS uses for the error: 500 for server faults,
// 400 for everything the caller did.
func (e *apiError) status() int {
	switch e.Type {
	case errInternal, errInternalServer, "ServiceUnavailable":
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

func newErr(typ, format string, args ...any) *apiError {
	return &apiError{Type: typ, Message: fmt.Sprintf(format, args...)}
}

func invalidParam(format string, args ...any) *apiError {
	return newErr(errInvalidParameter, format, args...)
}

func notFound(format string, args ...any) *apiError {
	return newErr(errResourceNotFound, format, args...)
}

// validationErr renders a model-constraint violation the way Cognito does.
func validationErr(field, value, constraint string) *apiError {
	if value == "" {
		return invalidParam("1 validation error detected: Value at '%s' failed to satisfy constraint: %s", field, constraint)
	}
	return invalidParam("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, field, constraint)
}

func missingParam(field string) *apiError {
	return invalidParam("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", field)
}
