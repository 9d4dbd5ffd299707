// Package e2e holds the kind end-to-end test, the user's path on a real
// cluster: build the five images from the Dockerfile, load them into a kind
// cluster, and run the scenario of package scenario (the same one the
// local-node test in test/e2elocal runs): helm install with the in-cluster
// Cognito emulator, samples Ready, weather and BFF from their manifests in
// both variants (in-process OAuth and the auth sidecar), the forecast
// through each BFF, 401, 403 and 200, rotation under load on both, the
// operator pod killed during a batch, and cleanup in Cognito.
//
// It needs Docker, kind and network access, so it sits behind the e2e build
// tag:
//
//	make test-e2e
//	go test -tags e2e -count=1 -timeout 45m -v ./test/e2e/... -args -e2e.keep-cluster
//
// Flags: -e2e.cluster (kind cluster name), -e2e.keep-cluster (leave the
// cluster and its kubeconfig for exploration), -e2e.kind (kind binary). Helm
// and kubectl come from the repository's bin/ when built there (make tools),
// else from PATH.
package e2e
