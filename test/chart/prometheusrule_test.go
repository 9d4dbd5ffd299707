package chart

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// exportedMetrics are the series the operator exports (a histogram's as
// _bucket, _sum and _count), each with its labels.
type exportedMetrics map[string][]string

// targetLabels are added by Prometheus to every series it scrapes from the
// operator's pods through the ServiceMonitor.
var targetLabels = []string{"namespace", "pod", "service", "job", "instance", "endpoint", "container"}

// operatorMetrics reads the metrics the manager registers from their
// definitions: the operator's own (controllers, internal/cognito) and
// controller-runtime's per-controller ones, which the alerts also use.
func operatorMetrics(t *testing.T) exportedMetrics {
	t.Helper()
	dirs := []string{filepath.Join(root(t), "controllers"), filepath.Join(root(t), "internal", "cognito")}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "list", "-f", "{{.Dir}}", "sigs.k8s.io/controller-runtime/pkg/internal/controller/metrics")
	cmd.Dir = root(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("finding controller-runtime's metrics: %v", err)
	}
	dirs = append(dirs, strings.TrimSpace(string(out)))
	m := exportedMetrics{}
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if !strings.HasSuffix(f, "_test.go") {
				metricsIn(t, f, m)
			}
		}
	}
	for _, want := range []string{"cognito_m2m_cognito_requests_total", "controller_runtime_reconcile_errors_total"} {
		if _, ok := m[want]; !ok {
			t.Fatalf("found no definition of %s: the source scan is broken (found %v)", want, m)
		}
	}
	return m
}

// metricsIn adds the metrics that prometheus.New*(prometheus.*Opts{Name: ...},
// []string{labels}) calls in a file define.
func metricsIn(t *testing.T, path string, m exportedMetrics) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		opts, ok := call.Args[0].(*ast.CompositeLit)
		if !ok {
			return true
		}
		sel, ok := opts.Type.(*ast.SelectorExpr)
		if !ok || !strings.HasSuffix(sel.Sel.Name, "Opts") {
			return true
		}
		var name string
		for _, e := range opts.Elts {
			if kv, ok := e.(*ast.KeyValueExpr); ok {
				if key, ok := kv.Key.(*ast.Ident); ok && key.Name == "Name" {
					if lit, ok := kv.Value.(*ast.BasicLit); ok {
						name, _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
		if name == "" {
			return true
		}
		var labels []string
		if len(call.Args) > 1 {
			if lit, ok := call.Args[1].(*ast.CompositeLit); ok {
				for _, e := range lit.Elts {
					if s, ok := e.(*ast.BasicLit); ok {
						l, _ := strconv.Unquote(s.Value)
						labels = append(labels, l)
					}
				}
			}
		}
		series := []string{name}
		switch sel.Sel.Name {
		case "HistogramOpts":
			series = []string{name + "_bucket", name + "_sum", name + "_count"}
		case "SummaryOpts":
			series = []string{name, name + "_sum", name + "_count"}
		}
		for _, s := range series {
			m[s] = labels
		}
		return true
	})
}

// controllerNames are the names the reconcilers register (Named(...)), which
// controller-runtime's metrics carry as the controller label.
func controllerNames(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root(t), "controllers", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok && len(call.Args) == 1 {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Named" {
					if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						s, _ := strconv.Unquote(lit.Value)
						names = append(names, s)
					}
				}
			}
			return true
		})
	}
	slices.Sort(names)
	return names
}

// selector is one metric name in a PromQL expression and the labels it matches on.
type selector struct {
	metric   string
	matchers map[string]string // label -> value as written (regexp or string)
}

var promqlKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"and": true, "or": true, "unless": true, "bool": true, "offset": true,
}

var promqlAggregations = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
}

var matcherRe = regexp.MustCompile(`\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?`)

// parsePromQL finds the metric selectors of an expression and the labels named
// in its by/without/on/ignoring clauses. It covers the expressions of the
// chart's rules (selectors, matchers, ranges, functions, aggregations,
// arithmetic), not all of PromQL.
func parsePromQL(expr string) (sels []selector, grouping []string, err error) {
	isIdent := func(c byte) bool {
		return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	nextNonSpace := func(i int) int {
		for i < len(expr) && (expr[i] == ' ' || expr[i] == '\t' || expr[i] == '\n') {
			i++
		}
		return i
	}
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'':
			j := strings.IndexByte(expr[i+1:], c)
			if j < 0 {
				return nil, nil, fmt.Errorf("unterminated string at %d", i)
			}
			i += j + 2
		case c == '[':
			j := strings.IndexByte(expr[i:], ']')
			if j < 0 {
				return nil, nil, fmt.Errorf("unterminated range at %d", i)
			}
			i += j + 1
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isIdent(expr[i]) || expr[i] == '.') {
				i++
			}
		case isIdent(c):
			start := i
			for i < len(expr) && isIdent(expr[i]) {
				i++
			}
			word := expr[start:i]
			next := nextNonSpace(i)
			switch {
			case promqlKeywords[word]:
				if (word == "by" || word == "without" || word == "on" || word == "ignoring") && next < len(expr) && expr[next] == '(' {
					end := strings.IndexByte(expr[next:], ')')
					if end < 0 {
						return nil, nil, fmt.Errorf("unterminated %s clause", word)
					}
					for _, l := range strings.Split(expr[next+1:next+end], ",") {
						if l = strings.TrimSpace(l); l != "" {
							grouping = append(grouping, l)
						}
					}
					i = next + end + 1
				}
			case next < len(expr) && expr[next] == '(' || promqlAggregations[word]:
				// a function, or an aggregation (its by/without clause may come first)
			default:
				s := selector{metric: word, matchers: map[string]string{}}
				if next < len(expr) && expr[next] == '{' {
					end := strings.IndexByte(expr[next:], '}')
					if end < 0 {
						return nil, nil, fmt.Errorf("unterminated matchers of %s", word)
					}
					body := expr[next+1 : next+end]
					for _, m := range matcherRe.FindAllStringSubmatch(body, -1) {
						s.matchers[m[1]] = m[3]
					}
					if rest := matcherRe.ReplaceAllString(body, ""); strings.TrimSpace(rest) != "" {
						return nil, nil, fmt.Errorf("matchers of %s not understood: %q", word, rest)
					}
					i = next + end + 1
				}
				sels = append(sels, s)
			}
		default:
			i++
		}
	}
	return sels, grouping, nil
}

func TestParsePromQL(t *testing.T) {
	sels, grouping, err := parsePromQL(`sum by (namespace, operation) (rate(a_total{outcome="throttled", x=~"a|b"}[10m])) > 2 * 86400 - time() + b`)
	if err != nil {
		t.Fatal(err)
	}
	want := []selector{{metric: "a_total", matchers: map[string]string{"outcome": "throttled", "x": "a|b"}}, {metric: "b", matchers: map[string]string{}}}
	if diff := cmp.Diff(want, sels, cmp.AllowUnexported(selector{})); diff != "" {
		t.Errorf("selectors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"namespace", "operation"}, grouping); diff != "" {
		t.Errorf("grouping (-want +got):\n%s", diff)
	}
}

// The optional PrometheusRule is off by default; enabled, it has the alerts the
// operations guide describes, and each expression uses only metrics the operator
// exports, with their labels and the operator's controller names, so that a
// renamed metric or label breaks this test rather than silence an alert.
func TestPrometheusRule(t *testing.T) {
	if m := template(t); m.get("PrometheusRule", fullname) != nil {
		t.Fatal("a PrometheusRule is rendered by default; it needs the Prometheus Operator's CRDs and must be asked for")
	}
	m := template(t, "--set", "metrics.prometheusRule.enabled=true",
		"--set", "metrics.prometheusRule.secretMaxAgeDays=45",
		"--set", "metrics.prometheusRule.labels.release=kube-prometheus-stack",
		"--set", "metrics.prometheusRule.alertLabels.team=platform")
	rule := m.get("PrometheusRule", fullname)
	if rule == nil {
		t.Fatalf("no PrometheusRule/%s in %v", fullname, m.inventory())
	}
	if rule.GetNamespace() != ns || rule.GetLabels()["release"] != "kube-prometheus-stack" {
		t.Errorf("PrometheusRule namespace %q labels %v", rule.GetNamespace(), rule.GetLabels())
	}
	groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	metrics := operatorMetrics(t)
	controllers := controllerNames(t)
	exprs := map[string]string{}
	for _, g := range groups {
		rules, _, _ := unstructured.NestedSlice(g.(map[string]any), "rules")
		for _, r := range rules {
			r := r.(map[string]any)
			name, _ := r["alert"].(string)
			expr, _ := r["expr"].(string)
			exprs[name] = expr
			if labels, _ := r["labels"].(map[string]any); labels["severity"] != "warning" || labels["team"] != "platform" {
				t.Errorf("alert %s: labels %v, want severity and the alertLabels", name, labels)
			}
		}
	}
	var names []string
	for n := range exprs {
		names = append(names, n)
	}
	slices.Sort(names)
	wantAlerts := []string{"CognitoM2MClientSecretTooOld", "CognitoM2MObjectStalled", "CognitoM2MReconcileErrors", "CognitoM2MThrottled"}
	if diff := cmp.Diff(wantAlerts, names); diff != "" {
		t.Fatalf("alerts (-want +got):\n%s", diff)
	}
	if !strings.Contains(exprs["CognitoM2MClientSecretTooOld"], "> 45 * 86400") {
		t.Errorf("secretMaxAgeDays=45 not in %q", exprs["CognitoM2MClientSecretTooOld"])
	}
	for _, name := range names {
		sels, grouping, err := parsePromQL(exprs[name])
		if err != nil {
			t.Errorf("alert %s: %v", name, err)
			continue
		}
		if len(sels) == 0 {
			t.Errorf("alert %s: expression %q selects no metric", name, exprs[name])
		}
		var labelsOfAll []string
		for _, s := range sels {
			labels, ok := metrics[s.metric]
			if !ok {
				t.Errorf("alert %s: metric %s is not one the operator exports", name, s.metric)
				continue
			}
			known := slices.Concat(labels, targetLabels)
			labelsOfAll = append(labelsOfAll, known...)
			for l, v := range s.matchers {
				if !slices.Contains(known, l) {
					t.Errorf("alert %s: %s has no label %s (labels %v)", name, s.metric, l, labels)
				}
				if l == "controller" {
					for _, c := range strings.Split(v, "|") {
						if !slices.Contains(controllers, c) {
							t.Errorf("alert %s: controller %q is none of the operator's %v", name, c, controllers)
						}
					}
				}
			}
		}
		for _, l := range grouping {
			if !slices.Contains(labelsOfAll, l) {
				t.Errorf("alert %s: groups by %s, which its metrics do not have", name, l)
			}
		}
	}
}
