// Package tools tests hack/tools.sh, the way `make demo` and `make test` get etcd,
// kube-apiserver, kubectl and Helm: the released binaries downloaded and checked
// against hack/tools/releases.txt, or, when that fails, a build from source.
//
// The releases are served from a local HTTP server on 127.0.0.1 that the script is
// pointed at (setup-envtest's index URL, the kubectl and Helm base URLs), with a
// checksum table of the served files in place of the real one. The source build a
// failed download falls back to is the script's real fallback, pointed at a tiny
// module so that it takes seconds instead of fifteen minutes.
//
// It needs bash, curl and tar, and builds setup-envtest from its pinned module
// (hack/tools/setup-envtest) through the Go module proxy.
package tools

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const modulePath = "github.com/cognito-m2m/operator"

// Versions as in hack/tools/releases.txt; TestReleasePinsAgreeWithModules keeps
// them so.
const (
	envtestVersion = "1.37.0"
	kubectlVersion = "1.37.0"
	helmVersion    = "4.3.2"
)

var platform = runtime.GOOS + "-" + runtime.GOARCH

// otherPlatform is one the tests never run on.
const otherPlatform = "plan9-mips"

// fallbackLine is what the script prints when it gives up a download and builds.
const fallbackLine = "building it from source instead"

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module "+modulePath+"\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod of module %s above the working directory", modulePath)
		}
		dir = parent
	}
}

func needCommands(t *testing.T) {
	t.Helper()
	for _, c := range []string{"bash", "curl", "tar", "go"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("hack/tools.sh needs %s: %v", c, err)
		}
	}
}

// fakeBinary is a release binary stand-in that says where it came from. With
// TOOLS_TEST_PAD_MB=N it is padded to N MiB of random bytes after its exit, to
// measure the download path with files of a release's size.
func fakeBinary(what string) []byte {
	b := []byte("#!/bin/sh\necho " + what + "\nexit 0\n")
	if mb, _ := strconv.Atoi(os.Getenv("TOOLS_TEST_PAD_MB")); mb > 0 {
		pad := make([]byte, mb<<20)
		rand.Read(pad)
		b = append(b, pad...)
	}
	return b
}

func sum256(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
func sum512(b []byte) string { s := sha512.Sum512(b); return hex.EncodeToString(s[:]) }

// tarGz makes a .tar.gz of executable files.
func tarGz(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// releaseServer serves release files by path and counts the requests.
type releaseServer struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	hits  map[string]int
}

func newReleaseServer(t *testing.T) *releaseServer {
	s := &releaseServer{files: map[string][]byte{}, hits: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		body, ok := s.files[r.URL.Path]
		s.hits[r.URL.Path]++
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *releaseServer) put(path string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = body
}

func (s *releaseServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// The release paths, as the real servers lay them out.
var (
	kubectlPath        = fmt.Sprintf("/release/v%s/bin/%s/%s/kubectl", kubectlVersion, runtime.GOOS, runtime.GOARCH)
	helmPath           = fmt.Sprintf("/helm-v%s-%s.tar.gz", helmVersion, platform)
	envtestArchive     = fmt.Sprintf("envtest-v%s-%s.tar.gz", envtestVersion, platform)
	envtestArchivePath = "/archives/" + envtestArchive
	indexPath          = "/envtest-releases.yaml"
)

// releases is one download set: what the server serves and the checksum table.
type releases struct {
	kubectl, helmTgz, envtestTgz []byte
	// pinned overrides the checksum written in the table for a tool; "-" writes the
	// tool's line for another platform only.
	pinned map[string]string
	// indexHash overrides the hash the envtest index gives for the archive.
	indexHash string
}

func newReleases(t *testing.T) *releases {
	return &releases{
		kubectl: fakeBinary("fetched kubectl"),
		helmTgz: tarGz(t, map[string][]byte{platform + "/helm": fakeBinary("fetched helm")}),
		envtestTgz: tarGz(t, map[string][]byte{
			"controller-tools/envtest/etcd":           fakeBinary("fetched etcd"),
			"controller-tools/envtest/kube-apiserver": fakeBinary("fetched kube-apiserver"),
			"controller-tools/envtest/kubectl":        fakeBinary("fetched envtest kubectl"),
		}),
		pinned: map[string]string{},
	}
}

// serve puts the releases on s and writes the checksum table into dir.
func (r *releases) serve(t *testing.T, s *releaseServer, dir string) (table string) {
	t.Helper()
	s.put(kubectlPath, r.kubectl)
	s.put(helmPath, r.helmTgz)
	s.put(envtestArchivePath, r.envtestTgz)
	idx := r.indexHash
	if idx == "" {
		idx = sum512(r.envtestTgz)
	}
	s.put(indexPath, []byte(fmt.Sprintf("releases:\n  v%s:\n    %s:\n      hash: %s\n      selfLink: %s%s\n",
		envtestVersion, envtestArchive, idx, s.URL, envtestArchivePath)))

	lines := []struct{ tool, version, algo, sum string }{
		{"envtest", envtestVersion, "sha512", sum512(r.envtestTgz)},
		{"kubectl", kubectlVersion, "sha256", sum256(r.kubectl)},
		{"helm", helmVersion, "sha256", sum256(r.helmTgz)},
	}
	var b strings.Builder
	b.WriteString("# tool version platform algorithm checksum\n")
	for _, l := range lines {
		if p, ok := r.pinned[l.tool]; ok {
			if p == "-" {
				fmt.Fprintf(&b, "%s %s %s %s %s\n", l.tool, l.version, otherPlatform, l.algo, l.sum)
				continue
			}
			l.sum = p
		}
		fmt.Fprintf(&b, "%s %s %s %s %s\n", l.tool, l.version, platform, l.algo, l.sum)
	}
	table = filepath.Join(dir, "releases.txt")
	if err := os.WriteFile(table, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return table
}

// sandbox is one run's directories: the binaries, the per-user cache and the logs.
type sandbox struct {
	root, dir, bin, cache, tiny string
	env                         []string
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	needCommands(t)
	dir := t.TempDir()
	sb := &sandbox{root: repoRoot(t), dir: dir, bin: filepath.Join(dir, "bin"), cache: filepath.Join(dir, "cache"), tiny: filepath.Join(dir, "tiny")}
	// The fallback's module: one tiny command per tool name, built in seconds, that
	// says it was built.
	write := func(rel, body string) {
		p := filepath.Join(sb.tiny, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/tiny\n\ngo 1.26.0\n")
	write("go.sum", "")
	for _, n := range []string{"etcd", "kube-apiserver", "kubectl", "helm"} {
		write(n+"/main.go", "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"built "+n+" from source\") }\n")
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "TOOLS_") || k == "ENVTEST_INDEX_URL" || k == "KUBECTL_BASE_URL" || k == "HELM_BASE_URL" {
			continue
		}
		sb.env = append(sb.env, kv)
	}
	sb.env = append(sb.env, "TOOLS_CACHE="+sb.cache, "TOOLS_LOG_DIR="+filepath.Join(dir, "logs"))
	return sb
}

// pointAt points the downloads at s, with table as the pinned checksums.
func (sb *sandbox) pointAt(url, table string) {
	sb.env = append(sb.env, "ENVTEST_INDEX_URL="+url+indexPath, "KUBECTL_BASE_URL="+url+"/release",
		"HELM_BASE_URL="+url, "TOOLS_RELEASES="+table)
}

// result is one run of hack/tools.sh.
type result struct {
	out      string
	err      error
	elapsed  time.Duration
	fallback time.Duration // when the fallback line was printed; 0 if never
}

// tool runs hack/tools.sh for one tool, with the tiny module as the source build.
func (sb *sandbox) tool(t *testing.T, name string, env ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(sb.root, "hack/tools.sh"), name, sb.bin, sb.tiny, "./"+name)
	cmd.Dir = sb.root
	cmd.Env = append(append([]string{}, sb.env...), env...)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	var r result
	var out strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		if r.fallback == 0 && strings.Contains(line, fallbackLine) {
			r.fallback = time.Since(start)
		}
		out.WriteString(line + "\n")
	}
	pr.Close()
	r.err = cmd.Wait()
	r.elapsed = time.Since(start)
	r.out = out.String()
	t.Logf("hack/tools.sh %s (%s):\n%s", name, r.elapsed.Round(time.Millisecond), r.out)
	return r
}

// runBin runs an installed tool and returns what it says.
func (sb *sandbox) runBin(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(sb.bin, name)).CombinedOutput()
	if err != nil {
		t.Fatalf("bin/%s: %v: %s", name, err, out)
	}
	return strings.TrimSpace(string(out))
}

// noGoNoise checks that the go command's own lines stayed in the log.
func noGoNoise(t *testing.T, out string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "go: ") {
			t.Errorf("the go command's output reached the terminal: %q", l)
		}
	}
}

func TestDownloadsAreUsedAndCached(t *testing.T) {
	sb := newSandbox(t)
	srv := newReleaseServer(t)
	rel := newReleases(t)
	sb.pointAt(srv.URL, rel.serve(t, srv, sb.dir))

	for _, name := range []string{"kubectl", "helm", "etcd", "kube-apiserver"} {
		r := sb.tool(t, name)
		if r.err != nil {
			t.Fatalf("hack/tools.sh %s: %v", name, r.err)
		}
		if got, want := sb.runBin(t, name), "fetched "+name; got != want {
			t.Errorf("bin/%s says %q, want %q (the downloaded binary)", name, got, want)
		}
		if strings.Contains(r.out, fallbackLine) || strings.Contains(r.out, name+": building") {
			t.Errorf("hack/tools.sh %s built %s although the download worked", name, name)
		}
		noGoNoise(t, r.out)
	}
	// A tool already in bin/ is left alone, silently.
	if r := sb.tool(t, "kubectl"); r.err != nil || r.out != "" {
		t.Errorf("hack/tools.sh kubectl with bin/kubectl present: %v, output %q; want nothing done", r.err, r.out)
	}
	// etcd and kube-apiserver come from one archive, downloaded once.
	if n := srv.count(envtestArchivePath); n != 1 {
		t.Errorf("the envtest archive was downloaded %d times, want 1", n)
	}

	// A second clone on the same machine takes the downloads from the cache, with the
	// server gone.
	srv.Close()
	sb.bin = filepath.Join(sb.dir, "bin2")
	for _, name := range []string{"kubectl", "helm", "etcd", "kube-apiserver"} {
		r := sb.tool(t, name)
		if r.err != nil {
			t.Fatalf("hack/tools.sh %s from the cache: %v", name, r.err)
		}
		if !strings.Contains(r.out, name+": from the cache") {
			t.Errorf("hack/tools.sh %s did not say it took the cache:\n%s", name, r.out)
		}
		if got, want := sb.runBin(t, name), "fetched "+name; got != want {
			t.Errorf("bin/%s from the cache says %q, want %q", name, got, want)
		}
	}
}

func TestBadChecksumIsRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		tool   string
		change func(*releases)
		want   []string // in the output
	}{
		"kubectl whose sha256 is not the pinned one": {
			tool:   "kubectl",
			change: func(r *releases) { r.pinned["kubectl"] = strings.Repeat("0", 64) },
			want:   []string{"REFUSED", "its sha256 is " + sum256(fakeBinary("fetched kubectl")), "pins " + strings.Repeat("0", 64)},
		},
		"helm whose sha256 is not the pinned one": {
			tool:   "helm",
			change: func(r *releases) { r.pinned["helm"] = strings.Repeat("1", 64) },
			want:   []string{"REFUSED", "pins " + strings.Repeat("1", 64)},
		},
		"an envtest index that gives another checksum than the pinned one": {
			tool:   "etcd",
			change: func(r *releases) { r.indexHash = strings.Repeat("2", 128) },
			want:   []string{"REFUSED " + envtestArchive, "the index gives its sha512 as " + strings.Repeat("2", 128)},
		},
		"an envtest archive that is not the one the index and the pin name": {
			tool: "kube-apiserver",
			change: func(r *releases) {
				// The index and the table name the real archive; the server sends another.
				good := r.envtestTgz
				r.pinned["envtest"] = sum512(good)
				r.indexHash = sum512(good)
				r.envtestTgz = tarGz(t, map[string][]byte{"controller-tools/envtest/kube-apiserver": fakeBinary("tampered")})
			},
			want: []string{"setup-envtest could not download " + envtestArchive, "checksum mismatch"},
		},
		"a platform with no pinned checksum": {
			tool:   "kubectl",
			change: func(r *releases) { r.pinned["kubectl"] = "-" },
			want:   []string{"has no checksum for kubectl " + kubectlVersion + " on " + platform + ", so it is not downloaded"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			sb := newSandbox(t)
			srv := newReleaseServer(t)
			rel := newReleases(t)
			tc.change(rel)
			sb.pointAt(srv.URL, rel.serve(t, srv, sb.dir))
			r := sb.tool(t, tc.tool)
			if r.err != nil {
				t.Fatalf("hack/tools.sh %s: %v (a refused download must fall back to the build)", tc.tool, r.err)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.out, w) {
					t.Errorf("the output does not say %q:\n%s", w, r.out)
				}
			}
			if got, want := sb.runBin(t, tc.tool), "built "+tc.tool+" from source"; got != want {
				t.Errorf("bin/%s says %q, want %q: a refused download must not be installed", tc.tool, got, want)
			}
			if entries, _ := filepath.Glob(filepath.Join(sb.cache, "releases", "*", tc.tool)); len(entries) > 0 {
				t.Errorf("a refused download was cached: %v", entries)
			}
			if tc.tool == "kubectl" && rel.pinned["kubectl"] == "-" && srv.count(kubectlPath) != 0 {
				t.Errorf("kubectl was downloaded although no checksum is pinned for it")
			}
			noGoNoise(t, r.out)
		})
	}
}

func TestUnreachableServerFallsBackWithinSeconds(t *testing.T) {
	// A port nothing listens on: connection refused, as when a proxy or firewall
	// rejects the connection.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	l.Close()

	// A server that accepts the connection and never answers, as a black-holing
	// proxy does: the download must be abandoned after TOOLS_STALL_SECONDS.
	stalled, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := stalled.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		stalled.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	const stallSeconds = 3

	for name, tc := range map[string]struct {
		url, tool string
		within    time.Duration
	}{
		"kubectl, connection refused": {refused, "kubectl", 5 * time.Second},
		"etcd, connection refused":    {refused, "etcd", 5 * time.Second},
		"helm, server never answers":  {"http://" + stalled.Addr().String(), "helm", (stallSeconds + 5) * time.Second},
		"etcd, server never answers":  {"http://" + stalled.Addr().String(), "etcd", (stallSeconds + 5) * time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			sb := newSandbox(t)
			rel := newReleases(t)
			// The table pins the releases; only the server is unreachable.
			table := rel.serve(t, newReleaseServer(t), sb.dir)
			sb.pointAt(tc.url, table)
			r := sb.tool(t, tc.tool, fmt.Sprintf("TOOLS_STALL_SECONDS=%d", stallSeconds), "TOOLS_PROGRESS_EVERY=1")
			if r.err != nil {
				t.Fatalf("hack/tools.sh %s: %v", tc.tool, r.err)
			}
			if r.fallback == 0 {
				t.Fatalf("hack/tools.sh %s never said %q:\n%s", tc.tool, fallbackLine, r.out)
			}
			if r.fallback > tc.within {
				t.Errorf("the fallback to the build came after %s, want within %s", r.fallback.Round(time.Millisecond), tc.within)
			}
			if n := strings.Count(r.out, fallbackLine); n != 1 {
				t.Errorf("%q printed %d times, want once", fallbackLine, n)
			}
			if got, want := sb.runBin(t, tc.tool), "built "+tc.tool+" from source"; got != want {
				t.Errorf("bin/%s says %q, want %q", tc.tool, got, want)
			}
			if strings.Contains(name, "never answers") && !strings.Contains(r.out, "so far") {
				t.Errorf("no elapsed-time line while the download hung for %ds (TOOLS_PROGRESS_EVERY=1):\n%s", stallSeconds, r.out)
			}
			noGoNoise(t, r.out)
		})
	}
}
