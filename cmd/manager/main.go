// Command manager runs the operator: it reconciles ResourceServer and M2MClient
// objects into Amazon Cognito resource servers and app clients, and writes each
// client's credentials to a Secret.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/cognito-m2m/operator/api/v1alpha1"
	"github.com/cognito-m2m/operator/controllers"
)

type flags struct {
	region, userPoolID, cognitoEndpoint, tokenEndpoint, issuerBase string
	driftPeriod                                                    time.Duration
	metricsAddr, probeAddr, leaderElectionNamespace                string
	leaderElect                                                    bool
	maxConcurrent                                                  int
}

func main() {
	var f flags
	flag.StringVar(&f.region, "region", os.Getenv("AWS_REGION"), "AWS region of the user pools (default $AWS_REGION)")
	flag.StringVar(&f.userPoolID, "user-pool-id", "", "user pool for objects that name none")
	flag.StringVar(&f.cognitoEndpoint, "cognito-endpoint", "", "Cognito API endpoint override, e.g. the local emulator's URL")
	flag.StringVar(&f.tokenEndpoint, "token-endpoint", "", "token endpoint written to Secrets, instead of the one derived from the pool's domain")
	flag.StringVar(&f.issuerBase, "issuer-base-url", "", "base of the tokens' issuer URL (default https://cognito-idp.<region>.amazonaws.com, or --cognito-endpoint when set)")
	flag.DurationVar(&f.driftPeriod, "drift-period", controllers.DefaultDriftPeriod, "how often Ready objects are compared with Cognito to repair outside changes")
	flag.StringVar(&f.metricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint (0 disables it)")
	flag.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	flag.BoolVar(&f.leaderElect, "leader-elect", false, "elect a leader, so that several replicas can run")
	flag.StringVar(&f.leaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader-election Lease (default: the pod's)")
	flag.IntVar(&f.maxConcurrent, "max-concurrent-reconciles", 2, "objects of each kind reconciled at once; Cognito's request quotas are low, so keep it small")
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
	if f.driftPeriod < time.Minute {
		return fmt.Errorf("--drift-period %s is under a minute: Cognito's request quotas are low", f.driftPeriod)
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(f.region))
	if err != nil {
		return fmt.Errorf("loading AWS configuration: %w", err)
	}
	api := cip.NewFromConfig(awsCfg, func(o *cip.Options) {
		if f.cognitoEndpoint != "" {
			o.BaseEndpoint = aws.String(f.cognitoEndpoint)
		}
	})
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
	opts := &controllers.Options{
		Cognito: api, Region: f.region, DefaultUserPoolID: f.userPoolID,
		TokenEndpoint: f.tokenEndpoint, IssuerBase: issuerBase, DriftPeriod: f.driftPeriod,
		Recorder: mgr.GetEventRecorder("cognito-m2m-operator"), APIReader: mgr.GetAPIReader(),
	}
	if err := controllers.Setup(mgr, opts); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	ctrl.Log.Info("Starting manager", "region", f.region, "defaultUserPool", f.userPoolID, "cognitoEndpoint", f.cognitoEndpoint, "driftPeriod", f.driftPeriod)
	return mgr.Start(ctx)
}

// managerOptions caches only the Secrets the operator writes (by label): a cluster's
// other Secrets are neither held in memory nor watched.
func managerOptions(scheme *runtime.Scheme, f flags) ctrl.Options {
	return ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: f.metricsAddr},
		HealthProbeBindAddress:  f.probeAddr,
		LeaderElection:          f.leaderElect,
		LeaderElectionID:        "cognito-m2m-operator.cognito.m2m.dev",
		LeaderElectionNamespace: f.leaderElectionNamespace,
		// The process exits right after the manager stops, so handing the lease
		// back at once is safe, and a rolling update need not wait out the lease.
		LeaderElectionReleaseOnCancel: true,
		Controller:                    config.Controller{MaxConcurrentReconciles: f.maxConcurrent},
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {Label: labels.SelectorFromSet(labels.Set{controllers.ManagedByLabel: controllers.ManagedByValue})},
		}},
	}
}
