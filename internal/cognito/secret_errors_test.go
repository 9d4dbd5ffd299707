package cognito

import (
	"context"
	"errors"
	"testing"

	"github.com/cognito-m2m/operator/internal/emulator"
	"github.com/cognito-m2m/operator/internal/emulator/model"
)

// Every error type AWS's model lists for the client-secret operations, answered
// by the emulator on the wire and decoded by the real SDK, has a decided action,
// and none of those of a deletion stops a retirement. The table is checked
// against the model, so a type the model adds fails here until it is decided.
func TestEveryModelErrorOfSecretOperationsIsHandled(t *testing.T) {
	want := map[string]map[string]SecretErrorAction{
		"DeleteUserPoolClientSecret": {
			"InvalidParameterException": SecretRecheck, "LimitExceededException": SecretRecheck,
			"ResourceNotFoundException": SecretRecheck, "TooManyRequestsException": SecretRetry,
			"InternalServerException": SecretRetry,
		},
		"AddUserPoolClientSecret": {
			"InvalidParameterException": SecretStall, "LimitExceededException": SecretRecheck,
			"ResourceNotFoundException": SecretRetry, "TooManyRequestsException": SecretRetry,
			"InternalServerException": SecretRetry, "AccessDeniedException": SecretRetry,
		},
		"ListUserPoolClientSecrets": {
			"InvalidParameterException": SecretRetry, "LimitExceededException": SecretRetry,
			"ResourceNotFoundException": SecretRetry, "TooManyRequestsException": SecretRetry,
			"InternalServerException": SecretRetry,
		},
	}
	ctx := context.Background()
	c, emu, pool := newTestClient(t)
	for op, table := range want {
		for _, errType := range model.Op(op).Errors {
			t.Run(op+"/"+errType, func(t *testing.T) {
				action, ok := table[errType]
				if !ok {
					t.Fatalf("the model lists %s for %s and the table does not decide it", errType, op)
				}
				// Every attempt: the boundary sends throttled calls, and reads
				// that got a server error, again (see retryable); what the
				// reconciler decides on is the error of the last attempt.
				emu.SetFaults(emulator.Fault{Operation: op, ErrorType: errType, Count: maxAttempts})
				defer emu.SetFaults()
				var err error
				switch op {
				case "DeleteUserPoolClientSecret":
					err = c.DeleteClientSecret(ctx, pool, "client", "client--1")
				case "AddUserPoolClientSecret":
					_, err = c.AddClientSecret(ctx, pool, "client", "0123456789abcdef0123456789abcdef")
				case "ListUserPoolClientSecrets":
					_, err = c.ClientSecrets(ctx, pool, "client")
				}
				if err == nil {
					if op == "DeleteUserPoolClientSecret" && errType == "ResourceNotFoundException" {
						return // a secret already gone is no error for the boundary
					}
					t.Fatalf("the injected %s did not fail the call", errType)
				}
				if got := ClassifySecretError(op, err); got != action {
					t.Errorf("%s from %s: action %d, want %d (error %v)", errType, op, got, action, err)
				}
				if op == "DeleteUserPoolClientSecret" && ClassifySecretError(op, err) == SecretStall {
					t.Errorf("%s stalls a retirement", errType)
				}
			})
		}
	}
	// Types outside the model's lists are retried, never a stall.
	if got := ClassifySecretError("DeleteUserPoolClientSecret", errors.New("connection reset")); got != SecretRetry {
		t.Errorf("an unlisted error: action %d, want a retry", got)
	}
}
