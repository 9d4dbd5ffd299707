package chart

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/cognito-m2m/operator/internal/cognito"
)

const (
	release  = "op"
	ns       = "cognito-system"
	fullname = "op-cognito-m2m-operator"
	emuName  = fullname + "-emulator"
	emuURL   = "http://" + emuName + "." + ns + ".svc:9229"
)

func TestLint(t *testing.T) {
	for _, values := range [][]string{
		nil,
		{"--set", "emulator.enabled=true"},
		{"--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.prometheusRule.enabled=true", "--set", "replicaCount=2"},
		{"--set", "metrics.networkPolicy.enabled=true", "--set", "metrics.secure=false"},
	} {
		args := append([]string{"lint", "--strict", chartDir(t)}, values...)
		mustHelm(t, args...)
	}
}

// template renders the chart as release "op" in ns with extra helm flags.
func template(t *testing.T, args ...string) manifests {
	t.Helper()
	out := mustHelm(t, append([]string{"template", release, chartDir(t), "--namespace", ns}, args...)...)
	return parseManifests(t, out)
}

// The manager flags every install has; cases add theirs in front.
var commonArgs = []string{
	"--cognito-rate-per-operation=4.8",
	"--cognito-rate-recovery=30s",
	"--drift-period=10m",
	"--max-concurrent-reconciles=2",
	"--max-retained-per-namespace=10",
	"--retained-ledger-namespace=" + ns,
	"--metrics-bind-address=:8443",
	"--health-probe-bind-address=:8081",
	"--leader-elect",
	"--leader-election-namespace=" + ns,
}

// metricsAt is where the metrics flag stands in commonArgs: cases that change the
// metrics serving replace or follow it.
var metricsAt = slices.Index(commonArgs, "--metrics-bind-address=:8443")

var zapArgs = []string{"--zap-log-level=info", "--zap-encoder=json", "--zap-time-encoding=rfc3339"}

func concat(parts ...[]string) []string { return slices.Concat(parts...) }

func TestTemplate(t *testing.T) {
	base := []string{
		"CustomResourceDefinition/m2mclients.cognito.m2m.dev",
		"CustomResourceDefinition/resourceservers.cognito.m2m.dev",
		"ServiceAccount/" + fullname,
		"ClusterRole/" + fullname,
		"ClusterRoleBinding/" + fullname,
		"Service/" + fullname + "-metrics",
		"ClusterRole/" + fullname + "-metrics-reader",
		"Deployment/" + fullname,
	}
	guard := []string{
		"ClusterRole/" + fullname + "-finalizer",
		"ClusterRoleBinding/" + fullname + "-finalizer",
		"ValidatingAdmissionPolicy/" + fullname + "-finalizer",
		"ValidatingAdmissionPolicyBinding/" + fullname + "-finalizer",
	}
	base = append(base, guard...)
	cases := []struct {
		name        string
		args        []string
		wantObjects []string // in addition to base, unless noBase
		noObjects   []string
		wantArgs    []string // the manager's, exactly
		wantEnv     []string // names of the manager's variables
		check       func(t *testing.T, m manifests)
	}{
		{
			name:        "defaults",
			wantObjects: []string{"Role/" + fullname + "-leader-election", "RoleBinding/" + fullname + "-leader-election"},
			noObjects: []string{"ServiceMonitor/" + fullname, "Deployment/" + emuName, "NetworkPolicy/" + fullname,
				"ClusterRoleBinding/" + fullname + "-metrics-reader"},
			wantArgs: concat(commonArgs, zapArgs),
			check: func(t *testing.T, m manifests) {
				checkMetricsPort(t, m, "https-metrics", 8443)
				// The metrics-reader ClusterRole allows GET /metrics, nothing else.
				reader := m.get("ClusterRole", fullname+"-metrics-reader")
				want := []any{map[string]any{"nonResourceURLs": []any{"/metrics"}, "verbs": []any{"get"}}}
				if diff := cmp.Diff(want, reader.Object["rules"]); diff != "" {
					t.Errorf("metrics-reader rules (-want +got):\n%s", diff)
				}
				// A deleted pod's replacement starts while the old one stops: only
				// leader election keeps two managers from working side by side.
				d := m.deployment(t, fullname)
				if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
					t.Errorf("strategy %q with leader election, want a rolling update", d.Spec.Strategy.Type)
				}
				if got := d.Spec.Template.Spec.Containers[0].Image; got != "ghcr.io/cognito-m2m/operator:0.1.0" {
					t.Errorf("image %q, want the appVersion tag", got)
				}
				crd := m.get("CustomResourceDefinition", "m2mclients.cognito.m2m.dev")
				if crd.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
					t.Error("CRDs are not kept on uninstall by default")
				}
			},
		},
		{
			name: "real Cognito with IRSA",
			args: []string{
				"--set", "region=eu-west-1", "--set", "userPoolId=eu-west-1_AbC123xyZ",
				"--set", "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::123456789012:role/m2m",
				"--set", "driftPeriod=5m", "--set", "maxConcurrentReconciles=4",
				"--set", "cognito.rateLimits.perOperation=9.5", "--set", "cognito.rateLimits.recovery=2m",
				"--set", "cognito.rateLimits.categories.UserPoolClientRead=28",
				"--set", "cognito.rateLimits.categories.UserPoolClientUpdate=29",
				"--set", "image.tag=v1.2.3", "--set", "extraArgs={--zap-stacktrace-level=panic}",
				"--set", "extraEnv[0].name=HTTPS_PROXY", "--set", "extraEnv[0].value=http://proxy:3128",
			},
			wantArgs: concat([]string{"--region=eu-west-1", "--user-pool-id=eu-west-1_AbC123xyZ",
				"--cognito-rate-per-operation=9.5", "--cognito-rate-recovery=2m", "--cognito-rate-categories=UserPoolClientRead=28,UserPoolClientUpdate=29", "--drift-period=5m", "--max-concurrent-reconciles=4", "--max-retained-per-namespace=10", "--retained-ledger-namespace=" + ns, "--metrics-bind-address=:8443", "--health-probe-bind-address=:8081",
				"--leader-elect", "--leader-election-namespace=" + ns},
				zapArgs, []string{"--zap-stacktrace-level=panic"}),
			wantEnv: []string{"HTTPS_PROXY"},
			check: func(t *testing.T, m manifests) {
				sa := m.get("ServiceAccount", fullname)
				if got := sa.GetAnnotations()["eks.amazonaws.com/role-arn"]; got != "arn:aws:iam::123456789012:role/m2m" {
					t.Errorf("IRSA annotation %q", got)
				}
				if got := m.deployment(t, fullname).Spec.Template.Spec.Containers[0].Image; got != "ghcr.io/cognito-m2m/operator:v1.2.3" {
					t.Errorf("image %q", got)
				}
			},
		},
		{
			name:        "emulator",
			args:        []string{"--set", "emulator.enabled=true"},
			wantObjects: []string{"Deployment/" + emuName, "Service/" + emuName},
			wantArgs: concat([]string{"--region=us-east-1", "--user-pool-id=us-east-1_local0000",
				"--cognito-endpoint=" + emuURL, "--token-endpoint=" + emuURL + "/oauth2/token", "--issuer-base-url=" + emuURL},
				commonArgs, zapArgs),
			wantEnv: []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_EC2_METADATA_DISABLED"},
			check: func(t *testing.T, m manifests) {
				emu := m.deployment(t, emuName)
				want := []string{"--addr=0.0.0.0:9229", "--base-url=" + emuURL, "--region=us-east-1",
					"--create-pool=local", "--create-pool-id=us-east-1_local0000", "--create-pool-domain=local-m2m",
					"--state-file=/var/lib/cognito-emulator/state.json", "--log-format=json"}
				if diff := cmp.Diff(want, emu.Spec.Template.Spec.Containers[0].Args); diff != "" {
					t.Errorf("emulator args (-want +got):\n%s", diff)
				}
				svc := m.get("Service", emuName)
				sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
				if !selects(sel, emu.Spec.Template.Labels) || selects(sel, m.deployment(t, fullname).Spec.Template.Labels) {
					t.Errorf("emulator Service selector %v does not select only the emulator's pods", sel)
				}
			},
		},
		{
			name:        "emulator in another region",
			args:        []string{"--set", "emulator.enabled=true", "--set", "region=eu-west-1", "--set", "emulator.domainPrefix="},
			wantObjects: []string{"Deployment/" + emuName},
			wantArgs: concat([]string{"--region=eu-west-1", "--user-pool-id=eu-west-1_local0000",
				"--cognito-endpoint=" + emuURL, "--token-endpoint=" + emuURL + "/oauth2/token", "--issuer-base-url=" + emuURL},
				commonArgs, zapArgs),
			wantEnv: []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_EC2_METADATA_DISABLED"},
			check: func(t *testing.T, m manifests) {
				args := m.deployment(t, emuName).Spec.Template.Spec.Containers[0].Args
				if !slices.Contains(args, "--create-pool-id=eu-west-1_local0000") || !slices.Contains(args, "--region=eu-west-1") {
					t.Errorf("emulator args %v do not create eu-west-1_local0000", args)
				}
				if slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--create-pool-domain") }) {
					t.Errorf("emulator args %v have a domain though domainPrefix is empty", args)
				}
			},
		},
		{
			name:        "ServiceMonitor",
			args:        []string{"--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.serviceMonitor.labels.release=prom"},
			wantObjects: []string{"ServiceMonitor/" + fullname},
			wantArgs:    concat(commonArgs, zapArgs),
			check: func(t *testing.T, m manifests) {
				sm := m.get("ServiceMonitor", fullname)
				sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
				if svc := m.get("Service", fullname+"-metrics"); !selects(sel, svc.GetLabels()) {
					t.Errorf("ServiceMonitor selector %v does not select the metrics Service %v", sel, svc.GetLabels())
				}
				eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
				// Scraped over HTTPS with Prometheus's own ServiceAccount token, which
				// the manager checks with the API server; the certificate is
				// self-signed unless metrics.certSecret is set.
				want := []any{map[string]any{
					"port": "https-metrics", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s",
					"scheme": "https", "bearerTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",
					"tlsConfig": map[string]any{"insecureSkipVerify": true},
				}}
				if diff := cmp.Diff(want, eps); diff != "" {
					t.Errorf("ServiceMonitor endpoints (-want +got):\n%s", diff)
				}
				if sm.GetLabels()["release"] != "prom" {
					t.Errorf("ServiceMonitor labels %v lack release=prom", sm.GetLabels())
				}
			},
		},
		{
			name: "NetworkPolicy admits scrapes from the monitoring namespace only",
			args: []string{"--set", "metrics.networkPolicy.enabled=true",
				"--set", "metrics.networkPolicy.from[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring",
				"--set", "metrics.networkPolicy.from[0].podSelector.matchLabels.app\\.kubernetes\\.io/name=prometheus"},
			wantObjects: []string{"NetworkPolicy/" + fullname},
			wantArgs:    concat(commonArgs, zapArgs),
			check: func(t *testing.T, m manifests) {
				np := m.get("NetworkPolicy", fullname)
				sel, _, _ := unstructured.NestedStringMap(np.Object, "spec", "podSelector", "matchLabels")
				if !selects(sel, m.deployment(t, fullname).Spec.Template.Labels) {
					t.Errorf("NetworkPolicy selector %v does not select the manager's pods", sel)
				}
				if types, _, _ := unstructured.NestedStringSlice(np.Object, "spec", "policyTypes"); !slices.Equal(types, []string{"Ingress"}) {
					t.Errorf("policyTypes %v, want [Ingress]", types)
				}
				ingress, _, _ := unstructured.NestedSlice(np.Object, "spec", "ingress")
				want := []any{map[string]any{
					"from": []any{map[string]any{
						"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "monitoring"}},
						"podSelector":       map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": "prometheus"}},
					}},
					"ports": []any{map[string]any{"protocol": "TCP", "port": "https-metrics"}},
				}}
				if diff := cmp.Diff(want, ingress); diff != "" {
					t.Errorf("NetworkPolicy ingress (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:        "NetworkPolicy with no peers admits no one",
			args:        []string{"--set", "metrics.networkPolicy.enabled=true"},
			wantObjects: []string{"NetworkPolicy/" + fullname},
			wantArgs:    concat(commonArgs, zapArgs),
			check: func(t *testing.T, m manifests) {
				ingress, found, _ := unstructured.NestedSlice(m.get("NetworkPolicy", fullname).Object, "spec", "ingress")
				if !found || len(ingress) != 0 {
					t.Errorf("ingress %v (present %v), want an empty list", ingress, found)
				}
			},
		},
		{
			name: "metrics reader bound, certificate from a Secret",
			args: []string{"--set", "metrics.reader.subjects[0].kind=ServiceAccount", "--set", "metrics.reader.subjects[0].name=prometheus",
				"--set", "metrics.reader.subjects[0].namespace=monitoring", "--set", "metrics.certSecret=metrics-tls"},
			wantObjects: []string{"ClusterRoleBinding/" + fullname + "-metrics-reader"},
			wantArgs: concat(commonArgs[:metricsAt+1], []string{"--metrics-cert-dir=/etc/cognito-m2m-operator/metrics-certs"},
				commonArgs[metricsAt+1:], zapArgs),
			check: func(t *testing.T, m manifests) {
				b := m.get("ClusterRoleBinding", fullname+"-metrics-reader")
				if name, _, _ := unstructured.NestedString(b.Object, "roleRef", "name"); name != fullname+"-metrics-reader" {
					t.Errorf("binding refers to %q", name)
				}
				subjects, _, _ := unstructured.NestedSlice(b.Object, "subjects")
				want := []any{map[string]any{"kind": "ServiceAccount", "name": "prometheus", "namespace": "monitoring"}}
				if diff := cmp.Diff(want, subjects); diff != "" {
					t.Errorf("subjects (-want +got):\n%s", diff)
				}
				pod := m.deployment(t, fullname).Spec.Template.Spec
				if len(pod.Volumes) != 1 || pod.Volumes[0].Secret == nil || pod.Volumes[0].Secret.SecretName != "metrics-tls" ||
					len(pod.Containers[0].VolumeMounts) != 1 || pod.Containers[0].VolumeMounts[0].MountPath != "/etc/cognito-m2m-operator/metrics-certs" {
					t.Errorf("volumes %+v, mounts %+v; want Secret metrics-tls at the cert dir", pod.Volumes, pod.Containers[0].VolumeMounts)
				}
			},
		},
		{
			name:        "plain HTTP metrics for development",
			args:        []string{"--set", "metrics.secure=false", "--set", "metrics.port=8080", "--set", "metrics.serviceMonitor.enabled=true"},
			wantObjects: []string{"ServiceMonitor/" + fullname},
			wantArgs: concat(commonArgs[:metricsAt], []string{"--metrics-bind-address=:8080", "--metrics-secure=false"},
				commonArgs[metricsAt+1:], zapArgs),
			check: func(t *testing.T, m manifests) {
				checkMetricsPort(t, m, "http-metrics", 8080)
				eps, _, _ := unstructured.NestedSlice(m.get("ServiceMonitor", fullname).Object, "spec", "endpoints")
				if ep := eps[0].(map[string]any); ep["scheme"] != "http" || ep["bearerTokenFile"] != nil || ep["port"] != "http-metrics" {
					t.Errorf("ServiceMonitor endpoint %v, want plain HTTP on http-metrics without a token", ep)
				}
			},
		},
		{
			name:        "replicas turn leader election on",
			args:        []string{"--set", "replicaCount=3"},
			wantObjects: []string{"Role/" + fullname + "-leader-election", "RoleBinding/" + fullname + "-leader-election"},
			wantArgs:    concat(commonArgs, zapArgs),
			check: func(t *testing.T, m manifests) {
				d := m.deployment(t, fullname)
				if *d.Spec.Replicas != 3 || d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
					t.Errorf("replicas %d strategy %q, want 3 rolling", *d.Spec.Replicas, d.Spec.Strategy.Type)
				}
				role := m.get("Role", fullname+"-leader-election")
				if role.GetNamespace() != ns || !strings.Contains(mustYAML(t, role.Object["rules"]), "leases") {
					t.Errorf("leader-election Role in %q without leases: %v", role.GetNamespace(), role.Object["rules"])
				}
			},
		},
		{
			name: "multi-tenant settings, namespace-scoped",
			args: []string{"--set", "userPoolId=eu-west-1_AbC123xyZ", "--set", "tenancy.allowedUserPools={eu-west-1_AbC123xyZ,eu-west-1_Other1}",
				"--set", "tenancy.allowAdoption=true", "--set", "tenancy.restrictIdentifiers=true", "--set", "tenancy.watchNamespaces={team-a,team-b}"},
			wantObjects: []string{"Role/" + fullname, "RoleBinding/" + fullname, "Role/" + fullname + "-retained-ledger", "RoleBinding/" + fullname + "-retained-ledger"},
			wantArgs: concat([]string{"--user-pool-id=eu-west-1_AbC123xyZ", "--allowed-user-pools=eu-west-1_AbC123xyZ,eu-west-1_Other1",
				"--allow-adoption", "--restrict-identifiers", "--watch-namespaces=team-a,team-b"}, commonArgs, zapArgs),
			check: func(t *testing.T, m manifests) {
				// The finalizer guard applies where the operator works.
				sel, _, _ := unstructured.NestedSlice(m.get("ValidatingAdmissionPolicyBinding", fullname+"-finalizer").Object,
					"spec", "matchResources", "namespaceSelector", "matchExpressions")
				want := []any{map[string]any{"key": "kubernetes.io/metadata.name", "operator": "In", "values": []any{"team-a", "team-b"}}}
				if diff := cmp.Diff(want, sel); diff != "" {
					t.Errorf("finalizer guard's namespaces (-want +got):\n%s", diff)
				}
				// Namespaces, and the reviews that check scrapes of /metrics, are cluster-scoped.
				if cluster := mustYAML(t, m.get("ClusterRole", fullname).Object["rules"]); strings.TrimSpace(cluster) != "namespaces tokenreviews subjectaccessreviews" {
					t.Errorf("namespace-scoped ClusterRole grants %q, want only namespaces, tokenreviews and subjectaccessreviews", cluster)
				}
				var roleNamespaces []string
				for _, o := range m {
					if o.GetKind() == "Role" && o.GetName() == fullname {
						roleNamespaces = append(roleNamespaces, o.GetNamespace())
						if rules := mustYAML(t, o.Object["rules"]); !strings.Contains(rules, "secrets") || strings.Contains(rules, "namespaces ") {
							t.Errorf("Role in %s grants %q", o.GetNamespace(), rules)
						}
					}
				}
				if diff := cmp.Diff([]string{"team-a", "team-b"}, roleNamespaces); diff != "" {
					t.Errorf("Roles (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:      "leader election off, one replica",
			args:      []string{"--set", "leaderElection.enabled=false"},
			noObjects: []string{"Role/" + fullname + "-leader-election"},
			wantArgs:  concat(commonArgs[:len(commonArgs)-2], zapArgs),
			check: func(t *testing.T, m manifests) {
				if d := m.deployment(t, fullname); d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
					t.Errorf("strategy %q without leader election, want Recreate", d.Spec.Strategy.Type)
				}
			},
		},
		{
			name:      "finalizer guard off",
			args:      []string{"--set", "tenancy.guardFinalizers=false"},
			noObjects: guard,
			wantArgs:  concat(commonArgs, zapArgs),
		},
		{
			name:      "CRDs managed elsewhere",
			args:      []string{"--set", "crds.install=false"},
			noObjects: []string{"CustomResourceDefinition/m2mclients.cognito.m2m.dev", "CustomResourceDefinition/resourceservers.cognito.m2m.dev"},
			wantArgs:  concat(commonArgs, zapArgs),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := template(t, tc.args...)
			inv := m.inventory()
			for _, want := range concat(base, tc.wantObjects) {
				if !slices.Contains(inv, want) && !slices.Contains(tc.noObjects, want) {
					t.Errorf("no %s in %v", want, inv)
				}
			}
			for _, no := range tc.noObjects {
				if slices.Contains(inv, no) {
					t.Errorf("unexpected %s", no)
				}
			}
			c := m.deployment(t, fullname).Spec.Template.Spec.Containers[0]
			if diff := cmp.Diff(tc.wantArgs, c.Args); diff != "" {
				t.Errorf("manager args (-want +got):\n%s", diff)
			}
			var env []string
			for _, e := range c.Env {
				env = append(env, e.Name)
			}
			if diff := cmp.Diff(tc.wantEnv, env); diff != "" {
				t.Errorf("manager env (-want +got):\n%s", diff)
			}
			checkHardened(t, m)
			checkGeneratedCopies(t, m)
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

// checkMetricsPort: the manager's container port and the metrics Service's
// target port carry the same name.
func checkMetricsPort(t *testing.T, m manifests, name string, port int32) {
	t.Helper()
	c := m.deployment(t, fullname).Spec.Template.Spec.Containers[0]
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == name && p.ContainerPort == port }) {
		t.Errorf("manager ports %+v, want %s on %d", c.Ports, name, port)
	}
	ports, _, _ := unstructured.NestedSlice(m.get("Service", fullname+"-metrics").Object, "spec", "ports")
	if len(ports) != 1 || ports[0].(map[string]any)["targetPort"] != name || ports[0].(map[string]any)["name"] != name {
		t.Errorf("metrics Service ports %v, want one targeting %s", ports, name)
	}
}

// checkHardened: every pod runs non-root with a read-only root filesystem, no
// capabilities, no privilege escalation and the runtime's seccomp profile.
func checkHardened(t *testing.T, m manifests) {
	t.Helper()
	for _, o := range m {
		if o.GetKind() != "Deployment" {
			continue
		}
		d := m.deployment(t, o.GetName())
		pod := d.Spec.Template.Spec
		if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot ||
			psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("Deployment %s: pod security context %+v", d.Name, psc)
		}
		for _, c := range pod.Containers {
			sc := c.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
				t.Errorf("Deployment %s container %s: security context %+v", d.Name, c.Name, sc)
			}
			if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("Deployment %s container %s: no memory request or limit", d.Name, c.Name)
			}
		}
	}
}

// checkGeneratedCopies: the rendered CRDs and ClusterRole rules are those in
// config/, which controller-gen writes: the chart adds only metadata.
func checkGeneratedCopies(t *testing.T, m manifests) {
	t.Helper()
	for _, name := range []string{"m2mclients", "resourceservers"} {
		crd := m.get("CustomResourceDefinition", name+".cognito.m2m.dev")
		if crd == nil {
			continue // crds.install=false
		}
		src := readYAMLDocs(t, "config/crd/bases/cognito.m2m.dev_"+name+".yaml")[0]
		if diff := cmp.Diff(src["spec"], crd.Object["spec"]); diff != "" {
			t.Errorf("CRD %s differs from config/crd/bases (-config +chart):\n%s", name, diff)
		}
	}
	var rules any
	for _, doc := range readYAMLDocs(t, "config/rbac/role.yaml") {
		if doc["kind"] == "ClusterRole" {
			rules = doc["rules"]
		}
	}
	// A namespace-scoped install splits the rules between the ClusterRole and a
	// Role per watched namespace; together they grant exactly config's rules.
	got := grants(m.get("ClusterRole", fullname).Object["rules"])
	for _, o := range m {
		if o.GetKind() == "Role" && o.GetName() == fullname {
			got = append(got, grants(o.Object["rules"])...)
			break
		}
	}
	slices.Sort(got)
	if diff := cmp.Diff(grants(rules), slices.Compact(got)); diff != "" {
		t.Errorf("RBAC rules differ from config/rbac/role.yaml (-config +chart):\n%s", diff)
	}
	// The finalizer guard is config/admission's, under the release's names, and
	// bound to the release's ServiceAccount.
	if m.get("ValidatingAdmissionPolicy", fullname+"-finalizer") == nil {
		return // tenancy.guardFinalizers=false
	}
	for _, doc := range readYAMLDocs(t, "config/admission/finalizer-guard.yaml") {
		kind, _ := doc["kind"].(string)
		got := m.get(kind, fullname+"-finalizer")
		if got == nil {
			t.Errorf("no %s/%s-finalizer", kind, fullname)
			continue
		}
		if kind == "ClusterRole" {
			if diff := cmp.Diff(doc["rules"], got.Object["rules"]); diff != "" {
				t.Errorf("the finalizer ClusterRole's rules differ from config/admission (-config +chart):\n%s", diff)
			}
			continue
		}
		want, have := maps.Clone(doc["spec"].(map[string]any)), maps.Clone(got.Object["spec"].(map[string]any))
		if kind == "ValidatingAdmissionPolicyBinding" {
			if have["policyName"] != fullname+"-finalizer" {
				t.Errorf("the finalizer guard's binding names policy %v", have["policyName"])
			}
			delete(want, "policyName")
			delete(have, "policyName")
			delete(have, "matchResources") // the watched namespaces, checked by their case
		}
		if diff := cmp.Diff(want, have); diff != "" {
			t.Errorf("%s's spec differs from config/admission (-config +chart):\n%s", kind, diff)
		}
	}
	binding := m.get("ClusterRoleBinding", fullname+"-finalizer").Object
	if diff := cmp.Diff([]any{map[string]any{"kind": "ServiceAccount", "name": fullname, "namespace": ns}}, binding["subjects"]); diff != "" {
		t.Errorf("the finalizer ClusterRole's subjects (-want +got):\n%s", diff)
	}
}

// grants flattens RBAC rules into sorted "group resource verb" triples.
func grants(rules any) []string {
	var out []string
	for _, r := range rules.([]any) {
		rule := r.(map[string]any)
		for _, g := range rule["apiGroups"].([]any) {
			for _, res := range rule["resources"].([]any) {
				for _, v := range rule["verbs"].([]any) {
					out = append(out, fmt.Sprintf("%s %s %s", g, res, v))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// selects reports whether a label selector matches labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func mustYAML(t *testing.T, v any) string {
	t.Helper()
	var b strings.Builder
	for _, r := range v.([]any) {
		for _, res := range r.(map[string]any)["resources"].([]any) {
			b.WriteString(res.(string) + " ")
		}
	}
	return b.String()
}

func TestBadValuesFailWithTheirName(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"replicas not a number", []string{"--set", "replicaCount=x"}, "/replicaCount"},
		{"replicas as a string", []string{"--set-string", "replicaCount=2"}, "/replicaCount"},
		{"malformed user pool id", []string{"--set", "userPoolId=not-a-pool"}, "/userPoolId"},
		{"malformed region", []string{"--set", "region=Mars"}, "/region"},
		{"unknown pull policy", []string{"--set", "image.pullPolicy=Sometimes"}, "/image/pullPolicy"},
		{"empty image repository", []string{"--set", "image.repository="}, "/image/repository"},
		{"misspelt key", []string{"--set", "replicas=2"}, "replicas"},
		{"port out of range", []string{"--set", "metrics.port=70000"}, "/metrics/port"},
		{"NetworkPolicy peer of an unknown kind", []string{"--set", "metrics.networkPolicy.from[0].everyone=true"}, "everyone"},
		{"metrics reader subject of an unknown kind", []string{"--set", "metrics.reader.subjects[0].kind=Robot", "--set", "metrics.reader.subjects[0].name=r"}, "/metrics/reader/subjects/0/kind"},
		{"binding without the reader role", []string{"--set", "metrics.reader.create=false", "--set", "metrics.reader.subjects[0].kind=User", "--set", "metrics.reader.subjects[0].name=r"}, "metrics.reader.create"},
		{"drift period not a duration", []string{"--set", "driftPeriod=hourly"}, "/driftPeriod"},
		{"log level", []string{"--set", "logging.level=verbose"}, "/logging/level"},
		{"token endpoint not a URL", []string{"--set", "cognito.tokenEndpoint=token"}, "/cognito/tokenEndpoint"},
		{"emulator pool of another region", []string{"--set", "emulator.enabled=true", "--set", "region=eu-west-1",
			"--set", "emulator.userPoolId=us-east-1_local0000"}, "emulator.userPoolId"},
		{"service account to reuse without a name", []string{"--set", "serviceAccount.create=false"}, "serviceAccount.name"},
		{"malformed allowed pool", []string{"--set", "tenancy.allowedUserPools={pool}"}, "/tenancy/allowedUserPools/0"},
		{"unknown quota category", []string{"--set", "cognito.rateLimits.categories.Everything=100"}, "Everything"},
		{"negative rate", []string{"--set", "cognito.rateLimits.perOperation=-1"}, "/cognito/rateLimits/perOperation"},
		{"rate recovery not a duration", []string{"--set", "cognito.rateLimits.recovery=slowly"}, "/cognito/rateLimits/recovery"},
		{"namespace not a DNS label", []string{"--set", "tenancy.watchNamespaces={Team_A}"}, "/tenancy/watchNamespaces/0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := helm(t, append([]string{"template", release, chartDir(t), "--namespace", ns}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("helm template %v: %v\nwant an error naming %q", tc.args, err, tc.wantErr)
			}
		})
	}
}

// TestRateRecoveryDefaultIsTheManagers: the chart passes
// --cognito-rate-recovery on every install, so its default must be the one the
// manager would take without the flag, or installing the chart would quietly
// change the operator's pacing.
func TestRateRecoveryDefaultIsTheManagers(t *testing.T) {
	var values struct {
		Cognito struct {
			RateLimits struct {
				Recovery string `json:"recovery"`
			} `json:"rateLimits"`
		} `json:"cognito"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, chartRel+"/values.yaml")), &values); err != nil {
		t.Fatal(err)
	}
	got, err := time.ParseDuration(values.Cognito.RateLimits.Recovery)
	if err != nil {
		t.Fatalf("cognito.rateLimits.recovery: %v", err)
	}
	if got != cognito.DefaultRecovery {
		t.Errorf("cognito.rateLimits.recovery is %s in values.yaml, the manager's default is %s", got, cognito.DefaultRecovery)
	}
}
