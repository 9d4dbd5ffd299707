package docs

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cognito-m2m/operator/internal/cognito"
)

var loadRepo = sync.OnceValues(func() (*Repo, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	root, err := FindRoot(wd)
	if err != nil {
		return nil, err
	}
	return LoadRepo(root)
})

func repo(t *testing.T) *Repo {
	t.Helper()
	r, err := loadRepo()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// documents are the Markdown files the check reads: the README, every file in
// docs/, and the chart's README.
func documents(t *testing.T, r *Repo) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(r.Root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("no docs/*.md")
	}
	out := []string{"README.md", ChartDir + "/README.md"}
	for _, d := range docs {
		out = append(out, r.relative(d))
	}
	return out
}

func TestDocumentsReferToWhatExists(t *testing.T) {
	r := repo(t)
	for _, rel := range documents(t, r) {
		t.Run(rel, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(r.Root, rel))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range r.Check(rel, string(b)) {
				t.Errorf("%s:%d: %s", rel, p.Line, p.Msg)
			}
		})
	}
}

// The README is the first thing a newcomer reads: short, with the quick start
// near the top.
func TestREADMEShape(t *testing.T) {
	r := repo(t)
	b, err := os.ReadFile(filepath.Join(r.Root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) > 210 {
		t.Errorf("README.md has %d lines; keep it to about 200 and move detail into docs/", len(lines))
	}
	for _, want := range []string{"make demo", "make test", "sudo make test-e2e-local"} {
		at := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, want+" ") })
		if at < 0 || at >= 50 {
			t.Errorf("README.md: the quick start's %q is not a command line within the first 50 lines (line %d)", want, at+1)
		}
	}
}

// Each task document opens with what the reader will have done at the end.
func TestDocsSayWhatTheReaderWillHave(t *testing.T) {
	r := repo(t)
	docs, err := filepath.Glob(filepath.Join(r.Root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		b, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		paras := strings.SplitN(string(b), "\n\n", 3)
		if len(paras) < 2 || !strings.HasPrefix(paras[0], "# ") || !strings.HasPrefix(paras[1], "At the end of this page you will") {
			t.Errorf("%s: want a title, then a paragraph starting \"At the end of this page you will\"", r.relative(d))
		}
	}
}

func TestCheckFindsBrokenReferences(t *testing.T) {
	r := repo(t)
	cases := []struct {
		name string
		md   string
		want []string // substrings of the problems, in order; none: no problem
	}{
		{
			name: "everything exists",
			md: "# Title\n\nSee [install](install.md#1-the-user-pool-and-its-domain), [below](#title) and `docs/aws/cognito-pool.yaml`.\n" +
				"Run `make demo` or `go run ./cmd/manager --drift-period 5m`; set `metrics.serviceMonitor.enabled` and `--zap-*`.\n\n" +
				"```sh\nhelm install x charts/cognito-m2m-operator --set serviceAccount.annotations.\"eks\\.amazonaws\\.com/role-arn\"=arn \\\n  --set 'tenancy.allowedUserPools={a,b}'\n" +
				"go run ./cmd/cognito-emulator --quotas --state-file /tmp/s.json\nmake test GO_TEST_FLAGS=-v  # a comment with make nothing\n```\n\n" +
				"```yaml\n# values.yaml\nregion: eu-west-1\nserviceAccount:\n  annotations: {a: b}\n```\n\n" +
				"```yaml\nkind: One\n---\nkind: Other\n```\n\n" +
				"```go\nv, err := f()\nif err != nil {\n\treturn err\n}\n_ = v\n```\n",
		},
		{name: "missing file", md: "[x](nothere.md)\n", want: []string{"docs/nothere.md does not exist"}},
		{name: "missing anchor in another file", md: "[x](install.md#no-such-heading)\n", want: []string{"no heading with anchor #no-such-heading"}},
		{name: "missing anchor here", md: "# A\n\n[x](#b)\n", want: []string{"no heading with anchor #b"}},
		{name: "backticked path", md: "See `internal/cognito/gone.go`.\n", want: []string{"internal/cognito/gone.go does not exist"}},
		{name: "glob path", md: "See `examples/*/nothing.yaml`.\n", want: []string{"examples/*/nothing.yaml matches no file"}},
		{name: "module import path", md: "Import `github.com/cognito-m2m/operator/auth/gone`.\n", want: []string{"auth/gone does not exist"}},
		{name: "make target in prose", md: "Run `make nonesuch`.\n", want: []string{`make target "nonesuch"`}},
		{name: "make target in a block", md: "```sh\nsudo make test-e2e-nowhere\n```\n", want: []string{`make target "test-e2e-nowhere"`}},
		{name: "manager flag in prose", md: "Use `--drift-interval`.\n", want: []string{"`--drift-interval` is not a flag"}},
		{name: "manager flag in a command", md: "```sh\ngo run ./cmd/manager --region x --user-pool y\n```\n", want: []string{"--user-pool is not a flag of cmd/manager"}},
		{name: "emulator flag", md: "```sh\ncognito-emulator --create-domain x\n```\n", want: []string{"--create-domain is not a flag of cmd/cognito-emulator"}},
		{name: "set key", md: "```sh\nhelm upgrade x y --set metrics.serviceMonitor.enable=true\n```\n", want: []string{"chart value metrics.serviceMonitor.enable is not in"}},
		{name: "set list", md: "```sh\nhelm upgrade x y --set region=a,tenancy.watchNamespace={a,b}\n```\n", want: []string{"chart value tenancy.watchNamespace is not in"}},
		{name: "value path in prose", md: "Set `cognito.rateLimit.perOperation`.\n", want: []string{"chart value cognito.rateLimit.perOperation is not in"}},
		{name: "values block", md: "```yaml\n# values.yaml\nmetrics:\n  serviceMonitor:\n    enabeld: true\n```\n", want: []string{"chart value metrics.serviceMonitor.enabeld is not in"}},
		{name: "yaml", md: "```yaml\na: [1\n```\n", want: []string{"yaml block does not parse"}},
		{name: "second yaml document", md: "```yaml\na: 1\n---\nb: {\n```\n", want: []string{"yaml block does not parse"}},
		{name: "json", md: "```json\n{\"a\": 1,}\n```\n", want: []string{"json block does not parse"}},
		{name: "shell", md: "```sh\nif true; then echo\n```\n", want: []string{"sh block fails bash -n"}},
		{name: "console", md: "```console\n$ echo $(\noutput (not checked\n```\n", want: []string{"console block's commands fail bash -n"}},
		{name: "go syntax", md: "```go\nx := \n```\n", want: []string{"go block does not parse"}},
		{name: "go dropped error", md: "```go\ncreds, _ := credentials.OpenDir(\"/m2m\")\nuse(creds)\n```\n", want: []string{"go block drops an error"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := r.Check("docs/synthetic.md", tc.md)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d problems %v, want %d matching %q", len(got), got, len(tc.want), tc.want)
			}
			for i, p := range got {
				if !strings.Contains(p.Msg, tc.want[i]) {
					t.Errorf("problem %d: %q, want it to contain %q", i, p.Msg, tc.want[i])
				}
			}
		})
	}
}

func TestAnchor(t *testing.T) {
	for heading, want := range map[string]string{
		"Cognito's quotas":                      "cognitos-quotas",
		"2. The IAM policy, scoped to the pool": "2-the-iam-policy-scoped-to-the-pool",
		"Calling side: `auth/credentials`":      "calling-side-authcredentials",
		"Grants between namespaces: two teams":  "grants-between-namespaces-two-teams",
	} {
		if got := Anchor(heading); got != want {
			t.Errorf("Anchor(%q) = %q, want %q", heading, got, want)
		}
	}
}

// The CloudFormation template is plain YAML (long-form intrinsic functions), has
// the pool, its domain, and the smoke test's resource server and client, and
// refers only to what it defines.
func TestCloudFormationTemplate(t *testing.T) {
	r := repo(t)
	b, err := os.ReadFile(filepath.Join(r.Root, "docs", "aws", "cognito-pool.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^.*\s!(Ref|GetAtt|Sub|Equals|If|Join)\b.*$`).FindString(string(b)); m != "" {
		t.Errorf("short-form tag in %q: write Ref: / Fn::GetAtt: so that the template is plain YAML", strings.TrimSpace(m))
	}
	docs, err := parseYAMLDocs(string(b))
	if err != nil || len(docs) != 1 {
		t.Fatalf("template does not parse as one YAML document: %v", err)
	}
	tmpl := docs[0].(map[string]any)
	resources, _ := tmpl["Resources"].(map[string]any)
	params, _ := tmpl["Parameters"].(map[string]any)
	var types []string
	for name, res := range resources {
		typ, _ := res.(map[string]any)["Type"].(string)
		types = append(types, typ)
		if cond, ok := res.(map[string]any)["Condition"].(string); ok {
			if _, defined := tmpl["Conditions"].(map[string]any)[cond]; !defined {
				t.Errorf("resource %s: condition %s is not defined", name, cond)
			}
		}
	}
	slices.Sort(types)
	want := []string{"AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolDomain", "AWS::Cognito::UserPoolResourceServer"}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("resource types (-want +got):\n%s", diff)
	}
	defined := func(name string) bool {
		_, isRes := resources[name]
		_, isParam := params[name]
		return isRes || isParam || strings.HasPrefix(name, "AWS::")
	}
	walk(tmpl, func(m map[string]any) {
		if ref, ok := m["Ref"].(string); ok && !defined(ref) {
			t.Errorf("Ref: %s is neither a parameter nor a resource", ref)
		}
		if ga, ok := m["Fn::GetAtt"].([]any); ok && (len(ga) != 2 || !defined(fmt.Sprint(ga[0]))) {
			t.Errorf("Fn::GetAtt: %v does not name a resource and an attribute", ga)
		}
		if sub, ok := m["Fn::Sub"].(string); ok {
			for _, v := range regexp.MustCompile(`\$\{([^}.]+)`).FindAllStringSubmatch(sub, -1) {
				if !defined(v[1]) {
					t.Errorf("Fn::Sub %q: ${%s} is neither a parameter nor a resource", sub, v[1])
				}
			}
		}
	})
	// The client is the operator's kind of client: secret, client credentials only.
	for _, res := range resources {
		res := res.(map[string]any)
		if res["Type"] != "AWS::Cognito::UserPoolClient" {
			continue
		}
		props := res["Properties"].(map[string]any)
		if props["GenerateSecret"] != true || props["AllowedOAuthFlowsUserPoolClient"] != true || !reflect.DeepEqual(props["AllowedOAuthFlows"], []any{"client_credentials"}) {
			t.Errorf("the client is not a client-credentials client with a secret: %v", props)
		}
	}
}

func walk(v any, f func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		f(v)
		for _, c := range v {
			walk(c, f)
		}
	case []any:
		for _, c := range v {
			walk(c, f)
		}
	}
}

type policy struct {
	Version   string
	Statement []struct {
		Sid       string
		Effect    string
		Principal map[string]any
		Action    any
		Resource  any
		Condition map[string]map[string]any
	}
}

func readPolicy(t *testing.T, r *Repo, name string) policy {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.Root, "docs", "aws", name))
	if err != nil {
		t.Fatal(err)
	}
	var p policy
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if p.Version != "2012-10-17" || len(p.Statement) == 0 {
		t.Fatalf("%s: want Version 2012-10-17 and statements", name)
	}
	return p
}

func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, s := range v {
			out = append(out, fmt.Sprint(s))
		}
		return out
	}
	return nil
}

// The operator's policy allows exactly the Cognito calls the operator makes (the
// methods of its Cognito interface), on one pool, so that a new call cannot ship
// without the policy that lets it through, nor the policy grant more.
func TestOperatorPolicyAllowsExactlyTheCallsTheOperatorMakes(t *testing.T) {
	r := repo(t)
	p := readPolicy(t, r, "operator-policy.json")
	var got []string
	for _, s := range p.Statement {
		if s.Effect != "Allow" {
			continue
		}
		got = append(got, strs(s.Action)...)
		for _, res := range strs(s.Resource) {
			if !regexp.MustCompile(`^arn:aws:cognito-idp:[^:*]+:[^:*]+:userpool/[^*]+$`).MatchString(res) {
				t.Errorf("resource %q is not one user pool's ARN", res)
			}
		}
	}
	api := reflect.TypeFor[cognito.API]()
	var want []string
	for i := range api.NumMethod() {
		want = append(want, "cognito-idp:"+api.Method(i).Name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("docs/aws/operator-policy.json actions (-the operator's calls +the policy):\n%s", diff)
	}
}

func TestTrustPolicies(t *testing.T) {
	r := repo(t)
	irsa := readPolicy(t, r, "irsa-trust-policy.json")
	s := irsa.Statement[0]
	if strs(s.Action)[0] != "sts:AssumeRoleWithWebIdentity" || s.Principal["Federated"] == nil {
		t.Errorf("IRSA trust policy: want sts:AssumeRoleWithWebIdentity by the cluster's OIDC provider, got %+v", s)
	}
	if sub := s.Condition["StringEquals"]["OIDC_PROVIDER:sub"]; sub != "system:serviceaccount:NAMESPACE:SERVICE_ACCOUNT" {
		t.Errorf("IRSA trust policy: the role must be limited to the operator's ServiceAccount, got sub %v", sub)
	}
	pi := readPolicy(t, r, "pod-identity-trust-policy.json")
	s = pi.Statement[0]
	if s.Principal["Service"] != "pods.eks.amazonaws.com" || !slices.Equal(strs(s.Action), []string{"sts:AssumeRole", "sts:TagSession"}) {
		t.Errorf("Pod Identity trust policy: want sts:AssumeRole and sts:TagSession by pods.eks.amazonaws.com, got %+v", s)
	}
	for _, tag := range []string{"aws:RequestTag/kubernetes-namespace", "aws:RequestTag/kubernetes-service-account"} {
		if s.Condition["StringEquals"][tag] == nil {
			t.Errorf("Pod Identity trust policy: the role must be limited by %s", tag)
		}
	}
}

// Every placeholder of the policy files is filled in by the script that uses
// them, and the scripts pass bash -n.
func TestAWSScripts(t *testing.T) {
	r := repo(t)
	script, err := os.ReadFile(filepath.Join(r.Root, "docs", "aws", "create-role.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"operator-policy.json", "irsa-trust-policy.json", "pod-identity-trust-policy.json"} {
		b, err := os.ReadFile(filepath.Join(r.Root, "docs", "aws", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, ph := range regexp.MustCompile(`\b[A-Z][A-Z_]{3,}\b`).FindAllString(string(b), -1) {
			if !regexp.MustCompile(`s[/|]` + ph + `[/|]`).Match(script) {
				t.Errorf("%s: placeholder %s is not substituted by create-role.sh", name, ph)
			}
		}
	}
	for _, name := range []string{"create-pool.sh", "create-role.sh"} {
		p := filepath.Join(r.Root, "docs", "aws", name)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := bashSyntax(string(b)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", name)
		}
	}
}

// Every condition reason the api package defines has its entry in the
// troubleshooting guide.
func TestEveryConditionReasonIsDocumented(t *testing.T) {
	r := repo(t)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join(r.Root, "api", "v1alpha1", "common_types.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range vs.Names {
			if strings.HasPrefix(name.Name, "Reason") && i < len(vs.Values) {
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok {
					s, _ := strconv.Unquote(lit.Value)
					reasons = append(reasons, s)
				}
			}
		}
		return true
	})
	if len(reasons) == 0 {
		t.Fatal("no Reason constants found in api/v1alpha1/common_types.go")
	}
	b, err := os.ReadFile(filepath.Join(r.Root, "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, reason := range reasons {
		if !strings.Contains(string(b), "`"+reason+"`") {
			t.Errorf("docs/operations.md does not mention the condition or event reason `%s`", reason)
		}
	}
}
