package db

import (
	"cmp"
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/steward-dev/steward/internal/errs"
)

// GroupCommit writes concurrent callers' writes in shared transactions:
// callers queue their writes, and one of them (the leader) writes the
// queue in one transaction, then hands the lead to the first caller still
// waiting. One commit (one fsync on SQLite) then serves a whole batch
// instead of one write, and no caller keeps writing for others under
// sustained load. The zero value is not usable; set DB.
type GroupCommit struct {
	DB *DB
	// MaxBatch bounds the writes of one transaction (default 128).
	MaxBatch int

	mu      sync.Mutex
	queue   []*groupWrite
	leading bool
}

type groupWrite struct {
	write func(ctx context.Context, tx *sql.Tx) error
	err   error
	done  chan struct{} // closed when written, or failed
	turn  chan struct{} // closed when this caller is to lead the next batch
}

// Do runs write in a transaction shared with other callers and returns
// once it is committed (or has failed), with the transaction's error. Once
// queued, the write is carried out even if ctx ends: the batch is not its
// leader's alone. write may run twice: if the shared transaction fails for
// a reason other than the store being unavailable, each write of the
// batch runs again in a transaction of its own, so that one faulty write
// does not fail the others.
func (g *GroupCommit) Do(ctx context.Context, write func(ctx context.Context, tx *sql.Tx) error) error {
	p := &groupWrite{write: write, done: make(chan struct{}), turn: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, p)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	if !lead {
		select {
		case <-p.done:
			return p.err
		case <-p.turn:
		}
	}
	g.lead(ctx)
	<-p.done
	return p.err
}

// lead writes one batch from the queue, which holds the leader's own
// write, then hands the lead on.
func (g *GroupCommit) lead(ctx context.Context) {
	g.mu.Lock()
	n := min(len(g.queue), cmp.Or(g.MaxBatch, 128))
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	g.write(ctx, batch)
	cancel()

	g.mu.Lock()
	if len(g.queue) > 0 {
		close(g.queue[0].turn)
	} else {
		g.leading = false
	}
	g.mu.Unlock()
}

func (g *GroupCommit) write(ctx context.Context, batch []*groupWrite) {
	err := g.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, p := range batch {
			if err := p.write(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(batch) > 1 && !errs.Is(err, errs.CodeUnavailable) {
		for _, p := range batch {
			p.err = g.DB.Tx(ctx, func(tx *sql.Tx) error { return p.write(ctx, tx) })
			close(p.done)
		}
		return
	}
	for _, p := range batch {
		p.err = err
		close(p.done)
	}
}
