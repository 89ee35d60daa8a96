// Package clock gives Steward's services a clock that never goes back.
//
// The wall clock of a machine can jump: an operator sets it by hand, a
// virtual machine resumes, NTP steps it. Forward is safe for Steward (codes
// and sessions end early, deadlines come sooner: it fails closed). Back is
// not: a customer session or a sign-in code that has ended would be valid
// again, a paused deadline would resume with a negative pause, and a
// request filed after the jump would seem older than one filed before it.
//
// Steady reads the wall clock, and when it reads a time earlier than one it
// has given, it gives instead the last time plus the time that has really
// passed since, as the process's monotonic clock measures it. A jump back
// is therefore ignored until the process restarts; a jump forward is taken.
// NotBefore raises the floor at start from the latest time the store
// recorded (the audit log's head), so that a restart on a clock that went
// back does not revive what ended either.
//
//	c := clock.NewSteady(time.Now)
//	c.NotBefore(lastAuditEntry)
//	customers, _ := customer.New(customer.Config{..., Now: c.Now})
package clock

import (
	"sync"
	"time"
)

// Steady is a clock that never goes back. It is safe for concurrent use.
type Steady struct {
	wall    func() time.Time
	elapsed func() time.Duration

	mu       sync.Mutex
	last     time.Time     // the latest time given
	lastMono time.Duration // elapsed() when last was given
}

// NewSteady returns a steady clock over wall (time.Now when nil), which
// measures the time that passes with the process's monotonic clock.
func NewSteady(wall func() time.Time) *Steady {
	start := time.Now() // carries a monotonic reading
	return NewSteadyWith(wall, func() time.Duration { return time.Since(start) })
}

// NewSteadyWith is NewSteady with the measure of elapsed time given (for
// tests, which move both clocks by hand). elapsed must never decrease.
func NewSteadyWith(wall func() time.Time, elapsed func() time.Duration) *Steady {
	if wall == nil {
		wall = time.Now
	}
	return &Steady{wall: wall, elapsed: elapsed}
}

// Now returns the wall clock's time, or, when the wall clock has gone back
// behind a time already given, that time plus what has passed since.
func (c *Steady) Now() time.Time {
	wall := c.wall()
	mono := c.elapsed()
	c.mu.Lock()
	defer c.mu.Unlock()
	now := wall
	if !c.last.IsZero() {
		if steady := c.last.Add(mono - c.lastMono); now.Before(steady) {
			now = steady
		}
	}
	c.last, c.lastMono = now, mono
	return now
}

// NotBefore makes the clock give no time earlier than t (the latest time
// the store recorded), advancing from it as time passes.
func (c *Steady) NotBefore(t time.Time) {
	mono := c.elapsed()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last.IsZero() || c.last.Add(mono-c.lastMono).Before(t) {
		c.last, c.lastMono = t, mono
	}
}
