package export

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"filippo.io/age"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// SecretBox seals each archive's age identity (vault.SecretBox).
type SecretBox interface {
	Seal(ctx context.Context, plaintext, associated []byte) ([]byte, error)
	Open(ctx context.Context, ciphertext, associated []byte) ([]byte, error)
}

// SubjectBox seals under one subject's own data key (vault.SealFor and
// OpenFor): erasing the subject makes what it sealed unreadable.
type SubjectBox interface {
	SealFor(ctx context.Context, subject string, plaintext, associated []byte) ([]byte, error)
	OpenFor(ctx context.Context, subject string, sealed, associated []byte) ([]byte, error)
}

// StoreConfig holds what a Store needs.
type StoreConfig struct {
	DB      *db.DB
	Secrets SecretBox
	// Subjects, when set, seals the key of a known subject's archive under
	// that subject's data key, so that the subject's erasure crypto-shreds
	// every copy of it (backups included); Secrets seals the rest.
	Subjects SubjectBox
	Now      func() time.Time
	// Lifetime is how long an archive can be downloaded (7 days).
	Lifetime time.Duration
	// ChunkSize is the size of stored ciphertext chunks (1 MiB).
	ChunkSize int
}

// Store keeps archives encrypted in the database until they expire.
type Store struct {
	StoreConfig
}

// NewStore returns a store.
func NewStore(cfg StoreConfig) (*Store, error) {
	if cfg.DB == nil || cfg.Secrets == nil {
		return nil, errors.New("export: NewStore needs a DB and a SecretBox")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = 7 * 24 * time.Hour
	}
	if cfg.ChunkSize == 0 {
		cfg.ChunkSize = 1 << 20
	}
	return &Store{cfg}, nil
}

// Info describes a stored archive.
type Info struct {
	ID        string
	RequestID string
	Bytes     int64 // ciphertext size
	CreatedAt time.Time
	ExpiresAt time.Time
	Complete  bool
}

// Upload is an archive being written: Write streams plaintext in, Commit
// makes it downloadable. An upload that is never committed is purged.
type Upload struct {
	s       *Store
	ctx     context.Context
	info    Info
	enc     io.WriteCloser
	chunks  *chunkWriter
	written bool
}

// Create starts an archive for a request whose requester is not matched to
// a subject (CreateFor with no subject).
func (s *Store) Create(ctx context.Context, requestID string) (*Upload, error) {
	return s.CreateFor(ctx, requestID, "")
}

// CreateFor starts an archive for a request of subject: its key is sealed
// under the subject's data key when the store has Subjects.
func (s *Store) CreateFor(ctx context.Context, requestID, subject string) (*Upload, error) {
	identity, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("export: key: %w", err)
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	now := s.Now().UTC().Truncate(time.Microsecond)
	info := Info{ID: "exp_" + base64.RawURLEncoding.EncodeToString(b[:]), RequestID: requestID, CreatedAt: now, ExpiresAt: now.Add(s.Lifetime)}
	if s.Subjects == nil {
		subject = ""
	}
	var sealed []byte
	if subject != "" {
		sealed, err = s.Subjects.SealFor(ctx, subject, []byte(identity.String()), []byte("export:"+info.ID))
	} else {
		sealed, err = s.Secrets.Seal(ctx, []byte(identity.String()), []byte("export:"+info.ID))
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.DB.ExecContext(ctx, `INSERT INTO exports (id, request_id, subject_id, identity_sealed, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		info.ID, requestID, subject, sealed, now.UnixMicro(), info.ExpiresAt.UnixMicro()); err != nil {
		return nil, db.Classify(fmt.Errorf("export: create: %w", err))
	}
	u := &Upload{s: s, ctx: ctx, info: info, chunks: &chunkWriter{s: s, ctx: ctx, id: info.ID, buf: make([]byte, 0, s.ChunkSize)}}
	if u.enc, err = age.Encrypt(u.chunks, identity.Recipient()); err != nil {
		return nil, fmt.Errorf("export: encrypt: %w", err)
	}
	return u, nil
}

// ID is the archive's id.
func (u *Upload) ID() string { return u.info.ID }

// Write encrypts p into the archive.
func (u *Upload) Write(p []byte) (int, error) { u.written = true; return u.enc.Write(p) }

// Commit ends the encryption, stores the last chunk and makes the archive
// downloadable.
func (u *Upload) Commit() (Info, error) {
	if err := u.enc.Close(); err != nil {
		return Info{}, fmt.Errorf("export: encrypt: %w", err)
	}
	if err := u.chunks.flush(); err != nil {
		return Info{}, err
	}
	u.info.Bytes, u.info.Complete = u.chunks.total, true
	if _, err := u.s.DB.ExecContext(u.ctx, `UPDATE exports SET bytes = $2, completed_at = $3 WHERE id = $1`,
		u.info.ID, u.info.Bytes, u.s.Now().UnixMicro()); err != nil {
		return Info{}, db.Classify(fmt.Errorf("export: commit: %w", err))
	}
	return u.info, nil
}

// Abort deletes what was written.
func (u *Upload) Abort() error { return u.s.Delete(context.WithoutCancel(u.ctx), u.info.ID) }

// chunkWriter stores ciphertext in ChunkSize rows as it comes.
type chunkWriter struct {
	s     *Store
	ctx   context.Context
	id    string
	buf   []byte
	n     int
	total int64
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		room := cap(c.buf) - len(c.buf)
		take := min(room, len(p))
		c.buf = append(c.buf, p[:take]...)
		p, written = p[take:], written+take
		if len(c.buf) == cap(c.buf) {
			if err := c.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

func (c *chunkWriter) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	if _, err := c.s.DB.ExecContext(c.ctx, `INSERT INTO export_chunks (export_id, n, data) VALUES ($1, $2, $3)`, c.id, c.n, c.buf); err != nil {
		return db.Classify(fmt.Errorf("export: store chunk: %w", err))
	}
	c.n++
	c.total += int64(len(c.buf))
	c.buf = c.buf[:0]
	return nil
}

// Latest returns the newest complete, unexpired archive of a request.
func (s *Store) Latest(ctx context.Context, requestID string) (Info, error) {
	info := Info{RequestID: requestID, Complete: true}
	var created, expires int64
	err := s.DB.QueryRowContext(ctx, `SELECT id, bytes, created_at, expires_at FROM exports
		WHERE request_id = $1 AND completed_at IS NOT NULL AND expires_at > $2 ORDER BY created_at DESC LIMIT 1`,
		requestID, s.Now().UnixMicro()).Scan(&info.ID, &info.Bytes, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Info{}, errs.NotFound("export", requestID)
	}
	if err != nil {
		return Info{}, db.Classify(fmt.Errorf("export: latest: %w", err))
	}
	info.CreatedAt, info.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	return info, nil
}

// Open returns the plaintext of a complete, unexpired archive as a stream
// that reads one chunk at a time.
func (s *Store) Open(ctx context.Context, id string) (io.Reader, error) {
	var sealed []byte
	var subject string
	var expires int64
	var completed sql.NullInt64
	err := s.DB.QueryRowContext(ctx, `SELECT subject_id, identity_sealed, expires_at, completed_at FROM exports WHERE id = $1`, id).Scan(&subject, &sealed, &expires, &completed)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (!completed.Valid || s.Now().UnixMicro() >= expires)) {
		return nil, errs.NotFound("export", id)
	}
	if err != nil {
		return nil, db.Classify(fmt.Errorf("export: open: %w", err))
	}
	var text []byte
	switch {
	case subject == "":
		text, err = s.Secrets.Open(ctx, sealed, []byte("export:"+id))
	case s.Subjects == nil:
		err = errors.New("no subject box")
	default:
		text, err = s.Subjects.OpenFor(ctx, subject, sealed, []byte("export:"+id))
		if errs.CodeOf(err) == errs.CodeNotFound {
			// The subject was erased: its key, and the archive with it,
			// are gone.
			return nil, errs.NotFound("export", id)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("export: open key: %w", err)
	}
	identity, err := age.ParseX25519Identity(string(text))
	if err != nil {
		return nil, fmt.Errorf("export: key: %w", err)
	}
	plain, err := age.Decrypt(&chunkReader{s: s, ctx: ctx, id: id}, identity)
	if err != nil {
		return nil, fmt.Errorf("export: decrypt: %w", err)
	}
	return plain, nil
}

// chunkReader reads the stored ciphertext one chunk at a time.
type chunkReader struct {
	s    *Store
	ctx  context.Context
	id   string
	n    int
	buf  []byte
	done bool
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.buf) == 0 {
		if c.done {
			return 0, io.EOF
		}
		err := c.s.DB.QueryRowContext(c.ctx, `SELECT data FROM export_chunks WHERE export_id = $1 AND n = $2`, c.id, c.n).Scan(&c.buf)
		if errors.Is(err, sql.ErrNoRows) {
			c.done = true
			continue
		}
		if err != nil {
			return 0, db.Classify(fmt.Errorf("export: read chunk: %w", err))
		}
		c.n++
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

// Delete removes an archive.
func (s *Store) Delete(ctx context.Context, id string) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM export_chunks WHERE export_id = $1`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM exports WHERE id = $1`, id)
		return err
	})
}

// DeleteFor deletes every archive of subject and of the requests ids (a
// requester's, matched to the subject or not), and returns how many. An
// erasure calls it; the subject's shredded data key has made the archives
// of a known subject unreadable already, in every copy.
func (s *Store) DeleteFor(ctx context.Context, subject string, requestIDs []string) (int, error) {
	var ids []string
	add := func(query string, arg any) error {
		rows, err := s.DB.QueryContext(ctx, query, arg)
		if err != nil {
			return db.Classify(fmt.Errorf("export: erase: %w", err))
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("export: erase: %w", err)
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		return db.Classify(rows.Err())
	}
	if subject != "" {
		if err := add(`SELECT id FROM exports WHERE subject_id = $1`, subject); err != nil {
			return 0, err
		}
	}
	for _, r := range requestIDs {
		if err := add(`SELECT id FROM exports WHERE request_id = $1`, r); err != nil {
			return 0, err
		}
	}
	for _, id := range ids {
		if err := s.Delete(ctx, id); err != nil {
			return 0, db.Classify(fmt.Errorf("export: erase: %w", err))
		}
	}
	return len(ids), nil
}

// CountFor counts the archives of the requests requestIDs: what DeleteFor
// would delete of them, for a dry run.
func (s *Store) CountFor(ctx context.Context, requestIDs []string) (int, error) {
	total := 0
	for _, r := range requestIDs {
		var n int
		if err := s.DB.QueryRowContext(ctx, `SELECT count(*) FROM exports WHERE request_id = $1`, r).Scan(&n); err != nil {
			return 0, db.Classify(fmt.Errorf("export: count: %w", err))
		}
		total += n
	}
	return total, nil
}

// PurgeExpired deletes archives past their lifetime, and uploads that were
// never committed within a day; it returns how many it deleted.
func (s *Store) PurgeExpired(ctx context.Context) (int, error) {
	now := s.Now()
	rows, err := s.DB.QueryContext(ctx, `SELECT id FROM exports WHERE expires_at <= $1 OR (completed_at IS NULL AND created_at < $2)`,
		now.UnixMicro(), now.Add(-24*time.Hour).UnixMicro())
	if err != nil {
		return 0, db.Classify(fmt.Errorf("export: purge: %w", err))
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		if err := s.Delete(ctx, id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}
