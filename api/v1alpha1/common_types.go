package v1alpha1

// DeletionPolicy says what happens to the Cognito resource when its Kubernetes object
// is deleted.
// +kubebuilder:validation:Enum=Delete;Retain
type DeletionPolicy string

const (
	// DeletionPolicyDelete deletes the Cognito resource with the object.
	DeletionPolicyDelete DeletionPolicy = "Delete"
	// DeletionPolicyRetain leaves the Cognito resource in place, for a migration or
	// for resources that outlive the cluster.
	DeletionPolicyRetain DeletionPolicy = "Retain"
)

// Ownership says whether an object's Cognito resource was created for it or adopted.
// +kubebuilder:validation:Enum=Created;Adopted
type Ownership string

const (
	// OwnershipCreated: the operator created the resource for this object.
	OwnershipCreated Ownership = "Created"
	// OwnershipAdopted: the resource existed before, and a cluster admin allowed
	// this object to take it over.
	OwnershipAdopted Ownership = "Adopted"
)

// Namespace annotations through which a cluster admin widens what the objects of a
// namespace may do. Tenants limited to their namespace cannot write Namespace
// objects, so these are the admin's alone to set.
const (
	// AllowAdoptionAnnotation ("true") lets the namespace's ResourceServers take
	// over resource servers that already exist in Cognito with their identifier.
	AllowAdoptionAnnotation = "cognito.m2m.dev/allow-adoption"
	// AllowedIdentifiersAnnotation lists, comma-separated, the resource-server
	// identifiers the namespace may claim; each entry is an identifier or a
	// path.Match pattern (`https://billing.example.com/*`). It is enforced when the
	// operator runs with --restrict-identifiers.
	AllowedIdentifiersAnnotation = "cognito.m2m.dev/allowed-identifiers"
)

// Finalizer keeps an object until its Cognito resource is deleted or released.
const Finalizer = "cognito.m2m.dev/finalizer"

// Condition types. Ready is always present (kstatus); Reconciling and Stalled are
// present only while true.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
)

// Condition reasons. Events use the same strings, so that `kubectl describe` reads
// one story.
const (
	ReasonReconciled         = "Reconciled"
	ReasonProgressing        = "Progressing"
	ReasonInvalidSpec        = "InvalidSpec"
	ReasonCognitoError       = "CognitoError"
	ReasonThrottled          = "Throttled"
	ReasonLimitExceeded      = "CognitoLimitExceeded"
	ReasonUserPoolMissing    = "UserPoolNotSet"
	ReasonTokenEndpoint      = "TokenEndpointUnknown"
	ReasonScopesUnavailable  = "ScopesUnavailable"
	ReasonScopeNotGranted    = "ScopeNotGranted"
	ReasonSecretConflict     = "SecretConflict"
	ReasonIdentifierConflict = "IdentifierConflict"
	ReasonIdentifierDenied   = "IdentifierNotAllowed"
	ReasonAdoptionDenied     = "AdoptionNotAllowed"
	ReasonUserPoolDenied     = "UserPoolNotAllowed"
	ReasonCreated            = "Created"
	ReasonUpdated            = "Updated"
	ReasonDeleted            = "Deleted"
	ReasonRetained           = "Retained"
	ReasonRetainLimitReached = "RetainLimitReached"
	ReasonScopesRevoked      = "ScopesRevoked"
	ReasonAdopted            = "Adopted"
	ReasonDriftRepaired      = "DriftRepaired"
	ReasonSecretWritten      = "SecretWritten"
	ReasonRotating           = "Rotating"
	ReasonRotated            = "Rotated"
)
