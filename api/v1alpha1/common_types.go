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
	ReasonUserPoolMissing    = "UserPoolNotSet"
	ReasonTokenEndpoint      = "TokenEndpointUnknown"
	ReasonScopesUnavailable  = "ScopesUnavailable"
	ReasonScopeNotGranted    = "ScopeNotGranted"
	ReasonSecretConflict     = "SecretConflict"
	ReasonIdentifierConflict = "IdentifierConflict"
	ReasonDeleting           = "Deleting"
	ReasonCreated            = "Created"
	ReasonUpdated            = "Updated"
	ReasonDeleted            = "Deleted"
	ReasonRetained           = "Retained"
	ReasonAdopted            = "Adopted"
	ReasonDriftRepaired      = "DriftRepaired"
	ReasonSecretWritten      = "SecretWritten"
	ReasonRotating           = "Rotating"
	ReasonRotated            = "Rotated"
)
