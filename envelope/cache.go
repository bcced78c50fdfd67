package envelope

import "sync"

// maxCached bounds each of the package's caches (built chains, OCSP answers, CRLs); a full cache starts
// afresh, which costs a few rebuilds and keeps memory bounded whatever the number of signers seen.
const maxCached = 10000

// cache is a bounded map safe for concurrent use.
type cache[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

func (c *cache[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *cache[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = make(map[K]V)
	}
	c.m[k] = v
}
