package cognito

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// SecretErrorAction is what a rotation does after a client-secret operation
// (Add/List/DeleteUserPoolClientSecret) failed.
type SecretErrorAction int

const (
	// SecretRetry: the failure may pass by itself (throttling, a server error,
	// a missing permission an admin grants, an app client that the next pass
	// creates again, or an error the model does not list): try again with
	// backoff.
	SecretRetry SecretErrorAction = iota
	// SecretRecheck: Cognito refused because of the secrets the client has now
	// (the last secret cannot be deleted, the secret id is unknown, the client
	// already has two): list them again and decide from what is there. Cognito
	// does not document which type each of these refusals has, so every definite
	// refusal the model lists for the operation is taken this way.
	SecretRecheck
	// SecretStall: the app client cannot take the operation at all (a client
	// made without a secret gets no second one): retrying cannot help.
	SecretStall
)

// ClassifySecretError says what a rotation does about err from the named
// client-secret operation. It covers every error type AWS's model lists for
// the three operations, so that a retirement never stops on a type it did not
// expect.
func ClassifySecretError(op string, err error) SecretErrorAction {
	var (
		invalid  *types.InvalidParameterException
		limit    *types.LimitExceededException
		notFound *types.ResourceNotFoundException
	)
	switch op {
	case "DeleteUserPoolClientSecret":
		if errors.As(err, &invalid) || errors.As(err, &limit) || errors.As(err, &notFound) {
			return SecretRecheck
		}
	case "AddUserPoolClientSecret":
		switch {
		case errors.As(err, &limit):
			return SecretRecheck // two secrets already: the next pass finds them
		case errors.As(err, &invalid):
			return SecretStall // a client without a secret; the value sent is valid
		}
	}
	// TooManyRequests, InternalServer, AccessDenied, ResourceNotFound on Add and
	// List (the client is gone and is made again), InvalidParameter and
	// LimitExceeded on List, and anything the model does not list.
	return SecretRetry
}
