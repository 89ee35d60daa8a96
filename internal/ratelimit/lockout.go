package ratelimit

import (
	"strings"
	"sync"
	"time"
)

// Lockout counts failures per key (an account and the address it is tried
// from) and locks the key after a number of them, for a time that doubles
// with each further failure up to a maximum. A success clears the key; a
// key forgets its failures once a maximum lock's time has passed since its
// last failure and the end of its lock.
type Lockout struct {
	now       func() time.Time
	after     int
	base, max time.Duration

	mu      sync.Mutex
	entries map[string]lockEntry
}

type lockEntry struct {
	failures int
	last     time.Time
	until    time.Time
}

// NewLockout returns a lockout that locks a key after `after` failures for
// base, doubling up to max.
func NewLockout(now func() time.Time, after int, base, max time.Duration) *Lockout {
	return &Lockout{now: now, after: after, base: base, max: max, entries: map[string]lockEntry{}}
}

// Locked returns when key's lock ends, or the zero time when it is not
// locked.
func (l *Lockout) Locked(key string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.live(key)
	if !ok || !l.now().Before(e.until) {
		return time.Time{}
	}
	return e.until
}

// Failures returns key's failures still remembered.
func (l *Lockout) Failures(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, _ := l.live(key)
	return e.failures
}

// live returns key's entry unless it is forgotten (l.mu held).
func (l *Lockout) live(key string) (lockEntry, bool) {
	e, ok := l.entries[key]
	if ok && l.stale(e, l.now()) {
		delete(l.entries, key)
		return lockEntry{}, false
	}
	return e, ok
}

// stale reports whether an entry has been quiet for a maximum lock since
// its last failure and the end of its lock.
func (l *Lockout) stale(e lockEntry, now time.Time) bool {
	last := e.last
	if e.until.After(last) {
		last = e.until
	}
	return now.Sub(last) >= l.max
}

// Fail counts a failure of key and returns when its lock ends (the zero
// time when the failure did not lock it).
func (l *Lockout) Fail(key string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.entries) > 100000 {
		for k, e := range l.entries {
			if l.stale(e, now) {
				delete(l.entries, k)
			}
		}
	}
	e, _ := l.live(key)
	e.failures++
	e.last = now
	if e.failures >= l.after {
		e.until = now.Add(min(l.base<<min(e.failures-l.after, 20), l.max))
	}
	l.entries[key] = e
	if e.failures >= l.after {
		return e.until
	}
	return time.Time{}
}

// Reset forgets key's failures, after a success.
func (l *Lockout) Reset(key string) {
	l.mu.Lock()
	delete(l.entries, key)
	l.mu.Unlock()
}

// LockedPrefix counts the keys beginning with prefix that are locked now
// (an account's locked addresses: "email|").
func (l *Lockout) LockedPrefix(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	now, n := l.now(), 0
	for k, e := range l.entries {
		if strings.HasPrefix(k, prefix) && now.Before(e.until) {
			n++
		}
	}
	return n
}

// ResetPrefix forgets the failures of every key beginning with prefix, as
// when an administrator unlocks an account.
func (l *Lockout) ResetPrefix(prefix string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.entries {
		if strings.HasPrefix(k, prefix) {
			delete(l.entries, k)
		}
	}
}
