package keystoneauth

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

// CacheOptions tunes the token cache.
type CacheOptions struct {
	// TTL bounds how long a valid token is trusted without asking Keystone
	// again, and so how long a revoked token can still be accepted; it is
	// further bounded by the token's expiry. <= 0 disables caching.
	TTL time.Duration
	// NegativeTTL is how long "invalid token" answers are remembered, so a
	// client retrying a bad token does not hammer Keystone. Errors other
	// than ErrTokenInvalid are never cached.
	NegativeTTL time.Duration
	// MaxEntries bounds memory; 0 means 10000.
	MaxEntries int
	Now        func() time.Time
}

// Cache remembers validation results by the token's SHA-256 (the token
// itself is not kept) and runs one Keystone call per token at a time.
type Cache struct {
	opts     CacheOptions
	mu       sync.Mutex
	entries  map[[32]byte]cacheEntry
	inflight map[[32]byte]*call
}

type cacheEntry struct {
	id    *Identity // nil: known invalid
	until time.Time
}

type call struct {
	done chan struct{}
	id   *Identity
	err  error
}

// NewCache returns an empty cache.
func NewCache(opts CacheOptions) *Cache {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Cache{opts: opts, entries: map[[32]byte]cacheEntry{}, inflight: map[[32]byte]*call{}}
}

// Get returns the cached result for token or runs fetch once for all
// concurrent callers of the same token; hit tells whether Keystone was
// spared.
func (c *Cache) Get(ctx context.Context, token string, fetch func(context.Context) (*Identity, error)) (id *Identity, hit bool, err error) {
	key := sha256.Sum256([]byte(token))
	now := c.opts.Now()
	c.mu.Lock()
	if e, ok := c.entries[key]; ok {
		if now.Before(e.until) && (e.id == nil || now.Before(e.id.ExpiresAt)) {
			c.mu.Unlock()
			if e.id == nil {
				return nil, true, ErrTokenInvalid
			}
			return e.id, true, nil
		}
		delete(c.entries, key)
	}
	if cl, ok := c.inflight[key]; ok {
		c.mu.Unlock()
		select {
		case <-cl.done:
			return cl.id, true, cl.err
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
	cl := &call{done: make(chan struct{})}
	c.inflight[key] = cl
	c.mu.Unlock()

	// a caller giving up must not fail the others waiting on this call
	cl.id, cl.err = fetch(context.WithoutCancel(ctx))
	c.mu.Lock()
	delete(c.inflight, key)
	c.store(key, cl.id, cl.err)
	c.mu.Unlock()
	close(cl.done)
	return cl.id, false, cl.err
}

// store keeps a result; caller holds mu.
func (c *Cache) store(key [32]byte, id *Identity, err error) {
	now := c.opts.Now()
	var until time.Time
	switch {
	case err == nil && c.opts.TTL > 0:
		until = now.Add(c.opts.TTL)
		if id.ExpiresAt.Before(until) {
			until = id.ExpiresAt
		}
	case errors.Is(err, ErrTokenInvalid) && c.opts.NegativeTTL > 0:
		until = now.Add(c.opts.NegativeTTL)
	default:
		return
	}
	if !now.Before(until) {
		return
	}
	if len(c.entries) >= c.opts.MaxEntries {
		c.evict(now)
	}
	c.entries[key] = cacheEntry{id: id, until: until}
}

// evict drops expired entries, then arbitrary ones down to 90% of the cap.
func (c *Cache) evict(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.until) {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) < c.opts.MaxEntries*9/10 {
			break
		}
		delete(c.entries, k)
	}
}

// Len is the number of cached results.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
