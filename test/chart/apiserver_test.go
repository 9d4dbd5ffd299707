package chart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// apiServer is the one etcd and kube-apiserver of this test binary, started
// on first use and stopped by TestMain.
type apiServer struct {
	env        *envtest.Environment
	config     *rest.Config
	kubeconfig string // path of an admin kubeconfig for helm
	dir        string
}

var (
	apiOnce sync.Once
	api     *apiServer
	apiErr  error
)

// startAPIServer returns the shared API server, starting it the first time.
// Missing binaries fail the test with what to run: it never skips.
func startAPIServer(t testing.TB) *apiServer {
	t.Helper()
	apiOnce.Do(func() { api, apiErr = newAPIServer(root(t)) })
	if apiErr != nil {
		t.Fatal(apiErr)
	}
	return api
}

func newAPIServer(root string) (*apiServer, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, "bin")
	}
	for _, bin := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
			return nil, fmt.Errorf("%s not found in %s (KUBEBUILDER_ASSETS or <repo>/bin): run `make tools`", bin, assets)
		}
	}
	dir, err := os.MkdirTemp("", "chart-test-apiserver-")
	if err != nil {
		return nil, err
	}
	s := &apiServer{dir: dir, env: &envtest.Environment{BinaryAssetsDirectory: assets}}
	if s.config, err = s.env.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start etcd and kube-apiserver from %s: %w", assets, err)
	}
	admin, err := s.env.AddUser(envtest.User{Name: "chart-test-admin", Groups: []string{"system:masters"}}, nil)
	if err == nil {
		var kc []byte
		if kc, err = admin.KubeConfig(); err == nil {
			s.kubeconfig = filepath.Join(dir, "kubeconfig")
			err = os.WriteFile(s.kubeconfig, kc, 0o600)
		}
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("write a kubeconfig for the test API server: %w", err), s.stop())
	}
	return s, nil
}

func (s *apiServer) stop() error {
	defer os.RemoveAll(s.dir)
	return s.env.Stop()
}

func stopAPIServer() {
	if api != nil {
		if err := api.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop the test API server: %v\n", err)
		}
	}
}
