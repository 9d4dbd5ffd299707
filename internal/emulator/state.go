package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// stateVersion is bumped whenever the state file's shape changes
// incompatibly, so that an old file is refused instead of misread.
const stateVersion = 1

// state is everything the emulator knows. It is what goes into the state
// file, so all of its fields are exported for encoding/json.
type state struct {
	Version int              `json:"version"`
	Seq     int64            `json:"seq"`
	Pools   map[string]*pool `json:"pools"`
	Keys    []*signingKey    `json:"keys"`
}

type pool struct {
	Seq                int64                      `json:"seq"`
	ID                 string                     `json:"id"`
	Name               string                     `json:"name"`
	ARN                string                     `json:"arn"`
	Created            time.Time                  `json:"created"`
	Modified           time.Time                  `json:"modified"`
	Domain             string                     `json:"domain,omitempty"`
	DomainCreated      time.Time                  `json:"domainCreated,omitzero"`
	CustomDomain       string                     `json:"customDomain,omitempty"`
	CertificateARN     string                     `json:"certificateArn,omitempty"`
	DeletionProtection string                     `json:"deletionProtection,omitempty"`
	Tier               string                     `json:"tier,omitempty"`
	Tags               map[string]string          `json:"tags,omitempty"`
	ResourceServers    map[string]*resourceServer `json:"resourceServers"`
	Clients            map[string]*appClient      `json:"clients"`
}

type resourceServer struct {
	Seq        int64   `json:"seq"`
	Identifier string  `json:"identifier"`
	Name       string  `json:"name"`
	Scopes     []scope `json:"scopes,omitempty"`
}

// scope uses the wire names, so it is both stored and sent as is.
type scope struct {
	ScopeName        string `json:"ScopeName"`
	ScopeDescription string `json:"ScopeDescription"`
}

type appClient struct {
	Seq      int64          `json:"seq"`
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Created  time.Time      `json:"created"`
	Modified time.Time      `json:"modified"`
	Secrets  []clientSecret `json:"secrets,omitempty"`
	// LastSecretEpoch is the epoch second in the id of the client's newest
	// secret, so that no id is given twice.
	LastSecretEpoch int64        `json:"lastSecretEpoch,omitempty"`
	Config          clientConfig `json:"config"`
}

type clientSecret struct {
	ID      string    `json:"id"`
	Value   string    `json:"value"`
	Created time.Time `json:"created"`
}

// signingKey is one RSA key of the token signer. A retired key stays
// published in the JWKS until ValidUntil, the expiry of the last token it
// signed, so that rotation never breaks a token in flight.
type signingKey struct {
	Kid        string     `json:"kid"`
	PKCS8      []byte     `json:"pkcs8"`
	Created    time.Time  `json:"created"`
	RetiredAt  *time.Time `json:"retiredAt,omitempty"`
	ValidUntil time.Time  `json:"validUntil,omitzero"`

	priv *rsa.PrivateKey
}

func newState() *state {
	return &state{Version: stateVersion, Pools: map[string]*pool{}}
}

func (s *state) nextSeq() int64 {
	s.Seq++
	return s.Seq
}

// activeKey is the key that signs new tokens: the one not retired.
func (s *state) activeKey() *signingKey {
	for _, k := range s.Keys {
		if k.RetiredAt == nil {
			return k
		}
	}
	return nil
}

// publishedKeys are the keys in the JWKS at now: the active key and every
// retired key whose tokens may still be valid.
func (s *state) publishedKeys(now time.Time) []*signingKey {
	var out []*signingKey
	for _, k := range s.Keys {
		if k.RetiredAt == nil || !now.After(k.ValidUntil) {
			out = append(out, k)
		}
	}
	return out
}

// rotateKey retires the active key and makes newKey the active one. Retired
// keys whose last token has expired are forgotten.
func (s *state) rotateKey(newKey *signingKey, now time.Time) {
	s.Keys = slices.DeleteFunc(s.Keys, func(k *signingKey) bool {
		return k.RetiredAt != nil && now.After(k.ValidUntil)
	})
	for _, k := range s.Keys {
		if k.RetiredAt == nil {
			t := now
			k.RetiredAt = &t
		}
	}
	s.Keys = append([]*signingKey{newKey}, s.Keys...)
}

func generateKey(now time.Time) (*signingKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate RSA key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("marshal RSA key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("marshal RSA public key: %w", err)
	}
	sum := sha256.Sum256(pub)
	return &signingKey{
		Kid:     base64.StdEncoding.EncodeToString(sum[:]),
		PKCS8:   der,
		Created: now,
		priv:    priv,
	}, nil
}

// loadState reads a state file. A missing file is not an error: it gives an
// empty state, so that a first start and a restart use the same flag.
func loadState(path string) (*state, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return newState(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state file: %w", err)
	}
	s := newState()
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("parse state file %s: %w", path, err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("state file %s has version %d, want %d", path, s.Version, stateVersion)
	}
	if s.Pools == nil {
		s.Pools = map[string]*pool{}
	}
	for _, k := range s.Keys {
		priv, err := x509.ParsePKCS8PrivateKey(k.PKCS8)
		if err != nil {
			return nil, fmt.Errorf("parse signing key %s in state file: %w", k.Kid, err)
		}
		rk, ok := priv.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("signing key %s in state file is not RSA", k.Kid)
		}
		k.priv = rk
	}
	return s, nil
}

// clone returns a deep copy of the state, so that it can be encoded for the
// state file without holding the lock while requests change the original.
// Copying is several times cheaper than encoding. The private keys are
// shared: they never change.
func (s *state) clone() *state {
	c := *s
	c.Pools = make(map[string]*pool, len(s.Pools))
	for id, p := range s.Pools {
		c.Pools[id] = p.clone()
	}
	c.Keys = make([]*signingKey, len(s.Keys))
	for i, k := range s.Keys {
		kc := *k
		kc.PKCS8 = slices.Clone(k.PKCS8)
		kc.RetiredAt = clonePtr(k.RetiredAt)
		c.Keys[i] = &kc
	}
	return &c
}

func (p *pool) clone() *pool {
	c := *p
	c.Tags = maps.Clone(p.Tags)
	c.ResourceServers = make(map[string]*resourceServer, len(p.ResourceServers))
	for id, rs := range p.ResourceServers {
		rc := *rs
		rc.Scopes = slices.Clone(rs.Scopes)
		c.ResourceServers[id] = &rc
	}
	c.Clients = make(map[string]*appClient, len(p.Clients))
	for id, cl := range p.Clients {
		cc := *cl
		cc.Secrets = slices.Clone(cl.Secrets)
		cc.Config = cl.Config.clone()
		c.Clients[id] = &cc
	}
	return &c
}

func (c clientConfig) clone() clientConfig {
	c.AccessTokenValidity = clonePtr(c.AccessTokenValidity)
	c.IdTokenValidity = clonePtr(c.IdTokenValidity)
	c.TokenValidityUnits = clonePtr(c.TokenValidityUnits)
	c.AllowedOAuthFlows = slices.Clone(c.AllowedOAuthFlows)
	c.AllowedOAuthScopes = slices.Clone(c.AllowedOAuthScopes)
	c.CallbackURLs = slices.Clone(c.CallbackURLs)
	c.LogoutURLs = slices.Clone(c.LogoutURLs)
	c.DefaultRedirectURI = clonePtr(c.DefaultRedirectURI)
	c.ExplicitAuthFlows = slices.Clone(c.ExplicitAuthFlows)
	c.SupportedIdentityProviders = slices.Clone(c.SupportedIdentityProviders)
	c.ReadAttributes = slices.Clone(c.ReadAttributes)
	c.WriteAttributes = slices.Clone(c.WriteAttributes)
	c.EnableTokenRevocation = clonePtr(c.EnableTokenRevocation)
	c.EnablePropagateAdditionalUserContextData = clonePtr(c.EnablePropagateAdditionalUserContextData)
	c.AuthSessionValidity = clonePtr(c.AuthSessionValidity)
	c.AnalyticsConfiguration = slices.Clone(c.AnalyticsConfiguration)
	c.RefreshTokenRotation = slices.Clone(c.RefreshTokenRotation)
	return c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// encodeState renders the state for the state file.
func encodeState(s *state) ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	return b, nil
}

// writeStateFile writes an encoded state atomically: to a temporary file in
// the same directory, synced, then renamed over the old file. A crash at
// any point leaves either the old or the new state, never a torn file. The
// file holds client secrets and private keys, so it is readable by its
// owner only.
func writeStateFile(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary state file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("chmod temporary state file: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write temporary state file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync temporary state file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close temporary state file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace state file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename itself durable where the OS allows it
		d.Close()
	}
	return nil
}

// page cuts one page out of items, which are sorted by sequence number. The
// NextToken is the sequence number of the first item of the next page, so
// that pages stay consistent while items are created or deleted between calls.
func page[T any](items []T, seq func(T) int64, max int, token string) ([]T, string, error) {
	start := 0
	if token != "" {
		b, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return nil, "", invalidParam("Invalid NextToken")
		}
		from, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return nil, "", invalidParam("Invalid NextToken")
		}
		start = len(items)
		for i, it := range items {
			if seq(it) >= from {
				start = i
				break
			}
		}
	}
	end := min(start+max, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(seq(items[end]), 10)))
	}
	return items[start:end], next, nil
}
