package node

import (
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/cognito-m2m/operator/internal/imagebuild"
)

// PauseRef is the sandbox image's reference in containerd's configuration.
const PauseRef = "localhost/cognito-m2m-node/pause:1"

// PauseImage is the pod sandbox image, which the Dockerfile does not build:
// binary is a static program that sleeps until it is told to stop, like
// registry.k8s.io/pause, put on the accounts of the runtime base.
func PauseImage(binary []byte) imagebuild.OCIImage {
	return imagebuild.OCIImage{
		Ref: PauseRef, Arch: runtime.GOARCH,
		Layers: []imagebuild.Layer{imagebuild.Accounts(), {{Name: "pause", Mode: 0o755, Data: binary}}},
		Config: v1.Config{User: "65535:65535", Entrypoint: []string{"/pause"}},
	}
}
