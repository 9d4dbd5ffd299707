package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ResourceServerSpec is a service's API in Cognito: the identifier that prefixes its
// scopes, a display name and the scopes it offers. The validation rules repeat
// Cognito's own (AWS's model, internal/emulator/model, which a test compares them
// with), so that a bad object is refused at `kubectl apply` instead of failing later
// in the operator.
// +kubebuilder:validation:XValidation:rule="has(self.userPoolId) == has(oldSelf.userPoolId) && (!has(self.userPoolId) || self.userPoolId == oldSelf.userPoolId)",message="userPoolId is immutable: create a new ResourceServer to move to another pool"
// +kubebuilder:validation:XValidation:rule="!has(self.scopes) || self.scopes.all(s, size(self.identifier) + 1 + size(s.name) <= 256)",message="identifier/scope must be at most 256 characters: Cognito refuses longer scope names on app clients",fieldPath=".scopes"
type ResourceServerSpec struct {
	// Identifier is the resource server's unique name in the pool, usually a URL or a
	// short service name; every scope's full name is `<identifier>/<scope>`.
	// Immutable: Cognito cannot rename a resource server.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^(?:[\x21\x23-\x5B\x5D-\x7E]+)$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="identifier is immutable: create a new ResourceServer for a new identifier"
	Identifier string `json:"identifier"`

	// Name is the display name shown in the Cognito console.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^(?:[\w\t\n\x0B\f\r +=,.@-]+)$`
	Name string `json:"name"`

	// Scopes are the permissions this API offers. Cognito allows at most 100.
	// +kubebuilder:validation:MaxItems=100
	// +listType=map
	// +listMapKey=name
	// +optional
	Scopes []ResourceServerScope `json:"scopes,omitempty"`

	// UserPoolID is the Cognito user pool; the operator's --user-pool-id when empty.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=55
	// +kubebuilder:validation:Pattern=`^(?:[\w-]+_[0-9a-zA-Z]+)$`
	// +optional
	UserPoolID string `json:"userPoolId,omitempty"`

	// DeletionPolicy says whether deleting this object deletes the resource server in
	// Cognito (Delete, the default) or leaves it (Retain).
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// AllowedNamespaces says which namespaces' M2MClients may be granted this
	// server's scopes. The ResourceServer's own namespace is always allowed. Empty
	// means only its own namespace.
	// +optional
	AllowedNamespaces *NamespaceGrant `json:"allowedNamespaces,omitempty"`

	// MaxAccessTokenValidity caps the access-token validity of app clients in other
	// namespaces that hold this server's scopes (their own accessTokenValidity, or
	// Cognito's 1h default, when shorter). A withdrawn grant cannot recall a token
	// already issued: this bounds how long such a token stays valid. Unset: no cap.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('5m') && duration(self) <= duration('24h')",message="maxAccessTokenValidity must be between 5m and 24h"
	// +optional
	MaxAccessTokenValidity *metav1.Duration `json:"maxAccessTokenValidity,omitempty"`
}

// Grantee is an app client of another namespace's M2MClient that was given this
// server's scopes. The record is written before the scopes are given and outlives
// the M2MClient, so that a client left behind (deletionPolicy Retain, or a
// finalizer removed by hand) is found and loses the scopes, even across restarts.
type Grantee struct {
	// UID of the M2MClient the app client is for.
	UID types.UID `json:"uid"`
	// ClientID is the app client's id, once created.
	// +optional
	ClientID string `json:"clientId,omitempty"`
	// ClientNameHash (SHA-256, hex, first 16 characters) and Since identify the
	// client of a create that may have landed without an answer: a client with that
	// name created at or after Since. The name is hashed because this status is
	// readable in the server's namespace.
	// +optional
	ClientNameHash string `json:"clientNameHash,omitempty"`
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
}

// ResourceServerScope is one permission a resource server offers.
type ResourceServerScope struct {
	// Name is the scope's short name, without the identifier prefix.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^(?:[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]+)$`
	Name string `json:"name"`

	// Description says what the scope allows. Cognito requires one.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Description string `json:"description"`

	// AllowedNamespaces narrows, for this scope only, the namespaces granted by the
	// server's allowedNamespaces. Unset means the server's grant applies.
	// +optional
	AllowedNamespaces *NamespaceGrant `json:"allowedNamespaces,omitempty"`
}

// NamespaceGrant names the namespaces whose M2MClients may be granted scopes, by name,
// by label, or both (a namespace matching either is granted).
type NamespaceGrant struct {
	// Names lists namespaces by name (DNS labels, RFC 1123), at most 64; select
	// more namespaces by label.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	// +listType=set
	Names []string `json:"names,omitempty"`

	// Selector selects namespaces by their labels. An empty selector ({}) selects all.
	// +optional
	Selector *NamespaceSelector `json:"selector,omitempty"`
}

// NamespaceSelector is a Kubernetes label selector (metav1.LabelSelector, the
// same fields and meaning) with the sizes Kubernetes allows labels: a tenant
// writes it and the operator holds it and matches every namespace against it, so
// it is bounded. Label keys and values follow the label rules: a value and a key's
// name at most 63 characters, a key's optional prefix a DNS subdomain of at most
// 253.
type NamespaceSelector struct {
	// MatchLabels selects namespaces that carry every one of these labels; at most 16.
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 317 && k.matches('^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$'))",message="keys must be label keys: a name of at most 63 characters, optionally after a DNS-subdomain prefix of at most 253 and a slash"
	// +optional
	MatchLabels map[string]LabelValue `json:"matchLabels,omitempty"`

	// MatchExpressions are requirements on namespace labels, all of which must hold;
	// at most 16.
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	// +optional
	MatchExpressions []NamespaceSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelValue is a label's value: empty, or at most 63 alphanumerics, '-', '_' and
// '.', beginning and ending with an alphanumeric.
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:Pattern=`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`
type LabelValue string

// NamespaceSelectorRequirement is a metav1.LabelSelectorRequirement with bounds.
// +kubebuilder:validation:XValidation:rule="self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",message="In and NotIn need values; Exists and DoesNotExist take none"
type NamespaceSelectorRequirement struct {
	// Key is the label key the requirement applies to.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=317
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`
	Key string `json:"key"`

	// Operator is In, NotIn, Exists or DoesNotExist.
	// +kubebuilder:validation:Enum=In;NotIn;Exists;DoesNotExist
	Operator metav1.LabelSelectorOperator `json:"operator"`

	// Values: one or more for In and NotIn, none for Exists and DoesNotExist; at
	// most 64.
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +optional
	Values []LabelValue `json:"values,omitempty"`
}

// LabelSelector is s as a metav1.LabelSelector, for the label packages' matching
// and validation; nil for nil.
func (s *NamespaceSelector) LabelSelector() *metav1.LabelSelector {
	if s == nil {
		return nil
	}
	out := &metav1.LabelSelector{}
	if s.MatchLabels != nil {
		out.MatchLabels = make(map[string]string, len(s.MatchLabels))
		for k, v := range s.MatchLabels {
			out.MatchLabels[k] = string(v)
		}
	}
	for _, r := range s.MatchExpressions {
		req := metav1.LabelSelectorRequirement{Key: r.Key, Operator: r.Operator}
		for _, v := range r.Values {
			req.Values = append(req.Values, string(v))
		}
		out.MatchExpressions = append(out.MatchExpressions, req)
	}
	return out
}

// ResourceServerStatus is what the operator observed and did.
type ResourceServerStatus struct {
	// Conditions: Ready, and Reconciling or Stalled while they are true.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedGeneration is the generation last reconciled to Ready or Stalled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// UserPoolID is the pool the resource server lives in.
	// +optional
	UserPoolID string `json:"userPoolId,omitempty"`

	// Ownership says how this object came to manage the resource server: Created
	// (the operator created it for this object, and deletes it with the object under
	// the Delete policy) or Adopted (it existed before and a cluster admin allowed
	// this object to take it over; it is left in Cognito when the object is deleted).
	// +optional
	Ownership Ownership `json:"ownership,omitempty"`

	// CreatePendingSince is set just before the operator asks Cognito to create the
	// resource server and cleared when Cognito answers: after an interruption in
	// between, a resource server found with this object's identifier, name and
	// scopes is known to be this object's own, not a pre-existing one.
	// +optional
	CreatePendingSince *metav1.Time `json:"createPendingSince,omitempty"`

	// CreatePendingGeneration is the generation of the spec the pending create sent.
	// Only a resource server matching that spec may be claimed as this object's own,
	// and a spec change clears the mark: otherwise a create that got no answer would
	// let the object claim whatever server it is later edited to match.
	// +optional
	CreatePendingGeneration int64 `json:"createPendingGeneration,omitempty"`

	// Scopes are the full scope names (`<identifier>/<scope>`) the server provides in
	// Cognito, for M2MClients to request.
	// +optional
	Scopes []string `json:"scopes,omitempty"`

	// Grantees are the app clients of other namespaces given this server's scopes.
	// A grantee whose M2MClient is gone loses them (see Grantee).
	// +optional
	// +listType=map
	// +listMapKey=uid
	Grantees []Grantee `json:"grantees,omitempty"`
}

// ResourceServer is a service's API identifier and scopes, reconciled into an Amazon
// Cognito resource server.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=cogrs,categories=cognito
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Identifier",type=string,JSONPath=`.spec.identifier`
// +kubebuilder:printcolumn:name="Pool",type=string,JSONPath=`.status.userPoolId`,priority=1
// +kubebuilder:printcolumn:name="Ownership",type=string,JSONPath=`.status.ownership`,priority=1
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ResourceServer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ResourceServerSpec   `json:"spec,omitempty"`
	Status ResourceServerStatus `json:"status,omitempty"`
}

// ResourceServerList is a list of ResourceServers.
// +kubebuilder:object:root=true
type ResourceServerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ResourceServer `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ResourceServer{}, &ResourceServerList{})
}

// FullScopeName is the name Cognito gives a scope: `<identifier>/<scope>`.
func FullScopeName(identifier, scope string) string { return identifier + "/" + scope }

// GetConditions returns the object's conditions, for the shared status helpers.
func (r *ResourceServer) GetConditions() *[]metav1.Condition { return &r.Status.Conditions }

// SetObservedGeneration records the generation a finished pass reconciled.
func (r *ResourceServer) SetObservedGeneration(g int64) { r.Status.ObservedGeneration = g }
