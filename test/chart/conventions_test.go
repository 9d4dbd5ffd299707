package chart

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestPodDisruptionBudget: a budget only with several replicas, selecting
// exactly the operator's pods.
func TestPodDisruptionBudget(t *testing.T) {
	if pdb := template(t).get("PodDisruptionBudget", fullname); pdb != nil {
		t.Error("a PodDisruptionBudget for one replica: it would block every node drain")
	}
	if pdb := template(t, "--set", "replicaCount=2", "--set", "podDisruptionBudget.enabled=false").get("PodDisruptionBudget", fullname); pdb != nil {
		t.Error("a PodDisruptionBudget although podDisruptionBudget.enabled=false")
	}
	for _, tc := range []struct {
		args           []string
		minAvail, maxU string
	}{
		{[]string{"--set", "replicaCount=2"}, "1", ""},
		{[]string{"--set", "replicaCount=3", "--set", "podDisruptionBudget.maxUnavailable=50%"}, "", "50%"},
	} {
		m := template(t, tc.args...)
		u := m.get("PodDisruptionBudget", fullname)
		if u == nil {
			t.Fatalf("%v: no PodDisruptionBudget in %v", tc.args, m.inventory())
		}
		var pdb policyv1.PodDisruptionBudget
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &pdb); err != nil {
			t.Fatal(err)
		}
		str := func(v any) string {
			if v == nil {
				return ""
			}
			return v.(interface{ String() string }).String()
		}
		if got := str(nilIfNil(pdb.Spec.MinAvailable)); got != tc.minAvail {
			t.Errorf("%v: minAvailable %q, want %q", tc.args, got, tc.minAvail)
		}
		if got := str(nilIfNil(pdb.Spec.MaxUnavailable)); got != tc.maxU {
			t.Errorf("%v: maxUnavailable %q, want %q", tc.args, got, tc.maxU)
		}
		d := m.deployment(t, fullname)
		if !selects(pdb.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
			t.Errorf("the budget's selector %v does not select the operator's pods %v", pdb.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
		}
		if emu := template(t, append(tc.args, "--set", "emulator.enabled=true")...).deployment(t, emuName); selects(pdb.Spec.Selector.MatchLabels, emu.Spec.Template.Labels) {
			t.Error("the budget's selector also selects the emulator's pods")
		}
	}
}

func nilIfNil[T any](p *T) any {
	if p == nil {
		return nil
	}
	return p
}

// TestHelmTestHook: `helm test` runs the operator's own image with
// check-install, as a test hook removed when it passes, with a
// ServiceAccount that may only read the two CRDs and the operator's
// Deployment.
func TestHelmTestHook(t *testing.T) {
	m := template(t, "--set", "image.tag=v9.9.9")
	test := fullname + "-test"
	u := m.get("Pod", test)
	if u == nil {
		t.Fatalf("no test Pod %s in %v", test, m.inventory())
	}
	for _, o := range m {
		if o.GetName() != test {
			continue
		}
		// The pod stays after a pass, for helm test --logs; the rest goes.
		want := "before-hook-creation,hook-succeeded"
		if o.GetKind() == "Pod" {
			want = "before-hook-creation"
		}
		a := o.GetAnnotations()
		if a["helm.sh/hook"] != "test" || a["helm.sh/hook-delete-policy"] != want {
			t.Errorf("%s/%s: hook annotations %v, want delete policy %s", o.GetKind(), o.GetName(), a, want)
		}
	}
	var pod corev1.Pod
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &pod); err != nil {
		t.Fatal(err)
	}
	c := pod.Spec.Containers[0]
	if c.Image != "ghcr.io/cognito-m2m/operator:v9.9.9" {
		t.Errorf("test image %q, want the operator's", c.Image)
	}
	want := []string{"check-install", "--namespace=" + ns, "--deployment=" + fullname, "--timeout=2m"}
	if !slices.Equal(c.Args, want) {
		t.Errorf("test args %q, want %q", c.Args, want)
	}
	if pod.Spec.ServiceAccountName != test || pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("test pod: serviceAccountName %q restartPolicy %q", pod.Spec.ServiceAccountName, pod.Spec.RestartPolicy)
	}
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("test container security context %+v, want the operator's", sc)
	}
	for kind, want := range map[string][]string{
		"ClusterRole": {"apiextensions.k8s.io customresourcedefinitions get"},
		"Role":        {"apps deployments get"},
	} {
		r := m.get(kind, test)
		if r == nil {
			t.Fatalf("no %s %s", kind, test)
		}
		if got := grants(r.Object["rules"]); !slices.Equal(got, want) {
			t.Errorf("%s %s grants %v, want %v", kind, test, got, want)
		}
		if rules := r.Object["rules"].([]any); len(rules[0].(map[string]any)["resourceNames"].([]any)) == 0 {
			t.Errorf("%s %s is not limited to named objects", kind, test)
		}
	}
	if template(t, "--set", "tests.enabled=false").get("Pod", test) != nil {
		t.Error("a test Pod although tests.enabled=false")
	}
}
