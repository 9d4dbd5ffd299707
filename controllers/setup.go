package controllers

import (
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/cognito-m2m/operator/internal/cognito"
)

// Setup registers both reconcilers with a manager. They share one Cognito client,
// so that their calls count against the same quotas.
func Setup(mgr ctrl.Manager, opts *Options) error {
	var limiter *cognito.Limiter
	if opts.Limits.PerOperation > 0 || len(opts.Limits.Categories) > 0 {
		limiter = cognito.NewLimiter(opts.Limits)
	}
	c := cognito.NewClient(opts.Cognito, limiter)
	if opts.MaxRetainedPerNamespace > 0 && opts.RetainedLedgerNamespace == "" {
		return fmt.Errorf("a bound on retained resources per namespace needs the namespace of its ledger (--retained-ledger-namespace)")
	}
	reader := opts.APIReader
	if reader == nil {
		reader = mgr.GetAPIReader()
	}
	ret := &retainer{c: mgr.GetClient(), reader: reader, opts: opts, cognito: c}
	opts.pacer = newDriftPacer(mgr.GetClient(), opts.configuredDriftPeriod(), opts.Limits.PerOperation, mgr.GetLogger().WithName("drift"))
	if opts.pacerInterval > 0 {
		opts.pacer.interval = opts.pacerInterval
	}
	if err := mgr.Add(opts.pacer); err != nil {
		return err
	}
	if err := (&ResourceServerReconciler{Client: mgr.GetClient(), Options: opts, cognito: c, retain: ret}).SetupWithManager(mgr); err != nil {
		return err
	}
	return (&M2MClientReconciler{Client: mgr.GetClient(), Options: opts, cognito: c, retain: ret}).SetupWithManager(mgr)
}
