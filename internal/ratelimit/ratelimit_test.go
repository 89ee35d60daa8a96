package ratelimit_test

import (
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/ratelimit"
)

func TestAllow(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	l := ratelimit.New(func() time.Time { return now })
	for i := 1; i <= 4; i++ {
		if got, want := l.Allow("a", 3, time.Minute), i <= 3; got != want {
			t.Fatalf("event %d: Allow = %v", i, got)
		}
	}
	if !l.Allow("b", 3, time.Minute) {
		t.Fatal("keys share a window")
	}
	now = now.Add(time.Minute)
	if !l.Allow("a", 3, time.Minute) {
		t.Fatal("a new window still refuses")
	}
}
