// Package emulator is a local stand-in for Amazon Cognito user pools,
// covering what this project uses, so that the operator, the example
// services, the demo and every test run on one machine with no AWS account.
//
// It serves, from one HTTP handler (Emulator.Handler):
//
//   - The control plane at POST / over the real wire protocol (awsJson1.1,
//     X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>), so the
//     unmodified AWS SDK works with only its BaseEndpoint changed:
//     CreateUserPool, DescribeUserPool, ListUserPools, DeleteUserPool,
//     Create/Describe/DeleteUserPoolDomain, Create/Describe/Update/Delete/
//     ListResourceServer(s), Create/Describe/Update/Delete/ListUserPoolClient(s)
//     and Add/List/DeleteUserPoolClientSecret. Errors carry Cognito's __type
//     names, so the SDK returns its typed errors. Signatures are not checked,
//     but a request without an Authorization header is refused with
//     MissingAuthenticationTokenException, as AWS does.
//   - The OAuth 2.0 token endpoint for the client-credentials grant at
//     <base URL>/oauth2/token. It is one endpoint for the app clients of all
//     pools, found by client id: Cognito's per-pool hosted domains
//     (https://<prefix>.auth.<region>.amazoncognito.com) are not emulated, so
//     callers that derive the token endpoint from DescribeUserPool's Domain
//     need an override pointing at Emulator.TokenURL.
//   - Access tokens shaped like Cognito's (RS256 with kid; sub, client_id,
//     token_use, scope, iss, exp, iat, auth_time, jti, version; no aud) with
//     issuer <base URL>/<user pool id>, and under that issuer
//     /.well-known/jwks.json and /.well-known/openid-configuration. One set of
//     signing keys serves all pools.
//   - GET /healthz, and JSON admin endpoints for out-of-process tests:
//     GET and DELETE /_emulator/calls (requests by operation under "calls",
//     TooManyRequests answers by operation under "throttled"), POST
//     /_emulator/keys/rotate, GET/PUT/DELETE /_emulator/faults and
//     GET/PUT/DELETE /_emulator/quotas (PUT with an empty body turns on
//     DefaultQuotas).
//
// In a test of another package, emulatortest.NewServer starts one on an
// httptest server; the binary cmd/cognito-emulator serves one over TCP and
// prints a ReadyLine when it listens.
//
// With Options.StateFile the state survives restarts. It is written behind
// the changes (at most Options.StateFlushInterval, 200 ms by default, after
// a change, many changes in one write) so that a request costs about the
// same with and without a state file; Close writes what is pending. A crash
// loses at most the changes of the last interval; each write replaces the
// file atomically, so it is never torn.
//
// Every control-plane request is validated against its input shape in AWS's
// API model (package model: required members, lengths, patterns, ranges,
// enums, list sizes) and refused as Cognito refuses it, with
// InvalidParameterException in AWS's words. With Options.Now (the binary's
// --clock-offset) the emulator's clock, and the Date header of its answers,
// can run apart from the machine's, to test clock skew.
//
// Behaviour follows Cognito where it matters to this project: updates reset
// omitted members to their defaults, client names are not unique, secret ids
// are "<client-id>--<epoch seconds>", at most two secrets per client and never
// fewer than one, unknown scopes are refused, and the client-credentials flow
// is refused on a client without a custom scope (InvalidOAuthFlowException),
// so a client loses its last scope by having its OAuth flows turned off,
// after which the token endpoint answers unauthorized_client. What Cognito does that this
// project does not use (users, sign-in, hosted UI, triggers, most pool
// settings) is not emulated; unknown request members are ignored.
package emulator
