// Package apikey issues and checks API keys. A key is shown once, when it is
// made; Steward stores only its SHA-256 hash (the key is 256 random bits, so
// a fast hash is the right one). Checked keys are cached in memory for a
// short time so that decisions never wait on the store. Every live key is
// also known to the process (Warm reads them at start, and each check keeps
// the list current), so that keys keep working while the store is
// unreachable, even one this process had not checked before the outage.
//
//	keys := apikey.NewStore(db, time.Now)
//	plain, key, err := keys.Create(ctx, apikey.ScopeIngest, "shop", "banner on shop.example")
//	key, err = keys.Check(ctx, plain)
package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// Scope is what a key may do.
type Scope string

// The scopes. Admin may do what every other scope may.
const (
	// ScopeIngest records consent events for one property; it is public,
	// embedded in the property's web pages.
	ScopeIngest Scope = "ingest"
	// ScopeRecord records consent events of subjects and devices with
	// source api: the company's back ends. It belongs to no property and is
	// never public.
	ScopeRecord Scope = "record"
	// ScopeDecide asks decisions.
	ScopeDecide Scope = "decide"
	// ScopeAdmin manages the catalog, reads the ledger and writes vault
	// fields, but never reads them in plaintext.
	ScopeAdmin Scope = "admin"
	// ScopeReveal reads vault fields in plaintext and detokenises, each time
	// with a stated purpose and ticket that the audit log records.
	ScopeReveal Scope = "reveal"
	// ScopeDisclose asks whether a subject's data may go to a vendor
	// (POST /v1/disclosures); a system that shares data with third parties
	// holds one.
	ScopeDisclose Scope = "disclose"
)

// ParseScope returns the scope named s.
func ParseScope(s string) (Scope, error) {
	switch Scope(s) {
	case ScopeIngest, ScopeRecord, ScopeDecide, ScopeAdmin, ScopeReveal, ScopeDisclose:
		return Scope(s), nil
	}
	return "", errs.InvalidKeyed("scope", "key_scope")
}

// Key is a stored API key, without its secret.
type Key struct {
	ID        string     `json:"id"`
	Scope     Scope      `json:"scope"`
	Property  string     `json:"property,omitempty"`
	Label     string     `json:"label"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Allows reports whether the key may act with scope. Admin keys may do
// what every other scope may, except reveal: plaintext personal data needs
// a key made for that, so that no all-purpose key carries it.
func (k *Key) Allows(scope Scope) bool {
	return k.Scope == scope || (k.Scope == ScopeAdmin && scope != ScopeReveal)
}

// Store creates and checks keys.
type Store struct {
	db    *db.DB
	now   func() time.Time
	ttl   time.Duration
	mu    sync.RWMutex
	cache map[[32]byte]cached
	// known holds the live keys as last read from the store (Warm, then
	// every lookup, creation and revocation in this process). It answers
	// only while the store cannot be reached; it is bounded by the keys
	// that exist, not by guesses.
	known map[[32]byte]*Key
}

type cached struct {
	key     *Key // nil: known not to exist
	expires time.Time
}

// NewStore returns a Store; checked keys are cached for 30 seconds (of the
// monotonic clock), so a revocation takes effect everywhere within that
// time. now is the clock of the times keys record: created, revoked.
func NewStore(d *db.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: d, now: now, ttl: 30 * time.Second, cache: map[[32]byte]cached{}, known: map[[32]byte]*Key{}}
}

// Warm reads every live key into the list that answers while the store is
// unreachable, so that a backend whose decide key this process has not
// seen yet still gets decisions during an outage. A key revoked by another
// replica stays in this list only until this process next checks it with
// the store up.
func (s *Store) Warm(ctx context.Context) error {
	type row struct {
		hash string
		key  Key
	}
	rows, err := db.QueryAll(ctx, s.db, `SELECT hash, id, scope, property, label, created_at FROM api_keys WHERE revoked_at IS NULL`, nil,
		func(scan func(...any) error) (row, error) {
			var r row
			var prop sql.NullString
			var created int64
			if err := scan(&r.hash, &r.key.ID, &r.key.Scope, &prop, &r.key.Label, &created); err != nil {
				return r, err
			}
			r.key.Property = prop.String
			r.key.CreatedAt = time.UnixMicro(created).UTC()
			return r, nil
		})
	if err != nil {
		return db.Classify(fmt.Errorf("read keys: %w", err))
	}
	known := make(map[[32]byte]*Key, len(rows))
	for _, r := range rows[:min(len(rows), maxKnown)] {
		var h [32]byte
		if b, err := hex.DecodeString(r.hash); err == nil && len(b) == len(h) {
			copy(h[:], b)
			k := r.key
			known[h] = &k
		}
	}
	s.mu.Lock()
	s.known = known
	s.mu.Unlock()
	return nil
}

const prefix = "stw_"

// maxKnown bounds the list of live keys kept for outages.
const maxKnown = 100000

// MayMint reports whether a key of scope minter may make keys of scope
// over the API. An admin key may make every kind but a reveal key: a
// reveal key reads plaintext, which an admin key never does, so it is made
// only with the master key (steward apikey create) or by a console
// administrator after a fresh sign-in.
func MayMint(minter, scope Scope) error {
	if minter != ScopeAdmin {
		return errs.New(errs.CodeForbidden, "only an admin key makes keys")
	}
	if scope == ScopeReveal {
		return errs.InvalidKeyed("scope", "key_reveal_by_admin").WithCode(errs.CodeForbidden)
	}
	return nil
}

// Create makes a key and returns it in plain text (shown once) with its
// record. It records nothing in the audit log: callers that act for
// someone use CreateRecorded.
func (s *Store) Create(ctx context.Context, scope Scope, property, label string) (string, Key, error) {
	return s.create(ctx, scope, property, label, nil)
}

// CreateRecorded makes a key like Create and records, in the same
// transaction, who made it ("api_key.create": the actor, the key's id,
// scope, property and label, never the secret; via says through what, such
// as "api", "console" or "cli"). If the entry cannot be written no key is
// made.
func (s *Store) CreateRecorded(ctx context.Context, log audit.Recorder, by audit.Actor, via string, scope Scope, property, label string) (string, Key, error) {
	return s.create(ctx, scope, property, label, func(ctx context.Context, tx *sql.Tx, k Key) error {
		details, err := audit.NewDetails(map[string]any{"scope": string(k.Scope), "property": k.Property, "label": k.Label, "via": via})
		if err != nil {
			return err
		}
		_, err = log.AppendTx(ctx, tx, audit.Entry{Actor: by, Action: "api_key.create", Target: audit.Target{Kind: audit.KindAPIKey, ID: k.ID}, Details: details})
		return recordError(err, "the audit log cannot be written, so no key is made")
	})
}

// recordError makes an audit entry that cannot be written refuse the act
// (503), unless the entry itself was invalid input.
func recordError(err error, message string) error {
	if err == nil || errs.Is(err, errs.CodeInvalid) {
		return err
	}
	return errs.Wrap(errs.CodeUnavailable, err, message)
}

func (s *Store) create(ctx context.Context, scope Scope, property, label string, record func(ctx context.Context, tx *sql.Tx, k Key) error) (string, Key, error) {
	if _, err := ParseScope(string(scope)); err != nil {
		return "", Key{}, err
	}
	if scope == ScopeIngest && property == "" {
		return "", Key{}, errs.InvalidKeyed("property", "key_ingest_property")
	}
	if scope != ScopeIngest && property != "" {
		return "", Key{}, errs.InvalidKeyed("property", "key_property_ingest_only")
	}
	if len(label) > 200 {
		return "", Key{}, errs.InvalidKeyed("label", "at_most_characters", "max", 200)
	}
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", Key{}, fmt.Errorf("make key: %w", err)
	}
	var idBytes [9]byte
	if _, err := rand.Read(idBytes[:]); err != nil {
		return "", Key{}, fmt.Errorf("make key id: %w", err)
	}
	plain := prefix + string(scope) + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	hash := sha256.Sum256([]byte(plain))
	k := Key{ID: "key_" + base64.RawURLEncoding.EncodeToString(idBytes[:]), Scope: scope, Property: property,
		Label: label, CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	var prop any
	if property != "" {
		prop = property
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, hash, scope, property, label, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			k.ID, hex.EncodeToString(hash[:]), string(scope), prop, label, k.CreatedAt.UnixMicro())
		if err != nil {
			if strings.Contains(strings.ToLower(err.Error()), "foreign key") {
				return errs.InvalidKeyed("property", "unknown_property", "property", strconv.Quote(property))
			}
			return fmt.Errorf("store key: %w", err)
		}
		if record != nil {
			return record(ctx, tx, k)
		}
		return nil
	})
	if err != nil {
		return "", Key{}, err
	}
	s.mu.Lock()
	if len(s.known) < maxKnown {
		known := k
		s.known[hash] = &known
	}
	s.mu.Unlock()
	return plain, k, nil
}

// Check returns the key for a plain-text key, or an unauthorized error.
func (s *Store) Check(ctx context.Context, plain string) (*Key, error) {
	if !strings.HasPrefix(plain, prefix) || len(plain) > 200 {
		return nil, errs.New(errs.CodeUnauthorized, "invalid API key")
	}
	// Hashed from a copy on the stack: []byte(plain) would be one more
	// allocation on every request of the hot routes.
	var buf [200]byte
	hash := sha256.Sum256(buf[:copy(buf[:], plain)])
	// The cache's expiry is measured by the monotonic clock (time.Now
	// carries its reading): s.now, the application's clock that never goes
	// back, takes a lock on every call, and a checked key's 30 seconds need
	// no wall time.
	now := time.Now()
	s.mu.RLock()
	c, ok := s.cache[hash]
	s.mu.RUnlock()
	if ok && now.Before(c.expires) {
		if c.key == nil {
			return nil, errs.New(errs.CodeUnauthorized, "invalid API key")
		}
		return c.key, nil
	}
	k, err := s.lookup(ctx, hash)
	if err != nil {
		if errs.Is(err, errs.CodeUnavailable) {
			// The store is down: keep trusting a key we checked, or one
			// that was live when we last read the keys.
			if ok && c.key != nil {
				return c.key, nil
			}
			s.mu.RLock()
			known := s.known[hash]
			s.mu.RUnlock()
			if known != nil {
				return known, nil
			}
		}
		return nil, err
	}
	s.mu.Lock()
	if k == nil {
		delete(s.known, hash)
	} else if _, seen := s.known[hash]; seen || len(s.known) < maxKnown {
		s.known[hash] = k
	}
	if len(s.cache) > 100000 {
		clear(s.cache) // bounded: guessed keys must not grow memory without end
	}
	s.cache[hash] = cached{key: k, expires: now.Add(s.ttl)}
	s.mu.Unlock()
	if k == nil {
		return nil, errs.New(errs.CodeUnauthorized, "invalid API key")
	}
	return k, nil
}

func (s *Store) lookup(ctx context.Context, hash [32]byte) (*Key, error) {
	var k Key
	var prop sql.NullString
	var created int64
	var revoked sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT id, scope, property, label, created_at, revoked_at FROM api_keys WHERE hash = $1`,
		hex.EncodeToString(hash[:])).Scan(&k.ID, &k.Scope, &prop, &k.Label, &created, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, db.Classify(fmt.Errorf("check key: %w", err))
	}
	if revoked.Valid {
		return nil, nil
	}
	k.Property = prop.String
	k.CreatedAt = time.UnixMicro(created).UTC()
	return &k, nil
}

// List returns every key, newest first.
func (s *Store) List(ctx context.Context) ([]Key, error) {
	out, err := db.QueryAll(ctx, s.db, `SELECT id, scope, property, label, created_at, revoked_at FROM api_keys ORDER BY created_at DESC, id`, nil,
		func(scan func(...any) error) (Key, error) {
			var k Key
			var prop sql.NullString
			var created int64
			var revoked sql.NullInt64
			if err := scan(&k.ID, &k.Scope, &prop, &k.Label, &created, &revoked); err != nil {
				return Key{}, err
			}
			k.Property = prop.String
			k.CreatedAt = time.UnixMicro(created).UTC()
			if revoked.Valid {
				t := time.UnixMicro(revoked.Int64).UTC()
				k.RevokedAt = &t
			}
			return k, nil
		})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("list keys: %w", err))
	}
	return out, nil
}

// BannerKey returns the public ingest key of a property's banner, making
// it at the first call. Unlike other keys it is kept readable: it is
// published in the property's pages, and the banner script carries it.
func (s *Store) BannerKey(ctx context.Context, property string) (string, error) {
	var plain string
	err := s.db.QueryRowContext(ctx, `SELECT public_plain FROM api_keys
		WHERE property = $1 AND scope = 'ingest' AND public_plain IS NOT NULL AND revoked_at IS NULL
		ORDER BY created_at DESC LIMIT 1`, property).Scan(&plain)
	if err == nil {
		return plain, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", db.Classify(fmt.Errorf("read banner key: %w", err))
	}
	plain, k, err := s.Create(ctx, ScopeIngest, property, "banner (public)")
	if err != nil {
		return "", err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE api_keys SET public_plain = $2 WHERE id = $1`, k.ID, plain); err != nil {
		return "", db.Classify(fmt.Errorf("store banner key: %w", err))
	}
	return plain, nil
}

// Revoke revokes a key by id; caches everywhere drop it within 30 seconds
// (at once in this process).
func (s *Store) Revoke(ctx context.Context, id string) error {
	return s.revoke(ctx, id, nil)
}

// RevokeRecorded revokes a key like Revoke and records "api_key.revoke"
// by the actor in the same transaction; no entry, no revocation.
func (s *Store) RevokeRecorded(ctx context.Context, log audit.Recorder, by audit.Actor, via string, id string) error {
	return s.revoke(ctx, id, func(ctx context.Context, tx *sql.Tx) error {
		_, err := log.AppendTx(ctx, tx, audit.Entry{Actor: by, Action: "api_key.revoke", Target: audit.Target{Kind: audit.KindAPIKey, ID: id},
			Details: audit.MustDetails(map[string]any{"via": via})})
		return recordError(err, "the audit log cannot be written, so the key is not revoked")
	})
}

func (s *Store) revoke(ctx context.Context, id string, record func(ctx context.Context, tx *sql.Tx) error) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, id, s.now().UnixMicro())
		if err != nil {
			return fmt.Errorf("revoke key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFound("API key", id)
		}
		if record != nil {
			return record(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	clear(s.cache)
	for h, k := range s.known {
		if k.ID == id {
			delete(s.known, h)
		}
	}
	s.mu.Unlock()
	return nil
}
