package audit

import (
	"context"
	"fmt"

	"github.com/steward-dev/steward/internal/db"
)

// Kind names what happened to the log at a Problem.
type Kind string

// The kinds of problem Verify reports.
const (
	// Changed: an entry's fields or stored hashes were altered.
	Changed Kind = "changed"
	// Removed: entries are missing (a gap, or entries gone from the end).
	Removed Kind = "removed"
	// Inserted: an entry that the log never wrote stands in the chain.
	Inserted Kind = "inserted"
	// Reordered: an entry stands at another place than the one it was
	// written at.
	Reordered Kind = "reordered"
	// RolledBack: the store holds fewer entries than a signed checkpoint.
	RolledBack Kind = "rolled_back"
	// Diverged: the entry at a checkpoint's size has another hash than the
	// checkpoint's root: history differs from the checkpoint.
	Diverged Kind = "diverged"
	// BadCheckpoint: a checkpoint does not verify with the known keys.
	BadCheckpoint Kind = "bad_checkpoint"
)

// Problem is the first fault found in the chain, or a disagreement with a
// checkpoint.
type Problem struct {
	Kind Kind
	// Seq is the first sequence number at fault; for checkpoint problems,
	// the checkpoint's size.
	Seq int64
	// First is the first entry concerned by a checkpoint problem: the first
	// entry missing (RolledBack), or the first entry after the last
	// checkpoint that agrees (Diverged: one from First to Seq was
	// rewritten).
	First int64
	// Count is how many entries were removed (Removed only).
	Count int64
	// WrittenAs is the sequence number an out-of-place entry was written at
	// (Reordered only).
	WrittenAs int64
	// Detail explains the finding in words.
	Detail string
}

// String returns the problem as one sentence fragment.
func (p *Problem) String() string {
	switch p.Kind {
	case Changed:
		return fmt.Sprintf("entry %d was changed: %s", p.Seq, p.Detail)
	case Removed:
		if p.Count > 1 {
			return fmt.Sprintf("entries %d to %d were removed: %s", p.Seq, p.Seq+p.Count-1, p.Detail)
		}
		return fmt.Sprintf("entry %d was removed: %s", p.Seq, p.Detail)
	case Inserted:
		return fmt.Sprintf("entry %d was inserted: %s", p.Seq, p.Detail)
	case Reordered:
		return fmt.Sprintf("entry %d is out of place: %s", p.Seq, p.Detail)
	case RolledBack:
		if p.First > 0 && p.First < p.Seq {
			return fmt.Sprintf("rolled back before checkpoint %d: entries %d to %d are missing: %s", p.Seq, p.First, p.Seq, p.Detail)
		}
		if p.First == p.Seq {
			return fmt.Sprintf("rolled back before checkpoint %d: entry %d is missing: %s", p.Seq, p.First, p.Detail)
		}
		return fmt.Sprintf("rolled back before checkpoint %d: %s", p.Seq, p.Detail)
	case Diverged:
		if p.First > 0 && p.First < p.Seq {
			return fmt.Sprintf("history differs from checkpoint %d: %s; one of entries %d to %d was rewritten", p.Seq, p.Detail, p.First, p.Seq)
		}
		if p.First == p.Seq && p.Seq > 0 {
			return fmt.Sprintf("history differs from checkpoint %d: %s; entry %d was rewritten", p.Seq, p.Detail, p.Seq)
		}
		return fmt.Sprintf("history differs from checkpoint %d: %s", p.Seq, p.Detail)
	case BadCheckpoint:
		if p.Seq < 0 {
			return "a checkpoint does not verify: " + p.Detail
		}
		return fmt.Sprintf("checkpoint %d does not verify: %s", p.Seq, p.Detail)
	}
	return fmt.Sprintf("%s at %d: %s", p.Kind, p.Seq, p.Detail)
}

var _ fmt.Stringer = (*Problem)(nil)

// walker verifies the chain entry by entry from a trusted point.
type walker struct {
	q    db.Querier
	seq  int64 // the last verified entry (0: none)
	hash Hash  // its hash (GenesisHash for 0)
	// at is called with each verified entry.
	at func(s *Stored)
	// maxSeq caches the largest stored sequence number for diagnosis.
	maxSeq int64
}

// walk verifies the entries after w.seq up to upTo (all when upTo < 0), in
// order, and stops at the first fault, which it diagnoses. Without a fault
// it returns nil with w at the last entry read.
func (w *walker) walk(ctx context.Context, upTo int64) (*Problem, error) {
	query := `SELECT ` + entryColumns + ` FROM audit_entries WHERE seq > $1 ORDER BY seq`
	args := []any{w.seq}
	if upTo >= 0 {
		query = `SELECT ` + entryColumns + ` FROM audit_entries WHERE seq > $1 AND seq <= $2 ORDER BY seq`
		args = append(args, upTo)
	}
	rows, err := w.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit entries: %w", err)
	}
	defer rows.Close()
	var bad *row
	for rows.Next() {
		s, intact, err := scanEntry(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("read audit entries: %w", err)
		}
		if !intact || s.Seq != w.seq+1 || s.PrevHash != w.hash || s.ComputeHash() != s.Hash {
			bad = &row{Stored: s, intact: intact}
			break
		}
		w.seq, w.hash = s.Seq, s.Hash
		if w.at != nil {
			w.at(&s)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit entries: %w", err)
	}
	rows.Close() // the diagnosis queries the same transaction
	if bad == nil {
		return nil, nil
	}
	return w.diagnose(ctx, bad)
}

// diagnose names the fault at e, the first row after the verified prefix
// that does not extend it. The hash covers the sequence number, so an entry
// that moved verifies only at the number it was written at: finding that
// number tells a moved entry from a changed one, and the neighbours tell an
// insertion from a rewrite.
func (w *walker) diagnose(ctx context.Context, e *row) (*Problem, error) {
	s, hv := w.seq+1, w.hash
	if e.Seq > s {
		return &Problem{Kind: Removed, Seq: s, Count: e.Seq - s,
			Detail: fmt.Sprintf("the chain goes from entry %d to entry %d", w.seq, e.Seq)}, nil
	}
	next, err := rowAt(ctx, w.q, s+1)
	if err != nil {
		return nil, err
	}
	nextWrittenAt := func(seq int64) bool { return next != nil && next.intact && next.hashAt(seq) == next.Hash }
	selfOK := e.intact && e.ComputeHash() == e.Hash

	if selfOK { // consistent in itself, but does not follow entry s-1
		switch {
		case nextWrittenAt(s) && next.PrevHash == hv:
			return &Problem{Kind: Inserted, Seq: s,
				Detail: fmt.Sprintf("it does not follow entry %d, the entry after it was written as %d, and the later entries were renumbered", s-1, s)}, nil
		case s > 1 && next != nil && next.PrevHash == e.Hash:
			return &Problem{Kind: Changed, Seq: s - 1,
				Detail: fmt.Sprintf("it was rewritten and its hash recomputed: entry %d records another hash for it", s)}, nil
		case s > 1 && next == nil:
			_, headHash, err := readHead(ctx, w.q)
			if err != nil {
				return nil, err
			}
			if headHash == e.Hash {
				return &Problem{Kind: Changed, Seq: s - 1,
					Detail: fmt.Sprintf("it was rewritten and its hash recomputed: entry %d, the chain head, records another hash for it", s)}, nil
			}
		}
		return &Problem{Kind: Changed, Seq: s,
			Detail: fmt.Sprintf("it was replaced: its hash matches its contents, but it does not follow entry %d and entry %d does not follow it", s-1, s+1)}, nil
	}

	m, err := w.writtenAs(ctx, e)
	if err != nil {
		return nil, err
	}
	switch {
	case m == 0:
		if nextWrittenAt(s) && next.PrevHash == hv {
			return &Problem{Kind: Inserted, Seq: s,
				Detail: fmt.Sprintf("the entry after it was written as %d and follows entry %d, and the later entries were renumbered", s, s-1)}, nil
		}
		detail := "its contents no longer match its hash"
		switch {
		case !e.intact:
			detail = "a stored hash is not 32 bytes long"
		case e.PrevHash != hv && next != nil && next.PrevHash == e.ComputeHash():
			detail = "its previous hash was altered"
		case e.PrevHash == hv && next != nil && next.PrevHash == e.ComputeHash():
			detail = "its stored hash was altered"
		}
		return &Problem{Kind: Changed, Seq: s, Detail: detail}, nil
	case m == s-1:
		before, err := rowAt(ctx, w.q, s-1)
		if err != nil {
			return nil, err
		}
		if before != nil && e.PrevHash == before.PrevHash {
			return &Problem{Kind: Inserted, Seq: s - 1,
				Detail: fmt.Sprintf("the entry now at %d was written as %d, and both follow entry %d; the later entries were renumbered", s, s-1, s-2)}, nil
		}
	case m > s:
		at, err := rowAt(ctx, w.q, m)
		if err != nil {
			return nil, err
		}
		if at != nil && at.intact && at.hashAt(s) == at.Hash {
			return &Problem{Kind: Reordered, Seq: s, WrittenAs: m,
				Detail: fmt.Sprintf("entries %d and %d were swapped", s, m)}, nil
		}
		if nextWrittenAt(m + 1) {
			return &Problem{Kind: Removed, Seq: s, Count: m - s,
				Detail: fmt.Sprintf("the entry now at %d was written as %d, and the later entries were renumbered", s, m)}, nil
		}
	}
	return &Problem{Kind: Reordered, Seq: s, WrittenAs: m,
		Detail: fmt.Sprintf("it holds the entry written as %d", m)}, nil
}

// writtenAs returns the sequence number other than e.Seq at which e's hash
// verifies, 0 if none: the neighbours first, then every number the log has
// used. Only a damaged log gets here, so the linear search is affordable.
func (w *walker) writtenAs(ctx context.Context, e *row) (int64, error) {
	if !e.intact {
		return 0, nil
	}
	for _, m := range []int64{e.Seq - 1, e.Seq + 1} {
		if m > 0 && e.hashAt(m) == e.Hash {
			return m, nil
		}
	}
	if w.maxSeq == 0 {
		var maxEntry, head int64
		if err := w.q.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_entries`).Scan(&maxEntry); err != nil {
			return 0, fmt.Errorf("read audit log size: %w", err)
		}
		if err := w.q.QueryRowContext(ctx, `SELECT seq FROM audit_head WHERE id = 1`).Scan(&head); err != nil {
			return 0, fmt.Errorf("read audit chain head: %w", err)
		}
		w.maxSeq = max(maxEntry, head) + 1
	}
	for m := int64(1); m <= w.maxSeq; m++ {
		if m != e.Seq && e.hashAt(m) == e.Hash {
			return m, nil
		}
	}
	return 0, nil
}
