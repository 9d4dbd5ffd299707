//go:build e2e

package e2e

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cognito-m2m/operator/test/e2e/scenario"
)

var (
	clusterName = flag.String("e2e.cluster", "cognito-m2m-e2e", "name of the kind cluster to create")
	keepCluster = flag.Bool("e2e.keep-cluster", false, "keep the kind cluster (and print its kubeconfig) after the test")
	kindBinary  = flag.String("e2e.kind", "kind", "kind binary")
)

func TestKindEndToEnd(t *testing.T) {
	c := &kindCluster{}
	e := scenario.NewEnv(t, c)
	c.env = e
	for _, bin := range []string{"docker", *kindBinary} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: the kind end-to-end test needs Docker and kind", bin)
		}
	}
	dir, err := os.MkdirTemp("", "cognito-m2m-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	c.kubeconfig = filepath.Join(dir, "kubeconfig")
	t.Log("Create the kind cluster")
	c.create(t, dir)
	scenario.Run(t, e)
}

// kindCluster is a kind cluster; images are built with docker from the
// Dockerfile and loaded with kind load.
type kindCluster struct {
	env        *scenario.Env
	kubeconfig string
}

func (c *kindCluster) Kubeconfig() string { return c.kubeconfig }

func (c *kindCluster) LoadImages(t *testing.T, images []scenario.Image) {
	for _, img := range images {
		t.Logf("  docker build --target %s -t %s", img.Target, img.Ref())
		c.env.Run(t, 20*time.Minute, "docker", "build", "--target", img.Target, "-t", img.Ref(), c.env.Root)
		c.env.Run(t, 5*time.Minute, *kindBinary, "load", "docker-image", img.Ref(), "--name", *clusterName)
	}
}

// ServiceURL forwards a local port to the Service: the host cannot reach
// the cluster's Service addresses inside kind's node container.
func (c *kindCluster) ServiceURL(t *testing.T, namespace, service string, port int) string {
	return c.env.PortForward(t, namespace, "svc/"+service, port)
}

// create creates the kind cluster and registers its deletion, or, with
// -e2e.keep-cluster, a note of how to reach it.
func (c *kindCluster) create(t *testing.T, dir string) {
	t.Helper()
	e := c.env
	// Never touch a cluster this run did not create, such as one kept by an
	// earlier -e2e.keep-cluster run.
	if slices.Contains(strings.Fields(e.Run(t, time.Minute, *kindBinary, "get", "clusters")), *clusterName) {
		t.Fatalf("kind cluster %q already exists: delete it (%s delete cluster --name %s) or pass -e2e.cluster",
			*clusterName, *kindBinary, *clusterName)
	}
	// Registered first, so that a half-created cluster is deleted too.
	t.Cleanup(func() {
		if *keepCluster {
			t.Logf("Keeping kind cluster %q: export KUBECONFIG=%s; delete it with: %s delete cluster --name %s",
				*clusterName, c.kubeconfig, *kindBinary, *clusterName)
			return
		}
		t.Logf("Deleting kind cluster %q", *clusterName)
		if out, err := e.RunErr(5*time.Minute, nil, *kindBinary, "delete", "cluster", "--name", *clusterName, "--kubeconfig", c.kubeconfig); err != nil {
			t.Errorf("kind delete cluster: %v\n%s", err, out)
		}
		os.RemoveAll(dir)
	})
	e.Run(t, 10*time.Minute, *kindBinary, "create", "cluster", "--name", *clusterName, "--kubeconfig", c.kubeconfig, "--wait", "5m")
}
