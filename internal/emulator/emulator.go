package emulator

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultRegion is the region used when Options.Region is empty.
const DefaultRegion = "us-east-1"

// accountID is the AWS account the emulator pretends to be, for ARNs.
const accountID = "123456789012"

// Options configure an Emulator. The zero value is a valid in-memory
// emulator in DefaultRegion with quotas off and logs discarded.
type Options struct {
	// Region appears in user pool ids and ARNs. Default DefaultRegion.
	Region string
	// BaseURL is the URL clients reach the emulator at, such as
	// "http://127.0.0.1:9229", without a trailing slash or path. Issuers and
	// the token endpoint are built from it. Empty means: take scheme and host
	// from each request, which is right unless a proxy sits in between.
	BaseURL string
	// StateFile, when set, is loaded at start (a missing file is an empty
	// state) and rewritten atomically after every change. Empty keeps the
	// state in memory only.
	StateFile string
	// Quotas turns on request-rate quotas; nil leaves them off.
	Quotas *Quotas
	// Logger receives one record per request. Nil discards.
	Logger *slog.Logger
	// Now is the emulator's clock, for token times, key retirement and quota
	// refill. Nil means time.Now.
	Now func() time.Time
}

// Emulator is a local stand-in for the Amazon Cognito user pools service:
// the control-plane operations this project uses, the OAuth 2.0
// client-credentials token endpoint, and the keys to verify its tokens.
// It is safe for concurrent use.
type Emulator struct {
	region    string
	stateFile string
	log       *slog.Logger
	now       func() time.Time

	baseMu  sync.RWMutex
	baseURL string

	mu sync.Mutex // guards st and writes of the state file
	st *state

	ctl controls
}

var regionRe = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)

// New returns an emulator configured by opts, loading opts.StateFile if it
// is set. It generates a signing key when the state has none.
func New(opts Options) (*Emulator, error) {
	e := &Emulator{
		region:    opts.Region,
		stateFile: opts.StateFile,
		log:       opts.Logger,
		now:       opts.Now,
		baseURL:   strings.TrimRight(opts.BaseURL, "/"),
	}
	if e.region == "" {
		e.region = DefaultRegion
	}
	if !regionRe.MatchString(e.region) {
		return nil, fmt.Errorf("invalid region %q", e.region)
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.ctl.init(opts.Quotas)

	e.st = newState()
	if e.stateFile != "" {
		st, err := loadState(e.stateFile)
		if err != nil {
			return nil, err
		}
		e.st = st
	}
	now := e.now()
	if k := e.st.activeKey(); k != nil {
		// Tokens signed after the last save were not recorded: assume the
		// longest lifetime, so a later rotation keeps the key long enough.
		k.ValidUntil = maxTime(k.ValidUntil, now.Add(maxAccessTokenValidity))
	} else {
		k, err := generateKey(now)
		if err != nil {
			return nil, err
		}
		e.st.rotateKey(k, now)
	}
	if err := e.saveLocked(); err != nil {
		return nil, err
	}
	return e, nil
}

// NewServer starts an emulator on an httptest server for the duration of
// the test and returns it with the server's URL, which is also its base URL.
// It fails the test if the emulator cannot start.
func NewServer(t testing.TB, opts Options) (*Emulator, string) {
	t.Helper()
	e, err := New(opts)
	if err != nil {
		t.Fatalf("start Cognito emulator: %v", err)
	}
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(srv.Close)
	e.SetBaseURL(srv.URL)
	return e, srv.URL
}

// SetBaseURL sets the URL clients reach the emulator at, for when it is only
// known after the listener is open (an httptest server, port 0).
func (e *Emulator) SetBaseURL(u string) {
	e.baseMu.Lock()
	defer e.baseMu.Unlock()
	e.baseURL = strings.TrimRight(u, "/")
}

// BaseURL returns the configured base URL, or "" when it is taken from each
// request.
func (e *Emulator) BaseURL() string {
	e.baseMu.RLock()
	defer e.baseMu.RUnlock()
	return e.baseURL
}

// Region returns the region of the emulated service.
func (e *Emulator) Region() string { return e.region }

// TokenURL returns the OAuth 2.0 token endpoint, "<base URL>/oauth2/token".
// It serves every user pool; real Cognito's per-pool domains are not
// emulated.
func (e *Emulator) TokenURL() string { return e.BaseURL() + tokenPath }

// IssuerURL returns the issuer of the pool's tokens, "<base URL>/<pool id>".
func (e *Emulator) IssuerURL(userPoolID string) string { return e.BaseURL() + "/" + userPoolID }

// requestBase is the base URL for one request: the configured one, else
// scheme and host of the request.
func (e *Emulator) requestBase(r *http.Request) string {
	if b := e.BaseURL(); b != "" {
		return b
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// EnsureUserPool returns the id of the oldest user pool named name, creating
// it when there is none. A non-empty domain is created as the pool's prefix
// domain when the pool has none. It is how the binary's start-up pool stays
// the same across restarts with a state file.
func (e *Emulator) EnsureUserPool(name, domain string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var p *pool
	for _, c := range e.st.Pools {
		if c.Name == name && (p == nil || c.Seq < p.Seq) {
			p = c
		}
	}
	return e.ensurePoolLocked(p, "", name, domain)
}

// EnsureUserPoolWithID returns id after making sure a user pool with that id
// and name exists, creating it when there is none; domain is handled as in
// EnsureUserPool. It lets a deployment fix the pool id in advance, so that
// clients configured before the emulator starts (an operator's default pool
// in a Helm chart) agree with it. The id must have Cognito's shape with this
// emulator's region, "<region>_<alphanumerics>", and an existing pool with
// that id must have the same name.
func (e *Emulator) EnsureUserPoolWithID(id, name, domain string) (string, error) {
	if err := e.checkPoolID(id); err != nil {
		return "", err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.st.Pools[id]
	if p != nil && p.Name != name {
		return "", fmt.Errorf("user pool %s exists with name %q, not %q", id, p.Name, name)
	}
	return e.ensurePoolLocked(p, id, name, domain)
}

// poolIDSuffixRe is what follows "<region>_" in a pool id (see poolIDRe).
var poolIDSuffixRe = regexp.MustCompile(`^[0-9a-zA-Z]+$`)

// checkPoolID reports whether id can name a pool of this emulator.
func (e *Emulator) checkPoolID(id string) error {
	suffix, ok := strings.CutPrefix(id, e.region+"_")
	if !ok || len(id) > 55 || !poolIDSuffixRe.MatchString(suffix) {
		return fmt.Errorf("invalid user pool id %q: want %s_ followed by 1 to %d letters and digits", id, e.region, 55-len(e.region)-1)
	}
	return nil
}

// ensurePoolLocked creates the pool when p is nil (with id, or a random id
// when it is empty), adds the prefix domain when missing, and saves.
func (e *Emulator) ensurePoolLocked(p *pool, id, name, domain string) (string, error) {
	if p == nil {
		var err error
		if p, err = e.createPool(createUserPoolInput{PoolName: &name}, id); err != nil {
			return "", err
		}
	}
	if domain != "" && p.Domain == "" {
		if err := e.createDomain(p, domain, ""); err != nil {
			return "", err
		}
	}
	if err := e.saveLocked(); err != nil {
		return "", err
	}
	return p.ID, nil
}

// RotateSigningKey makes a new key sign all new tokens and returns its key
// id. The previous key stays in the JWKS until the last token it signed has
// expired.
func (e *Emulator) RotateSigningKey() (string, error) {
	now := e.now()
	k, err := generateKey(now)
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.st.rotateKey(k, now)
	if err := e.saveLocked(); err != nil {
		return "", err
	}
	return k.Kid, nil
}

// SigningKeyIDs returns the key ids currently published in the JWKS, the
// active key first.
func (e *Emulator) SigningKeyIDs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ids []string
	for _, k := range e.st.publishedKeys(e.now()) {
		ids = append(ids, k.Kid)
	}
	return ids
}

// saveLocked writes the state file, if there is one. The caller holds e.mu.
func (e *Emulator) saveLocked() error {
	if e.stateFile == "" {
		return nil
	}
	if err := saveState(e.stateFile, e.st); err != nil {
		e.log.Error("Saving state failed", "error", err)
		return newErr(errInternal, "saving emulator state failed")
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// sortedBySeq returns the map's values in creation order.
func sortedBySeq[T any](m map[string]T, seq func(T) int64) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(seq(a), seq(b)) })
	return out
}
