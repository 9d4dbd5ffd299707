//go:build linux

package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The packaged chart is the same bytes when the same commit is packaged again,
// in a later second or from another clone: every file in it is stamped with the
// commit's time (by default Helm stamps each file's time on disk, which is when
// the clone was checked out). It names the release's version and image tag.
func TestChartPackagedTwiceIsTheSame(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	helm := filepath.Join(root, "bin", "helm")
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("helm not found at %s: run `make tools`", helm)
	}
	const version = "v0.4.2"
	epoch := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC).Unix()
	var archives [2][]byte
	for i := range archives {
		if i > 0 {
			time.Sleep(1100 * time.Millisecond) // tar headers hold whole seconds
		}
		tgz, err := packageChart(context.Background(), helm, root, version, epoch, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if archives[i], err = os.ReadFile(tgz); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(archives[0], archives[1]) {
		t.Error("the chart packaged twice from the same commit differs")
	}

	zr, err := gzip.NewReader(bytes.NewReader(archives[0]))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	files := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files++
		if h.ModTime.Unix() != epoch {
			t.Errorf("%s is stamped %s, want the commit's time %s", h.Name, h.ModTime.UTC(), time.Unix(epoch, 0).UTC())
		}
		if h.Name == chartName+"/Chart.yaml" {
			body, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"\nversion: 0.4.2\n", "\nappVersion: " + version + "\n"} {
				if !strings.Contains("\n"+string(body), want) {
					t.Errorf("Chart.yaml lacks %q:\n%s", strings.TrimSpace(want), body)
				}
			}
		}
	}
	if files < 10 {
		t.Errorf("the archive holds %d files; the chart has more", files)
	}
}
