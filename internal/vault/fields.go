package vault

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// ErrCorrupt is returned when a stored ciphertext or wrapped key does not
// authenticate: it was altered, moved to another subject or field, or
// wrapped under another key than its version says. Nothing is decrypted.
var ErrCorrupt = errs.New(errs.CodeInternal, "stored ciphertext does not authenticate")

// keyRow is a subject's stored data key.
type keyRow struct {
	subject    string
	dekVersion int
	kekVersion int
	wrapped    []byte
}

// firstDEKVersion is the version of every subject's first data key. The
// version is bound into every ciphertext so that a later per-subject rekey
// can tell generations apart; today no operation rekeys a subject.
const firstDEKVersion = 1

// Put encrypts and stores a field of subject, replacing any field of that
// name (tokens of the field stay valid and then yield the new value). The
// subject's data key is made on its first field. The write and its audit
// entry (ActionPut: the field's name and category, whether it replaced
// one, and for a searchable field whether its lookup value changed) commit
// together.
func (v *Vault) Put(ctx context.Context, subject string, f Field) (FieldInfo, error) {
	return v.put(ctx, subject, f, ActionPut)
}

// Correct replaces the value of an existing field of subject with the
// value the subject asked for (GDPR Art. 16), keeping its category and its
// retention period. A field that does not exist is not created: Correct
// returns not found (ErrErased for an erased subject). The write and its
// audit entry (ActionCorrect, with the field's name) commit together.
func (v *Vault) Correct(ctx context.Context, subject, name string, value []byte) (FieldInfo, error) {
	fields, err := v.List(ctx, subject)
	if err != nil {
		return FieldInfo{}, err
	}
	for _, fi := range fields {
		if fi.Name == name {
			return v.put(ctx, subject, Field{Name: name, Category: fi.Category, Value: value, ExpiresAt: fi.ExpiresAt}, ActionCorrect)
		}
	}
	return FieldInfo{}, errs.NotFound("field", name)
}

// put is Put and Correct, recording action; Correct's field must exist
// when the transaction writes it.
func (v *Vault) put(ctx context.Context, subject string, f Field, action string) (FieldInfo, error) {
	ring, err := v.ring()
	if err != nil {
		return FieldInfo{}, err
	}
	now := v.now().UTC().Truncate(time.Microsecond)
	if err := v.checkField(subject, f, now); err != nil {
		return FieldInfo{}, err
	}
	// The lookup key is read (or made) before the transaction: making it
	// takes a transaction of its own.
	lookup, err := v.lookupHash(ctx, f.Name, f.Value)
	if err != nil {
		return FieldInfo{}, err
	}
	var info FieldInfo
	err = v.db.Tx(ctx, func(tx *sql.Tx) error {
		info, err = v.putTx(ctx, tx, ring, subject, f, action, lookup, now)
		return err
	})
	if err != nil {
		return FieldInfo{}, err
	}
	return info, nil
}

// SubjectField is one field of one subject, for PutBatch.
type SubjectField struct {
	Subject string
	Field   Field
}

// PutBatch puts fields of many subjects in one transaction: each as Put
// does it (its subject's data key made on its first field, its own audit
// entry), all or none. It is for loading many subjects at once (an import
// from another system, a benchmark's data set), where one transaction per
// field would spend its time committing. A batch is refused whole, before
// anything is written, when one field would be.
func (v *Vault) PutBatch(ctx context.Context, fields []SubjectField) ([]FieldInfo, error) {
	ring, err := v.ring()
	if err != nil {
		return nil, err
	}
	now := v.now().UTC().Truncate(time.Microsecond)
	lookups := make([][]byte, len(fields))
	for i, sf := range fields {
		if err := v.checkField(sf.Subject, sf.Field, now); err != nil {
			return nil, fmt.Errorf("field %d: %w", i+1, err)
		}
		if lookups[i], err = v.lookupHash(ctx, sf.Field.Name, sf.Field.Value); err != nil {
			return nil, err
		}
	}
	infos := make([]FieldInfo, len(fields))
	err = v.db.Tx(ctx, func(tx *sql.Tx) error {
		for i, sf := range fields {
			if infos[i], err = v.putTx(ctx, tx, ring, sf.Subject, sf.Field, ActionPut, lookups[i], now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return infos, nil
}

// putTx writes one checked field and its audit entry in tx; lookup is its
// lookup hash (nil for a field that is not searchable).
func (v *Vault) putTx(ctx context.Context, tx *sql.Tx, ring *Keyring, subject string, f Field, action string, lookup []byte, now time.Time) (FieldInfo, error) {
	info := FieldInfo{Subject: subject, Name: f.Name, Category: f.Category, Size: len(f.Value), UpdatedAt: now}
	if !f.ExpiresAt.IsZero() {
		info.ExpiresAt = f.ExpiresAt.UTC().Truncate(time.Microsecond)
	}
	if action == ActionCorrect {
		// Deleted since Correct read it: a correction creates nothing.
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM vault_fields WHERE subject_id = $1 AND name = $2`, subject, f.Name).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return info, errs.NotFound("field", f.Name)
		}
		if err != nil {
			return info, db.Classify(fmt.Errorf("vault: read field %q: %w", f.Name, err))
		}
	}
	row, aead, err := v.subjectKey(ctx, tx, ring, subject, now)
	if err != nil {
		return info, err
	}
	if aead == nil {
		if aead, err = v.dekFor(ring, row); err != nil {
			return info, err
		}
	}
	ciphertext := sealValue(aead, subject, f.Name, row.dekVersion, f.Value)
	var created int64
	err = tx.QueryRowContext(ctx, `INSERT INTO vault_fields
		(subject_id, name, category, dek_version, ciphertext, size, created_at, updated_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)
		ON CONFLICT (subject_id, name) DO UPDATE SET category = excluded.category,
			dek_version = excluded.dek_version, ciphertext = excluded.ciphertext, size = excluded.size,
			updated_at = excluded.updated_at, expires_at = excluded.expires_at
		RETURNING created_at`,
		subject, f.Name, f.Category, row.dekVersion, ciphertext, len(f.Value), micros(now), nullMicros(info.ExpiresAt)).Scan(&created)
	if err != nil {
		return info, fmt.Errorf("vault: store field %q: %w", f.Name, err)
	}
	info.CreatedAt = fromMicros(created)
	details := map[string]any{"field": f.Name, "category": f.Category, "replaced": created != micros(now)}
	if lookup != nil {
		// A searchable field (the email address customers sign in
		// with) records whether its lookup value changed: the portal
		// tells the customer so.
		var previous []byte
		err := tx.QueryRowContext(ctx, `SELECT hash FROM vault_lookups WHERE subject_id = $1 AND name = $2`, subject, f.Name).Scan(&previous)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return info, fmt.Errorf("vault: read index of field %q: %w", f.Name, err)
		}
		details["lookup_changed"] = previous != nil && !hmac.Equal(previous, lookup)
		_, err = tx.ExecContext(ctx, `INSERT INTO vault_lookups (subject_id, name, hash) VALUES ($1, $2, $3)
			ON CONFLICT (subject_id, name) DO UPDATE SET hash = excluded.hash`, subject, f.Name, lookup)
		if err != nil {
			return info, fmt.Errorf("vault: index field %q: %w", f.Name, err)
		}
	}
	return info, v.record(ctx, tx, action, subject, details)
}

// Validate reports what Put would refuse in f as input (invalid subject,
// name, category, size or expiry), without writing: a caller that must act
// before a write (tell a customer of it) checks first.
func (v *Vault) Validate(subject string, f Field) error {
	return v.checkField(subject, f, v.now())
}

func (v *Vault) checkField(subject string, f Field, now time.Time) error {
	problems := map[string]string{}
	if !ValidSubject(subject) {
		problems["subject"] = "must be 1 to 128 letters, digits or ._:@+=-"
	}
	if !validName(f.Name) {
		problems["name"] = "must be a lowercase letter then up to 63 lowercase letters, digits, _ . or -"
	}
	if !v.categories[f.Category] {
		problems["category"] = fmt.Sprintf("must be one of %v", v.Categories())
	}
	if len(f.Value) > v.maxValue {
		problems["value"] = fmt.Sprintf("at most %d bytes", v.maxValue)
	}
	if !f.ExpiresAt.IsZero() && !f.ExpiresAt.After(now) {
		problems["expires_at"] = "must lie in the future"
	}
	if len(problems) > 0 {
		return errs.Fields(problems)
	}
	return nil
}

// subjectKey returns subject's key row inside tx, making the data key when
// the subject has none (then with its AEAD, which saves an unwrap). On
// PostgreSQL the row is key-share-locked until tx ends, so an erasure cannot
// delete the key between this read and the write that uses it, while a
// rotation may still rewrap it (the data key itself does not change);
// SQLite write transactions are serialised anyway.
func (v *Vault) subjectKey(ctx context.Context, tx *sql.Tx, ring *Keyring, subject string, now time.Time) (keyRow, cipher.AEAD, error) {
	lock := ""
	if v.db.Dialect == db.Postgres {
		lock = " FOR KEY SHARE"
	}
	row, err := readKey(ctx, tx, subject, lock)
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return row, nil, err
	}
	if err := v.lockSubject(ctx, tx, subject); err != nil {
		return keyRow{}, nil, err
	}
	if erased, err := isErased(ctx, tx, subject); err != nil {
		return keyRow{}, nil, err
	} else if erased {
		return keyRow{}, nil, ErrErased
	}
	active, err := v.activeVersion(ctx, tx)
	if err != nil {
		return keyRow{}, nil, err
	}
	kek := ring.get(active)
	if kek == nil {
		return keyRow{}, nil, errs.New(errs.CodeUnavailable, "the active KEK version %d is not in this replica's keyring", active)
	}
	dek := newDEK()
	row = keyRow{subject: subject, dekVersion: firstDEKVersion, kekVersion: active}
	row.wrapped = kek.wrap(subject, row.dekVersion, dek)
	aead, err := dekCipher(dek) // clears dek
	if err != nil {
		return keyRow{}, nil, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO vault_keys (subject_id, dek_version, kek_version, wrapped, created_at, rewrapped_at)
		VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (subject_id) DO NOTHING`,
		subject, row.dekVersion, row.kekVersion, row.wrapped, micros(now))
	if err != nil {
		return keyRow{}, nil, fmt.Errorf("vault: store data key: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 { // made by a concurrent Put
		row, err := readKey(ctx, tx, subject, lock)
		return row, nil, err
	}
	v.cache.put(row, aead)
	return row, aead, nil
}

// lockSubject serialises the making and the erasure of one subject's key on
// PostgreSQL, where a key inserted by one transaction is invisible to an
// erasure running in another. SQLite write transactions are serial already.
func (v *Vault) lockSubject(ctx context.Context, tx *sql.Tx, subject string) error {
	if v.db.Dialect != db.Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('steward.vault.subject.' || $1::text))`, subject); err != nil {
		return fmt.Errorf("vault: lock subject: %w", err)
	}
	return nil
}

func readKey(ctx context.Context, tx *sql.Tx, subject, lock string) (keyRow, error) {
	row := keyRow{subject: subject}
	err := tx.QueryRowContext(ctx, `SELECT dek_version, kek_version, wrapped FROM vault_keys WHERE subject_id = $1`+lock, subject).
		Scan(&row.dekVersion, &row.kekVersion, &row.wrapped)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("vault: read data key: %w", err)
	}
	return row, err
}

func isErased(ctx context.Context, q db.Querier, subject string) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM vault_erasures WHERE subject_id = $1`, subject).Scan(&n); err != nil {
		return false, db.Classify(fmt.Errorf("vault: read erasures: %w", err))
	}
	return n > 0, nil
}

// dekFor returns the AEAD of row's data key, from the cache or by
// unwrapping it under the KEK version recorded with it.
func (v *Vault) dekFor(ring *Keyring, row keyRow) (cipher.AEAD, error) {
	if aead := v.cache.get(row); aead != nil {
		return aead, nil
	}
	kek := ring.get(row.kekVersion)
	if kek == nil {
		return nil, errs.New(errs.CodeUnavailable, "the data key is wrapped under KEK version %d, which is not in this replica's keyring", row.kekVersion)
	}
	dek, err := kek.unwrap(row.subject, row.dekVersion, row.wrapped)
	if err != nil {
		return nil, fmt.Errorf("vault: unwrap data key: %w", ErrCorrupt)
	}
	aead, err := dekCipher(dek) // clears dek
	if err != nil {
		return nil, err
	}
	v.cache.put(row, aead)
	return aead, nil
}

// Get decrypts a field of subject. A field past its expiry is not found.
func (v *Vault) Get(ctx context.Context, subject, name string) (Record, error) {
	ring, err := v.ring()
	if err != nil {
		return Record{}, err
	}
	if err := checkSubject(subject); err != nil {
		return Record{}, err
	}
	if err := checkName(name); err != nil {
		return Record{}, err
	}
	return v.get(ctx, ring, subject, name)
}

func (v *Vault) get(ctx context.Context, ring *Keyring, subject, name string) (Record, error) {
	rec := Record{FieldInfo: FieldInfo{Subject: subject, Name: name}}
	key := keyRow{subject: subject}
	var fieldDEKVersion int
	var ciphertext []byte
	var created, updated int64
	var expires sql.NullInt64
	// One statement, so the ciphertext and the key row come from one
	// snapshot even while a rotation rewraps the key.
	err := v.db.QueryRowContext(ctx, `SELECT f.category, f.dek_version, f.ciphertext, f.size, f.created_at, f.updated_at, f.expires_at,
			k.dek_version, k.kek_version, k.wrapped
		FROM vault_fields f JOIN vault_keys k ON k.subject_id = f.subject_id
		WHERE f.subject_id = $1 AND f.name = $2`, subject, name).
		Scan(&rec.Category, &fieldDEKVersion, &ciphertext, &rec.Size, &created, &updated, &expires,
			&key.dekVersion, &key.kekVersion, &key.wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, v.missing(ctx, subject, errs.NotFound("field", name))
	}
	if err != nil {
		return Record{}, db.Classify(fmt.Errorf("vault: read field %q: %w", name, err))
	}
	rec.CreatedAt, rec.UpdatedAt, rec.ExpiresAt = fromMicros(created), fromMicros(updated), fromNullMicros(expires)
	if !rec.ExpiresAt.IsZero() && !v.now().Before(rec.ExpiresAt) {
		return Record{}, errs.NotFound("field", name)
	}
	if fieldDEKVersion != key.dekVersion {
		return Record{}, fmt.Errorf("vault: field %q: %w", name, ErrCorrupt)
	}
	aead, err := v.dekFor(ring, key)
	if err != nil {
		return Record{}, err
	}
	value, err := openValue(aead, subject, name, fieldDEKVersion, ciphertext)
	if err != nil {
		return Record{}, fmt.Errorf("vault: open field %q: %w", name, ErrCorrupt)
	}
	rec.Value = value
	return rec, nil
}

// missing returns ErrErased when subject was erased, else notFound.
func (v *Vault) missing(ctx context.Context, subject string, notFound error) error {
	erased, err := isErased(ctx, v.db, subject)
	if err != nil {
		return err
	}
	if erased {
		return ErrErased
	}
	return notFound
}

// Delete removes a field of subject and every token that stands for it,
// recorded in the audit log in the same transaction.
func (v *Vault) Delete(ctx context.Context, subject, name string) error {
	if _, err := v.ring(); err != nil {
		return err
	}
	if err := checkSubject(subject); err != nil {
		return err
	}
	if err := checkName(name); err != nil {
		return err
	}
	var deleted int64
	err := v.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM vault_tokens WHERE subject_id = $1 AND name = $2`, subject, name); err != nil {
			return fmt.Errorf("vault: delete tokens of field %q: %w", name, err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM vault_fields WHERE subject_id = $1 AND name = $2`, subject, name)
		if err != nil {
			return fmt.Errorf("vault: delete field %q: %w", name, err)
		}
		if deleted, err = res.RowsAffected(); err != nil || deleted == 0 {
			return err
		}
		return v.record(ctx, tx, ActionDelete, subject, map[string]any{"field": name})
	})
	if err != nil {
		return err
	}
	if deleted == 0 {
		return v.missing(ctx, subject, errs.NotFound("field", name))
	}
	return nil
}

const fieldInfoColumns = `subject_id, name, category, size, created_at, updated_at, expires_at`

func scanFieldInfos(rows *sql.Rows) ([]FieldInfo, error) {
	defer rows.Close()
	out := []FieldInfo{}
	for rows.Next() {
		var f FieldInfo
		var created, updated int64
		var expires sql.NullInt64
		if err := rows.Scan(&f.Subject, &f.Name, &f.Category, &f.Size, &created, &updated, &expires); err != nil {
			return nil, fmt.Errorf("vault: read fields: %w", err)
		}
		f.CreatedAt, f.UpdatedAt, f.ExpiresAt = fromMicros(created), fromMicros(updated), fromNullMicros(expires)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, db.Classify(fmt.Errorf("vault: read fields: %w", err))
	}
	return out, nil
}

// List returns the metadata of subject's fields that have not expired,
// sorted by name; no value is decrypted. A subject without fields has an
// empty list; an erased subject gives ErrErased.
func (v *Vault) List(ctx context.Context, subject string) ([]FieldInfo, error) {
	if _, err := v.ring(); err != nil {
		return nil, err
	}
	if err := checkSubject(subject); err != nil {
		return nil, err
	}
	rows, err := v.db.QueryContext(ctx, `SELECT `+fieldInfoColumns+` FROM vault_fields
		WHERE subject_id = $1 AND (expires_at IS NULL OR expires_at > $2) ORDER BY name`, subject, micros(v.now()))
	if err != nil {
		return nil, db.Classify(fmt.Errorf("vault: list fields: %w", err))
	}
	out, err := scanFieldInfos(rows)
	if err != nil || len(out) > 0 {
		return out, err
	}
	if err := v.missing(ctx, subject, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// ListExpired returns up to limit fields whose retention period has ended
// and that PurgeExpired has not deleted yet, oldest expiry first. It works
// while sealed.
func (v *Vault) ListExpired(ctx context.Context, limit int) ([]FieldInfo, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := v.db.QueryContext(ctx, `SELECT `+fieldInfoColumns+` FROM vault_fields
		WHERE expires_at IS NOT NULL AND expires_at <= $1 ORDER BY expires_at, subject_id, name LIMIT $2`, micros(v.now()), limit)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("vault: list expired fields: %w", err))
	}
	return scanFieldInfos(rows)
}

// PurgeExpired deletes every field whose retention period has ended, with
// its tokens, in batches, and returns what it deleted (metadata only, for
// the audit log). It works while sealed. Run it periodically: expired
// fields are no longer served, but they are held until purged. It is
// PurgeRetention without category retention or legal holds.
func (v *Vault) PurgeExpired(ctx context.Context) ([]FieldInfo, error) {
	return v.PurgeRetention(ctx, Retention{})
}

// Counts returns how many subjects hold data keys and how many fields are
// stored: aggregates for the console, never a person.
func (v *Vault) Counts(ctx context.Context) (subjects, fields int, err error) {
	err = v.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM vault_keys WHERE subject_id NOT LIKE '~%'),
		(SELECT count(*) FROM vault_fields WHERE subject_id NOT LIKE '~%')`).Scan(&subjects, &fields)
	if err != nil {
		return 0, 0, db.Classify(fmt.Errorf("vault: count: %w", err))
	}
	return subjects, fields, nil
}
