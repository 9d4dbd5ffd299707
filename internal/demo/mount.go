package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// writeSecretVolume writes data into dir the way the kubelet populates a Secret
// volume: the files live in a timestamped directory ..<timestamp>, the symlink
// ..data points at it, and each key is a symlink <key> -> ..data/<key>. An update
// writes a new timestamped directory and swaps ..data with one rename, so a
// reader sees either all old or all new files; that is the layout the
// credentials package's reload is written for.
func writeSecretVolume(dir string, data map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ts := "..20" + time.Now().UTC().Format("06_01_02_15_04_05.000000000")
	if err := os.Mkdir(filepath.Join(dir, ts), 0o700); err != nil {
		return err
	}
	for key, value := range data {
		if err := os.WriteFile(filepath.Join(dir, ts, key), value, 0o600); err != nil {
			return err
		}
	}
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	tmp := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(ts, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		return fmt.Errorf("swap ..data: %w", err)
	}
	for key := range data {
		link := filepath.Join(dir, key)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", key), link); err != nil {
			return err
		}
	}
	if old != "" && old != ts {
		return os.RemoveAll(filepath.Join(dir, old))
	}
	return nil
}
