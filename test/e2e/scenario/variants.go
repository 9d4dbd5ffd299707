package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// variant is one way the examples are deployed: the weather service and
// the BFF with OAuth in their own process, or doing none behind the auth
// sidecar. The scenario deploys every variant side by side and runs the same
// checks on each: the forecast through the BFF, weather's 401/403/200, and
// the rotation under load.
type variant struct {
	name      string
	manifests []string // applied as users apply them
	// weather and bff name each a Deployment, the Service (port 8080) in
	// front of it, and the app.kubernetes.io/name label of its pods.
	weather, bff string
	// challenge is the exact WWW-Authenticate of weather's 401 to a request
	// without a token.
	challenge string
	// A BFF pod counts the tokens it obtains in the metric
	// m2m_client_token_renewals_total{client=tokenClient}, served on
	// metricsPort at /metrics.
	metricsPort int
	tokenClient string
}

var variants = []variant{
	{
		name:        "in-process",
		manifests:   []string{"examples/weather/deploy.yaml", "examples/bff/deploy.yaml"},
		weather:     "weather",
		bff:         "bff",
		challenge:   `Bearer realm="weather", error="invalid_token"`, // auth/verify.Middleware
		metricsPort: 8080,                                            // the BFF's own
		tokenClient: "weather",
	},
	{
		name:        "sidecar",
		manifests:   []string{"examples/weather/deploy-sidecar.yaml", "examples/bff/deploy-sidecar.yaml"},
		weather:     "weather-sidecar",
		bff:         "bff-sidecar",
		challenge:   `Bearer realm="weather"`, // RFC 6750: no error code when no token was sent
		metricsPort: 9901,                     // the sidecar's admin port: the BFF obtains no token itself
		tokenClient: "caller",
	},
}

// secretVolume is the name of the BFF pods' volume of the M2MClient Secret,
// which the scenario reads through MountReader during the rotation.
const secretVolume = "m2m"

// check decodes the variant's manifests into the Kubernetes types and
// checks what the scenario relies on: its Deployments and Services by name,
// pods labelled with that name, Services on 8080, only images the scenario
// loads (never pulled), the BFF's Secret in a volume named m2m, and the port
// its token count is read from.
func (v variant) check(root string) error {
	deployments := map[string]*appsv1.Deployment{}
	services := map[string]*corev1.Service{}
	for _, rel := range v.manifests {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			return err
		}
		if err := decodeManifest(rel, b, deployments, services); err != nil {
			return err
		}
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s variant: "+format, append([]any{v.name}, args...)...))
	}
	refs := make([]string, len(Images))
	for i, img := range Images {
		refs[i] = img.Ref()
	}
	for _, name := range []string{v.weather, v.bff} {
		d, ok := deployments[name]
		if !ok {
			bad("no Deployment %s in %v", name, v.manifests)
			continue
		}
		if got := d.Spec.Template.Labels["app.kubernetes.io/name"]; got != name {
			bad("Deployment %s: pods labelled app.kubernetes.io/name=%q, want %q", name, got, name)
		}
		spec := d.Spec.Template.Spec
		for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
			if !slices.Contains(refs, c.Image) {
				bad("Deployment %s, container %s: image %s is none of the images the scenario builds %v", name, c.Name, c.Image, refs)
			}
			if c.ImagePullPolicy != corev1.PullIfNotPresent && c.ImagePullPolicy != corev1.PullNever {
				bad("Deployment %s, container %s: imagePullPolicy %q would pull the image the scenario loads", name, c.Name, c.ImagePullPolicy)
			}
		}
		s, ok := services[name]
		if !ok || !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == 8080 }) {
			bad("no Service %s on port 8080", name)
		} else if s.Spec.Selector["app.kubernetes.io/name"] != name {
			bad("Service %s selects %v, not the pods of Deployment %s", name, s.Spec.Selector, name)
		}
	}
	if d, ok := deployments[v.bff]; ok {
		spec := d.Spec.Template.Spec
		if !slices.ContainsFunc(spec.Volumes, func(vol corev1.Volume) bool {
			return vol.Name == secretVolume && vol.Secret != nil && vol.Secret.SecretName == SecretName
		}) {
			bad("Deployment %s has no volume %s of the Secret %s", v.bff, secretVolume, SecretName)
		}
		if !slices.ContainsFunc(slices.Concat(spec.InitContainers, spec.Containers), func(c corev1.Container) bool {
			return slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return int(p.ContainerPort) == v.metricsPort })
		}) {
			bad("Deployment %s: no container serves port %d, where the scenario reads its token count", v.bff, v.metricsPort)
		}
	}
	return errors.Join(errs...)
}

// decodeManifest decodes a multi-document manifest strictly, keeping its
// Deployments and Services by name.
func decodeManifest(rel string, b []byte, deployments map[string]*appsv1.Deployment, services map[string]*corev1.Service) error {
	for i, doc := range strings.Split(string(b), "\n---\n") {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			return fmt.Errorf("%s document %d: %w", rel, i, err)
		}
		var obj any
		switch meta.Kind {
		case "Deployment":
			obj = &appsv1.Deployment{}
		case "Service":
			obj = &corev1.Service{}
		case "ConfigMap":
			obj = &corev1.ConfigMap{}
		default:
			return fmt.Errorf("%s document %d: unexpected kind %q", rel, i, meta.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			return fmt.Errorf("%s document %d (%s): %w", rel, i, meta.Kind, err)
		}
		switch o := obj.(type) {
		case *appsv1.Deployment:
			deployments[o.Name] = o
		case *corev1.Service:
			services[o.Name] = o
		}
	}
	return nil
}

// podState is a pod and how often its containers restarted, native sidecars
// included: Kubernetes counts those in initContainerStatuses.
type podState struct {
	name     string
	restarts int32
}

func podStates(pods corev1.PodList) []podState {
	var out []podState
	for _, p := range pods.Items {
		s := podState{name: p.Name}
		for _, c := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
			s.restarts += c.RestartCount
		}
		out = append(out, s)
	}
	return out
}

// tokenRenewals reads m2m_client_token_renewals_total{client=client} from
// metrics in the Prometheus text format.
func tokenRenewals(metrics []byte, client string) (int, error) {
	const name = "m2m_client_token_renewals_total"
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(metrics))
	if err != nil {
		return 0, fmt.Errorf("parsing the metrics: %w", err)
	}
	for _, m := range families[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "client" && l.GetValue() == client {
				return int(m.GetCounter().GetValue()), nil
			}
		}
	}
	return 0, fmt.Errorf("the metrics have no %s{client=%q}", name, client)
}
