package node

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"time"
)

// Image is an OCI image assembled from one static binary on a base layer
// with what the Dockerfile's RUNTIME_IMAGE must provide (its comment: "any
// image with CA certificates and /etc/passwd for 65532 works ... scratch plus
// those files"). It is how the local node gets the Dockerfile's images
// without a registry or an image builder: see README of test/e2elocal.
type Image struct {
	// Ref is the full reference containerd stores, such as
	// docker.io/cognito-m2m/weather:latest (the kubelet normalises
	// cognito-m2m/weather:latest to it).
	Ref string
	// Target is the Dockerfile stage the image stands for.
	Target string
	// Binary is the file on this machine copied to Path in the image.
	Binary, Path string
	User         string
	Entrypoint   []string
	// Ports are exposed ports as in the image config: "8080/tcp".
	Ports []string
}

// ProjectImages are the Dockerfile's four final stages, as built from the
// binaries in binDir (named as the Dockerfile's build stage names them).
// TestImagesMatchDockerfile checks them against the Dockerfile.
func ProjectImages(binDir string, refs map[string]string) []Image {
	img := func(target, bin string, ports ...string) Image {
		return Image{
			Ref: refs[target], Target: target,
			Binary: path.Join(binDir, bin), Path: "/usr/local/bin/" + bin,
			User: "65532:65532", Entrypoint: []string{"/usr/local/bin/" + bin}, Ports: ports,
		}
	}
	return []Image{
		img("weather", "weather", "8080/tcp"),
		img("bff", "bff", "8080/tcp"),
		img("cognito-emulator", "cognito-emulator", "9229/tcp"),
		img("manager", "manager", "8080/tcp", "8081/tcp"),
	}
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

// The layers carry fixed times, so that an image's digest depends only on
// its files.
var epoch = time.Unix(0, 0).UTC()

type tarFile struct {
	name     string
	mode     int64
	uid, gid int
	dir      bool
	data     []byte
}

// layer is a gzip-compressed tar of files; it returns the compressed bytes
// and the digest of the uncompressed tar (the config's diff id).
func layer(files []tarFile) (gz []byte, diffID string, err error) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, Uid: f.uid, Gid: f.gid, ModTime: epoch, Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag, h.Name = tar.TypeDir, f.name+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, "", err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, "", err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return z.Bytes(), digest(raw.Bytes()), nil
}

func digest(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

// Config is the part of an OCI image config this package writes and its
// tests read.
type Config struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Config       struct {
		User         string              `json:"User,omitempty"`
		Entrypoint   []string            `json:"Entrypoint,omitempty"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
		Env          []string            `json:"Env,omitempty"`
		WorkingDir   string              `json:"WorkingDir,omitempty"`
	} `json:"config"`
	RootFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int               `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// WriteOCI writes the image as an OCI image layout tar archive, the format
// `ctr images import` reads, for the architecture arch (GOARCH names).
func (img Image) WriteOCI(w io.Writer, arch string) error {
	bin, err := os.ReadFile(img.Binary)
	if err != nil {
		return err
	}
	base := []tarFile{
		{name: "etc", mode: 0o755, dir: true},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "home", mode: 0o755, dir: true},
		{name: "home/nonroot", mode: 0o700, uid: 65532, gid: 65532, dir: true},
		{name: "tmp", mode: 0o1777, dir: true},
	}
	if img.Target != "pause" {
		ca, err := os.ReadFile(caBundle)
		if err != nil {
			return fmt.Errorf("CA certificates for the image base (Debian package ca-certificates): %w", err)
		}
		base = append(base,
			tarFile{name: "etc/ssl", mode: 0o755, dir: true},
			tarFile{name: "etc/ssl/certs", mode: 0o755, dir: true},
			tarFile{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: ca})
	}
	var app []tarFile
	dir := ""
	for _, d := range splitDirs(path.Dir(img.Path)) {
		dir = path.Join(dir, d)
		app = append(app, tarFile{name: dir, mode: 0o755, dir: true})
	}
	app = append(app, tarFile{name: img.Path[1:], mode: 0o755, data: bin})

	var cfg Config
	cfg.Architecture, cfg.OS = arch, "linux"
	cfg.Config.User = img.User
	cfg.Config.Entrypoint = img.Entrypoint
	cfg.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SSL_CERT_FILE=" + caBundle}
	cfg.Config.WorkingDir = "/home/nonroot"
	if len(img.Ports) > 0 {
		cfg.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range img.Ports {
			cfg.Config.ExposedPorts[p] = struct{}{}
		}
	}
	cfg.RootFS.Type = "layers"

	blobs := map[string][]byte{}
	var layers []descriptor
	for _, files := range [][]tarFile{base, app} {
		gz, diffID, err := layer(files)
		if err != nil {
			return err
		}
		d := digest(gz)
		blobs[d] = gz
		layers = append(layers, descriptor{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: d, Size: len(gz)})
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, diffID)
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	blobs[digest(cfgJSON)] = cfgJSON
	manifest, err := json.Marshal(struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Config        descriptor   `json:"config"`
		Layers        []descriptor `json:"layers"`
	}{2, "application/vnd.oci.image.manifest.v1+json",
		descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: digest(cfgJSON), Size: len(cfgJSON)}, layers})
	if err != nil {
		return err
	}
	blobs[digest(manifest)] = manifest
	index, err := json.Marshal(struct {
		SchemaVersion int          `json:"schemaVersion"`
		Manifests     []descriptor `json:"manifests"`
	}{2, []descriptor{{
		MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: digest(manifest), Size: len(manifest),
		Annotations: map[string]string{"io.containerd.image.name": img.Ref, "org.opencontainers.image.ref.name": img.Ref},
	}}})
	if err != nil {
		return err
	}

	tw := tar.NewWriter(w)
	put := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: epoch}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := put("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := put("index.json", index); err != nil {
		return err
	}
	names := make([]string, 0, len(blobs))
	for d := range blobs {
		names = append(names, d)
	}
	sort.Strings(names)
	for _, d := range names {
		if err := put("blobs/sha256/"+d[len("sha256:"):], blobs[d]); err != nil {
			return err
		}
	}
	return tw.Close()
}

func splitDirs(dir string) []string {
	var out []string
	for dir != "/" && dir != "." {
		out = append([]string{path.Base(dir)}, out...)
		dir = path.Dir(dir)
	}
	return out
}
