package verify

import "errors"

// Reasons a token is rejected. Verify returns errors that wrap exactly one of them,
// so that callers can tell them apart with errors.Is; none of them carries the token.
var (
	ErrMissing      = errors.New("no bearer token")
	ErrTooLarge     = errors.New("token too large")
	ErrMalformed    = errors.New("token malformed")
	ErrAlgorithm    = errors.New("token algorithm not accepted")
	ErrHeader       = errors.New("token header not accepted")
	ErrKeysNotReady = errors.New("signing keys not loaded")
	ErrUnknownKey   = errors.New("token signed by an unknown key")
	ErrSignature    = errors.New("token signature invalid")
	ErrExpired      = errors.New("token expired")
	ErrNotYetValid  = errors.New("token not valid yet")
	ErrIssuer       = errors.New("token issuer not accepted")
	ErrTokenUse     = errors.New("token use not accepted")
	ErrClientID     = errors.New("token client id not accepted")
	ErrScope        = errors.New("token lacks a required scope")
)

// reasons gives each rejection a short stable name, used as a metric label.
var reasons = []struct {
	err  error
	name string
}{
	{ErrMissing, "missing"},
	{ErrTooLarge, "too_large"},
	{ErrMalformed, "malformed"},
	{ErrAlgorithm, "algorithm"},
	{ErrHeader, "header"},
	{ErrKeysNotReady, "keys_not_ready"},
	{ErrUnknownKey, "unknown_key"},
	{ErrSignature, "signature"},
	{ErrExpired, "expired"},
	{ErrNotYetValid, "not_yet_valid"},
	{ErrIssuer, "issuer"},
	{ErrTokenUse, "token_use"},
	{ErrClientID, "client_id"},
	{ErrScope, "scope"},
}

// Reason returns the short name of the rejection err wraps ("expired",
// "signature", ...), or "other" for an error that is not a rejection.
func Reason(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "other"
}

func reasonIndex(err error) int {
	for i, r := range reasons {
		if errors.Is(err, r.err) {
			return i
		}
	}
	return len(reasons)
}
