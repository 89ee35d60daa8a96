package vault

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// CachedKeys returns how many unwrapped data keys v holds.
func (v *Vault) CachedKeys() int { return v.cache.len() }

// SeedForTest makes n subjects named prefix+number, each with a data key
// under the active KEK and one field "email" (category contact) holding
// value(i), with multi-row inserts: Put commits once per call, which is too
// slow to build 100,000 subjects for a benchmark.
func SeedForTest(ctx context.Context, v *Vault, prefix string, n int, value func(i int) []byte) error {
	ring, err := v.ring()
	if err != nil {
		return err
	}
	active, err := v.activeVersion(ctx, v.db)
	if err != nil {
		return err
	}
	kek := ring.get(active)
	if kek == nil {
		return fmt.Errorf("active KEK version %d not loaded", active)
	}
	now := micros(v.now())
	const chunk = 100
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		var keys, fields strings.Builder
		var keyArgs, fieldArgs []any
		for i := start; i < end; i++ {
			subject := SeedSubject(prefix, i)
			dek := newDEK()
			wrapped := kek.wrap(subject, firstDEKVersion, dek)
			aead, err := dekCipher(dek)
			if err != nil {
				return err
			}
			val := value(i)
			ciphertext := sealValue(aead, subject, "email", firstDEKVersion, val)
			if i > start {
				keys.WriteString(", ")
				fields.WriteString(", ")
			}
			k := len(keyArgs)
			fmt.Fprintf(&keys, "($%d, $%d, $%d, $%d, $%d, $%d)", k+1, k+2, k+3, k+4, k+5, k+5)
			keyArgs = append(keyArgs, subject, firstDEKVersion, active, wrapped, now)
			f := len(fieldArgs)
			fmt.Fprintf(&fields, "($%d, 'email', 'contact', $%d, $%d, $%d, $%d, $%d)", f+1, f+2, f+3, f+4, f+5, f+5)
			fieldArgs = append(fieldArgs, subject, firstDEKVersion, ciphertext, len(val), now)
		}
		err := v.db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO vault_keys (subject_id, dek_version, kek_version, wrapped, created_at, rewrapped_at) VALUES `+keys.String(), keyArgs...); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO vault_fields (subject_id, name, category, dek_version, ciphertext, size, created_at, updated_at) VALUES `+fields.String(), fieldArgs...)
			return err
		})
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	return nil
}

// SeedSubject is the id of SeedForTest's i-th subject.
func SeedSubject(prefix string, i int) string { return fmt.Sprintf("%s%07d", prefix, i) }
