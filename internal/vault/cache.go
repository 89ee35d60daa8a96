package vault

import (
	"bytes"
	"container/list"
	"crypto/cipher"
	"sync"
	"time"
)

// keyCache keeps unwrapped data keys (as ready AEADs) for a short time, so
// that a burst of reads of one subject unwraps its key once. It is a bounded
// LRU with a TTL. An entry is used only when the subject's stored key row
// still matches it exactly (KEK version, data key version and wrapped
// bytes), so a rewrapped, replaced or tampered key row is never answered
// from the cache; erasure and rotation also drop entries outright.
type keyCache struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	now   func() time.Time
	order *list.List // front: most recently used; values are *cacheEntry
	items map[string]*list.Element
}

type cacheEntry struct {
	subject    string
	kekVersion int
	dekVersion int
	wrapped    []byte
	aead       cipher.AEAD
	expires    time.Time
}

func newKeyCache(max int, ttl time.Duration, now func() time.Time) *keyCache {
	return &keyCache{max: max, ttl: ttl, now: now, order: list.New(), items: map[string]*list.Element{}}
}

func (c *keyCache) enabled() bool { return c != nil && c.max > 0 && c.ttl > 0 }

// get returns the cached AEAD for the key row, if any.
func (c *keyCache) get(row keyRow) cipher.AEAD {
	if !c.enabled() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[row.subject]
	if !ok {
		return nil
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) || e.kekVersion != row.kekVersion || e.dekVersion != row.dekVersion ||
		!bytes.Equal(e.wrapped, row.wrapped) {
		c.order.Remove(el)
		delete(c.items, row.subject)
		return nil
	}
	c.order.MoveToFront(el)
	return e.aead
}

// put caches the AEAD for the key row, evicting the least recently used
// entry when full.
func (c *keyCache) put(row keyRow, aead cipher.AEAD) {
	if !c.enabled() {
		return
	}
	e := &cacheEntry{
		subject: row.subject, kekVersion: row.kekVersion, dekVersion: row.dekVersion,
		wrapped: bytes.Clone(row.wrapped), aead: aead, expires: c.now().Add(c.ttl),
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[row.subject]; ok {
		el.Value = e
		c.order.MoveToFront(el)
		return
	}
	c.items[row.subject] = c.order.PushFront(e)
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).subject)
	}
}

// drop forgets subject's key.
func (c *keyCache) drop(subject string) {
	if !c.enabled() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[subject]; ok {
		c.order.Remove(el)
		delete(c.items, subject)
	}
}

// purge forgets every key.
func (c *keyCache) purge() {
	if !c.enabled() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.order.Init()
	clear(c.items)
}

// len returns the number of cached keys.
func (c *keyCache) len() int {
	if !c.enabled() {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
