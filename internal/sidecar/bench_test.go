//go:build unix

package sidecar

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/cognito-m2m/operator/auth/authtest"
)

// The benchmarks compare each side of the sidecar with a bare proxy in front
// of the same handler, side by side: each iteration sends one request
// through each, alternating, so that the load of a shared machine falls on
// both alike. Each proxy runs in a process of its own (this test binary,
// started again in a child role), so that the CPU time it spends per request
// is measured apart from the client's and the handler's (getrusage in the
// child, which counts every thread). Reported per request, for the bare
// proxy and the sidecar: wall-clock time, CPU time of the proxy's process,
// p99 latency, and the sidecar's ratio to the bare proxy for each.
//
//	go test -run '^$' -bench . -benchtime 20000x -count 5 ./internal/sidecar/

// childEnv names the role of a child process; see runChild.
const childEnv = "AUTH_SIDECAR_BENCH_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		if err := runChild(spec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type childSpec struct {
	Role           string // bare-reverse, service, bare-forward, caller
	Backend        string
	Issuer         string
	CredentialsDir string
}

type childAddrs struct{ Proxy, Meter string }

// runChild serves one proxy until stdin closes, and the meter: GET /cpu
// answers the process's CPU time in nanoseconds.
func runChild(specJSON string) error {
	var spec childSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return err
	}
	meter, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(meter, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		fmt.Fprint(w, ru.Utime.Nano()+ru.Stime.Nano())
	}))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { io.Copy(io.Discard, os.Stdin); cancel() }()
	announce := func(proxy string) {
		json.NewEncoder(os.Stdout).Encode(childAddrs{Proxy: proxy, Meter: meter.Addr().String()})
	}
	backend, _ := url.Parse(spec.Backend)
	bare := func(rewrite func(*httputil.ProxyRequest)) error {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		// The servers' and transports' settings are the sidecar's.
		srv := &http.Server{Handler: &httputil.ReverseProxy{Rewrite: rewrite, Transport: newTransport()},
			ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 90 * time.Second, MaxHeaderBytes: 64 << 10}
		go srv.Serve(ln)
		announce(ln.Addr().String())
		<-ctx.Done()
		return srv.Close()
	}
	sidecar := func(cfg Config, listener string) error {
		return Run(ctx, cfg, Options{
			AdminListen: "127.0.0.1:0",
			Logger:      slog.New(slog.DiscardHandler),
			// Announced once ready: keys loaded, or a token held.
			Listening: func(a map[string]string) {
				go func() {
					for {
						if resp, err := http.Get("http://" + a["admin"] + "/readyz"); err == nil {
							resp.Body.Close()
							if resp.StatusCode == 200 {
								announce(a[listener])
								return
							}
						}
						time.Sleep(10 * time.Millisecond)
					}
				}()
			},
		})
	}
	switch spec.Role {
	case "bare-reverse":
		return bare(func(pr *httputil.ProxyRequest) {
			pr.SetURL(backend)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		})
	case "bare-forward":
		return bare(func(pr *httputil.ProxyRequest) {
			pr.SetURL(backend)
			pr.Out.Header.Del("Authorization")
		})
	case "service":
		return sidecar(Config{Service: &ServiceConfig{
			Listen: "127.0.0.1:0", Upstream: spec.Backend, Issuer: spec.Issuer,
			Routes: []Route{{Path: "/weatherforecast", Methods: []string{"GET"}, Scopes: []string{"MyService/weather_read"}}},
		}}, "service")
	case "caller":
		return sidecar(Config{Caller: &CallerConfig{
			CredentialsDir: spec.CredentialsDir,
			Upstreams:      []Upstream{{Name: "weather", Listen: "127.0.0.1:0", URL: spec.Backend}},
		}}, "upstream/weather")
	}
	return fmt.Errorf("unknown role %q", spec.Role)
}

// child is a started proxy process.
type child struct {
	addrs childAddrs
	cmd   *exec.Cmd
}

func startChild(b *testing.B, spec childSpec) *child {
	b.Helper()
	js, _ := json.Marshal(spec)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(js))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	c := &child{cmd: cmd}
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil || json.Unmarshal(line, &c.addrs) != nil {
		b.Fatalf("%s child: %q %v", spec.Role, line, err)
	}
	return c
}

func (c *child) cpu(b *testing.B) time.Duration {
	b.Helper()
	resp, err := http.Get("http://" + c.addrs.Meter + "/cpu")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var ns int64
	if _, err := fmt.Fscan(resp.Body, &ns); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ns)
}

// benchBackend is the handler behind both proxies: a small JSON answer.
func benchBackend(b *testing.B) *httptest.Server {
	body := []byte(`[{"date":"2026-03-02","temperatureC":12,"temperatureF":53,"summary":"Mild"}]` + "\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// sideBySide sends b.N requests through each of bare and sidecar,
// alternating, and reports both and the ratios.
func sideBySide(b *testing.B, bare, sidecar *child, header http.Header) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	send := func(c *child) time.Duration {
		req, _ := http.NewRequest("GET", "http://"+c.addrs.Proxy+"/weatherforecast", nil)
		req.Header = header.Clone()
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if resp.StatusCode != 200 {
			b.Fatalf("%s: status %d", c.addrs.Proxy, resp.StatusCode)
		}
		return d
	}
	// Warm both: connections open, the token cached, the token verified once.
	for range 200 {
		send(bare)
		send(sidecar)
	}
	lat := [2][]time.Duration{make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)}
	var wall [2]time.Duration
	cpu0 := [2]time.Duration{bare.cpu(b), sidecar.cpu(b)}
	b.ResetTimer()
	for i := range b.N {
		// Alternate which goes first, so that neither always follows the other.
		order := [2]int{0, 1}
		if i%2 == 1 {
			order = [2]int{1, 0}
		}
		for _, k := range order {
			d := send([2]*child{bare, sidecar}[k])
			wall[k] += d
			lat[k] = append(lat[k], d)
		}
	}
	b.StopTimer()
	cpu1 := [2]time.Duration{bare.cpu(b), sidecar.cpu(b)}
	n := float64(b.N)
	per := func(d time.Duration) float64 { return float64(d) / n }
	p99 := func(l []time.Duration) float64 {
		slices.Sort(l)
		return float64(l[len(l)*99/100])
	}
	bareCPU, sideCPU := per(cpu1[0]-cpu0[0]), per(cpu1[1]-cpu0[1])
	b.ReportMetric(per(wall[0]), "bare-ns/req")
	b.ReportMetric(per(wall[1]), "sidecar-ns/req")
	b.ReportMetric(per(wall[1])/per(wall[0]), "x-wall")
	b.ReportMetric(bareCPU, "bare-cpu-ns/req")
	b.ReportMetric(sideCPU, "sidecar-cpu-ns/req")
	b.ReportMetric(sideCPU/bareCPU, "x-cpu")
	b.ReportMetric(p99(lat[0]), "bare-p99-ns")
	b.ReportMetric(p99(lat[1]), "sidecar-p99-ns")
}

// BenchmarkServiceSide: the verifying proxy against a bare
// httputil.ReverseProxy, both in front of the same handler, with a token
// the verifier has seen (its cache holds it, as for every request of a
// caller after its first).
func BenchmarkServiceSide(b *testing.B) {
	cognito := authtest.NewServer(b)
	backend := benchBackend(b)
	bare := startChild(b, childSpec{Role: "bare-reverse", Backend: backend.URL})
	side := startChild(b, childSpec{Role: "service", Backend: backend.URL, Issuer: cognito.Issuer})
	h := http.Header{"Authorization": {"Bearer " + cognito.AccessToken("bff", "MyService/weather_read")}}
	sideBySide(b, bare, side, h)
}

// BenchmarkCallerSide: the caller side, which adds the cached token, against
// a bare forwarding proxy to the same handler.
func BenchmarkCallerSide(b *testing.B) {
	cognito := authtest.NewServer(b)
	cognito.AddClient("bff", "bff-secret", "MyService/weather_read")
	dir := b.TempDir()
	if err := authtest.WriteSecretDir(dir, map[string]string{
		"client_id": "bff", "client_secret": "bff-secret", "token_endpoint": cognito.TokenEndpoint, "scopes": "MyService/weather_read",
	}); err != nil {
		b.Fatal(err)
	}
	backend := benchBackend(b)
	bare := startChild(b, childSpec{Role: "bare-forward", Backend: backend.URL})
	side := startChild(b, childSpec{Role: "caller", Backend: backend.URL, CredentialsDir: dir})
	sideBySide(b, bare, side, http.Header{})
	if n := cognito.TokenRequests(); n != 1 {
		b.Errorf("%d token requests, want the one cached token", n)
	}
}
