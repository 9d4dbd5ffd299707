// Package credentials holds the client credentials of one Cognito app client and
// loads them from the places a service finds them: the Secret that the operator
// writes, mounted as a directory of files; environment variables; or code.
//
// A mounted Secret changes under a running process when the operator rotates the
// client secret. The kubelet swaps the whole directory at once through the `..data`
// symlink, so a Dir re-reads the files when asked (Reload) rather than watching
// them: the token client reloads before every token request, which is the only
// moment the credentials matter, and on a rejected secret.
package credentials

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
)

// Keys of the credentials Secret that the operator writes for an M2MClient. They
// are also the file names when the Secret is mounted as a volume. These names are
// the contract between the operator and every service that reads the Secret; they
// are defined here, where consumers read them, and the operator writes them from
// these constants.
const (
	// KeyClientID holds the app client id.
	KeyClientID = "client_id"
	// KeyClientSecret holds the current client secret.
	KeyClientSecret = "client_secret"
	// KeyClientSecretPrevious holds, during a rotation's grace period, the secret
	// being retired; clients fall back to it when Cognito rejects the current one.
	KeyClientSecretPrevious = "client_secret_previous"
	// KeyClientSecretNext holds, while a rotation adds a new secret in Cognito, the
	// value being added, so that an interrupted rotation can finish with it.
	// Clients do not read it.
	KeyClientSecretNext = "client_secret_next"
	// KeyTokenEndpoint holds the URL of the user pool's token endpoint.
	KeyTokenEndpoint = "token_endpoint"
	// KeyIssuer holds the user pool's issuer URL, for services that verify tokens.
	KeyIssuer = "issuer"
	// KeyScopes holds the granted scopes, separated by single spaces.
	KeyScopes = "scopes"
	// KeyUserPoolID holds the user pool id.
	KeyUserPoolID = "user_pool_id"
)

// IsSecretKey reports whether the value under a key of the credentials Secret is
// a client secret, which must never be shown.
func IsSecretKey(key string) bool {
	switch key {
	case KeyClientSecret, KeyClientSecretPrevious, KeyClientSecretNext:
		return true
	}
	return false
}

// Environment variable names read by FromEnv.
const (
	EnvClientID       = "M2M_CLIENT_ID"
	EnvClientSecret   = "M2M_CLIENT_SECRET"
	EnvPreviousSecret = "M2M_CLIENT_SECRET_PREVIOUS"
	EnvTokenEndpoint  = "M2M_TOKEN_ENDPOINT"
	EnvScopes         = "M2M_SCOPES"
	EnvIssuer         = "M2M_ISSUER"
)

// Secret is a client secret. It shows as a fixed placeholder wherever it can be
// printed or encoded without calling Reveal: every fmt verb (it is a
// fmt.Formatter, so %x and %d do not reach the string either), encoding/json and
// encoding.TextMarshaler users (so a Secret inside a struct logged with slog's
// JSON handler is redacted too), and log/slog. Decoding is unaffected: a Secret
// reads from JSON as a plain string. Two places it cannot cover: encoding/json
// writes a map key of a string type as it is, so do not key maps by a Secret;
// and fmt's %p of a value that is not a pointer (which go vet reports) prints
// the value without asking any of its methods.
type Secret string

const redacted = "[redacted]"

var (
	_ fmt.Formatter          = Secret("")
	_ fmt.Stringer           = Secret("")
	_ fmt.GoStringer         = Secret("")
	_ json.Marshaler         = Secret("")
	_ encoding.TextMarshaler = Secret("")
	_ slog.LogValuer         = Secret("")
)

// Format prints the placeholder with the verb and flags given, never the secret.
func (Secret) Format(f fmt.State, verb rune) { fmt.Fprintf(f, fmt.FormatString(f, verb), redacted) }

// String returns a placeholder, never the secret.
func (Secret) String() string { return redacted }

// GoString returns a placeholder, never the secret.
func (Secret) GoString() string { return `"` + redacted + `"` }

// MarshalJSON encodes a placeholder, never the secret.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText encodes a placeholder, never the secret.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue logs a placeholder, never the secret.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// Reveal returns the secret itself, for the one place that needs it: the request
// to the token endpoint.
func (s Secret) Reveal() string { return string(s) }

// Credentials are what a client needs to obtain access tokens with the OAuth 2.0
// client-credentials grant.
type Credentials struct {
	// ClientID is the app client id.
	ClientID string
	// ClientSecret is the current client secret.
	ClientSecret Secret
	// PreviousSecret is the secret being rotated out, if a rotation is in progress.
	// The token client falls back to it when Cognito rejects ClientSecret.
	PreviousSecret Secret
	// TokenEndpoint is the URL of the token endpoint, e.g.
	// https://<domain>.auth.<region>.amazoncognito.com/oauth2/token.
	TokenEndpoint string
	// Scopes are the full scope names to ask for; empty asks for all the scopes
	// the client is allowed.
	Scopes []string
	// Issuer is the user pool's issuer URL, for services that verify tokens.
	// Optional for a caller.
	Issuer string
}

// credentialFields is Credentials without its methods, for Format: its Secret fields print
// through Secret's own Format.
type credentialFields Credentials

var (
	_ fmt.Formatter  = Credentials{}
	_ fmt.GoStringer = Credentials{}
	_ slog.LogValuer = Credentials{}
)

// Format prints the credentials, each secret as a placeholder, with any verb.
// Printing them field by field without this method would apply a verb such as
// %d to the secrets' underlying strings, which fmt then shows as they are.
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, c.GoString())
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), credentialFields(c))
}

// GoString prints the credentials as Go syntax, each secret as a placeholder.
func (c Credentials) GoString() string { return goString("credentials.Credentials", c) }

// goString prints c as Go syntax under the type name given.
func goString(typeName string, c Credentials) string {
	return typeName + strings.TrimPrefix(fmt.Sprintf("%#v", credentialFields(c)), "credentials.credentialFields")
}

// LogValue logs the credentials as a group, each secret as a placeholder.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("clientID", c.ClientID),
		slog.Any("clientSecret", c.ClientSecret),
		slog.Any("previousSecret", c.PreviousSecret),
		slog.String("tokenEndpoint", c.TokenEndpoint),
		slog.Any("scopes", c.Scopes),
		slog.String("issuer", c.Issuer),
	)
}

// Validate reports whether the credentials are complete enough to request a token.
func (c Credentials) Validate() error {
	var errs []error
	if c.ClientID == "" {
		errs = append(errs, errors.New("client id is empty"))
	}
	if c.ClientSecret == "" {
		errs = append(errs, errors.New("client secret is empty"))
	}
	if c.TokenEndpoint == "" {
		errs = append(errs, errors.New("token endpoint is empty"))
	} else if u, err := url.Parse(c.TokenEndpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("token endpoint %q is not an http(s) URL", c.TokenEndpoint))
	}
	return errors.Join(errs...)
}

// Source gives the current credentials. Implementations are safe for concurrent use.
type Source interface {
	Credentials() Credentials
}

// Reloader is a Source whose credentials can change; Reload re-reads them and
// reports whether they changed.
type Reloader interface {
	Source
	Reload() (changed bool, err error)
}

// Static is a Source that never changes, for credentials given in code.
type Static Credentials

// Credentials returns the credentials.
func (s Static) Credentials() Credentials { return Credentials(s) }

// Format prints the credentials as Credentials.Format does.
func (s Static) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, s.GoString())
		return
	}
	Credentials(s).Format(f, verb)
}

// GoString prints the credentials as Go syntax, each secret as a placeholder.
func (s Static) GoString() string { return goString("credentials.Static", Credentials(s)) }

// LogValue logs the credentials as Credentials.LogValue does.
func (s Static) LogValue() slog.Value { return Credentials(s).LogValue() }

// FromEnv reads credentials from the M2M_* environment variables through getenv
// (os.Getenv when nil).
func FromEnv(getenv func(string) string) (Credentials, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Credentials{
		ClientID:       strings.TrimSpace(getenv(EnvClientID)),
		ClientSecret:   Secret(strings.TrimSpace(getenv(EnvClientSecret))),
		PreviousSecret: Secret(strings.TrimSpace(getenv(EnvPreviousSecret))),
		TokenEndpoint:  strings.TrimSpace(getenv(EnvTokenEndpoint)),
		Scopes:         fields(getenv(EnvScopes)),
		Issuer:         strings.TrimSpace(getenv(EnvIssuer)),
	}
	if err := c.Validate(); err != nil {
		return Credentials{}, fmt.Errorf("credentials from environment: %w", err)
	}
	return c, nil
}

// ReadDir reads credentials once from a directory holding one file per key, as a
// mounted Kubernetes Secret does. Surrounding white space in each file is ignored.
func ReadDir(dir string) (Credentials, error) {
	read := func(name string, required bool) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			if !required && errors.Is(err, os.ErrNotExist) {
				return "", nil
			}
			// The error names the file, never its content.
			return "", fmt.Errorf("read credentials file %s: %w", name, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	var c Credentials
	var errs []error
	get := func(name string, required bool) string {
		v, err := read(name, required)
		if err != nil {
			errs = append(errs, err)
		}
		return v
	}
	c.ClientID = get(KeyClientID, true)
	c.ClientSecret = Secret(get(KeyClientSecret, true))
	c.PreviousSecret = Secret(get(KeyClientSecretPrevious, false))
	c.TokenEndpoint = get(KeyTokenEndpoint, true)
	c.Scopes = fields(get(KeyScopes, false))
	c.Issuer = get(KeyIssuer, false)
	if len(errs) == 0 {
		if err := c.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Credentials{}, fmt.Errorf("credentials from directory %s: %w", dir, err)
	}
	return c, nil
}

// Dir is a Reloader over a mounted credentials directory. A failed reload keeps
// the last good credentials, so that a half-written directory never takes a
// working client down.
type Dir struct {
	path    string
	mu      sync.Mutex // serialises Reload
	current atomic.Pointer[Credentials]
}

// OpenDir reads the credentials in dir and returns a Dir that can reload them.
func OpenDir(dir string) (*Dir, error) {
	c, err := ReadDir(dir)
	if err != nil {
		return nil, err
	}
	d := &Dir{path: dir}
	d.current.Store(&c)
	return d, nil
}

// Path returns the directory.
func (d *Dir) Path() string { return d.path }

// Credentials returns the credentials read by the last successful load.
func (d *Dir) Credentials() Credentials { return *d.current.Load() }

// Reload re-reads the directory. On error the previous credentials stay current.
func (d *Dir) Reload() (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, err := ReadDir(d.path)
	if err != nil {
		return false, err
	}
	if Equal(c, *d.current.Load()) {
		return false, nil
	}
	d.current.Store(&c)
	return true, nil
}

// Equal reports whether two sets of credentials are the same.
func Equal(a, b Credentials) bool {
	if a.ClientID != b.ClientID || a.ClientSecret != b.ClientSecret || a.PreviousSecret != b.PreviousSecret ||
		a.TokenEndpoint != b.TokenEndpoint || a.Issuer != b.Issuer || len(a.Scopes) != len(b.Scopes) {
		return false
	}
	for i := range a.Scopes {
		if a.Scopes[i] != b.Scopes[i] {
			return false
		}
	}
	return true
}

// fields splits a scope list. Scopes are separated by spaces and only by spaces
// (RFC 6749, section 3.3); runs of spaces and spaces at either end are tolerated.
// No scopes is nil.
func fields(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' })
	if len(f) == 0 {
		return nil
	}
	return f
}
