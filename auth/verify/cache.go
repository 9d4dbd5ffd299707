package verify

import (
	"crypto/rsa"
	"hash/maphash"
	"sync"
)

const cacheShards = 16

// cacheEntry is one verified token. The full token is kept and compared on a hit,
// so a hash collision can never return another token's claims; the hash alone
// selects the entry, with a per-process random seed, so an attacker cannot steer
// their token onto a cached one to time the comparison.
type cacheEntry struct {
	token    string
	claims   *Claims
	kid      string
	key      *rsa.PublicKey
	notAfter int64 // unix nanoseconds: exp plus leeway
}

// tokenCache is a bounded map of verified tokens keyed by a hash of the token,
// split in shards so that concurrent requests rarely share a lock.
type tokenCache struct {
	seed     maphash.Seed
	perShard int
	shards   [cacheShards]struct {
		mu sync.RWMutex
		m  map[uint64]*cacheEntry
	}
}

func newTokenCache(size int) *tokenCache {
	if size <= 0 {
		return nil
	}
	c := &tokenCache{seed: maphash.MakeSeed(), perShard: max(1, size/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]*cacheEntry)
	}
	return c
}

func (c *tokenCache) hash(token string) uint64 { return maphash.String(c.seed, token) }

func (c *tokenCache) get(h uint64, token string) *cacheEntry {
	s := &c.shards[h%cacheShards]
	s.mu.RLock()
	e := s.m[h]
	s.mu.RUnlock()
	if e == nil || e.token != token {
		return nil
	}
	return e
}

// put adds an entry. A full shard first drops its expired entries, then an
// arbitrary one.
func (c *tokenCache) put(h uint64, e *cacheEntry, now int64) {
	s := &c.shards[h%cacheShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[h]; !ok && len(s.m) >= c.perShard {
		for k, old := range s.m {
			if old.notAfter <= now {
				delete(s.m, k)
			}
		}
		if len(s.m) >= c.perShard {
			for k := range s.m {
				delete(s.m, k)
				break
			}
		}
	}
	s.m[h] = e
}

func (c *tokenCache) remove(h uint64, e *cacheEntry) {
	s := &c.shards[h%cacheShards]
	s.mu.Lock()
	if s.m[h] == e {
		delete(s.m, h)
	}
	s.mu.Unlock()
}

func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
