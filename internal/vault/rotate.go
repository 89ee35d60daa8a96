package vault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// RotationProgress reports a KEK rotation.
type RotationProgress struct {
	// Version is the KEK version data keys are rewrapped under.
	Version int `json:"version"`
	// Total is how many data keys were under other versions at the start.
	Total int `json:"total"`
	// Rewrapped is how many data keys this rotation has rewrapped so far;
	// it can end above Total when keys made during the rotation under the
	// old version are caught by the final pass.
	Rewrapped int           `json:"rewrapped"`
	Elapsed   time.Duration `json:"elapsed"`
	Done      bool          `json:"done"`
}

// maxRotationPasses bounds the passes over the key table. A pass after the
// first only finds keys that a replica made under the old version in the
// moment the active version changed.
const maxRotationPasses = 10

// RotateKEK makes newVersion, which the keyring must hold, the active KEK
// version and rewraps every data key under it, in transactions of
// Config.BatchSize keys, while the vault keeps serving: a read unwraps a
// data key under the version stored with it, and each row changes from
// (old version, old wrapping) to (new version, new wrapping) in one
// statement. Every replica's keyring must hold both versions until it ends.
// progress, when not nil, is called after each batch. Running it again
// after an interruption resumes; running it twice at once is harmless.
func (v *Vault) RotateKEK(ctx context.Context, newVersion int, progress func(RotationProgress)) (RotationProgress, error) {
	ring, err := v.ring()
	if err != nil {
		return RotationProgress{}, err
	}
	target := ring.get(newVersion)
	if target == nil {
		return RotationProgress{}, errs.Invalid("version",
			"KEK version %d is not in the keyring: add it to every replica's keyring (STEWARD_MASTER_KEY or the key file) first", newVersion)
	}
	start := time.Now()
	p := RotationProgress{Version: newVersion}
	err = v.db.Tx(ctx, func(tx *sql.Tx) error {
		var retired sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT retired_at FROM vault_keks WHERE version = $1`, newVersion).Scan(&retired)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("vault: read KEK version: %w", err)
		}
		if retired.Valid {
			return errs.New(errs.CodeConflict, "KEK version %d is retired; rotate to a new version", newVersion)
		}
		if err := registerKEK(ctx, tx, ring, newVersion, v.now()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE vault_head SET kek_version = $1 WHERE id = 1`, newVersion); err != nil {
			return fmt.Errorf("vault: set active KEK version: %w", err)
		}
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM vault_keys WHERE kek_version <> $1`, newVersion).Scan(&p.Total)
	})
	if err != nil {
		return p, err
	}
	v.log.Info("vault: KEK rotation started", "version", newVersion, "data_keys", p.Total)
	report := func() {
		p.Elapsed = time.Since(start)
		if progress != nil {
			progress(p)
		}
	}
	for pass := 0; ; pass++ {
		if pass == maxRotationPasses {
			return p, errs.New(errs.CodeUnavailable, "KEK rotation: data keys under old versions keep appearing; run it again")
		}
		after := ""
		for {
			n, last, err := v.rewrapBatch(ctx, ring, target, after)
			if err != nil {
				return p, err
			}
			p.Rewrapped += n
			if last == "" {
				break
			}
			after = last
			report()
		}
		var left int
		if err := v.db.QueryRowContext(ctx, `SELECT count(*) FROM vault_keys WHERE kek_version <> $1`, newVersion).Scan(&left); err != nil {
			return p, db.Classify(fmt.Errorf("vault: count data keys: %w", err))
		}
		if left == 0 {
			break
		}
	}
	v.cache.purge()
	p.Done = true
	report()
	v.log.Info("vault: KEK rotation done", "version", newVersion, "rewrapped", p.Rewrapped, "elapsed", p.Elapsed.Round(time.Millisecond))
	return p, nil
}

// rewrapBatch rewraps the next batch of data keys after subject id after
// that are not under target. It returns how many it rewrapped and the last
// subject id it saw, "" when the pass is over.
func (v *Vault) rewrapBatch(ctx context.Context, ring *Keyring, target *kek, after string) (int, string, error) {
	var rewrapped int
	var last string
	err := v.db.Tx(ctx, func(tx *sql.Tx) error {
		rewrapped, last = 0, ""
		rows, err := tx.QueryContext(ctx, `SELECT subject_id, dek_version, kek_version, wrapped FROM vault_keys
			WHERE kek_version <> $1 AND subject_id > $2 ORDER BY subject_id LIMIT $3`, target.version, after, v.batchSize)
		if err != nil {
			return fmt.Errorf("vault: read data keys: %w", err)
		}
		batch := make([]keyRow, 0, v.batchSize)
		for rows.Next() {
			var r keyRow
			if err := rows.Scan(&r.subject, &r.dekVersion, &r.kekVersion, &r.wrapped); err != nil {
				rows.Close()
				return fmt.Errorf("vault: read data keys: %w", err)
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("vault: read data keys: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		now := micros(v.now())
		subjects := make([]string, len(batch))
		wrapped := make([][]byte, len(batch))
		for i, r := range batch {
			old := ring.get(r.kekVersion)
			if old == nil {
				return errs.New(errs.CodeUnavailable,
					"data keys are wrapped under KEK version %d, which is not in this replica's keyring; add it and run the rotation again", r.kekVersion)
			}
			dek, err := old.unwrap(r.subject, r.dekVersion, r.wrapped)
			if err != nil {
				return fmt.Errorf("vault: rewrap: a data key under KEK version %d does not open: %w", r.kekVersion, ErrCorrupt)
			}
			subjects[i], wrapped[i] = r.subject, target.wrap(r.subject, r.dekVersion, dek)
			clear(dek)
		}
		// Each row changes only if it still has the version it was read
		// with: a key erased or rewrapped meanwhile is left alone.
		if v.db.Dialect == db.Postgres {
			// One statement per batch: a round trip per key would make
			// the rotation of 100,000 keys take most of a minute.
			oldKEK, oldDEK := make([]int32, len(batch)), make([]int32, len(batch))
			for i, r := range batch {
				oldKEK[i], oldDEK[i] = int32(r.kekVersion), int32(r.dekVersion)
			}
			res, err := tx.ExecContext(ctx, `UPDATE vault_keys AS k SET kek_version = $1, wrapped = u.wrapped, rewrapped_at = $2
				FROM unnest($3::text[], $4::bytea[], $5::int[], $6::int[]) AS u (subject_id, wrapped, kek_version, dek_version)
				WHERE k.subject_id = u.subject_id AND k.kek_version = u.kek_version AND k.dek_version = u.dek_version`,
				target.version, now, subjects, wrapped, oldKEK, oldDEK)
			if err != nil {
				return fmt.Errorf("vault: store rewrapped data keys: %w", err)
			}
			n, err := res.RowsAffected()
			rewrapped = int(n)
			if err != nil {
				return fmt.Errorf("vault: store rewrapped data keys: %w", err)
			}
		} else {
			// SQLite runs in process: a prepared statement per row costs
			// microseconds and no round trip.
			stmt, err := tx.PrepareContext(ctx, `UPDATE vault_keys SET kek_version = $1, wrapped = $2, rewrapped_at = $3
				WHERE subject_id = $4 AND kek_version = $5 AND dek_version = $6`)
			if err != nil {
				return fmt.Errorf("vault: prepare rewrap: %w", err)
			}
			defer stmt.Close()
			for i, r := range batch {
				res, err := stmt.ExecContext(ctx, target.version, wrapped[i], now, r.subject, r.kekVersion, r.dekVersion)
				if err != nil {
					return fmt.Errorf("vault: store rewrapped data key: %w", err)
				}
				if n, _ := res.RowsAffected(); n > 0 {
					rewrapped++
				}
			}
		}
		last = batch[len(batch)-1].subject
		if len(batch) < v.batchSize {
			last = "" // the pass is over
		}
		return nil
	})
	return rewrapped, last, err
}

// Retire records that KEK version is no longer used, and drops it from this
// vault's keyring; the operator then removes it from every replica's
// keyring and destroys it. It refuses (code conflict) while the version is
// active or any data key is still wrapped under it. It works while sealed.
func (v *Vault) Retire(ctx context.Context, version int) error {
	err := v.db.Tx(ctx, func(tx *sql.Tx) error {
		var retired sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT retired_at FROM vault_keks WHERE version = $1`, version).Scan(&retired)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.New(errs.CodeNotFound, "KEK version %d is not known to this store", version)
		}
		if err != nil {
			return fmt.Errorf("vault: read KEK version: %w", err)
		}
		if retired.Valid {
			return nil
		}
		active, err := v.activeVersion(ctx, tx)
		if err != nil {
			return err
		}
		if active == version {
			return errs.New(errs.CodeConflict, "KEK version %d is the active version; rotate to another version first", version)
		}
		var inUse int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM vault_keys WHERE kek_version = $1`, version).Scan(&inUse); err != nil {
			return fmt.Errorf("vault: count data keys: %w", err)
		}
		if inUse > 0 {
			return errs.New(errs.CodeConflict, "KEK version %d still wraps %d data keys; finish the rotation first", version, inUse)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE vault_keks SET retired_at = $1 WHERE version = $2`, micros(v.now()), version); err != nil {
			return fmt.Errorf("vault: retire KEK version: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if ring := v.keyring.Load(); ring != nil {
		ring.Remove(version)
	}
	v.log.Info("vault: KEK version retired", "version", version)
	return nil
}

// KeyStatus describes the KEK versions of the store and of this replica.
type KeyStatus struct {
	// Active is the version new data keys are wrapped under; 0 before the
	// first unsealed start.
	Active   int       `json:"active"`
	Sealed   bool      `json:"sealed"`
	Versions []KEKInfo `json:"versions"`
}

// KEKInfo describes one KEK version.
type KEKInfo struct {
	Version int `json:"version"`
	// CheckValue is a one-way derivation of the key, for comparing
	// replicas' configuration.
	CheckValue string    `json:"check_value,omitempty"`
	CreatedAt  time.Time `json:"created_at,omitzero"`
	RetiredAt  time.Time `json:"retired_at,omitzero"`
	// DataKeys is how many data keys are wrapped under the version.
	DataKeys int `json:"data_keys"`
	// Loaded says whether this replica's keyring holds the version.
	Loaded bool `json:"loaded"`
}

// KeyStatus returns the KEK versions known to the store or held in the
// keyring, with how many data keys each wraps. It works while sealed.
func (v *Vault) KeyStatus(ctx context.Context) (KeyStatus, error) {
	ring := v.keyring.Load()
	st := KeyStatus{Sealed: ring == nil}
	var err error
	if st.Active, err = v.activeVersion(ctx, v.db); err != nil {
		return st, err
	}
	byVersion := map[int]*KEKInfo{}
	info := func(version int) *KEKInfo {
		if byVersion[version] == nil {
			byVersion[version] = &KEKInfo{Version: version}
		}
		return byVersion[version]
	}
	rows, err := v.db.QueryContext(ctx, `SELECT version, check_value, created_at, retired_at FROM vault_keks`)
	if err != nil {
		return st, db.Classify(fmt.Errorf("vault: read KEK versions: %w", err))
	}
	for rows.Next() {
		var version int
		var check string
		var created int64
		var retired sql.NullInt64
		if err := rows.Scan(&version, &check, &created, &retired); err != nil {
			rows.Close()
			return st, fmt.Errorf("vault: read KEK versions: %w", err)
		}
		k := info(version)
		k.CheckValue, k.CreatedAt, k.RetiredAt = check, fromMicros(created), fromNullMicros(retired)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, db.Classify(fmt.Errorf("vault: read KEK versions: %w", err))
	}
	rows, err = v.db.QueryContext(ctx, `SELECT kek_version, count(*) FROM vault_keys GROUP BY kek_version`)
	if err != nil {
		return st, db.Classify(fmt.Errorf("vault: count data keys: %w", err))
	}
	for rows.Next() {
		var version, n int
		if err := rows.Scan(&version, &n); err != nil {
			rows.Close()
			return st, fmt.Errorf("vault: count data keys: %w", err)
		}
		info(version).DataKeys = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, db.Classify(fmt.Errorf("vault: count data keys: %w", err))
	}
	for _, version := range ring.Versions() {
		info(version).Loaded = true
	}
	for _, version := range slices.Sorted(maps.Keys(byVersion)) {
		st.Versions = append(st.Versions, *byVersion[version])
	}
	return st, nil
}
