package controllers_test

import (
	"context"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

// call runs one SDK call between the hooks.
func call[I, O any](h *hookedAPI, op string, ctx context.Context, in I, f func(context.Context, I, ...func(*cip.Options)) (O, error)) (O, error) {
	var zero O
	if err := h.record(op); err != nil {
		return zero, err
	}
	out, err := f(ctx, in)
	if err == nil {
		if err := h.afterCall(op); err != nil {
			return zero, err
		}
	}
	return out, err
}

func (h *hookedAPI) DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, _ ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error) {
	return call(h, "DescribeUserPool", ctx, in, h.API.DescribeUserPool)
}

func (h *hookedAPI) CreateResourceServer(ctx context.Context, in *cip.CreateResourceServerInput, _ ...func(*cip.Options)) (*cip.CreateResourceServerOutput, error) {
	return call(h, "CreateResourceServer", ctx, in, h.API.CreateResourceServer)
}

func (h *hookedAPI) DescribeResourceServer(ctx context.Context, in *cip.DescribeResourceServerInput, _ ...func(*cip.Options)) (*cip.DescribeResourceServerOutput, error) {
	return call(h, "DescribeResourceServer", ctx, in, h.API.DescribeResourceServer)
}

func (h *hookedAPI) UpdateResourceServer(ctx context.Context, in *cip.UpdateResourceServerInput, _ ...func(*cip.Options)) (*cip.UpdateResourceServerOutput, error) {
	return call(h, "UpdateResourceServer", ctx, in, h.API.UpdateResourceServer)
}

func (h *hookedAPI) DeleteResourceServer(ctx context.Context, in *cip.DeleteResourceServerInput, _ ...func(*cip.Options)) (*cip.DeleteResourceServerOutput, error) {
	return call(h, "DeleteResourceServer", ctx, in, h.API.DeleteResourceServer)
}

func (h *hookedAPI) CreateUserPoolClient(ctx context.Context, in *cip.CreateUserPoolClientInput, _ ...func(*cip.Options)) (*cip.CreateUserPoolClientOutput, error) {
	return call(h, "CreateUserPoolClient", ctx, in, h.API.CreateUserPoolClient)
}

func (h *hookedAPI) DescribeUserPoolClient(ctx context.Context, in *cip.DescribeUserPoolClientInput, _ ...func(*cip.Options)) (*cip.DescribeUserPoolClientOutput, error) {
	return call(h, "DescribeUserPoolClient", ctx, in, h.API.DescribeUserPoolClient)
}

func (h *hookedAPI) UpdateUserPoolClient(ctx context.Context, in *cip.UpdateUserPoolClientInput, _ ...func(*cip.Options)) (*cip.UpdateUserPoolClientOutput, error) {
	return call(h, "UpdateUserPoolClient", ctx, in, h.API.UpdateUserPoolClient)
}

func (h *hookedAPI) DeleteUserPoolClient(ctx context.Context, in *cip.DeleteUserPoolClientInput, _ ...func(*cip.Options)) (*cip.DeleteUserPoolClientOutput, error) {
	return call(h, "DeleteUserPoolClient", ctx, in, h.API.DeleteUserPoolClient)
}

func (h *hookedAPI) ListUserPoolClients(ctx context.Context, in *cip.ListUserPoolClientsInput, _ ...func(*cip.Options)) (*cip.ListUserPoolClientsOutput, error) {
	return call(h, "ListUserPoolClients", ctx, in, h.API.ListUserPoolClients)
}

func (h *hookedAPI) AddUserPoolClientSecret(ctx context.Context, in *cip.AddUserPoolClientSecretInput, _ ...func(*cip.Options)) (*cip.AddUserPoolClientSecretOutput, error) {
	return call(h, "AddUserPoolClientSecret", ctx, in, h.API.AddUserPoolClientSecret)
}

func (h *hookedAPI) ListUserPoolClientSecrets(ctx context.Context, in *cip.ListUserPoolClientSecretsInput, _ ...func(*cip.Options)) (*cip.ListUserPoolClientSecretsOutput, error) {
	return call(h, "ListUserPoolClientSecrets", ctx, in, h.API.ListUserPoolClientSecrets)
}

func (h *hookedAPI) DeleteUserPoolClientSecret(ctx context.Context, in *cip.DeleteUserPoolClientSecretInput, _ ...func(*cip.Options)) (*cip.DeleteUserPoolClientSecretOutput, error) {
	return call(h, "DeleteUserPoolClientSecret", ctx, in, h.API.DeleteUserPoolClientSecret)
}
