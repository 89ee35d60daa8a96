package vault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/steward-dev/steward/internal/db"
)

// sealedName is the field name bound into what SealFor seals. validName
// refuses '~', so no field's ciphertext opens as a sealed blob or the
// other way round.
const sealedName = "~sealed"

// SealFor encrypts plaintext under subject's own data key (made when the
// subject has none), bound to associated. Steward seals what it keeps about
// a subject outside the vault this way (export archives' keys), so that
// erasing the subject, which destroys that one key, makes every such copy
// unreadable, in backups too. An erased subject gets ErrErased.
func (v *Vault) SealFor(ctx context.Context, subject string, plaintext, associated []byte) ([]byte, error) {
	ring, err := v.ring()
	if err != nil {
		return nil, err
	}
	if err := checkSubject(subject); err != nil {
		return nil, err
	}
	var sealed []byte
	err = v.db.Tx(ctx, func(tx *sql.Tx) error {
		row, aead, err := v.subjectKey(ctx, tx, ring, subject, v.now().UTC())
		if err != nil {
			return err
		}
		if aead == nil {
			if aead, err = v.dekFor(ring, row); err != nil {
				return err
			}
		}
		sealed = seal(aead, plaintext, sealedAAD(subject, row.dekVersion, associated))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("vault: seal for subject: %w", err)
	}
	return sealed, nil
}

// OpenFor decrypts what SealFor made for subject with the same associated
// data. Once the subject is erased it returns ErrErased: the key is gone.
func (v *Vault) OpenFor(ctx context.Context, subject string, sealed, associated []byte) ([]byte, error) {
	ring, err := v.ring()
	if err != nil {
		return nil, err
	}
	if err := checkSubject(subject); err != nil {
		return nil, err
	}
	row := keyRow{subject: subject}
	err = v.db.QueryRowContext(ctx, `SELECT dek_version, kek_version, wrapped FROM vault_keys WHERE subject_id = $1`, subject).
		Scan(&row.dekVersion, &row.kekVersion, &row.wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		if erased, err := isErased(ctx, v.db, subject); err != nil {
			return nil, err
		} else if erased {
			return nil, ErrErased
		}
		return nil, fmt.Errorf("vault: open for subject: %w", ErrCorrupt)
	}
	if err != nil {
		return nil, db.Classify(fmt.Errorf("vault: open for subject: %w", err))
	}
	aead, err := v.dekFor(ring, row)
	if err != nil {
		return nil, err
	}
	plaintext, err := open(aead, sealed, sealedAAD(subject, row.dekVersion, associated))
	if err != nil {
		return nil, fmt.Errorf("vault: open for subject: %w", ErrCorrupt)
	}
	return plaintext, nil
}

func sealedAAD(subject string, dekVersion int, associated []byte) []byte {
	aad := valueAAD(nil, subject, sealedName, dekVersion)
	return appendString(aad, string(associated))
}
