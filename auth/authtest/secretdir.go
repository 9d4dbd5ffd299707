package authtest

import (
	"os"
	"path/filepath"
	"strings"
)

// WriteSecretDir replaces the content of dir with files, the way the kubelet
// updates a mounted Secret: the files are written to a new hidden directory, the
// `..data` symlink is swapped to it in one rename, each key is a symlink through
// `..data`, and keys that are gone are removed. A reader never sees a mix of old
// and new files. Directories are private to the owner and files owner-readable
// only, since they hold client secrets.
func WriteSecretDir(dir string, files map[string]string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// A fresh, uniquely named directory per update, so that writers in different
	// processes (a test, then a demo) never write into a directory being read.
	tsDir, err := os.MkdirTemp(dir, "..v")
	if err != nil {
		return err
	}
	ts := filepath.Base(tsDir)
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(tsDir, name), []byte(content), 0o600); err != nil {
			return err
		}
	}
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	tmp := filepath.Join(dir, "..data_tmp")
	os.Remove(tmp)
	if err := os.Symlink(ts, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		return err
	}
	for name := range files {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..") {
			continue
		}
		if _, ok := files[e.Name()]; !ok {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	if old != "" && old != ts {
		return os.RemoveAll(filepath.Join(dir, old))
	}
	return nil
}
