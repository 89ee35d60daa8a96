package outbox

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff is the retry schedule of failed deliveries. After the n-th
// failed attempt the next waits Base·2ⁿ⁻¹, at most Max, scaled by a random
// factor between ½ and 1½ so that messages that failed together (the
// receiver was down) do not all come back together and knock it over
// again. Attempts go on until Horizon after the first attempt; the last one
// is made at the horizon, and if it fails too, the message is a dead letter.
// Tests compress the whole schedule into seconds.
type Backoff struct {
	Base    time.Duration
	Max     time.Duration
	Horizon time.Duration
	// MaxRetryAfter bounds the wait a 429 or 503 asks for with
	// Retry-After, so that a receiver cannot park its messages for a week.
	MaxRetryAfter time.Duration
}

// DefaultBackoff retries after about 5 s, 10 s, 20 s ... then every hour,
// for 3 days after the first attempt (some 80 attempts): long enough to
// ride out a weekend's outage of a receiver, as Standard Webhooks
// recommends a schedule of several days.
func DefaultBackoff() Backoff {
	return Backoff{Base: 5 * time.Second, Max: time.Hour, Horizon: 72 * time.Hour, MaxRetryAfter: time.Hour}
}

func (b Backoff) withDefaults() Backoff {
	def := DefaultBackoff()
	if b.Base <= 0 {
		b.Base = def.Base
	}
	if b.Max <= 0 {
		b.Max = max(def.Max, b.Base)
	}
	if b.Horizon <= 0 {
		b.Horizon = def.Horizon
	}
	if b.MaxRetryAfter <= 0 {
		b.MaxRetryAfter = max(def.MaxRetryAfter, b.Max)
	}
	return b
}

// nominal is the wait after failed attempt n (1 for the first), without
// jitter.
func (b Backoff) nominal(n int) time.Duration {
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// delay is the wait after failed attempt n: nominal(n) times a factor in
// [½, 1½), drawn by random (rand.Int64N when nil).
func (b Backoff) delay(n int, random func(int64) int64) time.Duration {
	if random == nil {
		random = rand.Int64N
	}
	d := b.nominal(n)
	return d/2 + time.Duration(random(int64(d)))
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110, 10.2.3). A date in the past means now; false when the header
// is absent or malformed.
func retryAfter(header http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if strings.Trim(v, "0123456789") == "" {
		seconds, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			// Too many digits for an int64: as long as can be, and
			// MaxRetryAfter bounds it.
			return time.Duration(1<<63 - 1), true
		}
		if seconds > int64((1<<63-1)/time.Second) {
			return time.Duration(1<<63 - 1), true
		}
		return time.Duration(seconds) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}
