package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/rest"
)

// counts is a set of counters by key, such as calls by Cognito operation.
type counts map[string]int

// sub returns c minus before, key by key, leaving out zeros. A negative
// count shows an accounting error rather than hiding it.
func (c counts) sub(before counts) counts {
	d := counts{}
	for k, v := range c {
		if n := v - before[k]; n != 0 {
			d[k] = n
		}
	}
	for k, v := range before {
		if _, ok := c[k]; !ok && v != 0 {
			d[k] = -v
		}
	}
	return d
}

func (c counts) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// withPrefix sums the counters whose key starts with prefix.
func (c counts) withPrefix(prefix string) int {
	n := 0
	for k, v := range c {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// emulatorAdmin reads and sets the emulator's test controls over HTTP (the
// /_emulator/ endpoints), as any out-of-process test does.
type emulatorAdmin struct {
	base string
	http *http.Client
}

func (a *emulatorAdmin) do(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, r)
	if err != nil {
		return err
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// calls returns the emulator's call counters by operation (throttled and
// failed requests included).
func (a *emulatorAdmin) calls(ctx context.Context) (counts, error) {
	var out struct {
		Calls counts `json:"calls"`
	}
	err := a.do(ctx, http.MethodGet, "/_emulator/calls", nil, &out)
	return out.Calls, err
}

// quotas is the emulator's quota document, kept as JSON so that it can be put
// back unchanged after a pause.
type quotas struct {
	Categories          map[string]float64 `json:"categories,omitempty"`
	PerOperationPerPool float64            `json:"perOperationPerPool,omitempty"`
}

func (a *emulatorAdmin) quotas(ctx context.Context) (*quotas, error) {
	var out struct {
		Quotas *quotas `json:"quotas"`
	}
	err := a.do(ctx, http.MethodGet, "/_emulator/quotas", nil, &out)
	return out.Quotas, err
}

// setQuotas puts q, or turns quotas off when q is nil.
func (a *emulatorAdmin) setQuotas(ctx context.Context, q *quotas) error {
	if q == nil {
		return a.do(ctx, http.MethodDelete, "/_emulator/quotas", nil, nil)
	}
	return a.do(ctx, http.MethodPut, "/_emulator/quotas", q, nil)
}

// fault is one of the emulator's injected faults, on the admin wire.
type fault struct {
	Operation string  `json:"operation,omitempty"`
	ErrorType string  `json:"errorType,omitempty"`
	ErrorRate float64 `json:"errorRate,omitempty"`
}

// setFaults replaces the injected faults; none removes them all.
func (a *emulatorAdmin) setFaults(ctx context.Context, faults ...fault) error {
	if len(faults) == 0 {
		return a.do(ctx, http.MethodDelete, "/_emulator/faults", nil, nil)
	}
	return a.do(ctx, http.MethodPut, "/_emulator/faults", map[string]any{"faults": faults}, nil)
}

// answerLog counts the emulator's error answers by operation and error type
// ("CreateUserPoolClient TooManyRequestsException"), read from its JSON log:
// its call counters count requests, not answers. It reads the log
// incrementally, so that a snapshot costs only the lines since the last.
type answerLog struct {
	path string

	mu      sync.Mutex
	offset  int64
	partial []byte
	errors  counts
}

// emulatorCallRecord is the emulator's log record of one control-plane call.
type emulatorCallRecord struct {
	Msg       string `json:"msg"`
	Operation string `json:"operation"`
	Error     string `json:"error"`
}

// callRecordMsg is the message of that record.
const callRecordMsg = "Handled control-plane call"

// snapshot reads the lines added since the last call and returns the
// cumulative error counts.
func (l *answerLog) snapshot() (counts, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.errors == nil {
		l.errors = counts{}
	}
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(l.offset, io.SeekStart); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	l.offset += int64(len(b))
	b = append(l.partial, b...)
	end := bytes.LastIndexByte(b, '\n') + 1
	l.partial = append([]byte(nil), b[end:]...)
	countErrorAnswers(b[:end], l.errors)
	return maps.Clone(l.errors), nil
}

// countErrorAnswers adds the error answers recorded in log lines to into.
// Lines that are not the emulator's call records are skipped.
func countErrorAnswers(lines []byte, into counts) {
	sc := bufio.NewScanner(bytes.NewReader(lines))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var r emulatorCallRecord
		if json.Unmarshal(line, &r) != nil || r.Msg != callRecordMsg || r.Error == "" {
			continue
		}
		into[r.Operation+" "+r.Error]++
	}
}

// throttleError is Cognito's error type for an answer over a quota.
const throttleError = "TooManyRequestsException"

// throttles picks the TooManyRequests answers out of error counts, by operation.
func throttles(errs counts) counts {
	t := counts{}
	for k, v := range errs {
		if op, ok := strings.CutSuffix(k, " "+throttleError); ok {
			t[op] += v
		}
	}
	return t
}

// otherErrors are the error answers other than throttles, by operation and type.
func otherErrors(errs counts) counts {
	o := counts{}
	for k, v := range errs {
		if !strings.HasSuffix(k, " "+throttleError) {
			o[k] += v
		}
	}
	return o
}

// writeVerbs are the apiserver_request_total verbs that change state.
var writeVerbs = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "APPLY": true, "DELETE": true, "DELETECOLLECTION": true}

// watchedResource reports whether writes to a resource are counted: the
// operator's own kinds, Secrets and Events.
func watchedResource(group, resource string) bool {
	switch {
	case group == "cognito.m2m.dev":
		return true
	case group == "" && (resource == "secrets" || resource == "events"):
		return true
	case group == "events.k8s.io" && resource == "events":
		return true
	}
	return false
}

// apiWrites reads kube-apiserver's apiserver_request_total and returns the
// write requests to the watched resources, keyed "resource[/subresource] VERB".
func apiWrites(ctx context.Context, rc rest.Interface) (counts, error) {
	b, err := rc.Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the API server's /metrics: %w", err)
	}
	return parseAPIWrites(b)
}

func parseAPIWrites(text []byte) (counts, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("parsing the API server's metrics: %w", err)
	}
	out := counts{}
	fam, ok := families["apiserver_request_total"]
	if !ok {
		return out, nil
	}
	for _, m := range fam.GetMetric() {
		l := map[string]string{}
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		if !writeVerbs[l["verb"]] || !watchedResource(l["group"], l["resource"]) || l["dry_run"] != "" {
			continue
		}
		key := l["resource"]
		if l["subresource"] != "" {
			key += "/" + l["subresource"]
		}
		out[key+" "+l["verb"]] += int(m.GetCounter().GetValue())
	}
	return out, nil
}

// procSample is what /proc says about one process.
type procSample struct {
	cpu     time.Duration // user + system
	peakRSS int64         // VmHWM, bytes
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

func readProc(pid int) (procSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procSample{}, err
	}
	return parseProc(stat, status)
}

// parseProc reads utime and stime from /proc/<pid>/stat and VmHWM from
// /proc/<pid>/status.
func parseProc(stat, status []byte) (procSample, error) {
	var s procSample
	// The command name, field 2, is in parentheses and may hold spaces: the
	// fields are counted from the last ')'. utime and stime are fields 14 and
	// 15, so the 12th and 13th after it.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("malformed /proc stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("malformed /proc stat: %d fields after the name", len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("malformed /proc stat times %q %q", f[11], f[12])
	}
	s.cpu = time.Duration(ut+st) * time.Second / clockTicks
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fs := strings.Fields(v)
			if len(fs) != 2 || fs[1] != "kB" {
				return s, fmt.Errorf("malformed VmHWM line %q", line)
			}
			kb, err := strconv.ParseInt(fs[0], 10, 64)
			if err != nil {
				return s, fmt.Errorf("malformed VmHWM line %q", line)
			}
			s.peakRSS = kb << 10
		}
	}
	return s, nil
}

// sortedKeys returns the keys of the maps, merged and sorted.
func sortedKeys(ms ...counts) []string {
	set := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			set[k] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}
