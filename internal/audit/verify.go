package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// VerifyOptions says what to check the log against besides itself.
type VerifyOptions struct {
	// CheckpointFile, when set, is a checkpoint file kept outside the
	// database (see the package comment): every checkpoint in it must
	// verify and agree with the log, which reveals a rollback of the
	// database to an older state.
	CheckpointFile string
	// VerifierKeys are the verifier keys ("vkey") that checkpoints must be
	// signed with. Without them, the keys recorded in the database are
	// used: that catches a checkpoint forged with another key, but pinning
	// the published key also guards against someone who rewrote the
	// database's key list.
	VerifierKeys []string
	// Strict makes entries that no checkpoint covers a failure once the
	// oldest of them is older than Grace (the Checkpointer covers new
	// entries within about a second); by default they are only reported.
	Strict bool
	// Grace is how old uncovered entries may be under Strict; 0 means
	// DefaultGrace.
	Grace time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// DefaultGrace is how long entries may wait for a checkpoint before
// `steward audit verify --strict` fails: a few Checkpointer intervals.
const DefaultGrace = 5 * time.Second

// Report is the outcome of Verify.
type Report struct {
	// Size is the chain head's sequence number: the entries the log says it
	// holds.
	Size int64
	// Verified is how many entries, from the first, were found intact; Head
	// is the hash of the last of them.
	Verified int64
	Head     Hash
	// Chain is the first fault in the chain, nil when there is none.
	Chain *Problem
	// CheckpointProblems are the checkpoints that do not verify or do not
	// agree with the log, the most serious first (rollback, then diverged
	// history by size, then bad signatures).
	CheckpointProblems []Problem
	// Checkpoints is how many signed checkpoint sizes were checked (file
	// and database together); Latest is the largest, from LatestSource.
	Checkpoints  int
	Latest       Checkpoint
	LatestSource string
	// Uncovered is how many entries, after the latest checkpoint, no
	// signed checkpoint covers yet: until one does, they could be removed
	// or rewritten unnoticed. UncoveredSince is when the first of them was
	// written.
	Uncovered      int64
	UncoveredSince time.Time
	// Stale is set under VerifyOptions.Strict when uncovered entries are
	// older than the grace: a fault.
	Stale bool
	// Warnings are findings that are not faults of the log, such as a torn
	// last record in the checkpoint file.
	Warnings []string
	now      time.Time
	grace    time.Duration
}

// OK reports whether the log verified without any problem.
func (r *Report) OK() bool { return r.Chain == nil && len(r.CheckpointProblems) == 0 && !r.Stale }

// uncovered describes the entries no checkpoint covers.
func (r *Report) uncovered() string {
	first := r.Size - r.Uncovered + 1
	var which string
	if r.Uncovered == 1 {
		which = fmt.Sprintf("1 entry after the last checkpoint (entry %d", first)
	} else {
		which = fmt.Sprintf("%d entries after the last checkpoint (from entry %d", r.Uncovered, first)
	}
	if !r.UncoveredSince.IsZero() && !r.now.IsZero() {
		which += fmt.Sprintf(", written %s ago", max(r.now.Sub(r.UncoveredSince), 0).Round(time.Second))
	}
	if r.Uncovered == 1 {
		return which + ") is not covered by a signed checkpoint"
	}
	return which + ") are not covered by a signed checkpoint"
}

// Message returns the outcome in one line, as `steward audit verify` prints
// it.
func (r *Report) Message() string {
	var b strings.Builder
	if r.OK() {
		fmt.Fprintf(&b, "audit log OK: %d entries verified, head %s", r.Verified, r.Head.String()[:16])
		if r.Checkpoints == 0 {
			b.WriteString("; no signed checkpoint checked")
		} else {
			fmt.Fprintf(&b, "; %d signed checkpoints agree, latest %d (%s)", r.Checkpoints, r.Latest.Size, r.LatestSource)
		}
		if r.Uncovered > 0 {
			b.WriteString("; " + r.uncovered())
		}
	} else {
		b.WriteString("audit log FAILED verification: ")
		var parts []string
		if r.Chain != nil {
			parts = append(parts, r.Chain.String())
		}
		if len(r.CheckpointProblems) > 0 {
			p := r.CheckpointProblems[0]
			parts = append(parts, p.String())
			if n := len(r.CheckpointProblems) - 1; n > 0 {
				parts = append(parts, fmt.Sprintf("%d more checkpoint problems", n))
			}
		}
		if r.Uncovered > 0 {
			u := r.uncovered()
			if r.Stale {
				u += fmt.Sprintf(", older than %s", r.grace)
			}
			parts = append(parts, u)
		}
		b.WriteString(strings.Join(parts, "; "))
		fmt.Fprintf(&b, " (%d of %d entries verified)", r.Verified, r.Size)
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(&b, "; warning: %s", r.Warnings[0])
		if len(r.Warnings) > 1 {
			fmt.Fprintf(&b, " and %d more", len(r.Warnings)-1)
		}
	}
	return b.String()
}

// ErrVerifyFailed is returned by VerifyCommand when the log does not verify.
var ErrVerifyFailed = errors.New("the audit log does not verify")

// VerifyCommand runs `steward audit verify`: it verifies the log of store
// as opts say (a checkpoint file, pinned verifier keys, Strict), writes the
// one-line outcome to w, and returns ErrVerifyFailed when the log does not
// verify.
func VerifyCommand(ctx context.Context, store *db.DB, opts VerifyOptions, w io.Writer) error {
	r, err := Verify(ctx, store, opts)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(w, r.Message()); err != nil {
		return err
	}
	if !r.OK() {
		return ErrVerifyFailed
	}
	return nil
}

// Verify walks the whole chain in one read snapshot and reports the first
// entry that was changed, removed, inserted or reordered, and every signed
// checkpoint (from opts.CheckpointFile and the database) that does not
// verify or that the log contradicts. An error means the check could not be
// made (store unreachable, unreadable file), not that the log is bad.
//
// How faults are named: the walk keeps the hash of the last intact entry.
// The next row is at fault when its sequence number skips (Removed), its
// hash does not match its fields (Changed, unless it verifies at another
// sequence number: then Reordered, or Inserted/Removed when the entries
// around it were renumbered), or it does not name the previous entry's hash
// (Inserted when the entry after it was written in its place, Changed for
// the previous entry when the next one vouches for this one). At the end,
// the chain head must name the last entry: entries missing from the end are
// Removed, entries past the head Inserted. A checkpoint whose size exceeds
// the log means the database was RolledBack (its tail truncated); one whose
// root is not the hash of the entry at its size means history Diverged (its
// tail rewritten); both name the first entry concerned (Problem.First).
// Entries after the latest checkpoint are counted (Report.Uncovered): no
// signature protects them yet.
func Verify(ctx context.Context, store *db.DB, opts VerifyOptions) (*Report, error) {
	var r *Report
	err := store.ReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = verify(ctx, tx, opts)
		return err
	})
	if err != nil {
		return nil, storeError(fmt.Errorf("verify audit log: %w", err))
	}
	return r, nil
}

// anchor is a signed checkpoint and where it came from.
type anchor struct {
	cp     Checkpoint
	source string
}

func verify(ctx context.Context, q db.Querier, opts VerifyOptions) (*Report, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	r := &Report{now: now()}
	headSeq, headHash, err := readHead(ctx, q)
	if err != nil {
		return nil, err
	}
	r.Size = headSeq

	var verifiers []*Verifier
	for _, vkey := range opts.VerifierKeys {
		v, err := NewVerifier(vkey)
		if err != nil {
			return nil, errs.Invalid("vkey", "%v", err)
		}
		verifiers = append(verifiers, v)
	}
	if len(opts.VerifierKeys) == 0 {
		if verifiers, err = recordedVerifiers(ctx, q); err != nil {
			return nil, err
		}
	}

	anchors := map[int64]anchor{}
	var diverged, bad []Problem
	take := func(cp Checkpoint, source string) {
		if a, ok := anchors[cp.Size]; ok {
			if a.cp.Root != cp.Root {
				diverged = append(diverged, Problem{Kind: Diverged, Seq: cp.Size,
					Detail: fmt.Sprintf("the checkpoints for this size in %s and %s disagree", a.source, source)})
			}
			return
		}
		anchors[cp.Size] = anchor{cp: cp, source: source}
	}
	if opts.CheckpointFile != "" {
		if _, err := os.Stat(opts.CheckpointFile); errors.Is(err, fs.ErrNotExist) {
			return nil, errs.Invalid("checkpoint_file", "%s does not exist", opts.CheckpointFile)
		}
		recs, warnings, err := readCheckpointFile(opts.CheckpointFile)
		if err != nil {
			return nil, err
		}
		r.Warnings = append(r.Warnings, warnings...)
		source := "file " + opts.CheckpointFile
		for _, rec := range recs {
			cp, _, err := OpenCheckpoint(rec.note, verifiers...)
			if errors.Is(err, ErrMalformedNote) { // a torn write, or garbage: no claim either way
				r.Warnings = append(r.Warnings, fmt.Sprintf("checkpoint file: malformed record at line %d ignored: %v", rec.line, err))
				continue
			}
			if err != nil {
				bad = append(bad, badCheckpoint(rec.note, fmt.Sprintf("the record at line %d of %s", rec.line, opts.CheckpointFile), err))
				continue
			}
			take(cp, source)
		}
		if len(recs) == 0 {
			r.Warnings = append(r.Warnings, "the checkpoint file holds no checkpoint")
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT size, note FROM audit_checkpoints ORDER BY size`)
	if err != nil {
		return nil, fmt.Errorf("read audit checkpoints: %w", err)
	}
	type stored struct {
		size int64
		note string
	}
	var inDB []stored
	for rows.Next() {
		var s stored
		if err := rows.Scan(&s.size, &s.note); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read audit checkpoints: %w", err)
		}
		inDB = append(inDB, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit checkpoints: %w", err)
	}
	for _, s := range inDB {
		cp, _, err := OpenCheckpoint([]byte(s.note), verifiers...)
		switch {
		case err != nil:
			bad = append(bad, badCheckpoint([]byte(s.note), fmt.Sprintf("checkpoint %d in the database", s.size), err))
		case cp.Size != s.size:
			bad = append(bad, Problem{Kind: BadCheckpoint, Seq: s.size,
				Detail: fmt.Sprintf("stored as size %d in the database but signed for size %d", s.size, cp.Size)})
		default:
			take(cp, "database")
		}
	}
	if len(verifiers) == 0 && (len(inDB) > 0 || opts.CheckpointFile != "") {
		r.Warnings = append(r.Warnings, "no verifier key known: checkpoints could not be checked")
	}
	for size, a := range anchors {
		r.Checkpoints++
		if size > r.Latest.Size || r.LatestSource == "" {
			r.Latest, r.LatestSource = a.cp, a.source
		}
	}
	if a, ok := anchors[0]; ok && a.cp.Root != GenesisHash {
		diverged = append(diverged, Problem{Kind: Diverged, Seq: 0, Detail: fmt.Sprintf("the empty log's root in %s is not the genesis hash", a.source)})
	}

	w := &walker{q: q, at: func(s *Stored) {
		if a, ok := anchors[s.Seq]; ok && a.cp.Root != s.Hash {
			diverged = append(diverged, Problem{Kind: Diverged, Seq: s.Seq,
				Detail: fmt.Sprintf("entry %d has another hash than the checkpoint in %s", s.Seq, a.source)})
		}
	}}
	p, err := w.walk(ctx, -1)
	if err != nil {
		return nil, err
	}
	r.Verified, r.Head = w.seq, w.hash
	if p == nil {
		switch {
		case headSeq > w.seq:
			p = &Problem{Kind: Removed, Seq: w.seq + 1, Count: headSeq - w.seq,
				Detail: fmt.Sprintf("the chain head says the log holds %d entries, the last one found is %d", headSeq, w.seq)}
		case headSeq < w.seq:
			p = &Problem{Kind: Inserted, Seq: headSeq + 1,
				Detail: fmt.Sprintf("the chain head says the log holds %d entries, but entries up to %d follow", headSeq, w.seq)}
		case headHash != w.hash:
			p = &Problem{Kind: Changed, Seq: w.seq,
				Detail: "the chain head records another hash for it: it was rewritten with its hash recomputed, or the head was altered"}
		}
	}
	r.Chain = p

	// Checkpoints beyond the verified prefix.
	var maxSeq int64
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_entries`).Scan(&maxSeq); err != nil {
		return nil, fmt.Errorf("read audit log size: %w", err)
	}
	size := max(headSeq, maxSeq)
	var rolledBack []Problem
	for cpSize, a := range anchors {
		if cpSize <= w.seq {
			continue
		}
		if cpSize > size {
			rolledBack = append(rolledBack, Problem{Kind: RolledBack, Seq: cpSize, First: size + 1,
				Detail: fmt.Sprintf("the database holds %d entries, but the checkpoint in %s was signed at size %d: history differs from checkpoint", size, a.source, cpSize)})
			continue
		}
		e, err := rowAt(ctx, q, cpSize)
		if err != nil {
			return nil, err
		}
		if e == nil || e.Hash != a.cp.Root {
			diverged = append(diverged, Problem{Kind: Diverged, Seq: cpSize,
				Detail: fmt.Sprintf("entry %d has another hash than the checkpoint in %s", cpSize, a.source)})
		}
	}
	// A diverged checkpoint's first entry concerned follows the largest
	// checkpoint below it that agrees: one of the entries from there to
	// its size was rewritten.
	agreeing := []int64{0}
	for cpSize := range anchors {
		if !slices.ContainsFunc(diverged, func(p Problem) bool { return p.Seq == cpSize }) && cpSize <= size {
			agreeing = append(agreeing, cpSize)
		}
	}
	slices.Sort(agreeing)
	for i := range diverged {
		j, _ := slices.BinarySearch(agreeing, diverged[i].Seq)
		diverged[i].First = agreeing[max(j-1, 0)] + 1
	}
	sort.Slice(rolledBack, func(i, j int) bool { return rolledBack[i].Seq > rolledBack[j].Seq })
	sort.SliceStable(diverged, func(i, j int) bool { return diverged[i].Seq < diverged[j].Seq })
	r.CheckpointProblems = append(append(append(r.CheckpointProblems, rolledBack...), diverged...), bad...)

	if r.Latest.Size < r.Size {
		r.Uncovered = r.Size - r.Latest.Size
		e, err := rowAt(ctx, q, r.Latest.Size+1)
		if err != nil {
			return nil, err
		}
		if e != nil {
			r.UncoveredSince = e.At
		}
		r.grace = opts.Grace
		if r.grace <= 0 {
			r.grace = DefaultGrace
		}
		// Without a readable time (the entry is gone), count them as old.
		r.Stale = opts.Strict && (r.UncoveredSince.IsZero() || r.now.Sub(r.UncoveredSince) > r.grace)
	}
	return r, nil
}

// badCheckpoint describes a checkpoint note that did not open.
func badCheckpoint(note []byte, where string, err error) Problem {
	p := Problem{Kind: BadCheckpoint, Seq: -1, Detail: fmt.Sprintf("%s: %v", where, err)}
	if i := strings.LastIndex(string(note), "\n\n"); i >= 0 {
		if cp, perr := ParseCheckpoint(string(note[:i+1])); perr == nil {
			p.Seq = cp.Size
		}
	}
	return p
}
