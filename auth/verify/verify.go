// Package verify checks Cognito access tokens in the service that receives them:
// a Verifier (RS256 only, issuer, token_use, optional client ids, exp/nbf/iat with
// a leeway), a JWKS cache that refreshes itself and fetches a key it does not
// hold yet while the token waits, a bounded time, without letting forged tokens
// trigger a fetch storm, a bounded cache of verified tokens, and net/http
// middleware that enforces scopes with RFC 6750 responses.
//
// The checks are AWS's documented steps for verifying a Cognito JWT. What is
// refused on purpose: any alg but RS256 (so "none" and HS256 signed with the
// public key fail before a key is looked up), and headers that carry or point to
// their own key (jwk, jku, x5u, x5c) or demand extensions (crit), since the only
// keys trusted are those in the issuer's JWKS.
//
// Parsing, the signature and the registered claims (exp, nbf, iat, iss) are
// golang-jwt's; this package adds the JWKS, the checks AWS adds on Cognito's
// claims (token_use, client_id, scope), and the cache. A cached token costs a
// hash and a map lookup instead of an RSA verification (see auth/BENCHMARKS.md).
package verify

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cognito-m2m/operator/auth/internal/clock"
)

// Config configures a Verifier. Issuer, or Region and UserPoolID, is required.
type Config struct {
	// Issuer is the user pool's issuer URL,
	// https://cognito-idp.<region>.amazonaws.com/<userPoolId>.
	Issuer string
	// Region and UserPoolID give the issuer when Issuer is empty.
	Region, UserPoolID string
	// JWKSURL defaults to Issuer + "/.well-known/jwks.json".
	JWKSURL string
	// TokenUse is the accepted token_use claim; default "access".
	TokenUse string
	// ClientIDs, when not empty, are the only app clients whose tokens are accepted.
	ClientIDs []string
	// Leeway is the clock skew allowed on exp, nbf and iat, in both directions:
	// a token is accepted until exp plus Leeway, and from nbf or iat minus
	// Leeway. Zero means DefaultLeeway; a negative value allows none.
	Leeway time.Duration
	// MaxTokenSize is the longest token accepted, in bytes; default 8 KiB.
	MaxTokenSize int
	// CacheSize bounds the verified-token cache; default 4096 entries, negative
	// disables it.
	CacheSize int
	// RefreshInterval is how often Run refetches the JWKS; default 15 minutes.
	RefreshInterval time.Duration
	// MinRefreshInterval is the least time between two fetches triggered by tokens
	// with an unknown kid; default 10 seconds.
	MinRefreshInterval time.Duration
	// UnknownKeyWait bounds how long Verify waits for the JWKS fetch that a
	// token with an unknown kid (or a verifier with no keys yet) starts or
	// joins; default 2 seconds. Negative: Verify does not wait, the fetch goes
	// on in the background and the token is refused.
	UnknownKeyWait time.Duration
	// FetchTimeout bounds one JWKS fetch; default 5 seconds.
	FetchTimeout time.Duration
	// HTTPClient fetches the JWKS; default a client with no extra settings.
	HTTPClient *http.Client
	// Clock tells the time for the token checks and the refresh schedule;
	// default the system clock. (Network waits, FetchTimeout and
	// UnknownKeyWait, are on the system clock.)
	Clock Clock
}

// Clock is the verifier's time source, the same type as client.Clock; tests
// replace it with a fake (authtest.Clock).
type Clock = clock.Clock

// DefaultUnknownKeyWait is how long Verify waits for the keys when
// Config.UnknownKeyWait is zero: long enough for a JWKS fetch (Cognito's
// answers in well under a second), short enough that a request never hangs on
// an unreachable issuer.
const DefaultUnknownKeyWait = 2 * time.Second

// DefaultLeeway is the clock skew allowed when Config.Leeway is zero. A few
// seconds absorb the drift between the user pool's clock and a host's without
// keeping an expired token usable for long.
const DefaultLeeway = 5 * time.Second

// IssuerFor returns the issuer URL of a Cognito user pool.
func IssuerFor(region, userPoolID string) string {
	return "https://cognito-idp." + region + ".amazonaws.com/" + userPoolID
}

// forbiddenHeaders are header parameters that bring their own key or require
// processing this verifier does not do.
var forbiddenHeaders = []string{"jwk", "jku", "x5u", "x5c", "crit"}

// rs256 is the only algorithm accepted: Cognito signs with it, and accepting no
// other keeps "none" and HS256 keyed with the public key out.
var rs256 = []string{jwt.SigningMethodRS256.Alg()}

// Verifier verifies Cognito access tokens. It is safe for concurrent use.
type Verifier struct {
	cfg       Config
	clientIDs map[string]bool
	cache     *tokenCache
	parser    *jwt.Parser
	validator *jwt.Validator

	clock Clock

	keys    atomic.Pointer[keySet]
	lastErr atomic.Pointer[error]

	fetchMu   sync.Mutex
	inflight  *fetchCall // the one JWKS fetch in flight, if any
	lastAsked time.Time  // start of the last fetch a token with an unknown kid asked for

	stats verifierStats
}

type verifierStats struct {
	verified     atomic.Uint64
	cacheHits    atomic.Uint64
	jwksFetches  atomic.Uint64
	jwksFailures atomic.Uint64
	rejected     []atomic.Uint64 // by reasonIndex
}

// New returns a Verifier. It fetches no keys: call Run (or Refresh) to load them,
// or let the first token trigger a fetch.
func New(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		if cfg.Region == "" || cfg.UserPoolID == "" {
			return nil, errors.New("verifier needs an issuer, or a region and a user pool id")
		}
		cfg.Issuer = IssuerFor(cfg.Region, cfg.UserPoolID)
	}
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	if cfg.JWKSURL == "" {
		cfg.JWKSURL = cfg.Issuer + "/.well-known/jwks.json"
	}
	if cfg.TokenUse == "" {
		cfg.TokenUse = "access"
	}
	if cfg.MaxTokenSize <= 0 {
		cfg.MaxTokenSize = 8 << 10
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 4096
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = 15 * time.Minute
	}
	if cfg.MinRefreshInterval <= 0 {
		cfg.MinRefreshInterval = 10 * time.Second
	}
	if cfg.UnknownKeyWait == 0 {
		cfg.UnknownKeyWait = DefaultUnknownKeyWait
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 5 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	switch {
	case cfg.Leeway == 0:
		cfg.Leeway = DefaultLeeway
	case cfg.Leeway < 0:
		cfg.Leeway = 0
	}
	v := &Verifier{
		cfg:   cfg,
		clock: cfg.Clock,
		cache: newTokenCache(cfg.CacheSize),
		// Claims are validated inside the key function, before the signature
		// check, rather than by the parser after it.
		parser: jwt.NewParser(jwt.WithValidMethods(rs256), jwt.WithStrictDecoding(), jwt.WithoutClaimsValidation()),
		validator: jwt.NewValidator(jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithIssuer(cfg.Issuer),
			jwt.WithLeeway(cfg.Leeway), jwt.WithTimeFunc(cfg.Clock.Now)),
	}
	v.stats.rejected = make([]atomic.Uint64, len(reasons)+1)
	if len(cfg.ClientIDs) > 0 {
		v.clientIDs = map[string]bool{}
		for _, id := range cfg.ClientIDs {
			v.clientIDs[id] = true
		}
	}
	return v, nil
}

// Issuer returns the accepted issuer.
func (v *Verifier) Issuer() string { return v.cfg.Issuer }

// Ready reports whether signing keys are loaded; the error says why not.
func (v *Verifier) Ready() error {
	if v.keys.Load() != nil {
		return nil
	}
	if p := v.lastErr.Load(); p != nil {
		return fmt.Errorf("%w: %w", ErrKeysNotReady, *p)
	}
	return ErrKeysNotReady
}

// Verify checks a token and returns its claims. A token signed with a key not
// yet known (a key the pool rotated to since the last fetch, or any key when
// none was loaded yet) waits for a JWKS fetch, at most UnknownKeyWait and while
// ctx lasts: the one in flight, or one it starts unless a token with an unknown
// kid started one less than MinRefreshInterval ago. So a service accepts a
// token of a newly rotated key on its first request, and forged kids cost at
// most one fetch per interval. A token whose kid is still unknown is refused.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	c, err := v.verify(ctx, token)
	if err != nil {
		v.stats.rejected[reasonIndex(err)].Add(1)
	}
	return c, err
}

func (v *Verifier) verify(ctx context.Context, token string) (*Claims, error) {
	if token == "" {
		return nil, ErrMissing
	}
	if len(token) > v.cfg.MaxTokenSize {
		return nil, ErrTooLarge
	}
	now := v.clock.Now()
	var h uint64
	if v.cache != nil {
		h = v.cache.hash(token)
		if e := v.cache.get(h, token); e != nil {
			if ks := v.keys.Load(); now.UnixNano() < e.notAfter && ks != nil && ks.keys[e.kid] == e.key {
				v.stats.cacheHits.Add(1)
				return e.claims, nil
			}
			v.cache.remove(h, e)
		}
	}
	c, kid, key, err := v.verifyCold(ctx, token)
	if err != nil {
		return nil, err
	}
	v.stats.verified.Add(1)
	if v.cache != nil {
		v.cache.put(h, &cacheEntry{
			token:    token,
			claims:   c,
			kid:      kid,
			key:      key,
			notAfter: c.ExpiresAt.Add(v.cfg.Leeway).UnixNano(),
		}, now.UnixNano())
	}
	return c, nil
}

// verifyCold verifies a token that is not in the cache. golang-jwt parses it and
// checks the signature; the checks of the header, the claims and the key lookup
// run in the key function, which golang-jwt calls after parsing and before the
// signature, so that a token refused by them costs no RSA operation and, being
// refused before its kid is looked up, triggers no JWKS refresh.
func (v *Verifier) verifyCold(ctx context.Context, token string) (*Claims, string, *rsa.PublicKey, error) {
	if !base64URLAndDots(token) {
		return nil, "", nil, fmt.Errorf("%w: not base64url", ErrMalformed)
	}
	k := keyLookup{v: v, ctx: ctx}
	if _, err := v.parser.ParseWithClaims(token, new(wireClaims), k.key); err != nil {
		return nil, "", nil, k.reason(err)
	}
	k.claims.splitScopes()
	return k.claims, k.kid, k.pub, nil
}

// base64URLAndDots reports whether s holds only the characters of a compact JWS.
// The base64 decoder skips CR and LF, so without this check a token with a line
// break inserted would verify as the token without it.
func base64URLAndDots(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// keyLookup is the key function of one verification. It remembers why it
// refused the token, so that Verify returns the verifier's own error rather than
// golang-jwt's wrapping of it, and the claims and key it accepted.
type keyLookup struct {
	v      *Verifier
	ctx    context.Context
	called bool
	err    error
	claims *Claims
	kid    string
	pub    *rsa.PublicKey
}

func (k *keyLookup) key(t *jwt.Token) (any, error) {
	k.called = true
	k.err = k.lookup(t)
	if k.err != nil {
		return nil, k.err
	}
	return k.pub, nil
}

func (k *keyLookup) lookup(t *jwt.Token) error {
	for _, name := range forbiddenHeaders {
		if _, ok := t.Header[name]; ok {
			return fmt.Errorf("%w: %s parameter", ErrHeader, name)
		}
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return fmt.Errorf("%w: no kid", ErrHeader)
	}
	c, err := t.Claims.(*wireClaims).claims()
	if err != nil {
		return fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	if err := k.v.checkClaims(c); err != nil {
		return err
	}
	var pub *rsa.PublicKey
	if ks := k.v.keys.Load(); ks != nil {
		pub = ks.keys[kid]
	}
	if pub == nil {
		if pub, err = k.v.awaitKey(k.ctx, kid); err != nil {
			return err
		}
	}
	k.claims, k.kid, k.pub = c, kid, pub
	return nil
}

// reason turns an error of golang-jwt's parser into the verifier's error.
func (k *keyLookup) reason(err error) error {
	switch {
	case k.err != nil:
		return k.err
	case k.called:
		// The key function accepted the token: only the signature is left.
		return ErrSignature
	case errors.Is(err, jwt.ErrTokenMalformed):
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	default:
		// Refused before the key lookup and not malformed: an alg that is
		// missing, unknown, or not RS256.
		return fmt.Errorf("%w: %v", ErrAlgorithm, err)
	}
}

// checkClaims applies golang-jwt's validation of exp (required), nbf, iat and
// iss, with the leeway, and then AWS's checks of token_use and client_id.
func (v *Verifier) checkClaims(c *Claims) error {
	if err := v.validator.Validate(c); err != nil {
		switch {
		case c.ExpiresAt == nil:
			return fmt.Errorf("%w: no exp", ErrMalformed)
		case errors.Is(err, jwt.ErrTokenExpired):
			return ErrExpired
		case errors.Is(err, jwt.ErrTokenNotValidYet):
			return ErrNotYetValid
		case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
			return fmt.Errorf("%w: issued in the future", ErrNotYetValid)
		case errors.Is(err, jwt.ErrTokenInvalidIssuer), errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
			// The only other required claim is iss.
			return ErrIssuer
		default:
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	switch {
	case c.TokenUse != v.cfg.TokenUse:
		return fmt.Errorf("%w: %q", ErrTokenUse, c.TokenUse)
	case v.clientIDs != nil && !v.clientIDs[c.ClientID]:
		return ErrClientID
	}
	return nil
}

// Stats are counters of a Verifier, for metrics.
type Stats struct {
	// Verified counts tokens verified with a signature check.
	Verified uint64
	// CacheHits counts tokens accepted from the verified-token cache.
	CacheHits uint64
	// CacheEntries is the number of cached verified tokens.
	CacheEntries int
	// Rejected counts rejected tokens by reason (see Reason).
	Rejected map[string]uint64
	// JWKSFetches and JWKSFailures count JWKS downloads and failed ones.
	JWKSFetches, JWKSFailures uint64
	// Keys is the number of trusted signing keys.
	Keys int
	// KeysFetched is when the trusted keys were fetched; zero if never.
	KeysFetched time.Time
}

// Stats returns the verifier's counters.
func (v *Verifier) Stats() Stats {
	s := Stats{
		Verified:     v.stats.verified.Load(),
		CacheHits:    v.stats.cacheHits.Load(),
		JWKSFetches:  v.stats.jwksFetches.Load(),
		JWKSFailures: v.stats.jwksFailures.Load(),
		Rejected:     map[string]uint64{},
	}
	for i, r := range reasons {
		s.Rejected[r.name] = v.stats.rejected[i].Load()
	}
	s.Rejected["other"] = v.stats.rejected[len(reasons)].Load()
	if v.cache != nil {
		s.CacheEntries = v.cache.len()
	}
	if ks := v.keys.Load(); ks != nil {
		s.Keys = len(ks.keys)
		s.KeysFetched = ks.fetched
	}
	return s
}

// KeyIDs returns the kids of the trusted keys, sorted.
func (v *Verifier) KeyIDs() []string {
	ks := v.keys.Load()
	if ks == nil {
		return nil
	}
	var ids []string
	for id := range ks.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// jitter returns d plus or minus 10%.
func jitter(d time.Duration) time.Duration {
	return d - d/10 + time.Duration(rand.Int64N(int64(d/5)+1))
}
