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

// Refresh fetches the JWKS now and replaces the key set: keys that left the
// document are no longer trusted. On error the current keys stay.
func (v *Verifier) Refresh(ctx context.Context) error {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	v.lastFetch.Store(v.cfg.Now().UnixNano())
	v.stats.jwksFetches.Add(1)
	err := v.refreshLocked(ctx)
	if err != nil {
		v.stats.jwksFailures.Add(1)
		v.lastErr.Store(&err)
	} else {
		v.lastErr.Store(nil)
	}
	return err
}

func (v *Verifier) refreshLocked(ctx context.Context) error {
	doc, err := v.fetchJWKS(ctx)
	if err != nil {
		return fmt.Errorf("fetch JWKS: %w", err)
	}
	keys, err := parseJWKS(doc, v.keys.Load())
	if err != nil {
		return fmt.Errorf("JWKS from %s: %w", v.cfg.JWKSURL, err)
	}
	v.keys.Store(&keySet{keys: keys, fetched: v.cfg.Now()})
	return nil
}

// refreshSoon starts one background refresh unless one is running or one started
// less than MinRefreshInterval ago. It never blocks: a request with an unknown kid
// is rejected at once, and at most one goroutine fetches however many such
// requests arrive.
func (v *Verifier) refreshSoon() {
	last := v.lastFetch.Load()
	if last != 0 && v.cfg.Now().UnixNano()-last < int64(v.cfg.MinRefreshInterval) {
		return
	}
	if !v.refreshing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer v.refreshing.Store(false)
		v.Refresh(context.Background())
	}()
}

// Run keeps the key set fresh until ctx ends: it fetches at once, retries with
// backoff until keys are loaded, then refreshes every RefreshInterval (with
// jitter). Verify works without Run, fetching on demand, but Run makes a service
// ready before its first request.
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
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
