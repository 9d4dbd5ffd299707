package scenario

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestVariantsManifests: the manifests each variant applies hold what the
// scenario relies on, checked here without a cluster; and the variants'
// objects do not overlap, since they run side by side.
func TestVariantsManifests(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range variants {
		if err := v.check(root); err != nil {
			t.Error(err)
		}
		names = append(names, v.weather, v.bff)
	}
	slices.Sort(names)
	if len(slices.Compact(names)) != 2*len(variants) {
		t.Errorf("the variants share Deployment names: %v", names)
	}
}

// TestVariantCheckRefuses: a manifest edited in a way that would break the
// scenario on the node fails the check, naming what is wrong.
func TestVariantCheckRefuses(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	sidecar := variants[slices.IndexFunc(variants, func(v variant) bool { return v.name == "sidecar" })]
	for _, tc := range []struct {
		name, file, old, new, want string
	}{
		{"sidecar image not built", "examples/bff/deploy-sidecar.yaml",
			"image: cognito-m2m/auth-sidecar:latest", "image: cognito-m2m/auth-sidecar:v1",
			"container auth-sidecar: image cognito-m2m/auth-sidecar:v1 is none of the images"},
		{"image pulled", "examples/weather/deploy-sidecar.yaml",
			"imagePullPolicy: IfNotPresent\n          restartPolicy", "imagePullPolicy: Always\n          restartPolicy",
			`container auth-sidecar: imagePullPolicy "Always"`},
		{"Secret volume renamed", "examples/bff/deploy-sidecar.yaml",
			"volumes:\n        - name: m2m\n", "volumes:\n        - name: credentials\n",
			"Deployment bff-sidecar has no volume m2m of the Secret weather-reader-credentials"},
		{"no admin port", "examples/bff/deploy-sidecar.yaml",
			"containerPort: 9901", "containerPort: 9902",
			"Deployment bff-sidecar: no container serves port 9901"},
		{"Deployment renamed", "examples/weather/deploy-sidecar.yaml",
			"kind: Deployment\nmetadata:\n  name: weather-sidecar", "kind: Deployment\nmetadata:\n  name: weather-auth",
			"no Deployment weather-sidecar"},
		{"Service port", "examples/weather/deploy-sidecar.yaml",
			"    - name: http\n      port: 8080", "    - name: http\n      port: 80",
			"no Service weather-sidecar on port 8080"},
		{"unknown field", "examples/bff/deploy-sidecar.yaml",
			"restartPolicy: Always #", "restartPolicyy: Always #",
			`unknown field "restartPolicyy"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			for _, rel := range sidecar.manifests {
				b, err := os.ReadFile(filepath.Join(root, rel))
				if err != nil {
					t.Fatal(err)
				}
				s := string(b)
				if rel == tc.file {
					if !strings.Contains(s, tc.old) {
						t.Fatalf("%s no longer contains %q: update the test", rel, tc.old)
					}
					s = strings.Replace(s, tc.old, tc.new, 1)
				}
				if err := os.MkdirAll(filepath.Dir(filepath.Join(tmp, rel)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(tmp, rel), []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := sidecar.check(tmp)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("check: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestPodStates: a native sidecar's restarts, counted in
// initContainerStatuses, are a pod's restarts too.
func TestPodStates(t *testing.T) {
	pod := func(name string, initRestarts, restarts int32) corev1.Pod {
		return corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Status: corev1.PodStatus{
				InitContainerStatuses: []corev1.ContainerStatus{{Name: "auth-sidecar", RestartCount: initRestarts}},
				ContainerStatuses:     []corev1.ContainerStatus{{Name: "bff", RestartCount: restarts}},
			},
		}
	}
	before := podStates(corev1.PodList{Items: []corev1.Pod{pod("a", 0, 0), pod("b", 0, 2)}})
	if want := []podState{{"a", 0}, {"b", 2}}; !slices.Equal(before, want) {
		t.Fatalf("podStates: %v, want %v", before, want)
	}
	sidecarRestarted := podStates(corev1.PodList{Items: []corev1.Pod{pod("a", 1, 0), pod("b", 0, 2)}})
	if slices.Equal(before, sidecarRestarted) {
		t.Errorf("a sidecar restart is not seen: %v", sidecarRestarted)
	}
}

// TestTokenRenewals reads the counter of one client among others, as the
// BFF (client "weather") and the auth sidecar (client "caller") export it.
func TestTokenRenewals(t *testing.T) {
	metrics := []byte(`# HELP m2m_client_token_renewals_total Access tokens obtained.
# TYPE m2m_client_token_renewals_total counter
m2m_client_token_renewals_total{client="caller"} 7
m2m_client_token_renewals_total{client="other"} 3
# HELP m2m_client_token_forced_renewals_total Renewals started by a 401 from the called service.
# TYPE m2m_client_token_forced_renewals_total counter
m2m_client_token_forced_renewals_total{client="caller"} 1
`)
	if n, err := tokenRenewals(metrics, "caller"); err != nil || n != 7 {
		t.Errorf("caller: %d %v, want 7", n, err)
	}
	if n, err := tokenRenewals(metrics, "weather"); err == nil || !strings.Contains(err.Error(), `m2m_client_token_renewals_total{client="weather"}`) {
		t.Errorf("weather: %d %v, want an error naming the missing series", n, err)
	}
	if _, err := tokenRenewals([]byte("m2m_client_token_renewals_total{client=\"caller\" 7\n"), "caller"); err == nil {
		t.Error("malformed metrics: no error")
	}
}
