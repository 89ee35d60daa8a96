package outbox

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/steward-dev/steward/internal/db"
)

// maxRecordBatch bounds the outcomes one group commit writes.
const maxRecordBatch = 128

// recorder writes the outcomes of attempts with group commit: concurrent
// deliveries queue their writes, and one of them (the leader) writes the
// queue in one transaction. Every attempt ends with a write; one commit
// (one fsync on SQLite) per attempt would cap delivery at the disk's
// flush rate, while one per batch leaves the receivers as the limit.
type recorder struct {
	db *db.DB

	mu      sync.Mutex
	queue   []*pendingRecord
	leading bool
}

type pendingRecord struct {
	write func(ctx context.Context, tx *sql.Tx) error
	err   error
	done  chan struct{} // closed when written, or failed
	turn  chan struct{} // closed when this caller is to lead the next batch
}

// do runs write in a transaction shared with other callers and returns
// once it is committed (or has failed). write may run twice: in the
// shared transaction and, if that one failed, in a transaction of its own,
// so that one faulty write does not fail the others.
func (r *recorder) do(ctx context.Context, write func(ctx context.Context, tx *sql.Tx) error) error {
	p := &pendingRecord{write: write, done: make(chan struct{}), turn: make(chan struct{})}
	r.mu.Lock()
	r.queue = append(r.queue, p)
	lead := !r.leading
	r.leading = true
	r.mu.Unlock()
	if !lead {
		select {
		case <-p.done:
			return p.err
		case <-p.turn:
		}
	}
	r.lead(ctx)
	<-p.done
	return p.err
}

// lead writes one batch from the queue, which holds the leader's own
// write, then hands the lead to the first caller still waiting, so that
// no caller keeps writing for others under sustained load.
func (r *recorder) lead(ctx context.Context) {
	r.mu.Lock()
	n := min(len(r.queue), maxRecordBatch)
	batch := r.queue[:n:n]
	r.queue = r.queue[n:]
	r.mu.Unlock()

	r.write(ctx, batch)

	r.mu.Lock()
	if len(r.queue) > 0 {
		close(r.queue[0].turn)
	} else {
		r.leading = false
	}
	r.mu.Unlock()
}

func (r *recorder) write(ctx context.Context, batch []*pendingRecord) {
	// Outcomes are written even while Stop cancels the jobs: a delivered
	// message that is not recorded would be sent again at the next start.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := r.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, p := range batch {
			if err := p.write(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(batch) > 1 {
		for _, p := range batch {
			p.err = r.db.Tx(ctx, func(tx *sql.Tx) error { return p.write(ctx, tx) })
			close(p.done)
		}
		return
	}
	for _, p := range batch {
		p.err = err
		close(p.done)
	}
}
