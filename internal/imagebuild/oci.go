package imagebuild

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"

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

// This file writes and reads OCI images: the small images assembled here
// from a few files (the runtime base, the Dockerfile frontend, the node's
// sandbox image), and the archives BuildKit writes. Images, indexes and
// layouts are go-containerregistry's; a layer's tar is written in memory
// (the largest file is the frontend, some 40 MB); archives are plain tars
// of layouts, which GNU tar writes and unpacks. The Go toolchain's base is
// built by BuildKit itself (Builder.goBase).

// File is one entry of an image layer: a directory, or a file holding Data.
type File struct {
	// Name is the path in the image, without the leading slash.
	Name     string
	Mode     int64
	UID, GID int
	Dir      bool
	Data     []byte
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
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return "", err
	}
	var adds []mutate.IndexAddendum
	for _, o := range imgs {
		img, err := o.image()
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

// image assembles the image, each layer a tar written in memory.
func (o OCIImage) image() (v1.Image, error) {
	var layers []v1.Layer
	for _, files := range o.Layers {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, e := range files {
			h := &tar.Header{Name: e.Name, Mode: e.Mode, Uid: e.UID, Gid: e.GID, ModTime: epoch, Format: tar.FormatPAX,
				Typeflag: tar.TypeReg, Size: int64(len(e.Data))}
			if e.Dir {
				h.Typeflag, h.Name = tar.TypeDir, e.Name+"/"
			}
			if err := tw.WriteHeader(h); err != nil {
				return nil, fmt.Errorf("layer entry %s: %w", e.Name, err)
			}
			if _, err := tw.Write(e.Data); err != nil {
				return nil, err
			}
		}
		if err := tw.Close(); err != nil {
			return nil, err
		}
		b := buf.Bytes()
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
			tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
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

// Dirs are the directory entries (mode 0755, root) for every parent of
// name, outermost first: a layer lists a file's parents before the file.
func Dirs(name string) Layer {
	var out Layer
	for d := path.Dir(strings.TrimPrefix(name, "/")); d != "." && d != "/"; d = path.Dir(d) {
		out = append(Layer{{Name: d, Mode: 0o755, Dir: true}}, out...)
	}
	return out
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
	if a.Index, a.Top, err = readLayout(dir); err != nil {
		a.Close()
		return nil, fmt.Errorf("%s: %w", archive, err)
	}
	a.Ref = a.Top.Annotations[AnnotationImage]
	return a, nil
}

// readLayout reads the OCI image layout in dir, which names one image or
// image index (as BuildKit's oci exporter writes it): its index.json, and
// that one's descriptor.
func readLayout(dir string) (v1.ImageIndex, v1.Descriptor, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	m, err := idx.IndexManifest()
	if err == nil && len(m.Manifests) != 1 {
		err = fmt.Errorf("index.json lists %d images, want 1", len(m.Manifests))
	}
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	return idx, m.Manifests[0], nil
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
