// Package cognito holds the operator's boundary with Amazon Cognito: the narrow
// interface it calls (shaped exactly like the AWS SDK, so the real client satisfies it
// with no adapter), the classification of Cognito's errors into what a reconciler
// should do about them, and the pure functions that turn an object's spec into the
// request Cognito expects and tell whether what Cognito holds has drifted.
package cognito

import (
	"context"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

// API is the part of the Cognito user-pools API the operator uses.
type API interface {
	DescribeUserPool(context.Context, *cip.DescribeUserPoolInput, ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error)

	CreateResourceServer(context.Context, *cip.CreateResourceServerInput, ...func(*cip.Options)) (*cip.CreateResourceServerOutput, error)
	DescribeResourceServer(context.Context, *cip.DescribeResourceServerInput, ...func(*cip.Options)) (*cip.DescribeResourceServerOutput, error)
	UpdateResourceServer(context.Context, *cip.UpdateResourceServerInput, ...func(*cip.Options)) (*cip.UpdateResourceServerOutput, error)
	DeleteResourceServer(context.Context, *cip.DeleteResourceServerInput, ...func(*cip.Options)) (*cip.DeleteResourceServerOutput, error)

	CreateUserPoolClient(context.Context, *cip.CreateUserPoolClientInput, ...func(*cip.Options)) (*cip.CreateUserPoolClientOutput, error)
	DescribeUserPoolClient(context.Context, *cip.DescribeUserPoolClientInput, ...func(*cip.Options)) (*cip.DescribeUserPoolClientOutput, error)
	UpdateUserPoolClient(context.Context, *cip.UpdateUserPoolClientInput, ...func(*cip.Options)) (*cip.UpdateUserPoolClientOutput, error)
	DeleteUserPoolClient(context.Context, *cip.DeleteUserPoolClientInput, ...func(*cip.Options)) (*cip.DeleteUserPoolClientOutput, error)
	ListUserPoolClients(context.Context, *cip.ListUserPoolClientsInput, ...func(*cip.Options)) (*cip.ListUserPoolClientsOutput, error)

	AddUserPoolClientSecret(context.Context, *cip.AddUserPoolClientSecretInput, ...func(*cip.Options)) (*cip.AddUserPoolClientSecretOutput, error)
	ListUserPoolClientSecrets(context.Context, *cip.ListUserPoolClientSecretsInput, ...func(*cip.Options)) (*cip.ListUserPoolClientSecretsOutput, error)
	DeleteUserPoolClientSecret(context.Context, *cip.DeleteUserPoolClientSecretInput, ...func(*cip.Options)) (*cip.DeleteUserPoolClientSecretOutput, error)
}

var _ API = (*cip.Client)(nil)
