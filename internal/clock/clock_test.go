package clock_test

import (
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/clock"
)

// fake is a wall clock that can jump and a monotonic clock that cannot.
type fake struct {
	wall time.Time
	mono time.Duration
}

func (f *fake) pass(d time.Duration) { f.wall = f.wall.Add(d); f.mono += d }

func TestSteady(t *testing.T) {
	start := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		run  func(f *fake, c *clock.Steady) (got, want time.Time)
	}{
		{"follows the wall clock", func(f *fake, c *clock.Steady) (time.Time, time.Time) {
			c.Now()
			f.pass(time.Minute)
			return c.Now(), start.Add(time.Minute)
		}},
		{"a jump back is ignored, time goes on", func(f *fake, c *clock.Steady) (time.Time, time.Time) {
			c.Now()
			f.pass(10 * time.Minute)
			f.wall = f.wall.Add(-time.Hour)
			c.Now()
			f.pass(5 * time.Minute)
			return c.Now(), start.Add(15 * time.Minute)
		}},
		{"a jump forward is taken", func(f *fake, c *clock.Steady) (time.Time, time.Time) {
			c.Now()
			f.wall = f.wall.Add(time.Hour)
			return c.Now(), start.Add(time.Hour)
		}},
		{"the wall clock catching up is followed again", func(f *fake, c *clock.Steady) (time.Time, time.Time) {
			c.Now()
			f.wall = f.wall.Add(-time.Hour)
			c.Now()
			f.wall = f.wall.Add(time.Hour + time.Second)
			return c.Now(), start.Add(time.Second)
		}},
		{"the floor from the store holds after a restart", func(f *fake, c *clock.Steady) (time.Time, time.Time) {
			c.NotBefore(start.Add(time.Hour)) // the store saw later times
			f.pass(time.Minute)
			return c.Now(), start.Add(time.Hour + time.Minute)
		}},
		{"an older floor changes nothing", func(f *fake, c *clock.Steady) (time.Time, time.Time) {
			c.NotBefore(start.Add(-time.Hour))
			return c.Now(), start
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fake{wall: start}
			c := clock.NewSteadyWith(func() time.Time { return f.wall }, func() time.Duration { return f.mono })
			if got, want := tc.run(f, c); !got.Equal(want) {
				t.Fatalf("Now() = %s, want %s", got, want)
			}
		})
	}
}
