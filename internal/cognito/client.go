package cognito

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// Client is the operator's one door to Cognito: the reconcilers call these typed
// operations, and every SDK request shape is built here. Each call goes through
// call, which paces each attempt to the pool's quota, counts it and decides
// whether to send it again, so that quota use is visible and bounded in one
// place.
type Client struct {
	api     API
	limiter *Limiter
	clock   serverClock
}

// NewClient wraps api (the AWS SDK client in production). limiter may be nil: no
// pacing.
func NewClient(api API, limiter *Limiter) *Client {
	return &Client{api: api, limiter: limiter}
}

// maxAttempts bounds the HTTP attempts of one call. The SDK's own retryer is off
// (SDKOptions): retries happen here, so that each attempt waits for the rate
// limit, is counted with its own outcome and adapts the pace.
const maxAttempts = 3

// retryBase is the first backoff before sending a read again after a server
// error or no answer; it doubles with each attempt. A throttled attempt needs
// none: its retry waits for the rate limit, which the throttle has just cut.
const retryBase = 100 * time.Millisecond

// call runs one Cognito request: each attempt waits for the operation's quota in
// pool, then records its outcome and latency and adapts the pace to it.
func call[O any](ctx context.Context, c *Client, op, pool string, f func(context.Context) (O, error)) (O, error) {
	return callMarked(ctx, c, op, pool, nil, f)
}

// Mark records, on the caller's object, that a request is about to be sent. It runs
// after the wait for the quota and just before the first attempt, so that a wait
// that ends (the manager stops, the context is cancelled) leaves no mark of a
// request that was never sent.
type Mark func(context.Context) error

// callMarked is call with a mark written between the first quota wait and the
// first attempt. A request that was never sent fails with a NotSentError.
func callMarked[O any](ctx context.Context, c *Client, op, pool string, mark Mark, f func(context.Context) (O, error)) (O, error) {
	var out O
	var err error
	for attempt := 1; ; attempt++ {
		if werr := c.limiter.Wait(ctx, op, pool); werr != nil {
			if attempt == 1 {
				return out, &NotSentError{Op: op, Err: werr}
			}
			return out, err
		}
		if attempt == 1 && mark != nil {
			if merr := mark(ctx); merr != nil {
				return out, &NotSentError{Op: op, Err: merr}
			}
		}
		start := time.Now()
		out, err = f(ctx)
		record(op, err, time.Since(start))
		c.limiter.Answered(op, pool, err)
		if attempt == maxAttempts || !retryable(op, err) {
			return out, err
		}
		if !IsThrottled(err) && !sleep(ctx, backoff(attempt)) {
			return out, err
		}
	}
}

// backoff is the jittered wait before attempt+1 of a read that failed.
func backoff(attempt int) time.Duration {
	d := retryBase << (attempt - 1)
	return d/2 + rand.N(d/2+1)
}

// sleep waits d, or less if ctx ends first; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// UserPool describes a pool, for its domain (and so its token endpoint).
func (c *Client) UserPool(ctx context.Context, pool string) (*types.UserPoolType, error) {
	out, err := call(ctx, c, "DescribeUserPool", pool, func(ctx context.Context) (*cip.DescribeUserPoolOutput, error) {
		return c.api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(pool)})
	})
	if err != nil {
		return nil, err
	}
	return out.UserPool, nil
}

// ResourceServer describes the resource server with identifier; IsNotFound tells a
// missing one.
func (c *Client) ResourceServer(ctx context.Context, pool, identifier string) (*types.ResourceServerType, error) {
	out, err := call(ctx, c, "DescribeResourceServer", pool, func(ctx context.Context) (*cip.DescribeResourceServerOutput, error) {
		return c.api.DescribeResourceServer(ctx, &cip.DescribeResourceServerInput{UserPoolId: aws.String(pool), Identifier: aws.String(identifier)})
	})
	if err != nil {
		return nil, err
	}
	return out.ResourceServer, nil
}

// CreateResourceServer creates the resource server d describes; mark, when not nil,
// runs just before the request is sent (see Mark).
func (c *Client) CreateResourceServer(ctx context.Context, pool string, d ResourceServerSpec, mark Mark) error {
	_, err := callMarked(ctx, c, "CreateResourceServer", pool, mark, func(ctx context.Context) (*cip.CreateResourceServerOutput, error) {
		return c.api.CreateResourceServer(ctx, d.createInput(pool))
	})
	return err
}

// UpdateResourceServer sets the whole resource server to d.
func (c *Client) UpdateResourceServer(ctx context.Context, pool string, d ResourceServerSpec) error {
	_, err := call(ctx, c, "UpdateResourceServer", pool, func(ctx context.Context) (*cip.UpdateResourceServerOutput, error) {
		return c.api.UpdateResourceServer(ctx, d.updateInput(pool))
	})
	return err
}

// DeleteResourceServer deletes the resource server; one already gone is no error.
func (c *Client) DeleteResourceServer(ctx context.Context, pool, identifier string) error {
	_, err := call(ctx, c, "DeleteResourceServer", pool, func(ctx context.Context) (*cip.DeleteResourceServerOutput, error) {
		return c.api.DeleteResourceServer(ctx, &cip.DeleteResourceServerInput{UserPoolId: aws.String(pool), Identifier: aws.String(identifier)})
	})
	return ignoreNotFound(err)
}

// CreateAppClient creates the app client d describes, with a generated secret, and
// returns it as Cognito holds it, secret included; mark, when not nil, runs just
// before the request is sent (see Mark).
func (c *Client) CreateAppClient(ctx context.Context, pool string, d ClientSpec, mark Mark) (*types.UserPoolClientType, error) {
	out, err := callMarked(ctx, c, "CreateUserPoolClient", pool, mark, func(ctx context.Context) (*cip.CreateUserPoolClientOutput, error) {
		return c.api.CreateUserPoolClient(ctx, d.createInput(pool))
	})
	if err != nil {
		return nil, err
	}
	return out.UserPoolClient, nil
}

// AppClient describes an app client, secret included; IsNotFound tells a missing one.
func (c *Client) AppClient(ctx context.Context, pool, id string) (*types.UserPoolClientType, error) {
	out, err := call(ctx, c, "DescribeUserPoolClient", pool, func(ctx context.Context) (*cip.DescribeUserPoolClientOutput, error) {
		return c.api.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: aws.String(pool), ClientId: aws.String(id)})
	})
	if err != nil {
		return nil, err
	}
	return out.UserPoolClient, nil
}

// UpdateAppClient sets the whole app client to d and returns it as Cognito holds it
// (Cognito's answer to an update may leave the secret out).
func (c *Client) UpdateAppClient(ctx context.Context, pool, id string, d ClientSpec) (*types.UserPoolClientType, error) {
	out, err := call(ctx, c, "UpdateUserPoolClient", pool, func(ctx context.Context) (*cip.UpdateUserPoolClientOutput, error) {
		return c.api.UpdateUserPoolClient(ctx, d.updateInput(pool, id))
	})
	if err != nil {
		return nil, err
	}
	return out.UserPoolClient, nil
}

// SetAppClientScopes leaves app (as described) with only the scopes keep, and
// everything else as it is (see withScopesInput).
func (c *Client) SetAppClientScopes(ctx context.Context, pool string, app *types.UserPoolClientType, keep []string) error {
	_, err := call(ctx, c, "UpdateUserPoolClient", pool, func(ctx context.Context) (*cip.UpdateUserPoolClientOutput, error) {
		return c.api.UpdateUserPoolClient(ctx, withScopesInput(pool, app, keep))
	})
	return err
}

// DeleteAppClient deletes an app client; one already gone is no error.
func (c *Client) DeleteAppClient(ctx context.Context, pool, id string) error {
	_, err := call(ctx, c, "DeleteUserPoolClient", pool, func(ctx context.Context) (*cip.DeleteUserPoolClientOutput, error) {
		return c.api.DeleteUserPoolClient(ctx, &cip.DeleteUserPoolClientInput{UserPoolId: aws.String(pool), ClientId: aws.String(id)})
	})
	return ignoreNotFound(err)
}

// AppClientsNamed calls found with the id of each app client in pool named name,
// page by page, until found returns false or the pool has no more.
func (c *Client) AppClientsNamed(ctx context.Context, pool, name string, found func(id string) (more bool, err error)) error {
	return c.AppClients(ctx, pool, func(id, n string) (bool, error) {
		if n != name {
			return true, nil
		}
		return found(id)
	})
}

// AppClients calls found with the id and name of each app client in pool, page by
// page, until found returns false or the pool has no more.
func (c *Client) AppClients(ctx context.Context, pool string, found func(id, name string) (more bool, err error)) error {
	var next *string
	for {
		page, err := call(ctx, c, "ListUserPoolClients", pool, func(ctx context.Context) (*cip.ListUserPoolClientsOutput, error) {
			return c.api.ListUserPoolClients(ctx, &cip.ListUserPoolClientsInput{UserPoolId: aws.String(pool), MaxResults: aws.Int32(60), NextToken: next})
		})
		if err != nil {
			return err
		}
		c.clock.observe(page.ResultMetadata) // for CognitoTime, which recovery compares with
		for _, cl := range page.UserPoolClients {
			if more, err := found(aws.ToString(cl.ClientId), aws.ToString(cl.ClientName)); err != nil || !more {
				return err
			}
		}
		if next = page.NextToken; aws.ToString(next) == "" {
			return nil
		}
	}
}

// AddClientSecret adds value as a second secret of the app client.
func (c *Client) AddClientSecret(ctx context.Context, pool, id, value string) (*types.ClientSecretDescriptorType, error) {
	out, err := call(ctx, c, "AddUserPoolClientSecret", pool, func(ctx context.Context) (*cip.AddUserPoolClientSecretOutput, error) {
		return c.api.AddUserPoolClientSecret(ctx, &cip.AddUserPoolClientSecretInput{UserPoolId: aws.String(pool), ClientId: aws.String(id), ClientSecret: aws.String(value)})
	})
	if err != nil {
		return nil, err
	}
	return out.ClientSecretDescriptor, nil
}

// ClientSecrets lists the app client's secrets (ids and dates; never values).
func (c *Client) ClientSecrets(ctx context.Context, pool, id string) ([]types.ClientSecretDescriptorType, error) {
	out, err := call(ctx, c, "ListUserPoolClientSecrets", pool, func(ctx context.Context) (*cip.ListUserPoolClientSecretsOutput, error) {
		return c.api.ListUserPoolClientSecrets(ctx, &cip.ListUserPoolClientSecretsInput{UserPoolId: aws.String(pool), ClientId: aws.String(id)})
	})
	if err != nil {
		return nil, err
	}
	return out.ClientSecrets, nil
}

// DeleteClientSecret deletes one of the app client's secrets; one already gone is
// no error.
func (c *Client) DeleteClientSecret(ctx context.Context, pool, id, secretID string) error {
	_, err := call(ctx, c, "DeleteUserPoolClientSecret", pool, func(ctx context.Context) (*cip.DeleteUserPoolClientSecretOutput, error) {
		return c.api.DeleteUserPoolClientSecret(ctx, &cip.DeleteUserPoolClientSecretInput{UserPoolId: aws.String(pool), ClientId: aws.String(id), ClientSecretId: aws.String(secretID)})
	})
	return ignoreNotFound(err)
}

func ignoreNotFound(err error) error {
	if IsNotFound(err) {
		return nil
	}
	return err
}
