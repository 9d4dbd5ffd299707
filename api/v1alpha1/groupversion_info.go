// Package v1alpha1 holds the cognito.m2m.dev/v1alpha1 API: ResourceServer (a service's
// API identifier and its scopes) and M2MClient (a caller and the scopes it needs),
// which the operator reconciles into Amazon Cognito resource servers and app clients.
//
// +kubebuilder:object:generate=true
// +groupName=cognito.m2m.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "cognito.m2m.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
