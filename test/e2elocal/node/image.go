package node

import (
	"fmt"
	"io"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Image is an OCI image assembled from one static binary on the runtime
// base (RuntimeBase), for what the Dockerfile does not build: the pod
// sandbox image. The project's images are built from the Dockerfile
// (package images).
type Image struct {
	// Ref is the full reference containerd stores, such as
	// docker.io/cognito-m2m/weather:latest (the kubelet normalises
	// cognito-m2m/weather:latest to it).
	Ref string
	// Target names the image in messages and archive names; "pause" gets
	// no CA bundle.
	Target string
	// Binary is the file on this machine copied to Path in the image.
	Binary, Path string
	User         string
	Entrypoint   []string
	// Ports are exposed ports as in the image config: "8080/tcp".
	Ports []string
}

// PauseImage is the pod sandbox image: a static program that sleeps until
// it is told to stop, like registry.k8s.io/pause.
func PauseImage(binary string) Image {
	return Image{
		Ref: PauseRef, Target: "pause", Binary: binary, Path: "/pause",
		User: "65535:65535", Entrypoint: []string{"/pause"},
	}
}

// PauseRef is the sandbox image's reference in containerd's configuration.
const PauseRef = "localhost/cognito-m2m-node/pause:1"

const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"
	// caBundle comes from Debian's ca-certificates package.
	caBundle = "/etc/ssl/certs/ca-certificates.crt"
)

// Accounts are the base entries of every image made here: /etc/passwd and
// /etc/group with root, nobody and the non-root user 65532 (whose home
// distroless has), and /tmp. runc takes HOME from /etc/passwd.
func Accounts() Layer {
	return Layer{
		{Name: "etc", Mode: 0o755, Dir: true},
		{Name: "etc/passwd", Mode: 0o644, Data: []byte(passwd)},
		{Name: "etc/group", Mode: 0o644, Data: []byte(group)},
		{Name: "home", Mode: 0o755, Dir: true},
		{Name: "home/nonroot", Mode: 0o700, UID: 65532, GID: 65532, Dir: true},
		{Name: "tmp", Mode: 0o1777, Dir: true},
	}
}

// RuntimeBase is the image the Dockerfile's RUNTIME_IMAGE names, made on
// this machine: scratch plus what its comment asks for, CA certificates
// (from Debian's ca-certificates) and /etc/passwd with the non-root user
// 65532, laid out as distroless's static image has them. The sandbox image
// is made without the CA bundle.
func RuntimeBase(ref, arch string, withCA bool) (OCIImage, error) {
	base := Accounts()
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if withCA {
		ca, err := os.ReadFile(caBundle)
		if err != nil {
			return OCIImage{}, fmt.Errorf("CA certificates for the image base (Debian package ca-certificates): %w", err)
		}
		base = append(base,
			File{Name: "etc/ssl", Mode: 0o755, Dir: true},
			File{Name: "etc/ssl/certs", Mode: 0o755, Dir: true},
			File{Name: "etc/ssl/certs/ca-certificates.crt", Mode: 0o644, Data: ca})
		env = append(env, "SSL_CERT_FILE="+caBundle)
	}
	return OCIImage{
		Ref: ref, Arch: arch, Gzip: true, Layers: []Layer{base},
		Config: v1.Config{Env: env, WorkingDir: "/home/nonroot"},
	}, nil
}

// WriteOCI writes the image as an OCI image layout tar archive, the format
// `ctr images import` reads, for the architecture arch (GOARCH names).
func (img Image) WriteOCI(w io.Writer, arch string) error {
	o, err := RuntimeBase(img.Ref, arch, img.Target != "pause")
	if err != nil {
		return err
	}
	app := append(Dirs(img.Path), File{Name: strings.TrimPrefix(img.Path, "/"), Mode: 0o755, Src: img.Binary})
	o.Layers = append(o.Layers, app)
	o.Config.User, o.Config.Entrypoint = img.User, img.Entrypoint
	if len(img.Ports) > 0 {
		o.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range img.Ports {
			o.Config.ExposedPorts[p] = struct{}{}
		}
	}
	dir, err := os.MkdirTemp("", "cognito-m2m-oci-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if _, err := o.WriteLayout(dir); err != nil {
		return err
	}
	return WriteArchive(w, dir)
}
