package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RotateAnnotation asks for one secret rotation now: set it to any new value (a
// timestamp or a counter). The operator records the last value it acted on in
// status.rotation.lastRequest.
const RotateAnnotation = "cognito.m2m.dev/rotate"

// M2MClientSpec is a caller of other services: a Cognito app client that may use the
// client-credentials grant for the scopes listed here, and the Secret its credentials
// are written to.
// +kubebuilder:validation:XValidation:rule="has(self.userPoolId) == has(oldSelf.userPoolId) && (!has(self.userPoolId) || self.userPoolId == oldSelf.userPoolId)",message="userPoolId is immutable: create a new M2MClient to move to another pool"
type M2MClientSpec struct {
	// Scopes lists, per ResourceServer object, the scopes this client needs. A
	// ResourceServer in another namespace grants its scopes only to the namespaces it
	// allows (see ResourceServer.spec.allowedNamespaces).
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:XValidation:rule="self.map(r, size(r.scopes)).sum() <= 50",message="an app client can have at most 50 scopes in all"
	Scopes []ScopeRequest `json:"scopes"`

	// ClientName is the app client's name in Cognito; `<namespace>-<name>` when empty.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^(?:[\w\t\n\x0B\f\r +=,.@-]+)$`
	// +optional
	ClientName string `json:"clientName,omitempty"`

	// AccessTokenValidity is how long the access tokens issued to this client live,
	// from 5m to 24h in whole seconds. Cognito's default is 1h.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('5m') && duration(self) <= duration('24h')",message="accessTokenValidity must be between 5m and 24h"
	// +kubebuilder:validation:XValidation:rule="timestamp(0) + duration(self) == timestamp(duration(self).getSeconds())",message="accessTokenValidity must be a whole number of seconds: Cognito holds token lifetimes in seconds"
	// +optional
	AccessTokenValidity *metav1.Duration `json:"accessTokenValidity,omitempty"`

	// Secret says where the credentials go.
	// +optional
	Secret SecretTarget `json:"secret,omitempty"`

	// UserPoolID is the Cognito user pool; the operator's --user-pool-id when empty.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=55
	// +kubebuilder:validation:Pattern=`^(?:[\w-]+_[0-9a-zA-Z]+)$`
	// +optional
	UserPoolID string `json:"userPoolId,omitempty"`

	// DeletionPolicy says whether deleting this object deletes the app client in
	// Cognito (Delete, the default) or leaves it (Retain). The Secret is deleted with
	// the object either way.
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// Rotation rotates the client secret on a schedule with no failed call: a second
	// secret is added and written to the Secret, and the old one is deleted only after
	// the grace period. Unset means no scheduled rotation (the rotate annotation still
	// works).
	// +optional
	Rotation *SecretRotation `json:"rotation,omitempty"`
}

// ScopeRequest names scopes of one ResourceServer object.
type ScopeRequest struct {
	// ResourceServer is the ResourceServer object offering the scopes.
	ResourceServer ObjectReference `json:"resourceServer"`

	// Scopes are scope names on that server, without the identifier prefix.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +kubebuilder:validation:items:Pattern=`^(?:[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]+)$`
	// +listType=set
	Scopes []string `json:"scopes"`
}

// ObjectReference names an object in a namespace; the referring object's namespace
// when Namespace is empty.
type ObjectReference struct {
	// Name is the object's name (a DNS subdomain, RFC 1123).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
	// Namespace is the object's namespace (a DNS label, RFC 1123).
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// SecretTarget is the Secret the credentials are written to, in the M2MClient's
// namespace. It holds client_id, client_secret, token_endpoint, issuer, scopes
// (space-separated) and user_pool_id; during a rotation also client_secret_previous.
type SecretTarget struct {
	// Name of the Secret; `<m2mclient name>-credentials` when empty.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	Name string `json:"name,omitempty"`
	// Labels added to the Secret: at most 16, of at most 4 KiB in all (keys and
	// values). The operator keeps every M2MClient in memory, so these are bounded.
	// Values count in bytes of UTF-8; keys in characters, which are bytes for any
	// key Kubernetes accepts (a check in bytes of both would exceed the API server's
	// budget for a rule's cost).
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule="self.map(k, size(k) + size(bytes(self[k]))).sum() <= 4096",message="secret.labels may hold at most 4096 bytes of keys and values"
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations added to the Secret: at most 16, of at most 8 KiB in all (keys
	// and values, counted as for labels).
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule="self.map(k, size(k) + size(bytes(self[k]))).sum() <= 8192",message="secret.annotations may hold at most 8192 bytes of keys and values"
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// SecretRotation is a rotation schedule.
type SecretRotation struct {
	// Interval is how often the secret is rotated, at least 1h, in whole seconds.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1h')",message="rotation.interval must be at least 1h"
	// +kubebuilder:validation:XValidation:rule="timestamp(0) + duration(self) == timestamp(duration(self).getSeconds())",message="rotation.interval must be a whole number of seconds"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// GracePeriod is how long the old and new secrets both stay valid, so that every
	// consumer reloads the mounted Secret (the kubelet refreshes it within about a
	// minute) before the old one is deleted. Default 5m. Whole seconds.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s') && duration(self) <= duration('168h')",message="rotation.gracePeriod must be between 0s and 168h"
	// +kubebuilder:validation:XValidation:rule="timestamp(0) + duration(self) == timestamp(duration(self).getSeconds())",message="rotation.gracePeriod must be a whole number of seconds"
	// +optional
	GracePeriod *metav1.Duration `json:"gracePeriod,omitempty"`
}

// M2MClientStatus is what the operator observed and did.
type M2MClientStatus struct {
	// Conditions: Ready, and Reconciling or Stalled while they are true.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedGeneration is the generation last reconciled to Ready or Stalled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// UserPoolID is the pool the app client lives in.
	// +optional
	UserPoolID string `json:"userPoolId,omitempty"`

	// ClientID is the Cognito app client's id.
	// +optional
	ClientID string `json:"clientId,omitempty"`

	// ClientName is the name the app client was created with.
	// +optional
	ClientName string `json:"clientName,omitempty"`

	// CreatePendingSince is set just before the operator asks Cognito to create the
	// app client and cleared when the client id is recorded. Cognito has no
	// idempotency token, so after a crash in between, the operator looks for the
	// client it may have created (by name, created since this time) instead of
	// creating a second one.
	// +optional
	CreatePendingSince *metav1.Time `json:"createPendingSince,omitempty"`

	// CreatePendingGeneration is the generation of the spec the pending create sent
	// (with clientName, scopes and userPoolId above, what was sent). A spec change
	// clears the mark, so that recovery never looks for a client the current spec
	// describes but no create of this object sent.
	// +optional
	CreatePendingGeneration int64 `json:"createPendingGeneration,omitempty"`

	// SecretName is the Secret the credentials are written to.
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// CredentialsWrittenAt is when the Secret's contents last changed.
	// +optional
	CredentialsWrittenAt *metav1.Time `json:"credentialsWrittenAt,omitempty"`

	// Scopes are the full scope names the app client is allowed.
	// +optional
	Scopes []string `json:"scopes,omitempty"`

	// Rotation is the state of secret rotation.
	// +optional
	Rotation *RotationStatus `json:"rotation,omitempty"`
}

// RotationStatus records secret rotation, so that a restarted operator resumes a
// rotation where it stopped.
type RotationStatus struct {
	// CurrentSecretID is the id of the secret the Secret's client_secret holds.
	// +optional
	CurrentSecretID string `json:"currentSecretId,omitempty"`
	// CurrentSecretCreated is when that secret was created.
	// +optional
	CurrentSecretCreated *metav1.Time `json:"currentSecretCreated,omitempty"`
	// PreviousSecretID is the secret being retired while a rotation is in progress.
	// +optional
	PreviousSecretID string `json:"previousSecretId,omitempty"`
	// Phase is empty when idle, or the step a rotation is at.
	// +optional
	Phase RotationPhase `json:"phase,omitempty"`
	// PhaseSince is when the current phase began.
	// +optional
	PhaseSince *metav1.Time `json:"phaseSince,omitempty"`
	// NextRotation is when the next scheduled rotation starts.
	// +optional
	NextRotation *metav1.Time `json:"nextRotation,omitempty"`
	// LastRequest is the value of the rotate annotation last acted on.
	// +optional
	LastRequest string `json:"lastRequest,omitempty"`
}

// RotationPhase is a step of the rotation sequence.
// +kubebuilder:validation:Enum="";Adding;Grace;Retiring
type RotationPhase string

const (
	// RotationAdding: a second secret is being added and written to the Secret.
	RotationAdding RotationPhase = "Adding"
	// RotationGrace: both secrets are valid and in the Secret; waiting for consumers.
	RotationGrace RotationPhase = "Grace"
	// RotationRetiring: the old secret is being deleted in Cognito and from the Secret.
	RotationRetiring RotationPhase = "Retiring"
)

// M2MClient is a machine-to-machine caller, reconciled into an Amazon Cognito app
// client with the client-credentials grant, and a Secret holding its credentials.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=m2m,categories=cognito
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Client ID",type=string,JSONPath=`.status.clientId`
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.status.secretName`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type M2MClient struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   M2MClientSpec   `json:"spec,omitempty"`
	Status M2MClientStatus `json:"status,omitempty"`
}

// M2MClientList is a list of M2MClients.
// +kubebuilder:object:root=true
type M2MClientList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []M2MClient `json:"items"`
}

func init() {
	SchemeBuilder.Register(&M2MClient{}, &M2MClientList{})
}

// GetConditions returns the object's conditions, for the shared status helpers.
func (c *M2MClient) GetConditions() *[]metav1.Condition { return &c.Status.Conditions }

// SetObservedGeneration records the generation a finished pass reconciled.
func (c *M2MClient) SetObservedGeneration(g int64) { c.Status.ObservedGeneration = g }

// SecretName is the name of the Secret the credentials are written to.
func (c *M2MClient) SecretName() string {
	if c.Spec.Secret.Name != "" {
		return c.Spec.Secret.Name
	}
	return c.Name + "-credentials"
}
