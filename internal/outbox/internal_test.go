package outbox

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := DefaultBackoff()
	lowest := func(int64) int64 { return 0 }
	highest := func(n int64) int64 { return n - 1 }
	cases := []struct {
		attempt int
		nominal time.Duration
	}{
		{1, 5 * time.Second},
		{2, 10 * time.Second},
		{3, 20 * time.Second},
		{10, 2560 * time.Second},
		{11, time.Hour},
		{80, time.Hour},
	}
	for _, c := range cases {
		if got := b.nominal(c.attempt); got != c.nominal {
			t.Errorf("nominal(%d) = %v, want %v", c.attempt, got, c.nominal)
		}
		if lo, hi := b.delay(c.attempt, lowest), b.delay(c.attempt, highest); lo != c.nominal/2 || hi < c.nominal*3/2-time.Nanosecond || hi >= c.nominal*3/2 {
			t.Errorf("delay(%d) spans [%v, %v], want [%v, %v)", c.attempt, lo, hi, c.nominal/2, c.nominal*3/2)
		}
	}
	// Jitter: waits after the same failure differ.
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[b.delay(3, nil)] = true
	}
	if len(seen) < 10 {
		t.Errorf("20 delays took %d values; want jitter", len(seen))
	}
	// The default schedule tries for the horizon about 80 times.
	var total time.Duration
	n := 0
	for total < b.Horizon {
		n++
		total += b.nominal(n)
	}
	if n < 60 || n > 100 {
		t.Errorf("%d attempts fit in the horizon; want about 80", n)
	}
	if got := (Backoff{Base: time.Second}).withDefaults(); got.Max != time.Hour || got.Horizon != 72*time.Hour {
		t.Errorf("defaults = %+v", got)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"120", 2 * time.Minute, true},
		{"0", 0, true},
		{" 5 ", 5 * time.Second, true},
		{"Sat, 28 Nov 2026 09:00:30 GMT", 30 * time.Second, true},
		{"Sat, 28 Nov 2026 08:00:00 GMT", 0, true},
		{"99999999999999999999999", time.Duration(1<<63 - 1), true},
		{"", 0, false},
		{"-5", 0, false},
		{"soon", 0, false},
		{"1.5", 0, false},
	}
	for _, c := range cases {
		h := http.Header{}
		if c.value != "" {
			h.Set("Retry-After", c.value)
		}
		got, ok := retryAfter(h, now)
		if got != c.want || ok != c.ok {
			t.Errorf("Retry-After %q = %v, %v; want %v, %v", c.value, got, ok, c.want, c.ok)
		}
	}
}

func TestSnippet(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"maintenance", "maintenance"},
		{"unknown customer <ada.lovelace@example.org>\r\n\tplease retry", "unknown customer <[redacted]> please retry"},
		{"{\"error\":\"bob@example.com not found\"}", "{\"error\":\"[redacted] not found\"}"},
		{"\xff\xfebinary\x00junk", "?binary junk"},
		{strings.Repeat("é", 80), strings.Repeat("é", 50) + "…"},
	}
	for _, c := range cases {
		if got := snippetOf([]byte(c.in)); got != c.want {
			t.Errorf("snippetOf(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
