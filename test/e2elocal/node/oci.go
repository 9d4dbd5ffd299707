package node

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// This file is the one place that writes and reads OCI images: the images
// assembled from binaries (Image), the base images the Dockerfile is built
// on offline (package images), and the archives either way produces.

// File is one entry of an image layer.
type File struct {
	// Name is the path in the image, without the leading slash.
	Name     string
	Mode     int64
	UID, GID int
	Dir      bool
	// Link makes the entry a symbolic link to Link.
	Link string
	// The content is Data, or the host file Src when Src is set (large
	// files are streamed, not held in memory).
	Data []byte
	Src  string
}

// Layer is a filesystem layer: its entries in order, parents before
// children.
type Layer []File

// ImageConfig is the runtime part of an OCI image config ("config").
type ImageConfig struct {
	User         string              `json:"User,omitempty"`
	Entrypoint   []string            `json:"Entrypoint,omitempty"`
	Cmd          []string            `json:"Cmd,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Env          []string            `json:"Env,omitempty"`
	WorkingDir   string              `json:"WorkingDir,omitempty"`
	Labels       map[string]string   `json:"Labels,omitempty"`
}

// Config is the part of an OCI image config this package writes and its
// tests read.
type Config struct {
	Architecture string      `json:"architecture"`
	OS           string      `json:"os"`
	Config       ImageConfig `json:"config"`
	RootFS       struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

// OCIImage is an image to write as an OCI image layout.
type OCIImage struct {
	// Ref names the image in the layout's index (io.containerd.image.name,
	// which `ctr images import` uses).
	Ref string
	// Arch is the architecture in GOARCH terms; the OS is linux.
	Arch   string
	Config ImageConfig
	Layers []Layer
	// Gzip compresses the layers. Base images that never leave the machine
	// skip it: BuildKit reads uncompressed layers as well, and a Go
	// toolchain compresses slowly.
	Gzip bool
}

const (
	mediaManifest   = "application/vnd.oci.image.manifest.v1+json"
	mediaIndex      = "application/vnd.oci.image.index.v1+json"
	mediaConfig     = "application/vnd.oci.image.config.v1+json"
	mediaLayer      = "application/vnd.oci.image.layer.v1.tar"
	mediaLayerGzip  = "application/vnd.oci.image.layer.v1.tar+gzip"
	annotationImage = "io.containerd.image.name"
	annotationRef   = "org.opencontainers.image.ref.name"
)

// The layers carry fixed times, so that an image's digest depends only on
// its files.
var epoch = time.Unix(0, 0).UTC()

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *platform         `json:"platform,omitempty"`
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

func digest(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

func hashDigest(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

// WriteLayout writes the image as an OCI image layout in dir (created if
// missing; one image per layout) and returns its manifest's digest, which
// names it in an oci-layout:// reference.
func (o OCIImage) WriteLayout(dir string) (string, error) {
	blobs, err := newLayout(dir)
	if err != nil {
		return "", err
	}
	manifest, err := o.writeManifest(blobs)
	if err != nil {
		return "", err
	}
	manifest.Annotations = map[string]string{annotationImage: o.Ref, annotationRef: o.Ref}
	return manifest.Digest, writeIndexJSON(dir, manifest)
}

// WriteIndexLayout writes one image for several architectures (same Ref) as
// an OCI image layout whose index.json names an image index with a manifest
// per platform, and returns the image index's digest: BuildKit picks the
// platform it builds for from it.
func WriteIndexLayout(dir string, imgs ...OCIImage) (string, error) {
	if len(imgs) == 0 {
		return "", errors.New("no image to write")
	}
	blobs, err := newLayout(dir)
	if err != nil {
		return "", err
	}
	var manifests []descriptor
	for _, o := range imgs {
		m, err := o.writeManifest(blobs)
		if err != nil {
			return "", fmt.Errorf("%s: %w", o.Arch, err)
		}
		m.Platform = &platform{OS: "linux", Architecture: o.Arch}
		manifests = append(manifests, m)
	}
	index, err := writeJSON(blobs, mediaIndex, struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Manifests     []descriptor `json:"manifests"`
	}{2, mediaIndex, manifests})
	if err != nil {
		return "", err
	}
	index.Annotations = map[string]string{annotationImage: imgs[0].Ref, annotationRef: imgs[0].Ref}
	return index.Digest, writeIndexJSON(dir, index)
}

func newLayout(dir string) (string, error) {
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return "", err
	}
	return blobs, os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

// writeManifest writes the image's layers, config and manifest into blobs.
func (o OCIImage) writeManifest(blobs string) (descriptor, error) {
	cfg := Config{Architecture: o.Arch, OS: "linux", Config: o.Config}
	cfg.RootFS.Type = "layers"
	var layers []descriptor
	for _, l := range o.Layers {
		d, diffID, err := writeLayer(blobs, l, o.Gzip)
		if err != nil {
			return descriptor{}, err
		}
		layers = append(layers, d)
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, diffID)
	}
	cfgDesc, err := writeJSON(blobs, mediaConfig, cfg)
	if err != nil {
		return descriptor{}, err
	}
	return writeJSON(blobs, mediaManifest, struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Config        descriptor   `json:"config"`
		Layers        []descriptor `json:"layers"`
	}{2, mediaManifest, cfgDesc, layers})
}

// writeIndexJSON writes the layout's index.json naming one descriptor.
func writeIndexJSON(dir string, d descriptor) error {
	index, err := json.Marshal(struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Manifests     []descriptor `json:"manifests"`
	}{2, mediaIndex, []descriptor{d}})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644)
}

func writeJSON(blobs, mediaType string, v any) (descriptor, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return descriptor{}, err
	}
	d := digest(b)
	return descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b))},
		os.WriteFile(filepath.Join(blobs, strings.TrimPrefix(d, "sha256:")), b, 0o644)
}

// writeLayer streams the layer's tar (gzip-compressed if asked) into a blob
// and returns its descriptor and the digest of the uncompressed tar (the
// config's diff id).
func writeLayer(blobs string, files Layer, compress bool) (descriptor, string, error) {
	f, err := os.CreateTemp(blobs, ".layer-")
	if err != nil {
		return descriptor{}, "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	blobHash, diffHash := sha256.New(), sha256.New()
	blob := io.MultiWriter(f, blobHash)
	var zw *gzip.Writer
	var tarOut io.Writer = blob
	media := mediaLayer
	if compress {
		zw = gzip.NewWriter(blob)
		tarOut, media = zw, mediaLayerGzip
	}
	tw := tar.NewWriter(io.MultiWriter(tarOut, diffHash))
	for _, e := range files {
		if err := writeEntry(tw, e); err != nil {
			return descriptor{}, "", fmt.Errorf("layer entry %s: %w", e.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return descriptor{}, "", err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return descriptor{}, "", err
		}
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return descriptor{}, "", err
	}
	if err := f.Close(); err != nil {
		return descriptor{}, "", err
	}
	d := hashDigest(blobHash)
	if err := os.Rename(f.Name(), filepath.Join(blobs, strings.TrimPrefix(d, "sha256:"))); err != nil {
		return descriptor{}, "", err
	}
	return descriptor{MediaType: media, Digest: d, Size: size}, hashDigest(diffHash), nil
}

func writeEntry(tw *tar.Writer, e File) error {
	h := &tar.Header{Name: e.Name, Mode: e.Mode, Uid: e.UID, Gid: e.GID, ModTime: epoch, Format: tar.FormatPAX}
	switch {
	case e.Dir:
		h.Typeflag, h.Name = tar.TypeDir, e.Name+"/"
		return tw.WriteHeader(h)
	case e.Link != "":
		h.Typeflag, h.Linkname = tar.TypeSymlink, e.Link
		return tw.WriteHeader(h)
	case e.Src != "":
		src, err := os.Open(e.Src)
		if err != nil {
			return err
		}
		defer src.Close()
		st, err := src.Stat()
		if err != nil {
			return err
		}
		h.Typeflag, h.Size = tar.TypeReg, st.Size()
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err = io.Copy(tw, src)
		return err
	default:
		h.Typeflag, h.Size = tar.TypeReg, int64(len(e.Data))
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(e.Data)
		return err
	}
}

// Dirs are the directory entries (mode 0755, root) for every parent of
// name, outermost first: a layer lists a file's parents before the file.
func Dirs(name string) Layer {
	var out Layer
	for d := path.Dir(strings.TrimPrefix(name, "/")); d != "." && d != "/"; d = path.Dir(d) {
		out = append(Layer{{Name: d, Mode: 0o755, Dir: true}}, out...)
	}
	return out
}

// Tree is the layer entries for the host directory src placed at dst in the
// image, owned by root, with the host's modes unless mode says otherwise
// (module zips, and so the Go toolchain's, carry no executable bits).
func Tree(src, dst string, mode func(rel string, d fs.DirEntry) int64) (Layer, error) {
	out := Dirs(dst + "/x")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		name := path.Join(strings.TrimPrefix(dst, "/"), filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		m := int64(info.Mode().Perm())
		if mode != nil {
			if mm := mode(filepath.ToSlash(rel), d); mm != 0 {
				m = mm
			}
		}
		switch {
		case d.IsDir():
			out = append(out, File{Name: name, Mode: m, Dir: true})
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out = append(out, File{Name: name, Mode: 0o777, Link: target})
		case d.Type().IsRegular():
			out = append(out, File{Name: name, Mode: m, Src: p})
		default:
			return fmt.Errorf("%s: unsupported file type %v", p, d.Type())
		}
		return nil
	})
	return out, err
}

// WriteArchive writes the OCI layout in dir as a tar archive, the format
// `ctr images import` reads.
func WriteArchive(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := writeEntry(tw, File{Name: name, Mode: 0o644, Src: filepath.Join(dir, name)}); err != nil {
			return err
		}
	}
	return tw.Close()
}

// ReadArchive reads an OCI layout archive of one image for this machine's
// kind (linux/arch): its config, its ref (io.containerd.image.name), and
// the regular files of its layers by path, the upper layers' winning.
func ReadArchive(archive io.Reader, arch string) (cfg Config, ref string, files map[string][]byte, err error) {
	entries := map[string][]byte{}
	tr := tar.NewReader(archive)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return cfg, "", nil, err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return cfg, "", nil, err
		}
		entries[strings.TrimPrefix(h.Name, "./")] = b
	}
	blob := func(d string) ([]byte, error) {
		b, ok := entries["blobs/sha256/"+strings.TrimPrefix(d, "sha256:")]
		if !ok {
			return nil, fmt.Errorf("blob %s missing", d)
		}
		if got := digest(b); got != d {
			return nil, fmt.Errorf("blob %s has digest %s", d, got)
		}
		return b, nil
	}
	type index struct{ Manifests []descriptor }
	var idx index
	if err := json.Unmarshal(entries["index.json"], &idx); err != nil {
		return cfg, "", nil, fmt.Errorf("index.json: %w", err)
	}
	if len(idx.Manifests) != 1 {
		return cfg, "", nil, fmt.Errorf("index.json lists %d images, want 1", len(idx.Manifests))
	}
	ref = idx.Manifests[0].Annotations[annotationImage]
	desc := idx.Manifests[0]
	// A builder may put a nested index (platforms, attestations) first.
	for desc.MediaType == mediaIndex {
		b, err := blob(desc.Digest)
		if err != nil {
			return cfg, "", nil, err
		}
		var nested struct{ Manifests []descriptor }
		if err := json.Unmarshal(b, &nested); err != nil {
			return cfg, "", nil, err
		}
		found := false
		for _, m := range nested.Manifests {
			if m.Platform != nil && m.Platform.OS == "linux" && m.Platform.Architecture == arch {
				desc, found = m, true
				break
			}
		}
		if !found {
			return cfg, "", nil, fmt.Errorf("index %s has no linux/%s image", desc.Digest, arch)
		}
	}
	b, err := blob(desc.Digest)
	if err != nil {
		return cfg, "", nil, err
	}
	var manifest struct {
		Config descriptor
		Layers []descriptor
	}
	if err := json.Unmarshal(b, &manifest); err != nil {
		return cfg, "", nil, err
	}
	if b, err = blob(manifest.Config.Digest); err != nil {
		return cfg, "", nil, err
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, "", nil, err
	}
	if len(cfg.RootFS.DiffIDs) != len(manifest.Layers) {
		return cfg, "", nil, fmt.Errorf("%d diff ids for %d layers", len(cfg.RootFS.DiffIDs), len(manifest.Layers))
	}
	files = map[string][]byte{}
	for _, l := range manifest.Layers {
		b, err := blob(l.Digest)
		if err != nil {
			return cfg, "", nil, err
		}
		if err := layerFiles(b, l.MediaType, files); err != nil {
			return cfg, "", nil, fmt.Errorf("layer %s: %w", l.Digest, err)
		}
	}
	return cfg, ref, files, nil
}

func layerFiles(b []byte, mediaType string, files map[string][]byte) error {
	var r io.Reader = bytes.NewReader(b)
	switch mediaType {
	case mediaLayerGzip, "application/vnd.docker.image.rootfs.diff.tar.gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return err
		}
		r = zr
	case mediaLayer:
	default:
		return fmt.Errorf("unsupported layer type %s", mediaType)
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if files[strings.TrimPrefix(h.Name, "./")], err = io.ReadAll(tr); err != nil {
				return err
			}
		}
	}
}
