// Command manager runs the operator: it reconciles ResourceServer and M2MClient
// objects into Amazon Cognito resource servers and app clients, and writes each
// client's credentials to a Secret.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/controllers"
	"github.com/cognito-m2m/operator/internal/cognito"
)

type flags struct {
	region, userPoolID, cognitoEndpoint, tokenEndpoint, issuerBase  string
	driftPeriod                                                     time.Duration
	metricsAddr, metricsCertDir, probeAddr, leaderElectionNamespace string
	leaderElect, metricsSecure                                      bool
	maxConcurrent                                                   int
	allowedPools, watchNamespaces                                   []string
	allowAdoption, restrictIdentifiers                              bool
	maxRetained                                                     int
	retainedLedgerNamespace                                         string
	limits                                                          cognito.Limits
}

// list is a comma-separated flag value.
func list(dst *[]string) func(string) error {
	return func(v string) error {
		*dst = nil
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				*dst = append(*dst, s)
			}
		}
		return nil
	}
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "check-install" {
		os.Exit(checkInstallMain(os.Args[2:]))
	}
	var f flags
	flag.StringVar(&f.region, "region", os.Getenv("AWS_REGION"), "AWS region of the user pools (default $AWS_REGION)")
	flag.StringVar(&f.userPoolID, "user-pool-id", "", "user pool for objects that name none")
	flag.StringVar(&f.cognitoEndpoint, "cognito-endpoint", "", "Cognito API endpoint override, e.g. the local emulator's URL")
	flag.StringVar(&f.tokenEndpoint, "token-endpoint", "", "token endpoint written to Secrets, instead of the one derived from the pool's domain")
	flag.StringVar(&f.issuerBase, "issuer-base-url", "", "base of the tokens' issuer URL (default https://cognito-idp.<region>.amazonaws.com, or --cognito-endpoint when set)")
	flag.DurationVar(&f.driftPeriod, "drift-period", controllers.DefaultDriftPeriod, "how often Ready objects are compared with Cognito to repair outside changes")
	flag.StringVar(&f.metricsAddr, "metrics-bind-address", ":8443", "address of the Prometheus metrics endpoint (0 disables it)")
	flag.BoolVar(&f.metricsSecure, "metrics-secure", true, "serve /metrics over HTTPS, only to bearer tokens the API server authenticates and authorizes for GET /metrics; false serves plain HTTP to anyone, for local development only")
	flag.StringVar(&f.metricsCertDir, "metrics-cert-dir", "", "directory with the metrics endpoint's tls.crt and tls.key (reloaded on change); empty: a self-signed certificate")
	flag.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	flag.BoolVar(&f.leaderElect, "leader-elect", false, "elect a leader, so that several replicas can run")
	flag.StringVar(&f.leaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader-election Lease (default: the pod's)")
	flag.IntVar(&f.maxConcurrent, "max-concurrent-reconciles", 2, "objects of each kind reconciled at once; Cognito's request quotas are low, so keep it small")
	flag.Func("allowed-user-pools", "comma-separated user pools that objects may name (default: only --user-pool-id)", list(&f.allowedPools))
	flag.BoolVar(&f.allowAdoption, "allow-adoption", false, "let ResourceServers in every namespace take over resource servers that already exist in Cognito (without it, only namespaces annotated "+v1alpha1.AllowAdoptionAnnotation+"=true may)")
	flag.BoolVar(&f.restrictIdentifiers, "restrict-identifiers", false, "let each namespace claim only the resource-server identifiers its "+v1alpha1.AllowedIdentifiersAnnotation+" annotation lists")
	flag.IntVar(&f.maxRetained, "max-retained-per-namespace", 10, "resource servers and app clients each namespace may leave in Cognito with deletionPolicy Retain; beyond it a Retain object is not created (0: no bound)")
	flag.StringVar(&f.retainedLedgerNamespace, "retained-ledger-namespace", ownNamespace(), "namespace of the Secret that records what each namespace retained: the operator's own (default $POD_NAMESPACE, else the pod's service-account namespace, else default)")
	flag.Func("watch-namespaces", "comma-separated namespaces to watch, for a namespace-scoped install (default: all)", list(&f.watchNamespaces))
	f.limits = cognito.DefaultLimits()
	flag.Float64Var(&f.limits.PerOperation, "cognito-rate-per-operation", f.limits.PerOperation,
		"requests per second for any one Cognito operation on one user pool (Cognito's quota is 5; 0 disables pacing)")
	flag.DurationVar(&f.limits.Recovery, "cognito-rate-recovery", cognito.DefaultRecovery,
		"after Cognito throttles an operation on a pool, the operator halves its rate; this is how long the rate takes to climb back from half to --cognito-rate-per-operation once throttles stop")
	flag.Func("cognito-rate-categories", "requests per second per Cognito quota category, as Category=rate,... (defaults "+formatRates(f.limits.Categories)+"; raise them with your account's quotas)",
		func(v string) error { return parseRates(v, f.limits.Categories) })
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	if err := run(ctrl.SetupSignalHandler(), f); err != nil {
		ctrl.Log.Error(err, "Manager stopped")
		os.Exit(1)
	}
}

func run(ctx context.Context, f flags) error {
	if f.region == "" {
		return fmt.Errorf("--region is required (or set AWS_REGION)")
	}
	if len(f.allowedPools) > 0 && f.userPoolID != "" && !slices.Contains(f.allowedPools, f.userPoolID) {
		return fmt.Errorf("--user-pool-id %s is not in --allowed-user-pools", f.userPoolID)
	}
	if f.maxRetained > 0 && f.retainedLedgerNamespace == "" {
		return fmt.Errorf("--max-retained-per-namespace needs --retained-ledger-namespace (or $POD_NAMESPACE): the namespace where the operator records what each namespace retained")
	}
	if f.driftPeriod < time.Minute {
		return fmt.Errorf("--drift-period %s is under a minute: Cognito's request quotas are low", f.driftPeriod)
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(f.region))
	if err != nil {
		return fmt.Errorf("loading AWS configuration: %w", err)
	}
	api := cip.NewFromConfig(awsCfg, cognito.SDKOptions(f.cognitoEndpoint))
	issuerBase := f.issuerBase
	if issuerBase == "" {
		issuerBase = f.cognitoEndpoint
	}

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), managerOptions(scheme, f))
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	cfg := controllers.Config{
		Tenancy: controllers.Tenancy{
			DefaultUserPoolID: f.userPoolID, AllowedUserPools: f.allowedPools,
			AllowAdoption: f.allowAdoption, RestrictIdentifiers: f.restrictIdentifiers,
		},
		Region: f.region, Limits: f.limits,
		MaxRetainedPerNamespace: f.maxRetained, RetainedLedgerNamespace: f.retainedLedgerNamespace,
		TokenEndpoint: f.tokenEndpoint, IssuerBase: issuerBase, DriftPeriod: f.driftPeriod,
	}
	deps := controllers.Deps{Cognito: api, Recorder: mgr.GetEventRecorder("cognito-m2m-operator"), APIReader: mgr.GetAPIReader()}
	if err := controllers.Setup(mgr, cfg, deps); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	// Ready only once the informers' caches hold the cluster's objects: a pod
	// that reconciled from an empty cache would see no Secrets and no
	// objects, and a rollout must not retire the old pod for it.
	if err := mgr.AddReadyzCheck("informers", cacheSynced(mgr.GetCache(), time.Second)); err != nil {
		return err
	}
	ctrl.Log.Info("Starting manager", "region", f.region, "defaultUserPool", f.userPoolID, "allowedUserPools", f.allowedPools,
		"cognitoEndpoint", f.cognitoEndpoint, "driftPeriod", f.driftPeriod, "allowAdoption", f.allowAdoption,
		"restrictIdentifiers", f.restrictIdentifiers, "watchNamespaces", f.watchNamespaces)
	return mgr.Start(ctx)
}

// managerOptions: see controllers.CacheOptions for what is cached and why.
func managerOptions(scheme *runtime.Scheme, f flags) ctrl.Options {
	return ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 controllers.MetricsOptions(f.metricsAddr, f.metricsSecure, f.metricsCertDir),
		HealthProbeBindAddress:  f.probeAddr,
		LeaderElection:          f.leaderElect,
		LeaderElectionID:        "cognito-m2m-operator.cognito.m2m.dev",
		LeaderElectionNamespace: f.leaderElectionNamespace,
		// The process exits right after the manager stops, so handing the lease
		// back at once is safe, and a rolling update need not wait out the lease.
		LeaderElectionReleaseOnCancel: true,
		Controller:                    config.Controller{MaxConcurrentReconciles: f.maxConcurrent},
		Cache:                         controllers.CacheOptions(f.watchNamespaces),
		Client:                        controllers.ClientOptions(),
	}
}

// parseRates reads Category=rate pairs into rates, refusing unknown categories.
func parseRates(v string, rates map[string]float64) error {
	for _, kv := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return fmt.Errorf("%q is not Category=rate", kv)
		}
		if _, known := rates[k]; !known {
			return fmt.Errorf("unknown quota category %q (known: %s)", k, formatRates(rates))
		}
		r, err := strconv.ParseFloat(val, 64)
		if err != nil || r < 0 {
			return fmt.Errorf("rate of %s: %q is not a non-negative number", k, val)
		}
		rates[k] = r
	}
	return nil
}

func formatRates(rates map[string]float64) string {
	keys := slices.Sorted(maps.Keys(rates))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%g", k, rates[k]))
	}
	return strings.Join(parts, ",")
}

// ownNamespace is the namespace the manager runs in: $POD_NAMESPACE, else its
// service account's, else "default" (a manager run outside the cluster).
func ownNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b))
	}
	return "default"
}

// cacheSyncer is the part of the manager's cache the readiness check needs.
type cacheSyncer interface {
	WaitForCacheSync(ctx context.Context) bool
}

// cacheSynced is a readiness check that fails until every informer the
// manager's cache has started has synced. Each probe waits at most timeout,
// well inside the kubelet's one-second probe timeout's default.
func cacheSynced(c cacheSyncer, timeout time.Duration) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), timeout)
		defer cancel()
		if !c.WaitForCacheSync(ctx) {
			return errors.New("the informers' caches have not synced yet")
		}
		return nil
	}
}
