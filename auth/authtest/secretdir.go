package authtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
)

var dirSeq atomic.Int64

// WriteSecretDir replaces the content of dir with files, the way the kubelet
// updates a mounted Secret: the files are written to a new hidden directory, the
// `..data` symlink is swapped to it in one rename, each key is a symlink through
// `..data`, and keys that are gone are removed. A reader never sees a mix of old
// and new files.
func WriteSecretDir(dir string, files map[string]string) error {
	ts := fmt.Sprintf("..%d", dirSeq.Add(1))
	tsDir := filepath.Join(dir, ts)
	if err := os.MkdirAll(tsDir, 0o755); err != nil {
		return err
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(tsDir, name), []byte(content), 0o644); err != nil {
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
