package verify

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"time"
)

// maxJWKSSize bounds the JWKS document; Cognito's is about 1 KiB.
const maxJWKSSize = 1 << 20

// keySet is one fetched JWKS: the RSA signature keys by kid.
type keySet struct {
	keys    map[string]*rsa.PublicKey
	fetched time.Time
}

type jwk struct {
	Kid string `json:"kid"`
	Kty string `json:"kty"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// parseJWKS returns the RS256 signature keys of a JWKS document. Keys of other
// types or uses are skipped; a document without one usable key is an error, so
// that a broken response never replaces a working key set. Keys equal to one in
// prev keep prev's pointer, so that cached verifications survive a refresh that
// did not change the key.
func parseJWKS(doc []byte, prev *keySet) (map[string]*rsa.PublicKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("decode JWKS: %w", err)
	}
	keys := make(map[string]*rsa.PublicKey, len(set.Keys))
	var skipped []string
	for _, k := range set.Keys {
		if k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") || (k.Alg != "" && k.Alg != "RS256") || k.Kid == "" {
			continue
		}
		pub, err := rsaKey(k.N, k.E)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("kid %q: %v", k.Kid, err))
			continue
		}
		if prev != nil {
			if old, ok := prev.keys[k.Kid]; ok && old.E == pub.E && old.N.Cmp(pub.N) == 0 {
				pub = old
			}
		}
		keys[k.Kid] = pub
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("JWKS has no usable RS256 key (%d keys; %s)", len(set.Keys), strings.Join(skipped, "; "))
	}
	return keys, nil
}

func decodeB64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func rsaKey(n64, e64 string) (*rsa.PublicKey, error) {
	nb, err := decodeB64(n64)
	if err != nil {
		return nil, fmt.Errorf("modulus: %w", err)
	}
	eb, err := decodeB64(e64)
	if err != nil {
		return nil, fmt.Errorf("exponent: %w", err)
	}
	n := new(big.Int).SetBytes(nb)
	if n.BitLen() < 2048 || n.BitLen() > 8192 {
		return nil, fmt.Errorf("modulus of %d bits", n.BitLen())
	}
	e := new(big.Int).SetBytes(eb)
	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || e.Bit(0) == 0 {
		return nil, errors.New("bad exponent")
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

// fetchJWKS downloads the JWKS document.
func (v *Verifier) fetchJWKS(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, v.cfg.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("GET %s: %s", v.cfg.JWKSURL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", v.cfg.JWKSURL, err)
	}
	if len(body) > maxJWKSSize {
		return nil, fmt.Errorf("GET %s: JWKS larger than %d bytes", v.cfg.JWKSURL, maxJWKSSize)
	}
	return body, nil
}

// fetchCall is one JWKS fetch that callers can wait for.
type fetchCall struct {
	done chan struct{}
	err  error
}

// Refresh fetches the JWKS and replaces the key set: keys that left the
// document are no longer trusted. On error the current keys stay. A fetch
// already in flight is joined rather than doubled; ctx bounds only the wait,
// the fetch goes on (within FetchTimeout) for the others.
func (v *Verifier) Refresh(ctx context.Context) error {
	v.fetchMu.Lock()
	c := v.fetchLocked()
	v.fetchMu.Unlock()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return fmt.Errorf("wait for JWKS from %s: %w", v.cfg.JWKSURL, ctx.Err())
	}
}

// fetchLocked returns the fetch in flight, or starts one: there is never more
// than one. It runs on its own goroutine and context, so that a caller that
// stops waiting does not cancel it for the others.
func (v *Verifier) fetchLocked() *fetchCall {
	if v.inflight != nil {
		return v.inflight
	}
	c := &fetchCall{done: make(chan struct{})}
	v.inflight = c
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), v.cfg.FetchTimeout)
		err := v.load(ctx)
		cancel()
		v.stats.jwksFetches.Add(1)
		if err != nil {
			v.stats.jwksFailures.Add(1)
			v.lastErr.Store(&err)
		} else {
			v.lastErr.Store(nil)
		}
		v.fetchMu.Lock()
		v.inflight = nil
		v.fetchMu.Unlock()
		c.err = err
		close(c.done)
	}()
	return c
}

// load fetches and parses the JWKS and stores the new key set.
func (v *Verifier) load(ctx context.Context) error {
	doc, err := v.fetchJWKS(ctx)
	if err != nil {
		return fmt.Errorf("fetch JWKS: %w", err)
	}
	keys, err := parseJWKS(doc, v.keys.Load())
	if err != nil {
		return fmt.Errorf("JWKS from %s: %w", v.cfg.JWKSURL, err)
	}
	v.keys.Store(&keySet{keys: keys, fetched: v.clock.Now()})
	return nil
}

// awaitKey is asked for the key of a token whose kid the key set lacks, or when
// no keys are loaded. It joins the fetch in flight, or starts one unless a
// token with an unknown kid started one less than MinRefreshInterval ago, and
// waits for it at most UnknownKeyWait and while ctx lasts. Forged kids thus
// cost one fetch per interval however many arrive, and a fetch outlasting the
// wait goes on in the background for the next request.
func (v *Verifier) awaitKey(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	now := v.clock.Now()
	v.fetchMu.Lock()
	c := v.inflight
	if c == nil && (v.lastAsked.IsZero() || now.Sub(v.lastAsked) >= v.cfg.MinRefreshInterval) {
		v.lastAsked = now
		c = v.fetchLocked()
	}
	v.fetchMu.Unlock()
	if c != nil && v.cfg.UnknownKeyWait > 0 {
		t := time.NewTimer(v.cfg.UnknownKeyWait)
		select {
		case <-c.done:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	ks := v.keys.Load()
	if ks == nil {
		return nil, ErrKeysNotReady
	}
	if pub := ks.keys[kid]; pub != nil {
		return pub, nil
	}
	return nil, ErrUnknownKey
}

// Run keeps the key set fresh until ctx ends: it fetches at once, retries with
// backoff until keys are loaded, then refreshes every RefreshInterval (with
// jitter), on the verifier's clock. Verify works without Run, fetching on
// demand, but Run makes a service ready before its first request.
func (v *Verifier) Run(ctx context.Context) {
	backoff := time.Second
	for {
		var wait time.Duration
		if err := v.Refresh(ctx); err != nil && v.keys.Load() == nil {
			wait = jitter(backoff)
			backoff = min(2*backoff, time.Minute)
		} else {
			backoff = time.Second
			wait = jitter(v.cfg.RefreshInterval)
		}
		due := make(chan struct{})
		stop := v.clock.AfterFunc(wait, func() { close(due) })
		select {
		case <-ctx.Done():
			stop()
			return
		case <-due:
		}
	}
}
