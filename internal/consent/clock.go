package consent

import (
	"sync/atomic"
	"time"
)

// coarseClockTick is how often the decisions' clock moves: the vendor gate
// closes at most this late after an assessment's end (assessments last
// months), and a decision reads no system clock (about 60 ns here, a
// quarter of a decision).
const coarseClockTick = 100 * time.Millisecond

// coarseClock is the time decisions use, in Unix microseconds, set by a
// ticker of the service. With an injected clock (Config.Now, for tests)
// decisions read that instead, exactly.
type coarseClock struct{ micros atomic.Int64 }

func (c *coarseClock) now() int64 { return c.micros.Load() }

// run moves the clock every tick until stop is closed.
func (c *coarseClock) run(stop <-chan struct{}) {
	t := time.NewTicker(coarseClockTick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			c.micros.Store(now.UnixMicro())
		}
	}
}
