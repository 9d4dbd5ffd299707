package emulator

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultRegion is the region used when Options.Region is empty.
const DefaultRegion = "us-east-1"

// DefaultStateFlushInterval is how long a change waits, at most, before it
// is written to the state file, when Options.StateFlushInterval is zero.
const DefaultStateFlushInterval = 200 * time.Millisecond

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
	// state) and kept up to date behind the changes: a change is answered
	// at once and written, together with every other change made in the
	// meantime, within StateFlushInterval. Each write replaces the whole
	// file atomically (a temporary file renamed over it), so the file is
	// never torn. Close writes what is pending, so a clean stop loses
	// nothing; a crash loses at most the changes of the last interval.
	// Empty keeps the state in memory only.
	StateFile string
	// StateFlushInterval bounds how long a change waits before it is
	// written to StateFile. Zero means DefaultStateFlushInterval. Negative
	// writes the file before each change is answered (write-through),
	// which costs a whole-state write per request.
	StateFlushInterval time.Duration
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
	region     string
	stateFile  string
	flushEvery time.Duration // < 0: write-through
	log        *slog.Logger
	now        func() time.Time

	baseMu  sync.RWMutex
	baseURL string

	mu    sync.Mutex // guards st and dirty
	st    *state
	dirty bool // st has changes the state file does not have yet

	// fileMu serializes writes of the state file. It is taken before mu,
	// so the snapshots are written in the order they were taken.
	fileMu sync.Mutex
	// wake tells the flush loop that a change is pending; it holds one
	// signal, so any number of changes make one write.
	wake      chan struct{}
	stop      chan struct{} // closed by Close
	loopDone  chan struct{} // closed when the flush loop has returned
	closeOnce sync.Once

	ctl controls
}

var regionRe = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)

// New returns an emulator configured by opts, loading opts.StateFile if it
// is set. It generates a signing key when the state has none.
func New(opts Options) (*Emulator, error) {
	e := &Emulator{
		region:     opts.Region,
		stateFile:  opts.StateFile,
		flushEvery: opts.StateFlushInterval,
		log:        opts.Logger,
		now:        opts.Now,
		baseURL:    strings.TrimRight(opts.BaseURL, "/"),
	}
	if e.flushEvery == 0 {
		e.flushEvery = DefaultStateFlushInterval
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
	if e.stateFile != "" {
		// Written at once, so that an unwritable file fails the start,
		// not a later request.
		e.dirty = true
		if err := e.Flush(); err != nil {
			return nil, err
		}
		if e.flushEvery > 0 {
			e.wake = make(chan struct{}, 1)
			e.stop = make(chan struct{})
			e.loopDone = make(chan struct{})
			go e.flushLoop()
		}
	}
	return e, nil
}

// Close writes the changes not yet in the state file and stops the
// background writer. Stop serving requests before: a change made after
// Close stays in memory until the next Flush or Close. Close without a
// state file does nothing.
func (e *Emulator) Close() error {
	e.closeOnce.Do(func() {
		if e.stop != nil {
			close(e.stop)
			<-e.loopDone
		}
	})
	return e.Flush()
}

// Flush writes the changes not yet in the state file now, if there is a
// state file and there are such changes.
func (e *Emulator) Flush() error {
	if e.stateFile == "" {
		return nil
	}
	e.fileMu.Lock()
	defer e.fileMu.Unlock()
	e.mu.Lock()
	if !e.dirty {
		e.mu.Unlock()
		return nil
	}
	// Copied under the lock, encoded and written outside it, so that
	// requests wait for the copy only.
	snap := e.st.clone()
	e.dirty = false
	e.mu.Unlock()
	b, err := encodeState(snap)
	if err == nil {
		err = writeStateFile(e.stateFile, b)
	}
	if err != nil {
		e.mu.Lock()
		e.dirty = true
		e.mu.Unlock()
		return err
	}
	return nil
}

// flushLoop writes the state file behind the changes: the first change
// after a write starts the interval, and the changes made until it ends go
// into one write.
func (e *Emulator) flushLoop() {
	defer close(e.loopDone)
	for {
		select {
		case <-e.wake:
		case <-e.stop:
			return
		}
		t := time.NewTimer(e.flushEvery)
		select {
		case <-t.C:
		case <-e.stop:
			t.Stop()
			return // Close writes what is pending
		}
		if err := e.Flush(); err != nil {
			e.log.Error("Writing the state file failed; retrying", "stateFile", e.stateFile, "error", err)
			e.signal() // still dirty: try again after another interval
		}
	}
}

// changedLocked records that the state changed, so that it is written to
// the state file. The caller holds e.mu.
func (e *Emulator) changedLocked() {
	if e.stateFile == "" {
		return
	}
	e.dirty = true
	e.signal()
}

func (e *Emulator) signal() {
	if e.wake == nil {
		return
	}
	select {
	case e.wake <- struct{}{}:
	default: // a write is already due
	}
}

// writeThrough reports whether a change is written before it is answered.
func (e *Emulator) writeThrough() bool { return e.stateFile != "" && e.flushEvery < 0 }

// flushNow writes the state file before a change is answered, for the
// rare changes whose loss would be surprising: the start-up pool and
// signing keys. The caller does not hold e.mu.
func (e *Emulator) flushNow() error {
	if err := e.Flush(); err != nil {
		e.log.Error("Writing the state file failed", "stateFile", e.stateFile, "error", err)
		return newErr(errInternal, "saving emulator state failed")
	}
	return nil
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
	var p *pool
	for _, c := range e.st.Pools {
		if c.Name == name && (p == nil || c.Seq < p.Seq) {
			p = c
		}
	}
	id, err := e.ensurePoolLocked(p, "", name, domain)
	e.mu.Unlock()
	if err != nil {
		return "", err
	}
	return id, e.flushNow()
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
	p := e.st.Pools[id]
	if p != nil && p.Name != name {
		e.mu.Unlock()
		return "", fmt.Errorf("user pool %s exists with name %q, not %q", id, p.Name, name)
	}
	id, err := e.ensurePoolLocked(p, id, name, domain)
	e.mu.Unlock()
	if err != nil {
		return "", err
	}
	return id, e.flushNow()
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
// when it is empty) and adds the prefix domain when missing.
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
	e.changedLocked()
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
	e.st.rotateKey(k, now)
	e.changedLocked()
	e.mu.Unlock()
	// Written at once: tokens signed with a key lost in a crash would
	// fail verification after the restart.
	if err := e.flushNow(); err != nil {
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
