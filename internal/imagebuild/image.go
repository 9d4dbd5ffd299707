package imagebuild

import (
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

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
// 65532, laid out as distroless's static image has them.
func RuntimeBase(ref, arch string) (OCIImage, error) {
	ca, err := os.ReadFile(caBundle)
	if err != nil {
		return OCIImage{}, fmt.Errorf("CA certificates for the image base (Debian package ca-certificates): %w", err)
	}
	return OCIImage{
		Ref: ref, Arch: arch,
		Layers: []Layer{append(Accounts(),
			File{Name: "etc/ssl", Mode: 0o755, Dir: true},
			File{Name: "etc/ssl/certs", Mode: 0o755, Dir: true},
			File{Name: "etc/ssl/certs/ca-certificates.crt", Mode: 0o644, Data: ca})},
		Config: v1.Config{
			Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SSL_CERT_FILE=" + caBundle},
			WorkingDir: "/home/nonroot",
		},
	}, nil
}
