package chart

import (
	"context"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

var (
	crdGVR   = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	crdNames = []string{"m2mclients.cognito.m2m.dev", "resourceservers.cognito.m2m.dev"}
)

// TestInstallIntoAPIServer installs the chart into a real kube-apiserver, which
// must accept every manifest. No kubelet runs, so pods never start and
// Helm waits for hooks only (--wait=hookOnly); the checks are on the objects the
// API server stored.
func TestInstallIntoAPIServer(t *testing.T) {
	srv := startAPIServer(t)
	kube := kubernetes.NewForConfigOrDie(srv.config)
	dyn := dynamic.NewForConfigOrDie(srv.config)
	ctx := context.Background()
	chart := chartDir(t)
	install := func(name, namespace string, args ...string) {
		t.Helper()
		mustHelm(t, append([]string{"install", name, chart, "--kubeconfig", srv.kubeconfig,
			"--namespace", namespace, "--create-namespace", "--wait=hookOnly", "--timeout", "2m"}, args...)...)
	}

	// The operator for real Cognito, with its CRDs.
	install(release, ns, "--set", "region=eu-west-1", "--set", "userPoolId=eu-west-1_AbC123xyZ",
		"--set", "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::123456789012:role/m2m")
	checkExists(t, kube, ns, fullname, fullname+"-metrics")
	for _, name := range crdNames {
		waitEstablished(t, dyn, name)
	}
	if _, err := kube.AppsV1().Deployments(ns).Get(ctx, emuName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("emulator Deployment without emulator.enabled: %v", err)
	}
	// The CRDs serve their kinds.
	for _, res := range []string{"resourceservers", "m2mclients"} {
		gvr := schema.GroupVersionResource{Group: "cognito.m2m.dev", Version: "v1alpha1", Resource: res}
		if _, err := dyn.Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{}); err != nil {
			t.Errorf("list %s: %v", res, err)
		}
	}

	checkShortNamesUnique(t, kube)

	// A second, development release with the emulator and leader election;
	// the CRDs belong to the first release.
	const devNS, devRelease, devFull = "cognito-dev", "dev", "dev-cognito-m2m-operator"
	install(devRelease, devNS, "--set", "emulator.enabled=true", "--set", "crds.install=false", "--set", "replicaCount=2",
		"--set", "metrics.networkPolicy.enabled=true",
		"--set", "metrics.networkPolicy.from[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring",
		"--set", "metrics.reader.subjects[0].kind=ServiceAccount", "--set", "metrics.reader.subjects[0].name=prometheus",
		"--set", "metrics.reader.subjects[0].namespace=monitoring")
	checkExists(t, kube, devNS, devFull, devFull+"-metrics")
	if _, err := kube.NetworkingV1().NetworkPolicies(devNS).Get(ctx, devFull, metav1.GetOptions{}); err != nil {
		t.Errorf("NetworkPolicy: %v", err)
	}
	checkMetricsRBAC(t, kube, devNS, devFull)
	if _, err := kube.AppsV1().Deployments(devNS).Get(ctx, devFull+"-emulator", metav1.GetOptions{}); err != nil {
		t.Errorf("emulator Deployment: %v", err)
	}
	if _, err := kube.CoreV1().Services(devNS).Get(ctx, devFull+"-emulator", metav1.GetOptions{}); err != nil {
		t.Errorf("emulator Service: %v", err)
	}
	if _, err := kube.RbacV1().Roles(devNS).Get(ctx, devFull+"-leader-election", metav1.GetOptions{}); err != nil {
		t.Errorf("leader-election Role: %v", err)
	}
	if _, err := kube.RbacV1().RoleBindings(devNS).Get(ctx, devFull+"-leader-election", metav1.GetOptions{}); err != nil {
		t.Errorf("leader-election RoleBinding: %v", err)
	}

	// Upgrading the development release to drop the emulator removes it.
	mustHelm(t, "upgrade", devRelease, chart, "--kubeconfig", srv.kubeconfig, "--namespace", devNS,
		"--wait=hookOnly", "--set", "crds.install=false", "--set", "replicaCount=2")
	if _, err := kube.AppsV1().Deployments(devNS).Get(ctx, devFull+"-emulator", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("emulator Deployment after upgrade without it: %v", err)
	}

	// Uninstalling keeps the CRDs, and with them the users' objects.
	for _, r := range [][2]string{{devRelease, devNS}, {release, ns}} {
		mustHelm(t, "uninstall", r[0], "--kubeconfig", srv.kubeconfig, "--namespace", r[1], "--wait")
	}
	if _, err := kube.RbacV1().ClusterRoles().Get(ctx, fullname, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("ClusterRole after uninstall: %v", err)
	}
	for _, name := range crdNames {
		if _, err := dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("CRD %s after uninstall: %v (want it kept)", name, err)
		}
	}
}

// checkMetricsRBAC asks the API server, as the manager's scrape check does,
// who may do what: the manager may review tokens and access, the bound
// Prometheus ServiceAccount may GET /metrics, and another ServiceAccount may not.
func checkMetricsRBAC(t *testing.T, kube kubernetes.Interface, namespace, name string) {
	t.Helper()
	ctx := context.Background()
	allowed := func(user string, res *authorizationv1.ResourceAttributes, nonRes *authorizationv1.NonResourceAttributes) bool {
		t.Helper()
		sar, err := kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: []string{"system:serviceaccounts", "system:authenticated"},
				ResourceAttributes: res, NonResourceAttributes: nonRes},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return sar.Status.Allowed
	}
	manager := "system:serviceaccount:" + namespace + ":" + name
	for _, r := range []authorizationv1.ResourceAttributes{
		{Group: "authentication.k8s.io", Resource: "tokenreviews", Verb: "create"},
		{Group: "authorization.k8s.io", Resource: "subjectaccessreviews", Verb: "create"},
	} {
		if !allowed(manager, &r, nil) {
			t.Errorf("the manager may not create %s", r.Resource)
		}
	}
	metrics := &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"}
	if !allowed("system:serviceaccount:monitoring:prometheus", nil, metrics) {
		t.Error("the bound Prometheus ServiceAccount may not GET /metrics")
	}
	if allowed("system:serviceaccount:team-a:default", nil, metrics) {
		t.Error("an unbound ServiceAccount may GET /metrics")
	}
}

// checkExists fails the test for each missing object of a release.
func checkExists(t *testing.T, kube kubernetes.Interface, namespace, name, metricsService string) {
	t.Helper()
	ctx := context.Background()
	get := map[string]func() error{
		"Deployment": func() error {
			_, err := kube.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
			return err
		},
		"ServiceAccount": func() error {
			_, err := kube.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
			return err
		},
		"ClusterRole": func() error {
			_, err := kube.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
			return err
		},
		"ClusterRoleBinding": func() error {
			_, err := kube.RbacV1().ClusterRoleBindings().Get(ctx, name, metav1.GetOptions{})
			return err
		},
		"metrics Service": func() error {
			_, err := kube.CoreV1().Services(namespace).Get(ctx, metricsService, metav1.GetOptions{})
			return err
		},
	}
	for kind, f := range get {
		if err := f(); err != nil {
			t.Errorf("%s %s/%s: %v", kind, namespace, name, err)
		}
	}
}

// waitEstablished waits for the API server to serve a CRD's kind.
func waitEstablished(t *testing.T, dyn dynamic.Interface, name string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		crd, err := dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
		if err == nil && established(crd) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("CRD %s not established within 30s: %v", name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func established(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// checkShortNamesUnique fails for a short name of the project's kinds that
// another resource the API server serves also has: kubectl resolves it to
// the built-in one (as `rs`, ReplicaSets, once shadowed ResourceServers).
func checkShortNamesUnique(t *testing.T, kube kubernetes.Interface) {
	t.Helper()
	lists, err := kube.Discovery().ServerPreferredResources()
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	owners := map[string][]string{}
	for _, l := range lists {
		for _, r := range l.APIResources {
			for _, n := range r.ShortNames {
				owners[n] = append(owners[n], r.Name+"."+l.GroupVersion)
			}
		}
	}
	seen := 0
	for n, o := range owners {
		mine := false
		for _, res := range o {
			mine = mine || strings.Contains(res, ".cognito.m2m.dev/")
		}
		if mine {
			seen++
			if len(o) > 1 {
				t.Errorf("short name %q is served for %v: kubectl picks one of them", n, o)
			}
		}
	}
	if seen == 0 {
		t.Error("discovery lists no short name of the project's kinds")
	}
}
