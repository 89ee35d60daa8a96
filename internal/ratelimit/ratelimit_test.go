package ratelimit_test

import (
	"context"
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

func TestLockout(t *testing.T) {
	start := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	now := start
	l := ratelimit.NewLockout(func() time.Time { return now }, 3, time.Minute, 8*time.Minute)
	steps := []struct {
		name      string
		advance   time.Duration
		fail      bool
		wantLock  time.Duration // from now; 0 for not locked
		otherFree bool
	}{
		{name: "first failure", fail: true},
		{name: "second failure", fail: true},
		{name: "third failure locks for the base", fail: true, wantLock: time.Minute},
		{name: "still locked", advance: 30 * time.Second, wantLock: 30 * time.Second},
		{name: "lock over", advance: 30 * time.Second},
		{name: "next failure doubles", fail: true, wantLock: 2 * time.Minute},
		{name: "and again", advance: 2 * time.Minute, fail: true, wantLock: 4 * time.Minute},
		{name: "up to the maximum", advance: 4 * time.Minute, fail: true, wantLock: 8 * time.Minute},
		{name: "capped", advance: 8 * time.Minute, fail: true, wantLock: 8 * time.Minute},
		{name: "forgotten after a quiet maximum", advance: 16 * time.Minute},
		{name: "counting starts again", fail: true},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		if st.fail {
			l.Fail("acct|192.0.2.1")
		}
		until := l.Locked("acct|192.0.2.1")
		if got := until.Sub(now); (st.wantLock == 0 && !until.IsZero()) || (st.wantLock != 0 && got != st.wantLock) {
			t.Fatalf("%s: locked until %v (%v from now), want %v", st.name, until, got, st.wantLock)
		}
		if !l.Locked("acct|198.51.100.9").IsZero() {
			t.Fatalf("%s: another address of the account is locked", st.name)
		}
	}
	if l.Failures("acct|192.0.2.1") != 1 {
		t.Fatalf("failures = %d after forgetting", l.Failures("acct|192.0.2.1"))
	}
	l.Reset("acct|192.0.2.1")
	if l.Failures("acct|192.0.2.1") != 0 {
		t.Fatal("Reset kept the failures")
	}
}

// TestGateBoundsConcurrency holds every slot, fills the queue and checks
// that the rest are refused at once, then that the queue drains and no
// more than the gate's size ever ran together.
func TestGateBoundsConcurrency(t *testing.T) {
	const size, queue, callers = 2, 3, 40
	g := ratelimit.NewGate(size, queue, time.Hour) // the queue's wait never runs out in this test
	release := make(chan struct{})
	results := make(chan error, callers)
	for range callers {
		go func() {
			results <- g.Do(context.Background(), func() { <-release })
		}()
	}
	// While the holders hold, only refusals can come back.
	for i := range callers - size - queue {
		if err := <-results; err != ratelimit.ErrBusy {
			t.Fatalf("result %d while full: %v, want ErrBusy", i, err)
		}
	}
	close(release)
	for i := range size + queue {
		if err := <-results; err != nil {
			t.Fatalf("held or queued call %d: %v", i, err)
		}
	}
	st := g.Stats()
	if st.MaxInFlight > size || st.MaxInFlight < 1 || st.Refused != callers-size-queue || st.InFlight != 0 {
		t.Fatalf("stats %+v", st)
	}
}
