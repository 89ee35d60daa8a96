package consent

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/steward-dev/steward/internal/db"
)

// CopyEventsForBench extends the ledger to n events with copies of the
// events it holds, for benchmarks of a large ledger (steward bench startup
// --bulk): the append path (a receipt signed per event, the rollups kept)
// takes an hour for ten million events on a shared machine. Each copy is a
// chain entry of its own, chained after the ledger's head: its own seq,
// event id (the original's with ".r<k>") and device or subject (prefixed
// "r<k>-", so that copies are distinct identities), its principal MAC
// computed anew and its chain hash, so that the chain verifies and the
// index holds as many identities and states as n appended events would.
// What it skips: the copies carry the original's stored receipt and its
// hash (a receipt check against the signing key, `steward ledger verify
// --receipts`, names them), the analytics rollups and the subjects table
// are not updated, and no notification is sent. progress, when set, is
// told the number of events copied after each transaction. Only for an
// empty store filled for the purpose, with no server running on it.
func CopyEventsForBench(ctx context.Context, store *db.DB, n int, progress func(copied int)) (int, error) {
	head, err := readHead(ctx, store)
	if err != nil {
		return 0, db.Classify(err)
	}
	base, err := db.QueryAll(ctx, store, `SELECT `+chainEventColumns+` FROM consent_events WHERE seq <= $1 AND salt IS NOT NULL
		ORDER BY seq`, []any{head.seq}, scanChainEvent)
	if err != nil {
		return 0, db.Classify(fmt.Errorf("read ledger: %w", err))
	}
	if len(base) == 0 {
		return 0, errors.New("copy events: the ledger holds no event to copy")
	}
	have := 0
	if err := store.QueryRowContext(ctx, `SELECT count(*) FROM consent_events`).Scan(&have); err != nil {
		return 0, db.Classify(fmt.Errorf("count ledger: %w", err))
	}
	seq, prevSeq, prevHash := head.seq, head.chainSeq, head.hash
	copied := 0
	const perTx = 5000
	for k := 1; have+copied < n; k++ {
		tag := strconv.Itoa(k)
		for start := 0; start < len(base) && have+copied < n; start += perTx {
			err := store.Tx(ctx, func(tx *sql.Tx) error {
				stmt, err := tx.PrepareContext(ctx, `INSERT INTO consent_events (`+eventColumns+`, prev_seq, hash, salt, principal_mac, receipt, receipt_hash)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`)
				if err != nil {
					return fmt.Errorf("insert events: %w", err)
				}
				defer stmt.Close()
				for i := start; i < min(start+perTx, len(base)) && have+copied < n; i++ {
					r := &base[i]
					e := r.event
					seq++
					e.Seq, e.ID = seq, e.ID+".r"+tag
					if e.Subject != "" {
						e.Subject = "r" + tag + "-" + e.Subject
					}
					if e.Device != "" {
						e.Device = "r" + tag + "-" + e.Device
					}
					mac := principalMAC(r.salt, &e)
					hash := eventHash(prevHash, prevSeq, &e, mac, r.rHash)
					if _, err := stmt.ExecContext(ctx, e.Seq, e.Property, e.ID, nullString(e.Subject), nullString(e.Device), e.Purpose, e.Vendor,
						string(e.Action), string(e.Source), e.NoticeVersion, e.Jurisdiction, e.GPC, e.DNT, e.TCString, micros(e.At),
						micros(e.RecordedAt), e.GPPString, string(e.Channel), prevSeq, hash, r.salt, mac, r.receipt, r.rHash); err != nil {
						return fmt.Errorf("insert event %d: %w", e.Seq, err)
					}
					prevSeq, prevHash = e.Seq, hash
					copied++
				}
				_, err = tx.ExecContext(ctx, `UPDATE ledger_head SET seq = $1, chain_seq = $1, hash = $2 WHERE id = 1`, seq, prevHash)
				return err
			})
			if err != nil {
				return copied, db.Classify(fmt.Errorf("copy events: %w", err))
			}
			if progress != nil {
				progress(copied)
			}
		}
	}
	return copied, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
