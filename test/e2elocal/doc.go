// Package e2elocal is the end-to-end test with real pods on this machine:
// the scenario of test/e2e/scenario, the one the kind test runs, on a
// single-node cluster of upstream parts run as processes (package node).
//
// It needs root and Linux, and the node's binaries (hack/node/build.sh), so
// it sits behind the e2elocal build tag:
//
//	sudo make test-e2e-local
//
// Only creating the cluster and loading the images differ from the kind
// test. The images are the Dockerfile's four final stages assembled from the
// binaries its build stage compiles, with the same go build command, on a
// base layer with what the Dockerfile asks of RUNTIME_IMAGE (CA certificates
// from Debian's ca-certificates, /etc/passwd with 65532), written as OCI
// archives and imported into containerd; node.TestImagesMatchDockerfile
// checks their user, entrypoint, ports and binary path against the
// Dockerfile. Building from the Dockerfile itself offline would need an
// image builder on the node's containerd (BuildKit, another large build from
// the module proxy), the docker/dockerfile:1 frontend its syntax line names,
// and a golang base image with a shell and a filled module cache, since the
// build stage's `go mod download` would otherwise reach the module proxy from
// inside the build.
//
// Services are reached at their cluster IPs, through kube-proxy's rules as
// pods reach them; the operator's metrics and probes through the API
// server's proxy to the pod's address. Afterwards the test checks the
// network from inside a pod: the node's address answers, any other address
// of the machine does not, and cluster DNS answers NXDOMAIN outside
// cluster.local.
package e2elocal
