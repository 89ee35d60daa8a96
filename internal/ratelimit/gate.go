package ratelimit

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrBusy is Gate.Do's answer when every slot is taken and the queue is
// full, or the wait in the queue ran out: the caller should answer 503 with
// Retry-After rather than pile up more work.
var ErrBusy = errors.New("busy: too much work of this kind at once")

// Gate bounds how many expensive operations (password hashes) run at once,
// with a short queue in front. Unlike a rate limit it holds no per-key
// state: it protects the machine, whoever asks.
type Gate struct {
	slots chan struct{}
	queue chan struct{}
	wait  time.Duration
	after func(time.Duration) <-chan time.Time

	mu                             sync.Mutex
	inFlight, maxInFlight, refused int
}

// NewGate returns a gate of size slots, with room for queue waiters who
// each wait at most wait for a slot.
func NewGate(size, queue int, wait time.Duration) *Gate {
	return &Gate{slots: make(chan struct{}, max(size, 1)), queue: make(chan struct{}, max(queue, 0)), wait: wait, after: time.After}
}

// Size is the number of slots.
func (g *Gate) Size() int { return cap(g.slots) }

// Wait is the longest a caller waits in the queue; callers turned away may
// retry after about this long.
func (g *Gate) Wait() time.Duration { return g.wait }

// Do runs fn in a slot, waiting in the queue when all are taken. It returns
// ErrBusy without running fn when the queue is full or the wait runs out,
// and ctx's error when ctx ends first.
func (g *Gate) Do(ctx context.Context, fn func()) error {
	select {
	case g.slots <- struct{}{}:
	default:
		select {
		case g.queue <- struct{}{}:
		default:
			g.count(&g.refused)
			return ErrBusy
		}
		err := g.waitSlot(ctx)
		<-g.queue
		if err != nil {
			return err
		}
	}
	g.mu.Lock()
	g.inFlight++
	g.maxInFlight = max(g.maxInFlight, g.inFlight)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.inFlight--
		g.mu.Unlock()
		<-g.slots
	}()
	fn()
	return nil
}

func (g *Gate) waitSlot(ctx context.Context) error {
	timeout := g.after(g.wait)
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-timeout:
		g.count(&g.refused)
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *Gate) count(n *int) {
	g.mu.Lock()
	*n++
	g.mu.Unlock()
}

// GateStats are a gate's counters since it was made.
type GateStats struct {
	InFlight, MaxInFlight, Refused int
}

// Stats returns the gate's counters.
func (g *Gate) Stats() GateStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return GateStats{InFlight: g.inFlight, MaxInFlight: g.maxInFlight, Refused: g.refused}
}
