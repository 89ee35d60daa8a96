package vault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// Erasure records that a subject's data key was destroyed. It holds the
// subject id and the time, nothing else.
type Erasure struct {
	Subject string    `json:"subject"`
	At      time.Time `json:"at"`
}

// ErasureResult says what EraseSubject destroyed.
type ErasureResult struct {
	Erasure
	// Fields and Tokens count what was deleted with the key.
	Fields int `json:"fields"`
	Tokens int `json:"tokens"`
	// AlreadyErased is set when the subject had been erased before; At is
	// then the time of that first erasure.
	AlreadyErased bool `json:"already_erased"`
}

// ErasureLog is what a backup restore needs from the vault: the erasures
// made since a backup, and a way to make them again on the restored store.
type ErasureLog interface {
	Erasures(ctx context.Context, since time.Time) ([]Erasure, error)
	ReapplyErasures(ctx context.Context, records []Erasure) (int, error)
}

var _ ErasureLog = (*Vault)(nil)

// EraseSubject crypto-shreds subject: it deletes the subject's wrapped data
// key, its ciphertexts and its tokens, and writes an erasure record. Any
// copy of a ciphertext made before is unreadable from then on, since the
// only key that opens it is gone (backups: see ReapplyErasures). The
// subject cannot hold vault data again. Erasing twice is harmless. It works
// while sealed: no key is needed to destroy one.
func (v *Vault) EraseSubject(ctx context.Context, subject string) (ErasureResult, error) {
	var res ErasureResult
	err := v.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = v.EraseSubjectTx(ctx, tx, subject)
		return err
	})
	if err != nil {
		return ErasureResult{}, err
	}
	return res, nil
}

// EraseSubjectTx is EraseSubject inside tx, so that the erasure commits
// with the audit entry that records it (audit.Log.Do), or not at all.
func (v *Vault) EraseSubjectTx(ctx context.Context, tx *sql.Tx, subject string) (ErasureResult, error) {
	if err := checkSubject(subject); err != nil {
		return ErasureResult{}, err
	}
	// Dropped before and after: a key cached in between by a concurrent
	// read dies with the transaction's commit at the latest.
	defer v.cache.drop(subject)
	return v.erase(ctx, tx, Erasure{Subject: subject, At: v.now().UTC().Truncate(time.Microsecond)})
}

// erase destroys subject's key and data inside tx and records the erasure
// with rec.At unless one is recorded already.
func (v *Vault) erase(ctx context.Context, tx *sql.Tx, rec Erasure) (ErasureResult, error) {
	res := ErasureResult{Erasure: rec}
	if err := v.lockSubject(ctx, tx, rec.Subject); err != nil {
		return res, err
	}
	var earlier int64
	switch err := tx.QueryRowContext(ctx, `SELECT erased_at FROM vault_erasures WHERE subject_id = $1`, rec.Subject).Scan(&earlier); {
	case err == nil:
		res.AlreadyErased, res.At = true, fromMicros(earlier)
	case !errors.Is(err, sql.ErrNoRows):
		return res, fmt.Errorf("vault: read erasure: %w", err)
	}
	deleted := func(query string) (int, error) {
		r, err := tx.ExecContext(ctx, query, rec.Subject)
		if err != nil {
			return 0, err
		}
		n, err := r.RowsAffected()
		return int(n), err
	}
	var err error
	if res.Tokens, err = deleted(`DELETE FROM vault_tokens WHERE subject_id = $1`); err != nil {
		return res, fmt.Errorf("vault: erase tokens: %w", err)
	}
	if res.Fields, err = deleted(`DELETE FROM vault_fields WHERE subject_id = $1`); err != nil {
		return res, fmt.Errorf("vault: erase fields: %w", err)
	}
	if _, err = deleted(`DELETE FROM vault_keys WHERE subject_id = $1`); err != nil {
		return res, fmt.Errorf("vault: erase data key: %w", err)
	}
	if !res.AlreadyErased {
		if _, err := tx.ExecContext(ctx, `INSERT INTO vault_erasures (subject_id, erased_at) VALUES ($1, $2) ON CONFLICT (subject_id) DO NOTHING`,
			rec.Subject, micros(rec.At)); err != nil {
			return res, fmt.Errorf("vault: record erasure: %w", err)
		}
	}
	return res, nil
}

// Erasures returns the erasures recorded at or after since, oldest first:
// what a restore of a backup taken at since must re-apply. It works while
// sealed.
func (v *Vault) Erasures(ctx context.Context, since time.Time) ([]Erasure, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT subject_id, erased_at FROM vault_erasures WHERE erased_at >= $1
		ORDER BY erased_at, subject_id`, micros(since))
	if err != nil {
		return nil, db.Classify(fmt.Errorf("vault: read erasures: %w", err))
	}
	defer rows.Close()
	out := []Erasure{}
	for rows.Next() {
		var e Erasure
		var at int64
		if err := rows.Scan(&e.Subject, &at); err != nil {
			return nil, fmt.Errorf("vault: read erasures: %w", err)
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, db.Classify(fmt.Errorf("vault: read erasures: %w", err))
	}
	return out, nil
}

// ReapplyErasures erases again, on a store restored from a backup, every
// subject in records (as returned by Erasures on the live store, or kept
// beside the backups), keeping each record's original time. It returns how
// many subjects still had a data key and lost it. It is idempotent and works
// while sealed, so a restore can run it before any key is loaded.
func (v *Vault) ReapplyErasures(ctx context.Context, records []Erasure) (int, error) {
	problems := map[string]string{}
	for i, r := range records {
		if !ValidSubject(r.Subject) {
			problems[fmt.Sprintf("records[%d].subject", i)] = "must be 1 to 128 letters, digits or ._:@+=-"
		}
		if r.At.IsZero() {
			problems[fmt.Sprintf("records[%d].at", i)] = "missing"
		}
	}
	if len(problems) > 0 {
		return 0, errs.Fields(problems)
	}
	shredded := 0
	for start := 0; start < len(records); start += v.batchSize {
		batch := records[start:min(start+v.batchSize, len(records))]
		n := 0
		err := v.db.Tx(ctx, func(tx *sql.Tx) error {
			n = 0
			for _, r := range batch {
				var had int
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM vault_keys WHERE subject_id = $1`, r.Subject).Scan(&had); err != nil {
					return fmt.Errorf("vault: read data key: %w", err)
				}
				if _, err := v.erase(ctx, tx, Erasure{Subject: r.Subject, At: r.At.UTC().Truncate(time.Microsecond)}); err != nil {
					return err
				}
				n += had
			}
			return nil
		})
		for _, r := range batch {
			v.cache.drop(r.Subject)
		}
		if err != nil {
			return shredded, err
		}
		shredded += n
	}
	if shredded > 0 {
		v.log.Info("vault: re-applied erasures", "records", len(records), "data_keys_destroyed", shredded)
	}
	return shredded, nil
}

// Erased reports whether subject was erased (it can hold no vault data
// again). It works while sealed.
func (v *Vault) Erased(ctx context.Context, subject string) (bool, error) {
	if err := checkSubject(subject); err != nil {
		return false, err
	}
	return isErased(ctx, v.db, subject)
}
