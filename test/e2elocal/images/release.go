//go:build linux

package images

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/cognito-m2m/operator/test/e2elocal/node"
)

// elfMachine is the ELF machine of each GOARCH a release is built for.
var elfMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// CheckPlatforms checks a multi-platform OCI archive: its image index lists
// exactly the platforms (linux/amd64, ...), and each platform's image holds
// binary as a static ELF program for that platform's machine.
func CheckPlatforms(archive, binary string, platforms []string) error {
	listed, err := indexPlatforms(archive)
	if err != nil {
		return err
	}
	want := slices.Clone(platforms)
	slices.Sort(want)
	if !slices.Equal(listed, want) {
		return fmt.Errorf("%s: the image index lists platforms %v, want %v", archive, listed, want)
	}
	var errs []error
	for _, p := range platforms {
		arch := path.Base(p)
		f, err := os.Open(archive)
		if err != nil {
			return err
		}
		cfg, _, files, err := node.ReadArchive(f, arch)
		f.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", archive, p, err))
			continue
		}
		if cfg.Architecture != arch || cfg.OS != "linux" {
			errs = append(errs, fmt.Errorf("%s %s: the image config says %s/%s", archive, p, cfg.OS, cfg.Architecture))
		}
		b, ok := files[strings.TrimPrefix(binary, "/")]
		if !ok {
			errs = append(errs, fmt.Errorf("%s %s: no %s in the image", archive, p, binary))
			continue
		}
		ef, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %s: %w", archive, p, binary, err))
			continue
		}
		if want, ok := elfMachine[arch]; !ok || ef.Machine != want {
			errs = append(errs, fmt.Errorf("%s %s: %s is an ELF program for %v", archive, p, binary, ef.Machine))
		}
		if err := StaticELF(b); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %s: %w", archive, p, binary, err))
		}
	}
	return errors.Join(errs...)
}

// indexPlatforms lists the os/architecture of the image index an OCI
// archive's index.json names, sorted; attestation manifests (platform
// unknown/unknown) are left out.
func indexPlatforms(archive string) ([]string, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		name := strings.TrimPrefix(h.Name, "./")
		// Only the small JSON documents: index.json and the image index.
		if name == "index.json" || (strings.HasPrefix(name, "blobs/") && h.Size < 1<<16) {
			if entries[name], err = io.ReadAll(tr); err != nil {
				return nil, err
			}
		}
	}
	type desc struct {
		MediaType, Digest string
		Platform          *struct{ OS, Architecture string }
	}
	var top struct{ Manifests []desc }
	if err := json.Unmarshal(entries["index.json"], &top); err != nil {
		return nil, fmt.Errorf("%s: index.json: %w", archive, err)
	}
	if len(top.Manifests) != 1 || !strings.HasSuffix(top.Manifests[0].MediaType, "image.index.v1+json") {
		return nil, fmt.Errorf("%s: index.json does not name one image index: %+v", archive, top.Manifests)
	}
	var idx struct{ Manifests []desc }
	if err := json.Unmarshal(entries["blobs/sha256/"+strings.TrimPrefix(top.Manifests[0].Digest, "sha256:")], &idx); err != nil {
		return nil, fmt.Errorf("%s: image index: %w", archive, err)
	}
	var out []string
	for _, m := range idx.Manifests {
		if m.Platform != nil && m.Platform.OS != "unknown" {
			out = append(out, m.Platform.OS+"/"+m.Platform.Architecture)
		}
	}
	slices.Sort(out)
	return out, nil
}

// IndexDigest is the digest of the image index an OCI archive's index.json
// names: the multi-platform image's digest, which a registry keeps.
func IndexDigest(archive string) (string, error) {
	f, err := os.Open(archive)
	if err != nil {
		return "", err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", fmt.Errorf("%s has no index.json", archive)
		}
		if err != nil {
			return "", err
		}
		if strings.TrimPrefix(h.Name, "./") != "index.json" {
			continue
		}
		var top struct{ Manifests []struct{ Digest string } }
		if err := json.NewDecoder(tr).Decode(&top); err != nil {
			return "", err
		}
		if len(top.Manifests) != 1 {
			return "", fmt.Errorf("%s: index.json names %d images, want 1", archive, len(top.Manifests))
		}
		return top.Manifests[0].Digest, nil
	}
}
