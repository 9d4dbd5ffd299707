package controllers

import (
	ctrl "sigs.k8s.io/controller-runtime"
)

// Setup registers both reconcilers with a manager.
func Setup(mgr ctrl.Manager, opts *Options) error {
	if err := (&ResourceServerReconciler{Client: mgr.GetClient(), Options: opts}).SetupWithManager(mgr); err != nil {
		return err
	}
	return (&M2MClientReconciler{Client: mgr.GetClient(), Options: opts}).SetupWithManager(mgr)
}
