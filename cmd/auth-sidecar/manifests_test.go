package main

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/cognito-m2m/operator/internal/sidecar"
)

// manifest is one example's sidecar variant, decoded strictly into the
// Kubernetes types.
type manifest struct {
	config     *corev1.ConfigMap
	deployment *appsv1.Deployment
	service    *corev1.Service
}

func readManifest(t *testing.T, rel string) manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	for i, doc := range strings.Split(string(b), "\n---\n") {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("%s document %d: %v", rel, i, err)
		}
		var obj any
		switch meta.Kind {
		case "ConfigMap":
			m.config = &corev1.ConfigMap{}
			obj = m.config
		case "Deployment":
			m.deployment = &appsv1.Deployment{}
			obj = m.deployment
		case "Service":
			m.service = &corev1.Service{}
			obj = m.service
		default:
			t.Fatalf("%s document %d: unexpected kind %q", rel, i, meta.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s document %d (%s): %v", rel, i, meta.Kind, err)
		}
	}
	if m.config == nil || m.deployment == nil || m.service == nil {
		t.Fatalf("%s: want a ConfigMap, a Deployment and a Service", rel)
	}
	return m
}

// sidecarOf returns the pod's auth sidecar, checking that it is a native
// sidecar, and its configuration from the ConfigMap it mounts.
func sidecarOf(t *testing.T, rel string, m manifest) (corev1.Container, sidecar.Config) {
	t.Helper()
	spec := m.deployment.Spec.Template.Spec
	if len(spec.InitContainers) != 1 {
		t.Fatalf("%s: want one init container, the sidecar", rel)
	}
	c := spec.InitContainers[0]
	if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Errorf("%s: the sidecar is not a native sidecar (restartPolicy: Always)", rel)
	}
	if c.Image != "cognito-m2m/auth-sidecar:latest" {
		t.Errorf("%s: sidecar image %s", rel, c.Image)
	}
	if c.StartupProbe == nil || c.StartupProbe.HTTPGet == nil || c.StartupProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("%s: the application would start before the sidecar is ready: no startupProbe on /readyz", rel)
	}
	var configPath string
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			configPath = v
		}
	}
	var mountPath string
	for _, vm := range c.VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name == vm.Name && v.ConfigMap != nil && v.ConfigMap.Name == m.config.Name {
				mountPath = vm.MountPath
			}
		}
	}
	file := strings.TrimPrefix(configPath, mountPath+"/")
	data, ok := m.config.Data[file]
	if mountPath == "" || !ok {
		t.Fatalf("%s: --config=%s is not a key of ConfigMap %s mounted in the sidecar", rel, configPath, m.config.Name)
	}
	cfg, err := sidecar.ParseConfig([]byte(data))
	if err != nil {
		t.Fatalf("%s: the sidecar's configuration: %v", rel, err)
	}
	return c, cfg
}

func arg(c corev1.Container, name string) (string, bool) {
	for _, a := range c.Args {
		if a == name {
			return "", true
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func port(t *testing.T, hostport string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return int32(n)
}

// TestWeatherSidecarManifest: the weather variant wires the sidecar in front
// of a weather that does no OAuth and listens on loopback, and holds no
// client secret.
func TestWeatherSidecarManifest(t *testing.T) {
	const rel = "examples/weather/deploy-sidecar.yaml"
	m := readManifest(t, rel)
	sc, cfg := sidecarOf(t, rel, m)
	if cfg.Service == nil || cfg.Caller != nil {
		t.Fatalf("%s: want a service side only", rel)
	}
	app := m.deployment.Spec.Template.Spec.Containers[0]
	if _, ok := arg(app, "--no-auth"); !ok {
		t.Errorf("%s: weather runs without --no-auth", rel)
	}
	listen, _ := arg(app, "--listen")
	if u, _ := url.Parse(cfg.Service.Upstream); u.Host != listen {
		t.Errorf("%s: the sidecar forwards to %s, weather listens on %s", rel, u.Host, listen)
	}
	sidecarPort := port(t, cfg.Service.Listen)
	if !slices.ContainsFunc(sc.Ports, func(p corev1.ContainerPort) bool { return p.ContainerPort == sidecarPort }) {
		t.Errorf("%s: the sidecar does not declare its port %d", rel, sidecarPort)
	}
	if tp := m.service.Spec.Ports[0].TargetPort; tp.IntValue() != int(sidecarPort) {
		t.Errorf("%s: the Service targets %s, not the sidecar's port %d", rel, tp.String(), sidecarPort)
	}
	for _, p := range []*corev1.Probe{app.ReadinessProbe, app.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Port.IntValue() != int(sidecarPort) {
			t.Errorf("%s: weather's probes must go through the sidecar's port %d", rel, sidecarPort)
			continue
		}
		if d := mustRules(t, cfg).Decide("GET", p.HTTPGet.Path); !d.Public {
			t.Errorf("%s: weather's probe %s is not a public route of the sidecar", rel, p.HTTPGet.Path)
		}
	}
	if d := mustRules(t, cfg).Decide("GET", "/weatherforecast"); !slices.Equal(d.Scopes, []string{"MyService/weather_read"}) {
		t.Errorf("%s: /weatherforecast needs %v", rel, d.Scopes)
	}
	for _, v := range m.deployment.Spec.Template.Spec.Volumes {
		if v.Secret != nil && (len(v.Secret.Items) != 1 || v.Secret.Items[0].Key != "issuer") {
			t.Errorf("%s: the resource server mounts more of the Secret than its issuer", rel)
		}
	}
	if len(app.VolumeMounts) != 0 {
		t.Errorf("%s: weather mounts volumes; only the sidecar needs the Secret", rel)
	}
}

// TestBFFSidecarManifest: the BFF variant calls the weather variant through
// the sidecar's loopback listener, and only the sidecar mounts the Secret.
func TestBFFSidecarManifest(t *testing.T) {
	const rel = "examples/bff/deploy-sidecar.yaml"
	m := readManifest(t, rel)
	sc, cfg := sidecarOf(t, rel, m)
	if cfg.Caller == nil || cfg.Service != nil || len(cfg.Caller.Upstreams) != 1 {
		t.Fatalf("%s: want a caller side with one upstream only", rel)
	}
	up := cfg.Caller.Upstreams[0]
	if up.URL != "http://weather-sidecar:8080" {
		t.Errorf("%s: upstream %s, want the weather variant's Service", rel, up.URL)
	}
	weather := readManifest(t, "examples/weather/deploy-sidecar.yaml").service
	if weather.Name != "weather-sidecar" || weather.Spec.Ports[0].Port != 8080 {
		t.Errorf("the weather variant's Service is %s:%d", weather.Name, weather.Spec.Ports[0].Port)
	}
	app := m.deployment.Spec.Template.Spec.Containers[0]
	if _, ok := arg(app, "--no-auth"); !ok {
		t.Errorf("%s: the BFF runs without --no-auth", rel)
	}
	if w, _ := arg(app, "--weather-url"); w != "http://"+up.Listen {
		t.Errorf("%s: the BFF calls %s, the sidecar listens on %s", rel, w, up.Listen)
	}
	var secretVolume string
	for _, v := range m.deployment.Spec.Template.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == "weather-reader-credentials" {
			secretVolume = v.Name
		}
	}
	mounted := false
	for _, vm := range sc.VolumeMounts {
		if vm.Name == secretVolume && vm.MountPath == cfg.Caller.CredentialsDir {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("%s: the Secret is not mounted at the sidecar's credentialsDir %s", rel, cfg.Caller.CredentialsDir)
	}
	if len(app.VolumeMounts) != 0 {
		t.Errorf("%s: the BFF mounts volumes; only the sidecar needs the Secret", rel)
	}
}

func mustRules(t *testing.T, cfg sidecar.Config) *sidecar.Rules {
	t.Helper()
	r, err := sidecar.NewRules(cfg.Service.Routes)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
