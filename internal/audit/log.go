package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// Recorder records acts. Domain services and web handlers that must leave
// an audit trail depend on it rather than on *Log, so that tests can stand
// in a fake that fails (and check that the act then does not happen).
type Recorder interface {
	Append(ctx context.Context, e Entry) (Stored, error)
	AppendTx(ctx context.Context, tx *sql.Tx, e Entry) (Stored, error)
	Do(ctx context.Context, e Entry, act func(ctx context.Context, tx *sql.Tx) error) (Stored, error)
}

// Searcher reads the log, for the admin console, the customer portal's
// access history and subject access exports.
type Searcher interface {
	Search(ctx context.Context, q Query) (Page, error)
	Accesses(ctx context.Context, subjectID string, before int64, limit int) (Page, error)
	Get(ctx context.Context, seq int64) (Stored, error)
	Head(ctx context.Context) (int64, Hash, error)
}

var (
	_ Recorder = (*Log)(nil)
	_ Searcher = (*Log)(nil)
)

// Config holds what a Log needs.
type Config struct {
	DB *db.DB
	// Now is the clock; time.Now when nil. It is read after the chain head
	// is locked, so entry times follow sequence order on one clock.
	Now func() time.Time
}

// Log is the audit log of one store. It is safe for concurrent use, and
// any number of Logs (in as many replicas) may append to one PostgreSQL
// database: the chain stays linear.
type Log struct {
	db  *db.DB
	now func() time.Time
	// appends is Append's group commit: concurrent calls share a
	// transaction, so the head's lock and the commit's fsync are paid once
	// per batch.
	appends *db.GroupCommit
	// appended is signalled (without blocking, coalesced) after entries
	// were written: the Checkpointer waits on it (Appended).
	appended chan struct{}
}

// New returns the Log of cfg.DB, which must be migrated.
func New(cfg Config) (*Log, error) {
	if cfg.DB == nil {
		return nil, errors.New("audit: New needs a DB")
	}
	l := &Log{db: cfg.DB, now: cfg.Now, appends: &db.GroupCommit{DB: cfg.DB, MaxBatch: 256}, appended: make(chan struct{}, 1)}
	if l.now == nil {
		l.now = time.Now
	}
	return l, nil
}

// Append records e and returns it as stored, once committed. Use it before
// an act that writes nothing to the store (revealing a value, sending an
// export): do the act only if Append succeeded. Concurrent calls share a
// transaction (group commit), so the head's lock and the commit's fsync are
// paid once per batch rather than once per entry. Errors carry codes:
// invalid for a malformed entry, unavailable (HTTP 503) when the store
// cannot be reached.
//
// Once queued, an entry is written even if ctx ends (an audit entry without
// its act is the safe way to fail); Append waits for the outcome.
func (l *Log) Append(ctx context.Context, e Entry) (Stored, error) {
	if err := e.Validate(); err != nil {
		return Stored{}, err
	}
	if err := ctx.Err(); err != nil {
		return Stored{}, err
	}
	var stored Stored
	err := l.appends.Do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		stored, err = l.insert(ctx, tx, e)
		return err
	})
	if err != nil {
		return Stored{}, storeError(fmt.Errorf("append audit entry: %w", err))
	}
	l.signal()
	return stored, nil
}

// Appended returns a channel that receives a value after this Log wrote
// entries: after the commit for Append and Do, after the insert (before
// the caller's commit) for AppendTx. Signals coalesce: one value may stand
// for many entries, and none is kept for a reader that is not waiting
// beyond the one buffered. The Checkpointer (CheckpointerConfig.Wake)
// waits on it so that new entries are signed within a second rather than
// at its next poll; entries of other Logs (replicas) are seen by polling.
func (l *Log) Appended() <-chan struct{} { return l.appended }

func (l *Log) signal() {
	select {
	case l.appended <- struct{}{}:
	default:
	}
}

// AppendTx records e in tx, the transaction of the act it records: the entry
// and the act commit together or not at all. Call it last, just before
// Commit: from this call to the commit, tx holds the chain head's lock
// (PostgreSQL) and every other append waits for it, so a long transaction
// after AppendTx stalls the audit log. If AppendTx fails, roll tx back.
// Do wraps this pattern.
func (l *Log) AppendTx(ctx context.Context, tx *sql.Tx, e Entry) (Stored, error) {
	if err := e.Validate(); err != nil {
		return Stored{}, err
	}
	s, err := l.insert(ctx, tx, e)
	if err != nil {
		return Stored{}, storeError(fmt.Errorf("append audit entry: %w", err))
	}
	// Before the caller commits: a Checkpointer woken now may not see the
	// entry yet and then covers it at its next poll.
	l.signal()
	return s, nil
}

// Do runs act and records e in one transaction, committed only if both
// succeed: if the audit entry cannot be written, the act does not happen
// ("fail closed"). act runs first and must only write to the store through
// tx (anything that leaves the process — a response, a webhook — belongs
// after Do returns); e is appended last, so the head's lock is held only
// for the append and the commit. When the store is unreachable act never
// runs and the error has code unavailable (HTTP 503).
func (l *Log) Do(ctx context.Context, e Entry, act func(ctx context.Context, tx *sql.Tx) error) (Stored, error) {
	if err := e.Validate(); err != nil {
		return Stored{}, err
	}
	var s Stored
	err := l.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := act(ctx, tx); err != nil {
			return err
		}
		var err error
		s, err = l.insert(ctx, tx, e)
		if err != nil {
			return fmt.Errorf("append audit entry: %w", err)
		}
		return nil
	})
	if err != nil {
		return Stored{}, storeError(err)
	}
	l.signal()
	return s, nil
}

// insert appends e in tx. Advancing the head first takes its row lock
// (PostgreSQL) under the write lock that every SQLite transaction of
// package db holds, so the previous hash read here stays the head until
// commit; RETURNING gives the new sequence number and the unchanged, still
// previous, hash.
func (l *Log) insert(ctx context.Context, tx *sql.Tx, e Entry) (Stored, error) {
	var prev []byte
	s := Stored{Entry: e}
	if err := tx.QueryRowContext(ctx, `UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash`).
		Scan(&s.Seq, &prev); err != nil {
		return Stored{}, fmt.Errorf("lock chain head: %w", err)
	}
	var ok bool
	if s.PrevHash, ok = hashFrom(prev); !ok {
		return Stored{}, errs.New(errs.CodeInternal, "audit chain head holds a %d-byte hash; the store was tampered with", len(prev))
	}
	s.At = time.UnixMicro(l.now().UnixMicro()).UTC()
	s.Hash = s.ComputeHash()
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_entries (`+entryColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		s.Seq, s.At.UnixMicro(), s.Actor.Kind, s.Actor.ID, s.Action, s.Target.Kind, s.Target.ID,
		s.Details.String(), s.PrevHash[:], s.Hash[:]); err != nil {
		return Stored{}, fmt.Errorf("insert entry %d: %w", s.Seq, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET hash = $1 WHERE id = 1`, s.Hash[:]); err != nil {
		return Stored{}, fmt.Errorf("advance chain head: %w", err)
	}
	return s, nil
}

// storeError makes sure that a store that cannot take the entry gives the
// code unavailable, which the web layer answers with 503. db.Classify knows
// network and engine faults; a closed *sql.DB only says so in words.
func storeError(err error) error {
	if err == nil {
		return nil
	}
	err = db.Classify(err)
	if _, ok := errs.As(err); ok {
		return err
	}
	if strings.Contains(err.Error(), "sql: database is closed") {
		return errs.Wrap(errs.CodeUnavailable, err, "the audit log is unavailable")
	}
	return err
}

// entryColumns are the stored columns of an entry, in scan order.
const entryColumns = `seq, at, actor_kind, actor_id, action, target_kind, target_id, details, prev_hash, hash`

// scanEntry reads one row of entryColumns. intact is false when a stored
// hash is not 32 bytes long.
func scanEntry(scan func(...any) error) (s Stored, intact bool, err error) {
	var at int64
	var details string
	var prev, hash []byte
	if err := scan(&s.Seq, &at, &s.Actor.Kind, &s.Actor.ID, &s.Action, &s.Target.Kind, &s.Target.ID,
		&details, &prev, &hash); err != nil {
		return Stored{}, false, err
	}
	s.At = time.UnixMicro(at).UTC()
	s.Details = storedDetails(details)
	var okPrev, okHash bool
	s.PrevHash, okPrev = hashFrom(prev)
	s.Hash, okHash = hashFrom(hash)
	return s, okPrev && okHash, nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

var (
	_ db.Querier = (*sql.DB)(nil)
	_ db.Querier = (*sql.Tx)(nil)
)

// Head returns the sequence number and hash of the last entry (0 and
// GenesisHash for an empty log).
func (l *Log) Head(ctx context.Context) (int64, Hash, error) {
	seq, hash, err := readHead(ctx, l.db)
	return seq, hash, storeError(err)
}

func readHead(ctx context.Context, q db.Querier) (int64, Hash, error) {
	var seq int64
	var raw []byte
	if err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &raw); err != nil {
		return 0, Hash{}, fmt.Errorf("read audit chain head: %w", err)
	}
	h, _ := hashFrom(raw)
	return seq, h, nil
}

// Get returns the entry with sequence number seq.
func (l *Log) Get(ctx context.Context, seq int64) (Stored, error) {
	r, err := rowAt(ctx, l.db, seq)
	if err != nil {
		return Stored{}, storeError(err)
	}
	if r == nil {
		return Stored{}, errs.NotFound("audit entry", fmt.Sprint(seq))
	}
	return r.Stored, nil
}

// row is an entry as read from the store, with whether its hashes were
// well-formed.
type row struct {
	Stored
	intact bool
}

// rowAt reads the entry at seq; nil when there is none.
func rowAt(ctx context.Context, q db.Querier, seq int64) (*row, error) {
	s, intact, err := scanEntry(q.QueryRowContext(ctx, `SELECT `+entryColumns+` FROM audit_entries WHERE seq = $1`, seq).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit entry %d: %w", seq, err)
	}
	return &row{Stored: s, intact: intact}, nil
}
