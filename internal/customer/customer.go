// Package customer signs customers in to the privacy portal with a one-time
// code sent to their email address, and keeps their portal sessions.
//
// A code is six digits from a CSPRNG, valid for ten minutes and five
// attempts, good once, and bound to the browser that asked for it (a random
// value in a cookie of that browser): a code read by someone else, or a
// link followed by a mail scanner, signs no one in. Asking for a code gives
// the same answer, and does the same work, whether or not the address
// belongs to a known customer: unknown addresses may still file requests.
//
//	challenge, err := customers.RequestCode(ctx, email, binding, ip) // email challenge.Code
//	session, err := customers.SignIn(ctx, binding, code, ip)
//
// Addresses are never stored in clear: rows hold the vault's blind index
// of the address (to match) and the address sealed by a vault SecretBox
// (to show it and write back).
package customer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/mail"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/ratelimit"
)

// SecretBox seals email addresses at rest (vault.SecretBox).
type SecretBox interface {
	Seal(ctx context.Context, plaintext, associated []byte) ([]byte, error)
	Open(ctx context.Context, ciphertext, associated []byte) ([]byte, error)
}

// Directory is what the service needs from the vault: the blind index of an
// address, and the subjects whose email field holds it.
type Directory interface {
	BlindIndex(ctx context.Context, name, value string) ([]byte, error)
	Find(ctx context.Context, name, value string) ([]string, error)
}

// Config holds what the service needs.
type Config struct {
	DB        *db.DB
	Secrets   SecretBox
	Directory Directory
	Audit     audit.Recorder
	Now       func() time.Time
	// CodeLifetime (10 minutes), MaxAttempts (5) and SessionLifetime (1 hour)
	// bound codes and sessions.
	CodeLifetime    time.Duration
	MaxAttempts     int
	SessionLifetime time.Duration
	// In CodeWindow (15 minutes), one client address may ask for
	// CodesPerAddress codes for one email address (3) and CodesPerIP codes
	// in all (10); an email address gets at most CodesPerAddressTotal
	// codes from all client addresses together (10), which bounds the
	// mail anyone can make it receive. A third party's requests from their
	// own address therefore do not stop the customer getting a code.
	CodesPerAddress, CodesPerIP, CodesPerAddressTotal int
	CodeWindow                                        time.Duration
}

// Service issues codes and keeps sessions.
type Service struct {
	Config
	limits *ratelimit.Limiter
}

// New returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Secrets == nil || cfg.Directory == nil || cfg.Audit == nil {
		return nil, errors.New("customer: New needs a DB, a SecretBox, a Directory and an audit Recorder")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	defaults := []struct {
		v   *time.Duration
		def time.Duration
	}{{&cfg.CodeLifetime, 10 * time.Minute}, {&cfg.SessionLifetime, time.Hour}, {&cfg.CodeWindow, 15 * time.Minute}}
	for _, d := range defaults {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	for _, d := range []struct {
		v   *int
		def int
	}{{&cfg.MaxAttempts, 5}, {&cfg.CodesPerAddress, 3}, {&cfg.CodesPerIP, 10}, {&cfg.CodesPerAddressTotal, 10}} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	return &Service{Config: cfg, limits: ratelimit.New(cfg.Now)}, nil
}

// Challenge is an issued code, to send to the address.
type Challenge struct {
	ID        string
	Code      string
	ExpiresAt time.Time
}

// ErrTooMany refuses a code request or a sign-in over the limits, whoever
// the address belongs to. The error returned wraps a *LimitError, which says
// when to try again; errors.Is(err, ErrTooMany) matches it.
var ErrTooMany = errs.New(errs.CodeUnauthorized, "too many codes were asked for; wait 15 minutes and try again")

// LimitError is a refusal over a limit that lasts until Until.
type LimitError struct {
	Until time.Time
}

func (e *LimitError) Error() string {
	return "too many attempts; try again after " + e.Until.UTC().Format("15:04 UTC")
}

// Is makes errors.Is(err, ErrTooMany) true.
func (e *LimitError) Is(target error) bool { return target == ErrTooMany }

// tooMany is the refusal over a limit: an unauthorized error, as
// ErrTooMany is, that wraps the LimitError saying until when.
func tooMany(until time.Time) error {
	return errs.Wrap(errs.CodeUnauthorized, &LimitError{Until: until}, "too many attempts; try again after "+until.UTC().Format("15:04 UTC"))
}

// NormalEmail lower-cases and checks an address.
func NormalEmail(email string) (string, bool) {
	email = strings.ToLower(strings.TrimSpace(email))
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 {
		return "", false
	}
	return email, true
}

// Binding turns the browser's random cookie value into what codes and
// sessions are bound to.
func Binding(cookie string) string {
	sum := sha256.Sum256([]byte("steward portal binding\x00" + cookie))
	return hex.EncodeToString(sum[:])
}

func codeHash(id, code string) string {
	sum := sha256.Sum256([]byte(id + "\x00" + code))
	return hex.EncodeToString(sum[:])
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("customer: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// RequestCode issues a code for email, bound to binding. The caller sends
// it, for known and unknown addresses alike.
func (s *Service) RequestCode(ctx context.Context, email, binding, ip string) (Challenge, error) {
	email, ok := NormalEmail(email)
	if !ok {
		return Challenge{}, errs.Invalid("email", "enter your email address, such as name@example.com")
	}
	if len(binding) != 64 {
		return Challenge{}, errs.New(errs.CodeForbidden, "this browser has no portal cookie; reload the page")
	}
	if ok, until := s.limits.Try("ip:"+ip, s.CodesPerIP, s.CodeWindow); !ok {
		return Challenge{}, tooMany(until)
	}
	hash, err := s.Directory.BlindIndex(ctx, "email", email)
	if err != nil {
		return Challenge{}, err
	}
	// Per email address and client address, in memory: the blind index,
	// never the address, is the key.
	if ok, until := s.limits.Try("email-ip:"+hex.EncodeToString(hash)+"|"+ip, s.CodesPerAddress, s.CodeWindow); !ok {
		return Challenge{}, tooMany(until)
	}
	now := s.Now().UTC()
	var recent int
	var oldest sql.NullInt64
	if err := s.DB.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM customer_codes WHERE email_hash = $1 AND created_at > $2`,
		hash, now.Add(-s.CodeWindow).UnixMicro()).Scan(&recent, &oldest); err != nil {
		return Challenge{}, db.Classify(fmt.Errorf("count codes: %w", err))
	}
	if recent >= s.CodesPerAddressTotal {
		return Challenge{}, tooMany(time.UnixMicro(oldest.Int64).Add(s.CodeWindow))
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return Challenge{}, fmt.Errorf("code: %w", err)
	}
	c := Challenge{ID: "cc_" + randomToken(12), Code: fmt.Sprintf("%06d", n.Int64()), ExpiresAt: now.Add(s.CodeLifetime)}
	sealed, err := s.Secrets.Seal(ctx, []byte(email), []byte("customer-email:"+c.ID))
	if err != nil {
		return Challenge{}, err
	}
	_, err = s.DB.ExecContext(ctx, `INSERT INTO customer_codes (id, binding, code_hash, email_hash, email_sealed, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.ID, binding, codeHash(c.ID, c.Code), hash, sealed, now.UnixMicro(), c.ExpiresAt.UnixMicro())
	if err != nil {
		return Challenge{}, db.Classify(fmt.Errorf("store code: %w", err))
	}
	return c, nil
}

// ErrCode is the one answer to a wrong, expired, used or foreign code.
var ErrCode = errs.New(errs.CodeUnauthorized, "this code is not right or no longer valid; check the latest email, or ask for a new code")

// Session is a signed-in customer.
type Session struct {
	Token string // the cookie value; only its hash is stored
	// EmailHash identifies the customer's requests; SubjectID is the
	// customer's subject when their address matched exactly one.
	EmailHash       []byte
	SubjectID       string
	AuthenticatedAt time.Time
	ExpiresAt       time.Time
	sealed          []byte
}

// Fresh reports whether the sign-in is younger than maxAge, as showing
// vault values requires.
func (s *Session) Fresh(now time.Time, maxAge time.Duration) bool {
	return now.Sub(s.AuthenticatedAt) < maxAge
}

// SignIn checks the latest code issued to this browser. A wrong code
// counts an attempt; the fifth wrong attempt spends the code.
func (s *Service) SignIn(ctx context.Context, binding, code, ip string) (*Session, error) {
	code = strings.TrimSpace(code)
	if ok, until := s.limits.Try("signin-ip:"+ip, 30, time.Minute); !ok {
		return nil, tooMany(until)
	}
	now := s.Now().UTC()
	var id, hash string
	var emailHash, sealed []byte
	var attempts int
	var expires int64
	var used sql.NullInt64
	err := s.DB.QueryRowContext(ctx, `SELECT id, code_hash, email_hash, email_sealed, attempts, expires_at, used_at FROM customer_codes
		WHERE binding = $1 ORDER BY created_at DESC LIMIT 1`, binding).Scan(&id, &hash, &emailHash, &sealed, &attempts, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrCode
	}
	if err != nil {
		return nil, db.Classify(fmt.Errorf("read code: %w", err))
	}
	if used.Valid || attempts >= s.MaxAttempts || now.UnixMicro() >= expires {
		return nil, ErrCode
	}
	if subtle.ConstantTimeCompare([]byte(codeHash(id, code)), []byte(hash)) != 1 {
		if _, err := s.DB.ExecContext(ctx, `UPDATE customer_codes SET attempts = attempts + 1 WHERE id = $1`, id); err != nil {
			return nil, db.Classify(fmt.Errorf("count attempt: %w", err))
		}
		return nil, ErrCode
	}
	email, err := s.Secrets.Open(ctx, sealed, []byte("customer-email:"+id))
	if err != nil {
		return nil, fmt.Errorf("open email: %w", err)
	}
	session := &Session{Token: randomToken(32), EmailHash: emailHash, AuthenticatedAt: now.Truncate(time.Microsecond),
		ExpiresAt: now.Add(s.SessionLifetime).Truncate(time.Microsecond)}
	if subjects, err := s.Directory.Find(ctx, "email", string(email)); err != nil {
		return nil, err
	} else if len(subjects) == 1 {
		session.SubjectID = subjects[0]
	}
	if session.sealed, err = s.Secrets.Seal(ctx, email, []byte("customer-session:"+tokenHash(session.Token))); err != nil {
		return nil, err
	}
	actor := audit.Actor{Kind: "customer", ID: hex.EncodeToString(emailHash[:8])}
	target := audit.Target{}
	if session.SubjectID != "" {
		target = audit.Subject(session.SubjectID)
	}
	_, err = s.Audit.Do(ctx, audit.Entry{Actor: actor, Action: "portal.sign_in", Target: target}, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE customer_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL`, id, now.UnixMicro())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrCode // spent by a concurrent sign-in
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO customer_sessions (token_hash, email_hash, email_sealed, subject_id, created_at, authenticated_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $5, $6)`, tokenHash(session.Token), emailHash, session.sealed, nullString(session.SubjectID),
			session.AuthenticatedAt.UnixMicro(), session.ExpiresAt.UnixMicro())
		return err
	})
	if err != nil {
		return nil, err
	}
	return session, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ErrSignedOut asks the customer to sign in (again).
var ErrSignedOut = errs.New(errs.CodeUnauthorized, "sign in with your email address first")

// Session returns the live session of a token.
func (s *Service) Session(ctx context.Context, token string) (*Session, error) {
	if token == "" || len(token) > 200 {
		return nil, ErrSignedOut
	}
	session := &Session{Token: token}
	var subject sql.NullString
	var authenticated, expires int64
	var revoked sql.NullInt64
	err := s.DB.QueryRowContext(ctx, `SELECT email_hash, email_sealed, subject_id, authenticated_at, expires_at, revoked_at
		FROM customer_sessions WHERE token_hash = $1`, tokenHash(token)).Scan(&session.EmailHash, &session.sealed, &subject, &authenticated, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (revoked.Valid || s.Now().UnixMicro() >= expires)) {
		return nil, ErrSignedOut
	}
	if err != nil {
		return nil, db.Classify(fmt.Errorf("read session: %w", err))
	}
	session.SubjectID = subject.String
	session.AuthenticatedAt, session.ExpiresAt = time.UnixMicro(authenticated).UTC(), time.UnixMicro(expires).UTC()
	return session, nil
}

// Email opens the session's address, to show it or write back.
func (s *Service) Email(ctx context.Context, session *Session) (string, error) {
	email, err := s.Secrets.Open(ctx, session.sealed, []byte("customer-session:"+tokenHash(session.Token)))
	if err != nil {
		return "", fmt.Errorf("open email: %w", err)
	}
	return string(email), nil
}

// SignOut ends a session on the server.
func (s *Service) SignOut(ctx context.Context, token string) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE customer_sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL`,
		tokenHash(token), s.Now().UnixMicro())
	return db.Classify(err)
}

// Purge deletes codes and sessions that ended more than a day ago.
func (s *Service) Purge(ctx context.Context) error {
	cutoff := s.Now().Add(-24 * time.Hour).UnixMicro()
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM customer_codes WHERE expires_at < $1`, cutoff); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM customer_sessions WHERE expires_at < $1`, cutoff)
		return err
	})
}

// Forget deletes, for an erasure, every sign-in code asked for the address
// with the blind index emailHash and every session of that address or of
// subject: each holds the address sealed, and the index links it. It
// returns how many rows went.
func (s *Service) Forget(ctx context.Context, subject string, emailHash []byte) (int, error) {
	n := 0
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		n = 0
		res, err := tx.ExecContext(ctx, `DELETE FROM customer_codes WHERE email_hash = $1`, emailHash)
		if err != nil {
			return fmt.Errorf("customer: forget codes: %w", err)
		}
		codes, _ := res.RowsAffected()
		res, err = tx.ExecContext(ctx, `DELETE FROM customer_sessions WHERE email_hash = $1 OR ($2 <> '' AND subject_id = $2)`, emailHash, subject)
		if err != nil {
			return fmt.Errorf("customer: forget sessions: %w", err)
		}
		sessions, _ := res.RowsAffected()
		n = int(codes + sessions)
		return nil
	})
	return n, db.Classify(err)
}
