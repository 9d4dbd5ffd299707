// Package e2e holds the kind end-to-end test, the user's path on a real
// cluster: build the four images, load them into a kind cluster, helm install
// the chart with the in-cluster Cognito emulator, apply the sample
// ResourceServer and M2MClient, wait for Ready, deploy the weather service and
// the BFF, fetch the forecast through the BFF, then delete the M2MClient and
// check that its app client is gone from the emulator.
//
// It needs Docker, kind and network access, so it sits behind the e2e build
// tag:
//
//	make test-e2e
//	go test -tags e2e -count=1 -timeout 30m -v ./test/e2e/... -args -e2e.keep-cluster
//
// Flags: -e2e.cluster (kind cluster name), -e2e.keep-cluster (leave the
// cluster and its kubeconfig for exploration), -e2e.kind (kind binary). Helm
// and kubectl come from the repository's bin/ when built there (make tools),
// else from PATH.
package e2e
