// Package vault keeps a subject's sensitive fields (a bank account, a
// national id, an address) encrypted under that subject's own data key, so
// that erasing the subject is destroying one key: crypto-shredding.
//
// # Use
//
//	ring, err := vault.ParseKeyring(getenv("STEWARD_MASTER_KEY")) // or vault.LoadKeyringFile(path)
//	v, err := vault.Open(ctx, vault.Config{DB: store, Keyring: ring})
//	defer v.Close()
//
//	_, err = v.Put(ctx, "subj-1", vault.Field{Name: "iban", Category: "financial", Value: []byte("DE89…")})
//	rec, err := v.Get(ctx, "subj-1", "iban")            // rec.Value is the plaintext
//	tok, err := v.Tokenize(ctx, "subj-1", "iban")       // "tok_…", safe to hand to other systems
//	rec, err = v.Detokenize(ctx, tok)                   // audit this
//	res, err := v.EraseSubject(ctx, "subj-1")           // crypto-shredding; tokens die too
//	p, err := v.RotateKEK(ctx, 2, nil)                  // rewrap every data key under KEK version 2
//	err = v.Retire(ctx, 1)                              // once no data key uses version 1
//
// Without a keyring the vault is sealed: Put, Get, Delete, List, Tokenize,
// Detokenize and RotateKEK return ErrSealed (code unavailable, message
// "sealed"). Erasure, retention purges, erasure records and key status work
// while sealed, because none of them needs a key and none of them must wait
// for one: an erasure request is honoured and a restored backup re-applies
// erasures before an operator has loaded the master key.
//
// # Keys
//
// Each subject has a random 256-bit data key (DEK). Values are sealed with
// AES-256-GCM under it, with a random 96-bit nonce per value. The DEK is
// stored wrapped (AES-256-GCM again) by a key-encryption key (KEK) of a
// given version; the KEK comes from STEWARD_MASTER_KEY or a key file and
// never reaches the store. The store holds, per KEK version, only an HKDF
// check value that tells a wrong key apart at start.
//
// Both stored blobs are format byte 0x01 || nonce (12) || ciphertext || tag
// (16). The associated data of a value binds the subject id, the field name
// and the DEK version; that of a wrapped DEK binds the subject id, the KEK
// version and the DEK version (layouts at valueAAD and dekAAD). A value
// moved to another subject or field, or a wrapped key moved to another
// subject or relabelled with another version, fails to open.
//
// Wrapping uses AES-256-GCM rather than AES key wrap (RFC 3394/5649): the
// standard library has GCM and not KW, and GCM takes associated data, which
// is what binds a wrapped key to its subject and versions; KW has no such
// input. A wrapped key takes 61 bytes against 40 with KW, which does not
// matter.
//
// Nonce budget: with random 96-bit nonces a key must seal at most 2^32
// messages (NIST SP 800-38D) to keep the chance of a nonce collision below
// 2^-32. A DEK seals one message per Put of one subject's field: 2^32 Puts
// to one person's vault are about 136 years at one write a second. A KEK
// version seals one message per data key created or rewrapped under it, so
// 2^32 subjects per version; RotateKEK starts a fresh version.
//
// # Rotation
//
// RotateKEK makes a version active (new DEKs are wrapped under it at once)
// and rewraps every existing DEK in batches while the vault serves. Reads
// unwrap each DEK under the version recorded with it, so every replica must
// hold the old and the new version until rotation ends; then Retire records
// that the old version is unused (it refuses while any DEK uses it) and the
// old key can leave every keyring. Values are never re-encrypted.
//
// Backups made before an erasure still hold the subject's wrapped DEK. A
// restore therefore calls ReapplyErasures with the records written since the
// backup; and once the KEK versions that wrapped such backups are retired
// and their keys destroyed, those copies are unreadable for good.
//
// # Memory
//
// Plaintext DEKs live in byte slices that are cleared as soon as the AEAD is
// built or the key rewrapped; ParseKeyring and LoadKeyringFile clear their
// copies of the KEK text and bytes once the HKDF derivations are made. Go cannot clear everything: the AES key schedule inside a
// cipher.Block is unexported and stays until the garbage collector reuses
// the memory, the runtime may leave copies in registers or dead stack, and
// STEWARD_MASTER_KEY stays in the process environment (/proc/self/environ)
// for the life of the process; a key file is preferable. The experimental
// runtime/secret package (GOEXPERIMENT=runtimesecret) could close the stack
// and register gap once it is stable.
//
// Unwrapped DEKs are cached (as ready AEADs) in a bounded LRU with a short
// TTL (Config.CacheSize, Config.CacheTTL; defaults 10,000 keys, 30 seconds).
// An entry answers only while the stored key row still matches it byte for
// byte; EraseSubject drops the subject's entry and RotateKEK and Seal drop
// them all. The cache only saves an unwrap: a value still needs its
// ciphertext row, which erasure deletes, so a replica's stale entry cannot
// bring back an erased field.
//
// Values, DEKs and KEKs never appear in errors or logs; errors name a field
// by its name and never quote a value, a token or a subject id. Record and
// Field print and log their values as "[redacted]". A value returned by Get
// is the caller's to clear.
//
// Subjects are named by Steward's own opaque subject id, never by an email
// address or a company's external id: the erasure record keeps the id.
package vault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// DefaultCategories are the data categories a field may have when
// Config.Categories is empty.
var DefaultCategories = []string{"contact", "financial", "government_id", "health", "location", "biometric", "other"}

// DefaultMaxValueSize is the largest field value: 64 KiB.
const DefaultMaxValueSize = 64 << 10

// Errors with codes, for errors.Is.
var (
	// ErrSealed is returned by every operation that needs a key while the
	// vault has no keyring. The web layer maps it to 503.
	ErrSealed = errs.New(errs.CodeUnavailable, "sealed")
	// ErrErased is returned for a subject whose data key was destroyed.
	ErrErased = errs.New(errs.CodeNotFound, "subject erased")
)

// Config holds what a Vault needs.
type Config struct {
	DB *db.DB
	// Keyring holds the KEK versions; nil or empty leaves the vault sealed.
	Keyring *Keyring
	// Categories are the allowed data categories; empty means
	// DefaultCategories.
	Categories []string
	// MaxValueSize bounds a field's value in bytes; 0 means
	// DefaultMaxValueSize.
	MaxValueSize int
	// CacheSize is how many unwrapped data keys are kept; 0 means 10,000,
	// negative turns the cache off.
	CacheSize int
	// CacheTTL is how long an unwrapped data key is kept; 0 means 30
	// seconds, negative turns the cache off.
	CacheTTL time.Duration
	// BatchSize is how many rows one transaction of a KEK rotation, a
	// retention purge or a re-application of erasures handles; 0 means 500.
	BatchSize int
	// Audit records every write: Put, Delete, Tokenize and RevokeToken
	// append their entry (the actor from audit.ActorFrom, the subject, the
	// field's name, never its value) in the transaction of the write, so
	// that a write the log cannot record does not happen (code
	// unavailable, HTTP 503). Steward always sets it; nil records nothing,
	// for tests of this package only.
	Audit audit.Recorder
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

// Vault is the encrypted store of subjects' sensitive fields. It is safe
// for concurrent use; any number of replicas may share one database.
type Vault struct {
	db         *db.DB
	audit      audit.Recorder
	now        func() time.Time
	log        *slog.Logger
	categories map[string]bool
	maxValue   int
	batchSize  int
	cache      *keyCache
	keyring    atomic.Pointer[Keyring]
	lookup     atomic.Pointer[[]byte] // the lookup index key, once read
}

// Field is a field to store.
type Field struct {
	// Name is key-like: a lowercase letter, then up to 63 lowercase letters,
	// digits, '_', '.' or '-' ("iban", "national_id").
	Name     string
	Category string
	Value    []byte
	// ExpiresAt, when set, is the end of the retention period: the field is
	// no longer served after it and PurgeExpired deletes it.
	ExpiresAt time.Time
}

// FieldInfo is a field's metadata: everything but its value.
type FieldInfo struct {
	Subject   string    `json:"subject"`
	Name      string    `json:"name"`
	Category  string    `json:"category"`
	Size      int       `json:"size"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Record is a field with its plaintext value, as Get and Detokenize return
// it.
type Record struct {
	FieldInfo
	// Value is left out of JSON so that a handler writes it only on purpose.
	Value []byte `json:"-"`
}

// Interface guards: values print and log redacted.
var (
	_ fmt.Stringer   = Record{}
	_ fmt.GoStringer = Record{}
	_ slog.LogValuer = Record{}
	_ fmt.Stringer   = Field{}
	_ fmt.GoStringer = Field{}
	_ slog.LogValuer = Field{}
)

// String describes the record without its value.
func (r Record) String() string {
	return fmt.Sprintf("vault.Record{Subject:%q Name:%q Category:%q Size:%d Value:[redacted]}", r.Subject, r.Name, r.Category, r.Size)
}

// GoString is String, so that %#v does not print the value either.
func (r Record) GoString() string { return r.String() }

// LogValue logs the record's metadata only.
func (r Record) LogValue() slog.Value {
	return slog.GroupValue(slog.String("subject", r.Subject), slog.String("name", r.Name),
		slog.String("category", r.Category), slog.Int("size", r.Size), slog.String("value", "[redacted]"))
}

// String describes the field without its value.
func (f Field) String() string {
	return fmt.Sprintf("vault.Field{Name:%q Category:%q Size:%d Value:[redacted]}", f.Name, f.Category, len(f.Value))
}

// GoString is String, so that %#v does not print the value either.
func (f Field) GoString() string { return f.String() }

// LogValue logs the field's metadata only.
func (f Field) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", f.Name), slog.String("category", f.Category),
		slog.Int("size", len(f.Value)), slog.String("value", "[redacted]"))
}

// Open returns the vault over cfg.DB, unsealed with cfg.Keyring when one is
// given. It fails when a key in the keyring does not match the check value
// the store recorded for its version, or when the store's active KEK
// version is not in the keyring: both mean a misconfigured replica, which
// would fail reads later.
func Open(ctx context.Context, cfg Config) (*Vault, error) {
	if cfg.DB == nil {
		return nil, errors.New("vault: Open needs a DB")
	}
	v := &Vault{db: cfg.DB, audit: cfg.Audit, now: cfg.Now, log: cfg.Logger, maxValue: cfg.MaxValueSize, batchSize: cfg.BatchSize}
	if v.now == nil {
		v.now = time.Now
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	if v.maxValue <= 0 {
		v.maxValue = DefaultMaxValueSize
	}
	if v.batchSize <= 0 {
		v.batchSize = 500
	}
	categories := cfg.Categories
	if len(categories) == 0 {
		categories = DefaultCategories
	}
	v.categories = map[string]bool{}
	for _, c := range categories {
		if !validName(c) {
			return nil, fmt.Errorf("vault: category %q: must be key-like (a-z, 0-9, _ . -)", c)
		}
		v.categories[c] = true
	}
	size, ttl := cfg.CacheSize, cfg.CacheTTL
	if size == 0 {
		size = 10000
	}
	if ttl == 0 {
		ttl = 30 * time.Second
	}
	v.cache = newKeyCache(size, ttl, v.now)
	if cfg.Keyring.Len() > 0 {
		if err := v.Unseal(ctx, cfg.Keyring); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Close seals the vault. It has nothing else to release.
func (v *Vault) Close() error {
	v.Seal()
	return nil
}

// Sealed reports whether the vault has no keyring.
func (v *Vault) Sealed() bool { return v.keyring.Load() == nil }

// Categories returns the allowed data categories, sorted.
func (v *Vault) Categories() []string { return slices.Sorted(maps.Keys(v.categories)) }

// Seal drops the keyring and every cached data key: key operations return
// ErrSealed until Unseal.
func (v *Vault) Seal() {
	v.keyring.Store(nil)
	v.lookup.Store(nil)
	v.cache.purge()
}

// Unseal checks ring against the store and starts using it. On a store
// that has never had a KEK, ring's latest version becomes the active one.
func (v *Vault) Unseal(ctx context.Context, ring *Keyring) error {
	if ring.Len() == 0 {
		return errors.New("vault: unseal: the keyring is empty")
	}
	if err := v.registerFirst(ctx, ring); err != nil {
		return err
	}
	registered, err := v.registeredKEKs(ctx)
	if err != nil {
		return err
	}
	for _, version := range ring.Versions() {
		reg, ok := registered[version]
		if !ok {
			continue // a version added ahead of a rotation
		}
		check, _ := ring.CheckValue(version)
		if check != reg.checkValue {
			return fmt.Errorf("vault: unseal: the key given as KEK version %d is not the key this store recorded for that version (check value %s, want %s)",
				version, check, reg.checkValue)
		}
		if reg.retired {
			v.log.Warn("vault: the keyring holds a retired KEK version; remove it", "version", version)
		}
	}
	active, err := v.activeVersion(ctx, v.db)
	if err != nil {
		return err
	}
	if ring.get(active) == nil {
		return fmt.Errorf("vault: unseal: the store's active KEK version %d is not in the keyring (it holds %v)", active, ring.Versions())
	}
	used, err := v.usedKEKVersions(ctx)
	if err != nil {
		return err
	}
	for _, version := range used {
		if ring.get(version) == nil {
			v.log.Warn("vault: data keys are wrapped under a KEK version missing from the keyring; their fields cannot be read", "version", version)
		}
	}
	v.cache.purge()
	v.keyring.Store(ring)
	return nil
}

// ring returns the keyring or ErrSealed.
func (v *Vault) ring() (*Keyring, error) {
	ring := v.keyring.Load()
	if ring == nil {
		return nil, ErrSealed
	}
	return ring, nil
}

// registerFirst makes ring's latest version the active one on a store that
// has none yet. Replicas starting together agree: the first UPDATE wins and
// the others then check their keys against what it recorded.
func (v *Vault) registerFirst(ctx context.Context, ring *Keyring) error {
	return v.db.Tx(ctx, func(tx *sql.Tx) error {
		active, err := v.activeVersion(ctx, tx)
		if err != nil || active != 0 {
			return err
		}
		version := ring.Latest()
		if err := registerKEK(ctx, tx, ring, version, v.now()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE vault_head SET kek_version = $1 WHERE id = 1 AND kek_version = 0`, version); err != nil {
			return fmt.Errorf("vault: set active KEK version: %w", err)
		}
		return nil
	})
}

// registerKEK records version's check value, once.
func registerKEK(ctx context.Context, tx *sql.Tx, ring *Keyring, version int, now time.Time) error {
	check, ok := ring.CheckValue(version)
	if !ok {
		return fmt.Errorf("vault: KEK version %d is not in the keyring", version)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO vault_keks (version, check_value, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (version) DO NOTHING`, version, check, now.UnixMicro()); err != nil {
		return fmt.Errorf("vault: register KEK version %d: %w", version, err)
	}
	var stored string
	if err := tx.QueryRowContext(ctx, `SELECT check_value FROM vault_keks WHERE version = $1`, version).Scan(&stored); err != nil {
		return fmt.Errorf("vault: read KEK version %d: %w", version, err)
	}
	if stored != check {
		return errs.New(errs.CodeConflict, "KEK version %d was registered with another key", version)
	}
	return nil
}

type registeredKEK struct {
	checkValue string
	retired    bool
}

func (v *Vault) registeredKEKs(ctx context.Context) (map[int]registeredKEK, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT version, check_value, retired_at FROM vault_keks`)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("vault: read KEK versions: %w", err))
	}
	defer rows.Close()
	out := map[int]registeredKEK{}
	for rows.Next() {
		var version int
		var check string
		var retired sql.NullInt64
		if err := rows.Scan(&version, &check, &retired); err != nil {
			return nil, fmt.Errorf("vault: read KEK versions: %w", err)
		}
		out[version] = registeredKEK{checkValue: check, retired: retired.Valid}
	}
	if err := rows.Err(); err != nil {
		return nil, db.Classify(fmt.Errorf("vault: read KEK versions: %w", err))
	}
	return out, nil
}

func (v *Vault) activeVersion(ctx context.Context, q db.Querier) (int, error) {
	var version int
	if err := q.QueryRowContext(ctx, `SELECT kek_version FROM vault_head WHERE id = 1`).Scan(&version); err != nil {
		return 0, db.Classify(fmt.Errorf("vault: read active KEK version: %w", err))
	}
	return version, nil
}

func (v *Vault) usedKEKVersions(ctx context.Context) ([]int, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT DISTINCT kek_version FROM vault_keys ORDER BY kek_version`)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("vault: read KEK versions in use: %w", err))
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var version int
		if err := rows.Scan(&version); err != nil {
			return nil, fmt.Errorf("vault: read KEK versions in use: %w", err)
		}
		out = append(out, version)
	}
	if err := rows.Err(); err != nil {
		return nil, db.Classify(fmt.Errorf("vault: read KEK versions in use: %w", err))
	}
	return out, nil
}

// ValidSubject reports whether id can name a subject: 1 to 128 letters,
// digits or ._:@+=- (the same rule as consent subject ids).
func ValidSubject(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("._:@+=-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validName reports whether s is key-like: a lowercase letter, then up to
// 63 lowercase letters, digits, '_', '.' or '-'.
func validName(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

func checkSubject(subject string) error {
	if !ValidSubject(subject) {
		return errs.Invalid("subject", "must be 1 to 128 letters, digits or ._:@+=-")
	}
	return nil
}

func checkName(name string) error {
	if !validName(name) {
		return errs.Invalid("name", "must be a lowercase letter then up to 63 lowercase letters, digits, _ . or -")
	}
	return nil
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromNullMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMicros(n.Int64)
}

// The audit actions of vault writes.
const (
	ActionPut         = "vault.put"
	ActionCorrect     = "vault.correct"
	ActionDelete      = "vault.delete"
	ActionTokenize    = "vault.tokenize"
	ActionRevokeToken = "vault.revoke_token"
)

// record appends the audit entry of a write in tx, the write's own
// transaction: call it last, just before commit. The actor is the one the
// caller put in ctx (audit.WithActor), the system otherwise.
func (v *Vault) record(ctx context.Context, tx *sql.Tx, action, subject string, details map[string]any) error {
	if v.audit == nil {
		return nil
	}
	d, err := audit.NewDetails(details)
	if err != nil {
		return err
	}
	if _, err := v.audit.AppendTx(ctx, tx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: action, Target: audit.Subject(subject), Details: d}); err != nil {
		if errs.Is(err, errs.CodeInvalid) {
			return err
		}
		return errs.Wrap(errs.CodeUnavailable, err, "the audit log cannot be written, so the vault is not changed")
	}
	return nil
}
