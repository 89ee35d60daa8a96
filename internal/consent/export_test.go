package consent

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/db"
)

// ApplyForTest records one grant per (device, purpose) for n devices.
func ApplyForTest(x *Index, n int, purposes []string) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]indexedEvent, 0, 4096)
	seq := int64(0)
	for i := 0; i < n; i++ {
		dev := fmt.Sprintf("device-%08d-aaaa-bbbb-cccc", i)
		for _, p := range purposes {
			seq++
			batch = append(batch, indexedEvent{Seq: seq, Ident: x.key(dev), Purpose: p, Action: actionGrant, At: unixSeconds(at)})
		}
		if len(batch) > 4000 {
			x.apply(batch)
			batch = batch[:0]
		}
	}
	x.apply(batch)
}

// WriteGroupForTest appends batches as one group commit (as the commit loop
// would when they arrive together) and returns each batch's error.
func WriteGroupForTest(s *Service, batches ...[]Event) ([][]AppendResult, []error) {
	group := make([]*appendRequest, len(batches))
	for i, events := range batches {
		r := &appendRequest{events: events, chain: make([]chainData, len(events)), done: make(chan struct{})}
		for j := range events {
			jws, sum := s.sign(&events[j], principal(&events[j]))
			salt := []byte(fmt.Sprintf("salt-%015d", j))
			r.chain[j] = chainData{salt: salt, mac: principalMAC(salt, &events[j]), receipt: jws, receiptHash: sum[:]}
		}
		group[i] = r
	}
	s.commitGroup(group)
	results, errs := make([][]AppendResult, len(group)), make([]error, len(group))
	for i, r := range group {
		results[i], errs[i] = r.results, r.err
	}
	return results, errs
}

// RechainForTest recomputes every chain hash and the head from the rows, as
// someone who edited rows and knows the chain's encoding would.
func RechainForTest(ctx context.Context, d *db.DB) error {
	head, err := readHead(ctx, d)
	if err != nil {
		return err
	}
	rows, _, err := readChain(ctx, d, head.chainFrom, head.seq, 1<<30, false)
	if err != nil {
		return err
	}
	prevSeq, prevHash := head.chainFrom, []byte{}
	for i := range rows {
		r := &rows[i]
		r.prevSeq = sql.NullInt64{Int64: prevSeq, Valid: true}
		h := r.computed(prevHash)
		table := "consent_events"
		if r.kind == entryErasure {
			table = "consent_erasures"
		}
		if _, err := d.ExecContext(ctx, `UPDATE `+table+` SET hash = $1, prev_seq = $2 WHERE seq = $3`, h, prevSeq, r.seq()); err != nil {
			return err
		}
		prevSeq, prevHash = r.seq(), h
	}
	_, err = d.ExecContext(ctx, `UPDATE ledger_head SET chain_seq = $1, hash = $2 WHERE id = 1`, prevSeq, prevHash)
	return err
}

// PrepareForTest signs events' receipts and commits to their principals,
// as Append does before the commit loop writes them.
func PrepareForTest(s *Service, events []Event) error {
	r := &appendRequest{events: events, chain: make([]chainData, len(events))}
	r.prepare(s)
	return r.err
}

// SetRollupsForTest turns the analytics rollups on append on or off, for
// measuring what they cost.
func SetRollupsForTest(s *Service, on bool) { s.rollupsOff = !on }

// CrashForTest stops s as a crash between two writes of the analytics
// rollups would: the appends are committed, the cells the commit loop
// holds in memory are lost.
func CrashForTest(s *Service) {
	if s.rollups != nil {
		s.rollups.skipClose.Store(true)
	}
	s.Close()
}

// RollupsPendingForTest reports whether s holds rollup cells not written
// yet.
func RollupsPendingForTest(s *Service) bool { return s.rollups != nil && s.rollups.pending.Load() }
