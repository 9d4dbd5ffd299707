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
// test. The images, chart and install.yaml are a release made as make
// release makes it (hack/release, for this machine's platform): the images
// built from the Dockerfile itself, offline, by BuildKit on base images made
// on this machine (internal/imagebuild), imported into containerd from the
// release's OCI archives; nothing is pulled. The scenario installs the
// release's chart, and a last subtest its install.yaml. Only the pod
// sandbox image, which the Dockerfile does not define, is assembled from
// its program (node.PauseImage).
//
// Services are reached at their cluster IPs, through kube-proxy's rules as
// pods reach them; the operator's metrics and probes through the API
// server's proxy to the pod's address. Afterwards the test checks the
// network from inside a pod: the node's address answers, any other address
// of the machine does not, and cluster DNS answers NXDOMAIN outside
// cluster.local.
package e2elocal
