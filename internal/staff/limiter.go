package staff

import (
	"sync"
	"time"
)

// limiter is a fixed-window counter per key, in memory: each replica limits
// on its own, which bounds guessing well enough next to the per-account
// lockout kept in the database.
type limiter struct {
	now     func() time.Time
	mu      sync.Mutex
	windows map[string]window
}

type window struct {
	start time.Time
	count int
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, windows: map[string]window{}}
}

// allow counts one event for key and reports whether at most limit happened
// in the current window of length per.
func (l *limiter) allow(key string, limit int, per time.Duration) bool {
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
	return w.count <= limit
}
