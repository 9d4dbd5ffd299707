package controllers

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cognito-m2m/operator/internal/cognito"
	"github.com/cognito-m2m/operator/internal/fairqueue"
)

// Setup registers both reconcilers with a manager. They share one Cognito client,
// so that their calls count against the same quotas.
func Setup(mgr ctrl.Manager, cfg Config, deps Deps) error {
	if cfg.MaxRetainedPerNamespace > 0 && cfg.RetainedLedgerNamespace == "" {
		return fmt.Errorf("a bound on retained resources per namespace needs the namespace of its ledger (--retained-ledger-namespace)")
	}
	var limiter *cognito.Limiter
	if cfg.Limits.PerOperation > 0 || len(cfg.Limits.Categories) > 0 {
		limiter = cognito.NewLimiter(cfg.Limits)
	}
	reader := deps.APIReader
	if reader == nil {
		reader = mgr.GetAPIReader()
	}
	sh := newShared(mgr.GetClient(), reader, cfg, deps, cognito.NewClient(deps.Cognito, limiter))
	// The period stretches for the rates in force, which throttles lower.
	sh.pacer = newDriftPacer(mgr.GetClient(), cfg.driftPeriod(), limiter.Rate, mgr.GetLogger().WithName("drift"))
	if err := mgr.Add(sh.pacer); err != nil {
		return fmt.Errorf("adding the drift pacer: %w", err)
	}
	if err := (&ResourceServerReconciler{shared: sh}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the ResourceServer controller: %w", err)
	}
	if err := newM2MClientReconciler(sh).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the M2MClient controller: %w", err)
	}
	return nil
}

// completeFair builds a controller that is fair between namespaces, so that one
// namespace's burst delays another's objects by a bounded time (see
// docs/operations.md): its work queue serves namespaces in turn (fairqueue), and
// its reconciles call Cognito on behalf of the object's namespace, so that the
// calls waiting for the same rate limit are served in turn too (cognito.Limiter).
// Both are needed: with a first-come queue, the other namespace's object would
// not reach the rate limit before the burst is done.
func completeFair(b *builder.Builder, r reconcile.Reconciler) error {
	return b.WithOptions(controller.Options{NewQueue: namespaceQueue}).
		Complete(reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
			return r.Reconcile(cognito.WithFlow(ctx, req.Namespace), req)
		}))
}

func namespaceQueue(name string, limiter workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
	depth := queueDepth.WithLabelValues(name)
	return fairqueue.New(func(r reconcile.Request) string { return r.Namespace }, limiter,
		func(n int) { depth.Set(float64(n)) })
}

// queueDepth stands in for controller-runtime's workqueue_depth, which only its
// own queues report.
var queueDepth = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "cognito_m2m_work_queue_depth",
	Help: "Objects waiting to be reconciled, by controller (the work queues serve namespaces in turn).",
}, []string{"controller"})

func init() { metrics.Registry.MustRegister(queueDepth) }
