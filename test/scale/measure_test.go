package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseAPIWrites(t *testing.T) {
	text := `# HELP apiserver_request_total [STABLE] Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",dry_run="",group="cognito.m2m.dev",resource="m2mclients",scope="resource",subresource="status",verb="PATCH",version="v1alpha1"} 7
apiserver_request_total{code="409",component="apiserver",dry_run="",group="cognito.m2m.dev",resource="m2mclients",scope="resource",subresource="status",verb="PATCH",version="v1alpha1"} 2
apiserver_request_total{code="201",component="apiserver",dry_run="",group="cognito.m2m.dev",resource="m2mclients",scope="resource",subresource="",verb="POST",version="v1alpha1"} 1000
apiserver_request_total{code="200",component="apiserver",dry_run="",group="cognito.m2m.dev",resource="m2mclients",scope="cluster",subresource="",verb="LIST",version="v1alpha1"} 3
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="secrets",scope="resource",subresource="",verb="POST",version="v1"} 5
apiserver_request_total{code="201",component="apiserver",dry_run="All",group="",resource="secrets",scope="resource",subresource="",verb="POST",version="v1"} 9
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="events",scope="resource",subresource="",verb="POST",version="v1"} 4
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="POST",version="v1"} 11
apiserver_request_total{code="201",component="apiserver",dry_run="",group="coordination.k8s.io",resource="leases",scope="resource",subresource="",verb="PUT",version="v1"} 50
# HELP etcd_request_duration_seconds other metrics are ignored
# TYPE etcd_request_duration_seconds counter
etcd_request_duration_seconds{operation="get"} 1
`
	got, err := parseAPIWrites([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := counts{"m2mclients/status PATCH": 9, "m2mclients POST": 1000, "secrets POST": 5, "events POST": 4}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("writes (-want +got):\n%s", d)
	}
}

func TestParseProc(t *testing.T) {
	// A command name with spaces and parentheses, as /proc allows.
	stat := []byte("4242 (man ager) x) S 1 4242 4242 0 -1 4194560 5012 0 0 0 250 130 0 0 20 0 12 0 5000 1300000000 14000 18446744073709551615\n")
	status := []byte("Name:\tmanager\nVmPeak:\t 1300000 kB\nVmHWM:\t   53248 kB\nVmRSS:\t   40000 kB\n")
	got, err := parseProc(stat, status)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3800 * time.Millisecond; got.cpu != want {
		t.Errorf("cpu = %s, want %s (utime 250 + stime 130 ticks)", got.cpu, want)
	}
	if want := int64(53248 << 10); got.peakRSS != want {
		t.Errorf("peakRSS = %d, want %d", got.peakRSS, want)
	}
	if _, err := parseProc([]byte("4242 (short) S 1 2"), status); err == nil {
		t.Error("a truncated stat line parsed without error")
	}
}

func TestParseProcSelf(t *testing.T) {
	s, err := readProc(os.Getpid())
	if err != nil {
		t.Skipf("no /proc on this system: %v", err)
	}
	if s.peakRSS <= 0 {
		t.Errorf("peakRSS of the test process = %d, want > 0", s.peakRSS)
	}
}

func TestAnswerLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "emulator.log")
	write := func(s string) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	l := &answerLog{path: path}
	write(`{"event":"ready","baseUrl":"http://127.0.0.1:1"}
# /path/to/cognito-emulator --quotas
{"time":"t","level":"INFO","msg":"Handled control-plane call","operation":"CreateUserPoolClient","status":400,"error":"TooManyRequestsException"}
{"time":"t","level":"INFO","msg":"Handled control-plane call","operation":"CreateUserPoolClient","status":200,"error":""}
{"time":"t","level":"INFO","msg":"Handled control-plane call","operation":"DescribeUserPoolClient","status":500,"error":"InternalErrorException"}
{"time":"t","level":"INFO","msg":"Handled control-plane call","operation":"ListUserPoolCli`)
	first, err := l.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	want := counts{"CreateUserPoolClient TooManyRequestsException": 1, "DescribeUserPoolClient InternalErrorException": 1}
	if d := cmp.Diff(want, first); d != "" {
		t.Errorf("first snapshot (-want +got):\n%s", d)
	}
	// The line cut in the middle is counted once complete.
	write(`ents","status":400,"error":"TooManyRequestsException"}
{"time":"t","level":"INFO","msg":"Handled admin request","method":"GET","path":"/_emulator/calls","status":200}
`)
	second, err := l.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	want["ListUserPoolClients TooManyRequestsException"] = 1
	if d := cmp.Diff(want, second); d != "" {
		t.Errorf("second snapshot (-want +got):\n%s", d)
	}
	if d := cmp.Diff(counts{"CreateUserPoolClient TooManyRequestsException": 1, "DescribeUserPoolClient InternalErrorException": 1}, first); d != "" {
		t.Errorf("the first snapshot changed after the second (-want +got):\n%s", d)
	}
	if d := cmp.Diff(counts{"CreateUserPoolClient": 1, "ListUserPoolClients": 1}, throttles(second)); d != "" {
		t.Errorf("throttles (-want +got):\n%s", d)
	}
	if d := cmp.Diff(counts{"DescribeUserPoolClient InternalErrorException": 1}, otherErrors(second)); d != "" {
		t.Errorf("other errors (-want +got):\n%s", d)
	}
}

func TestCountsSub(t *testing.T) {
	got := counts{"a": 5, "b": 2, "c": 1}.sub(counts{"a": 3, "b": 2, "d": 4})
	if d := cmp.Diff(counts{"a": 2, "c": 1, "d": -4}, got); d != "" {
		t.Errorf("sub (-want +got):\n%s", d)
	}
}
