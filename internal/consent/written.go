package consent

import (
	"bytes"
	"sync"
)

// Written is the stretch of the chain this process appended last: from the
// head it chained from to the head it left, each hash computed here, in
// memory. The checkpointer (CheckpointerConfig.Written) need not read that
// stretch back from the database to sign its end, and it signs the hash
// this process computed, not one read from the store: a rewrite of the
// stretch in the database, chain and head recomputed, no longer matches
// and is reported instead of signed.
type Written struct {
	mu       sync.Mutex
	from, to ledgerHead
	ok       bool
	// gen numbers the stretches: a point of one stretch is on the chain
	// this process computed up to its end.
	gen uint64
}

// extend records that this process chained next onto prev. A prev that is
// not the end of the stretch (another replica wrote, an erasure was
// chained) starts a new stretch.
func (w *Written) extend(prev, next ledgerHead) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.ok || w.to.chainSeq != prev.chainSeq || !bytes.Equal(w.to.hash, prev.hash) {
		w.from, w.ok = prev, true
		w.gen++
	}
	w.to = next
}

// span returns the stretch and its number, and false when this process
// wrote none.
func (w *Written) span() (from, to ledgerHead, gen uint64, ok bool) {
	if w == nil {
		return ledgerHead{}, ledgerHead{}, 0, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.from, w.to, w.gen, w.ok
}

// Written returns what the ledger's commit loop records of the chain it
// appends, for the checkpointer of the same process.
func (s *Service) Written() *Written { return &s.written }
