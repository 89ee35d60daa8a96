// Package snapshot writes and reads a store-neutral snapshot of Steward's
// state: every backed-up table (tables.go says which, and why the others are
// left out), its columns with neutral types and its rows, as one stream taken
// in one read transaction while writers carry on. A snapshot of SQLite loads
// into PostgreSQL and the reverse. internal/backup compresses, encrypts,
// chunks and signs the stream; this package knows nothing of that.
//
//	sum, err := snapshot.Dump(ctx, store, w)      // from a live store
//	sum, err = snapshot.Scan(r, func(table string, row snapshot.Row) error { ... })
//	sum, err = snapshot.Load(ctx, emptyStore, r)  // into an empty, migrated store
//
// The encoding is described in docs/backup-format.md, "Snapshot stream".
package snapshot

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/steward-dev/steward/internal/db"
)

// Summary describes a snapshot: what Dump wrote, or what Scan and Load read
// and verified.
type Summary struct {
	SchemaVersion int              `json:"schema_version"`
	Dialect       string           `json:"dialect"`  // the source store: "sqlite" or "postgres"
	TakenAt       time.Time        `json:"taken_at"` // the snapshot's time (server clock, UTC)
	Tables        map[string]int64 `json:"tables"`   // rows per table
	// AuditHead is the last audit entry's seq and hash: {"seq":N,"hash":"hex"}.
	AuditHead json.RawMessage `json:"audit_head,omitempty"`
	// Checkpoint is the last signed audit checkpoint, as stored:
	// {"size":N,"root":"hex","note":"signed note text","created_at":µs}.
	Checkpoint json.RawMessage `json:"checkpoint,omitempty"`
}

// AuditHead is the shape of Summary.AuditHead.
type AuditHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"` // hex, as audit.Hash prints it
}

// Checkpoint is the shape of Summary.Checkpoint: the audit_checkpoints row.
type Checkpoint struct {
	Size      int64  `json:"size"`
	Root      string `json:"root"` // hex
	Note      string `json:"note"`
	CreatedAt int64  `json:"created_at"` // Unix microseconds
}

// Dump writes a consistent, store-neutral snapshot of every backed-up table
// to w, in one read transaction (PostgreSQL: REPEATABLE READ READ ONLY;
// SQLite: one read transaction on its own connection, WAL), while writers
// carry on. Tables come in a fixed order (tables.go), rows in primary-key
// order, streamed: one row at a time is held in memory.
//
// TakenAt is read from the clock before the transaction's first read, so
// the snapshot holds nothing later than TakenAt: an erasure recorded after
// TakenAt may already be in it, and replaying it again does no harm, but
// none after the snapshot can be missing from a replay that starts at
// TakenAt.
//
// Dump refuses a store with a table that tables.go does not classify: a
// backup that silently leaves state out is worse than none.
func Dump(ctx context.Context, d *db.DB, w io.Writer) (Summary, error) {
	var sum Summary
	err := d.ReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		sum, err = dump(ctx, tx, d.Dialect, w)
		return err
	})
	if err != nil {
		return Summary{}, fmt.Errorf("dump: %w", err)
	}
	return sum, nil
}

func dump(ctx context.Context, tx *sql.Tx, dialect db.Dialect, w io.Writer) (Summary, error) {
	sum := Summary{Dialect: string(dialect), TakenAt: time.Now().UTC(), Tables: map[string]int64{}}
	// The first read of the transaction fixes SQLite's snapshot.
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&sum.SchemaVersion); err != nil {
		return sum, fmt.Errorf("read schema version: %w", err)
	}
	live, err := liveTables(ctx, tx, dialect)
	if err != nil {
		return sum, err
	}
	for _, name := range live {
		if _, ok := rule(name); !ok {
			return sum, fmt.Errorf("table %s is not classified as backed up or left out (internal/backup/snapshot/tables.go): refusing an incomplete backup", name)
		}
	}
	if sum.AuditHead, sum.Checkpoint, err = auditState(ctx, tx); err != nil {
		return sum, err
	}

	enc, err := newEncoder(w)
	if err != nil {
		return sum, fmt.Errorf("write: %w", err)
	}
	h := header{Format: formatVersion, SchemaVersion: sum.SchemaVersion, Dialect: sum.Dialect, TakenAt: sum.TakenAt,
		AuditHead: sum.AuditHead, Checkpoint: sum.Checkpoint}
	if err := enc.json(recordHeader, h); err != nil {
		return sum, fmt.Errorf("write: %w", err)
	}
	for _, t := range backedUpTables() {
		n, err := dumpTable(ctx, tx, dialect, t.name, enc)
		if err != nil {
			return sum, err
		}
		sum.Tables[t.name] = n
	}
	if err := enc.trailer(sum.Tables); err != nil {
		return sum, fmt.Errorf("write: %w", err)
	}
	return sum, nil
}

func dumpTable(ctx context.Context, tx *sql.Tx, dialect db.Dialect, table string, enc *encoder) (int64, error) {
	ts, err := readTable(ctx, tx, dialect, table)
	if err != nil {
		return 0, err
	}
	if err := enc.json(recordTable, tableRecord{Name: table, Columns: ts.columns}); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+columnList(ts.columns)+` FROM `+quoteIdent(table)+` ORDER BY `+orderBy(dialect, ts))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	raw := make([]any, len(ts.columns))
	dest := make([]any, len(ts.columns))
	for i := range raw {
		dest[i] = &raw[i]
	}
	values := make([]any, len(ts.columns))
	var n int64
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, fmt.Errorf("read %s: %w", table, err)
		}
		for i, c := range ts.columns {
			if values[i], err = normalise(raw[i], c.Kind); err != nil {
				return n, fmt.Errorf("read %s.%s: %w", table, c.Name, err)
			}
		}
		if err := enc.row(values); err != nil {
			return n, fmt.Errorf("write: %w", err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("read %s: %w", table, err)
	}
	return n, nil
}

// auditState reads the audit chain's head and its last signed checkpoint
// from the snapshot (internal/audit's audit_head and audit_checkpoints).
// A log without entries has no head; one never checkpointed, no checkpoint.
func auditState(ctx context.Context, tx *sql.Tx) (head, checkpoint json.RawMessage, err error) {
	var seq int64
	var hash []byte
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("read audit head: %w", err)
	}
	if err == nil && seq > 0 {
		if head, err = json.Marshal(AuditHead{Seq: seq, Hash: hex.EncodeToString(hash)}); err != nil {
			return nil, nil, err
		}
	}
	var cp Checkpoint
	var root []byte
	err = tx.QueryRowContext(ctx, `SELECT size, root, note, created_at FROM audit_checkpoints ORDER BY size DESC LIMIT 1`).
		Scan(&cp.Size, &root, &cp.Note, &cp.CreatedAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return head, nil, nil
	case err != nil:
		return nil, nil, fmt.Errorf("read audit checkpoint: %w", err)
	}
	cp.Root = hex.EncodeToString(root)
	checkpoint, err = json.Marshal(cp)
	return head, checkpoint, err
}
