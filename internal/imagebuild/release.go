//go:build linux

package imagebuild

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// elfMachine is the ELF machine of each GOARCH a release is built for.
var elfMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// CheckPlatforms checks an OCI archive of a release's image: its
// index.json names one image index listing exactly the platforms
// (linux/amd64, ...; attestations, platform unknown/unknown, left out), or
// for one platform may name that platform's image, and each platform's
// image holds binary as a static ELF program for that platform's machine.
// It returns the digest index.json names, which a registry keeps.
func CheckPlatforms(archive, binary string, platforms []string) (string, error) {
	a, err := OpenArchive(archive)
	if err != nil {
		return "", err
	}
	defer a.Close()
	listed, err := archivePlatforms(a)
	if err != nil {
		return "", fmt.Errorf("%s: %w", archive, err)
	}
	want := slices.Sorted(slices.Values(platforms))
	if slices.Sort(listed); !slices.Equal(listed, want) {
		return "", fmt.Errorf("%s: the image index lists platforms %v, want %v", archive, listed, want)
	}
	var errs []error
	for _, p := range platforms {
		arch := path.Base(p)
		if err := checkPlatform(a, arch, binary); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", archive, p, err))
		}
	}
	return a.Top.Digest.String(), errors.Join(errs...)
}

func archivePlatforms(a *Archive) ([]string, error) {
	if !a.Top.MediaType.IsIndex() {
		img, err := a.Image("")
		if err != nil {
			return nil, err
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		return []string{cfg.OS + "/" + cfg.Architecture}, nil
	}
	idx, err := a.Index.ImageIndex(a.Top.Digest)
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var listed []string
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.OS != "unknown" {
			listed = append(listed, d.Platform.OS+"/"+d.Platform.Architecture)
		}
	}
	return listed, nil
}

func checkPlatform(a *Archive, arch, binary string) error {
	img, err := a.Image(arch)
	if err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	if cfg.Architecture != arch || cfg.OS != "linux" {
		return fmt.Errorf("the image config says %s/%s", cfg.OS, cfg.Architecture)
	}
	files, err := Files(img)
	if err != nil {
		return err
	}
	b, ok := files[strings.TrimPrefix(binary, "/")]
	if !ok {
		return fmt.Errorf("no %s in the image", binary)
	}
	ef, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%s: %w", binary, err)
	}
	if want, ok := elfMachine[arch]; !ok || ef.Machine != want {
		return fmt.Errorf("%s is an ELF program for %v", binary, ef.Machine)
	}
	if err := StaticELF(b); err != nil {
		return fmt.Errorf("%s: %w", binary, err)
	}
	return nil
}
