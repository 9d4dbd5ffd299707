package imagebuild

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"

	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// This file is the one place that writes and reads OCI images: the images
// assembled from files (Image), the base images the Dockerfile is built on
// offline (package imagebuild), and the archives either way produces. Images,
// indexes and layouts are go-containerregistry's; what is ours is the
// layers' tar from files on this machine, and the archive (a tar of a
// layout, which `ctr images import` and BuildKit's oci exporter use and the
// library does not read or write).

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

// OCIImage is an image to write as an OCI image layout.
type OCIImage struct {
	// Ref names the image in the layout's index (io.containerd.image.name,
	// which `ctr images import` uses).
	Ref string
	// Arch is the architecture in GOARCH terms; the OS is linux.
	Arch   string
	Config v1.Config
	Layers []Layer
	// Gzip compresses the layers. Base images that never leave the machine
	// skip it: BuildKit reads uncompressed layers as well, and a Go
	// toolchain compresses slowly.
	Gzip bool
}

// AnnotationImage names an image in an archive's index.json for containerd.
const AnnotationImage = "io.containerd.image.name"

// The layers carry fixed times, so that an image's digest depends only on
// its files.
var epoch = time.Unix(0, 0).UTC()

// WriteLayout writes the image as an OCI image layout in dir (one image per
// layout) and returns its manifest's digest, which names it in an
// oci-layout:// reference.
func (o OCIImage) WriteLayout(dir string) (string, error) {
	return writeLayout(dir, false, o)
}

// WriteIndexLayout writes one image for several architectures (same Ref) as
// an OCI image layout whose index.json names an image index with a manifest
// per platform, and returns the image index's digest: BuildKit picks the
// platform it builds for from it.
func WriteIndexLayout(dir string, imgs ...OCIImage) (string, error) {
	return writeLayout(dir, true, imgs...)
}

func writeLayout(dir string, asIndex bool, imgs ...OCIImage) (string, error) {
	if len(imgs) == 0 {
		return "", errors.New("no image to write")
	}
	tmp, err := os.MkdirTemp("", "cognito-m2m-layers-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return "", err
	}
	var adds []mutate.IndexAddendum
	for _, o := range imgs {
		img, err := o.image(tmp)
		if err != nil {
			return "", fmt.Errorf("%s %s: %w", o.Ref, o.Arch, err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: o.Arch}}})
	}
	var top partial.Describable = adds[0].Add
	ann := layout.WithAnnotations(map[string]string{AnnotationImage: imgs[0].Ref, "org.opencontainers.image.ref.name": imgs[0].Ref})
	if !asIndex {
		err = p.AppendImage(adds[0].Add.(v1.Image), ann)
	} else {
		idx := mutate.AppendManifests(empty.Index, adds...)
		top, err = idx, p.AppendIndex(idx, ann)
	}
	if err != nil {
		return "", err
	}
	d, err := top.Digest()
	return d.String(), err
}

// image assembles the image, its layers written as tar files into dir.
func (o OCIImage) image(dir string) (v1.Image, error) {
	var layers []v1.Layer
	for _, files := range o.Layers {
		l, err := writeLayer(dir, files)
		if err != nil {
			return nil, err
		}
		if o.Gzip {
			layers = append(layers, nil)
			if layers[len(layers)-1], err = tarball.LayerFromFile(l.path, tarball.WithMediaType(types.OCILayer)); err != nil {
				return nil, err
			}
		} else {
			layers = append(layers, l)
		}
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), types.OCIConfigJSON)
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Config = "linux", o.Arch, o.Config
	return mutate.ConfigFile(img, cfg)
}

// fileLayer is an uncompressed layer in a tar file. go-containerregistry's
// tarball layers are always compressed (compression.None falls back to
// gzip), and compressing the Go toolchain for a base image that never
// leaves the machine is the slowest part of making it.
type fileLayer struct {
	path   string
	digest v1.Hash
	size   int64
}

func (l fileLayer) Digest() (v1.Hash, error)             { return l.digest, nil }
func (l fileLayer) DiffID() (v1.Hash, error)             { return l.digest, nil }
func (l fileLayer) Compressed() (io.ReadCloser, error)   { return os.Open(l.path) }
func (l fileLayer) Uncompressed() (io.ReadCloser, error) { return os.Open(l.path) }
func (l fileLayer) Size() (int64, error)                 { return l.size, nil }
func (l fileLayer) MediaType() (types.MediaType, error)  { return types.OCIUncompressedLayer, nil }

// writeLayer writes the layer's tar into a file of its own in dir.
func writeLayer(dir string, files Layer) (fileLayer, error) {
	f, err := os.CreateTemp(dir, "layer-")
	if err != nil {
		return fileLayer{}, err
	}
	defer f.Close()
	h := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(f, h))
	for _, e := range files {
		if err := writeEntry(tw, e); err != nil {
			return fileLayer{}, fmt.Errorf("layer entry %s: %w", e.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fileLayer{}, err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	l := fileLayer{path: f.Name(), digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}, size: size}
	return l, errors.Join(err, f.Close())
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
		if err != nil || rel == "." {
			return err
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

// WriteArchive writes images as an OCI layout archive at path, the format
// `ctr images import` reads: one image, or an image index of them (one per
// architecture) when index is true. The archive is a plain tar of the
// layout, which GNU tar writes.
func WriteArchive(path string, index bool, imgs ...OCIImage) error {
	dir, err := os.MkdirTemp("", "cognito-m2m-layout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if _, err := writeLayout(dir, index, imgs...); err != nil {
		return err
	}
	return tarCmd("-C", dir, "-cf", path, "oci-layout", "index.json", "blobs")
}

func tarCmd(args ...string) error {
	if out, err := exec.Command("tar", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("tar %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Archive is an OCI layout archive unpacked into a temporary directory.
type Archive struct {
	dir string
	// Index is the layout's index.json; Top is the one image or image
	// index it names, and Ref that one's name (io.containerd.image.name).
	Index v1.ImageIndex
	Top   v1.Descriptor
	Ref   string
}

// OpenArchive unpacks an OCI layout archive of one image or image index;
// Close removes it.
func OpenArchive(archive string) (*Archive, error) {
	dir, err := os.MkdirTemp("", "cognito-m2m-archive-")
	if err != nil {
		return nil, err
	}
	a := &Archive{dir: dir}
	if err := tarCmd("-C", dir, "-xf", archive); err != nil {
		a.Close()
		return nil, fmt.Errorf("%s: %w", archive, err)
	}
	if a.Index, err = layout.ImageIndexFromPath(dir); err != nil {
		a.Close()
		return nil, fmt.Errorf("%s: %w", archive, err)
	}
	m, err := a.Index.IndexManifest()
	if err == nil && len(m.Manifests) != 1 {
		err = fmt.Errorf("index.json lists %d images, want 1", len(m.Manifests))
	}
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("%s: %w", archive, err)
	}
	a.Top, a.Ref = m.Manifests[0], m.Manifests[0].Annotations[AnnotationImage]
	return a, nil
}

// Close removes the unpacked archive.
func (a *Archive) Close() error { return os.RemoveAll(a.dir) }

// Image is the archive's image for linux/arch: the one image, or the
// platform's of its image index.
func (a *Archive) Image(arch string) (v1.Image, error) {
	if !a.Top.MediaType.IsIndex() {
		return a.Index.Image(a.Top.Digest)
	}
	idx, err := a.Index.ImageIndex(a.Top.Digest)
	if err != nil {
		return nil, err
	}
	imgs, err := partial.FindImages(idx, match.Platforms(v1.Platform{OS: "linux", Architecture: arch}))
	if err == nil && len(imgs) != 1 {
		err = fmt.Errorf("index %s has %d linux/%s images, want 1", a.Top.Digest, len(imgs), arch)
	}
	if err != nil {
		return nil, err
	}
	return imgs[0], nil
}

// Files are the regular files of an image's filesystem (its layers
// flattened), by path.
func Files(img v1.Image) (map[string][]byte, error) {
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			if files[strings.TrimPrefix(h.Name, "./")], err = io.ReadAll(tr); err != nil {
				return nil, err
			}
		}
	}
}
