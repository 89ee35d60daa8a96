package vault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/steward-dev/steward/internal/db"
)

// systemPrefix starts the ids of Steward's own key holders. ValidSubject
// refuses '~', so no API caller can read, write or erase them, and a KEK
// rotation rewraps their data keys with every subject's.
const systemPrefix = "~system."

// A SecretBox seals small secrets of Steward itself (staff TOTP seeds, the
// lookup key) under the data key of a reserved system holder, wrapped by
// the KEK like a subject's: the secrets follow every KEK rotation, need no
// key of their own, and are unreadable while the vault is sealed.
type SecretBox struct {
	v      *Vault
	holder string
}

// SecretBox returns the box of purpose (key-like, such as "staff-totp").
func (v *Vault) SecretBox(purpose string) (*SecretBox, error) {
	if !validName(purpose) {
		return nil, fmt.Errorf("vault: secret box purpose %q is not key-like", purpose)
	}
	return &SecretBox{v: v, holder: systemPrefix + purpose}, nil
}

// Seal encrypts plaintext bound to associated.
func (b *SecretBox) Seal(ctx context.Context, plaintext, associated []byte) ([]byte, error) {
	ring, err := b.v.ring()
	if err != nil {
		return nil, err
	}
	var sealed []byte
	err = b.v.db.Tx(ctx, func(tx *sql.Tx) error {
		row, aead, err := b.v.subjectKey(ctx, tx, ring, b.holder, b.v.now())
		if err != nil {
			return err
		}
		if aead == nil {
			if aead, err = b.v.dekFor(ring, row); err != nil {
				return err
			}
		}
		sealed = seal(aead, plaintext, secretAAD(b.holder, row.dekVersion, associated))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("vault: seal secret: %w", err)
	}
	return sealed, nil
}

// Open decrypts what Seal made with the same associated data.
func (b *SecretBox) Open(ctx context.Context, sealed, associated []byte) ([]byte, error) {
	ring, err := b.v.ring()
	if err != nil {
		return nil, err
	}
	row := keyRow{subject: b.holder}
	err = b.v.db.QueryRowContext(ctx, `SELECT dek_version, kek_version, wrapped FROM vault_keys WHERE subject_id = $1`, b.holder).
		Scan(&row.dekVersion, &row.kekVersion, &row.wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("vault: open secret: %w", ErrCorrupt)
	}
	if err != nil {
		return nil, db.Classify(fmt.Errorf("vault: open secret: %w", err))
	}
	aead, err := b.v.dekFor(ring, row)
	if err != nil {
		return nil, err
	}
	plaintext, err := open(aead, sealed, secretAAD(b.holder, row.dekVersion, associated))
	if err != nil {
		return nil, fmt.Errorf("vault: open secret: %w", ErrCorrupt)
	}
	return plaintext, nil
}

func secretAAD(holder string, dekVersion int, associated []byte) []byte {
	aad := valueAAD(nil, holder, "secret", dekVersion)
	return appendString(aad, string(associated))
}

// lookupSecret names the sealed HMAC key of the lookup index.
const lookupSecret = "lookup-key"

// lookupKey returns the HMAC key of the lookup index, made on first use and
// kept sealed in vault_secrets; cached once read.
func (v *Vault) lookupKey(ctx context.Context) ([]byte, error) {
	if k := v.lookup.Load(); k != nil {
		return *k, nil
	}
	box, err := v.SecretBox("lookup")
	if err != nil {
		return nil, err
	}
	var sealed []byte
	err = v.db.QueryRowContext(ctx, `SELECT sealed FROM vault_secrets WHERE name = $1`, lookupSecret).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		fresh := newDEK()
		if sealed, err = box.Seal(ctx, fresh, []byte(lookupSecret)); err != nil {
			return nil, err
		}
		if _, err = v.db.ExecContext(ctx, `INSERT INTO vault_secrets (name, sealed, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO NOTHING`, lookupSecret, sealed, micros(v.now())); err != nil {
			return nil, db.Classify(fmt.Errorf("vault: store lookup key: %w", err))
		}
		// A concurrent first use may have won: read back what is stored.
		err = v.db.QueryRowContext(ctx, `SELECT sealed FROM vault_secrets WHERE name = $1`, lookupSecret).Scan(&sealed)
	}
	if err != nil {
		return nil, db.Classify(fmt.Errorf("vault: read lookup key: %w", err))
	}
	key, err := box.Open(ctx, sealed, []byte(lookupSecret))
	if err != nil {
		return nil, err
	}
	v.lookup.Store(&key)
	return key, nil
}
