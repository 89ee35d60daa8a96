// Package ratelimit counts events per key in fixed windows, in memory, to
// slow down guessing (sign-in attempts, one-time codes); locks a key after
// failures with back-off (Lockout); and bounds how much expensive work
// (password hashes) runs at once (Gate):
//
//	limits := ratelimit.New(time.Now)
//	if !limits.Allow("ip:"+ip, 20, time.Minute) { ... refuse ... }
//	err := hashes.Do(ctx, func() { ... }) // ErrBusy: answer 503
//
// Each replica limits on its own; the per-account lockouts and attempt
// counters kept in the database are what bound guessing across replicas.
package ratelimit

import (
	"sync"
	"time"
)

// Limiter is a fixed-window counter per key. It is safe for concurrent use.
type Limiter struct {
	now     func() time.Time
	mu      sync.Mutex
	windows map[string]window
}

type window struct {
	start time.Time
	count int
}

// New returns a limiter on the clock now.
func New(now func() time.Time) *Limiter {
	return &Limiter{now: now, windows: map[string]window{}}
}

// Allow counts one event for key and reports whether at most limit happened
// in the current window of length per.
func (l *Limiter) Allow(key string, limit int, per time.Duration) bool {
	ok, _ := l.Try(key, limit, per)
	return ok
}

// Try is Allow that also returns when the current window ends: when a
// refused caller may try again.
func (l *Limiter) Try(key string, limit int, per time.Duration) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.windows) > 100000 {
		for k, w := range l.windows {
			if now.Sub(w.start) >= per {
				delete(l.windows, k)
			}
		}
	}
	w := l.windows[key]
	if now.Sub(w.start) >= per {
		w = window{start: now}
	}
	w.count++
	l.windows[key] = w
	return w.count <= limit, w.start.Add(per)
}
