// Package auth is the home of the libraries that services use to take part in
// machine-to-machine auth with Amazon Cognito. It depends on no Kubernetes or AWS
// package: golang.org/x/oauth2 makes the token exchange, golang-jwt parses and
// verifies tokens, and the Prometheus client backs authprom. It is a Go module of
// its own (github.com/cognito-m2m/operator/auth), so a service that imports it
// adds only those to its module graph, not the operator's.
//
//   - credentials: a client's id, secret, token endpoint and scopes, from the
//     Secret the operator writes (mounted as files), from the environment or code.
//   - client: the calling side. A TokenSource that keeps one access token warm and
//     an http.RoundTripper that attaches it.
//   - verify: the called side. A Verifier of Cognito access tokens with its JWKS
//     cache, and net/http middleware that requires scopes.
//   - authprom: Prometheus collectors for the counters of client and verify.
//   - authtest: stand-ins for tests: a Cognito-shaped token endpoint and JWKS, a
//     fake clock, and a kubelet-style writer of a mounted Secret.
//
// A calling service:
//
//	creds, err := credentials.OpenDir("/var/run/secrets/m2m")
//	ts, err := client.New(client.Config{Credentials: creds})
//	httpClient := ts.Client(nil) // requests now carry a bearer token
//
// A called service:
//
//	v, err := verify.New(verify.Config{Issuer: issuer})
//	go v.Run(ctx) // loads and refreshes the JWKS
//	mux.Handle("/weatherforecast", verify.Require(v, "MyService/weather_read")(handler))
package auth
