package staff

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// ResetKind is what a reset link replaces: one factor of the two. The
// other is still asked for when the link is used, so that a link that
// leaks (a forwarded chat message, a shoulder) does not give the account
// away by itself.
type ResetKind string

// The reset kinds.
const (
	// ResetPassword lets the person choose a new password, with a code
	// from their authenticator.
	ResetPassword ResetKind = "password"
	// ResetAuthenticator lets the person enrol a new authenticator, with
	// their password.
	ResetAuthenticator ResetKind = "authenticator"
)

// Valid reports whether k is a known kind.
func (k ResetKind) Valid() bool { return k == ResetPassword || k == ResetAuthenticator }

// ResetLifetime is how long a reset link works; resetAttempts is how many
// wrong codes or passwords spend it.
const (
	ResetLifetime = 24 * time.Hour
	resetAttempts = 5
)

// Reset is a one-time link an administrator issued.
//
// Why a link and not a temporary password: the administrator never knows
// a password that works (so nothing done afterwards can be theirs), the
// person chooses their own at once (no "change it at first sign-in" that
// is put off), only a hash of the link's token is stored, and the link
// ends when used, after resetAttempts failures, or after ResetLifetime.
type Reset struct {
	Token     string // only when issued; the database keeps its hash
	Kind      ResetKind
	Account   Account
	ExpiresAt time.Time
}

// IssueReset makes a one-time link for the account id to set a new
// password or enrol a new authenticator. It ends the account's sessions
// and any link issued before, in the transaction that records it.
func (s *Service) IssueReset(ctx context.Context, by audit.Actor, id string, kind ResetKind) (Reset, error) {
	if !kind.Valid() {
		return Reset{}, errs.InvalidKeyed("kind", "reset_kind")
	}
	account, err := s.Get(ctx, id)
	if err != nil {
		return Reset{}, err
	}
	if account.Disabled {
		return Reset{}, errs.New(errs.CodeConflict, "the account is disabled; a disabled account cannot be reset").Keyed("reset_disabled")
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	r := Reset{Token: mustRandom(), Kind: kind, Account: account, ExpiresAt: now.Add(ResetLifetime)}
	_, err = s.audit.Do(ctx, audit.Entry{Actor: by, Action: "staff.reset_issued", Target: target(id),
		Details: audit.MustDetails(map[string]any{"kind": string(kind)})}, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE staff_resets SET used_at = $2 WHERE staff_id = $1 AND used_at IS NULL`, id, now.UnixMicro()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO staff_resets (token_hash, staff_id, kind, issued_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, tokenHash(r.Token), id, string(kind), by.String(), now.UnixMicro(), r.ExpiresAt.UnixMicro()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE staff_sessions SET revoked_at = $2 WHERE staff_id = $1 AND revoked_at IS NULL`, id, now.UnixMicro())
		return err
	})
	if err != nil {
		return Reset{}, db.Classify(fmt.Errorf("issue reset: %w", err))
	}
	return r, nil
}

// errResetGone is the one answer for a link that is unknown, used, spent
// or expired: the page cannot tell which, nor can someone guessing.
var errResetGone = errs.New(errs.CodeNotFound, "this link has been used, has expired or is not valid; ask an administrator for a new one").Keyed("reset_gone")

// PendingReset returns the reset of a link's token while it still works.
func (s *Service) PendingReset(ctx context.Context, token string) (Reset, error) {
	if token == "" || len(token) > 200 {
		return Reset{}, errResetGone
	}
	var id, kind string
	var expires int64
	var used sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT staff_id, kind, expires_at, used_at FROM staff_resets WHERE token_hash = $1`,
		tokenHash(token)).Scan(&id, &kind, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (used.Valid || s.now().UnixMicro() >= expires)) {
		return Reset{}, errResetGone
	}
	if err != nil {
		return Reset{}, db.Classify(fmt.Errorf("read reset: %w", err))
	}
	account, err := s.Get(ctx, id)
	if err != nil {
		return Reset{}, err
	}
	if account.Disabled {
		return Reset{}, errResetGone
	}
	return Reset{Token: token, Kind: ResetKind(kind), Account: account, ExpiresAt: time.UnixMicro(expires).UTC()}, nil
}

// RedeemPassword sets a new password with a password link and a current
// code from the person's authenticator.
func (s *Service) RedeemPassword(ctx context.Context, token, password, code string) error {
	r, err := s.PendingReset(ctx, token)
	if err != nil {
		return err
	}
	if r.Kind != ResetPassword {
		return errResetGone
	}
	problems := errs.Problems{}
	if checkNewPassword(problems, password, r.Account.Email); len(problems) > 0 {
		return errs.FieldsKeyed(problems)
	}
	secret, lastStep, _, err := s.factors(ctx, r.Account.ID)
	if err != nil {
		return err
	}
	step := checkTOTP(secret, strings.TrimSpace(code), s.now(), lastStep)
	if step == 0 {
		return s.failReset(ctx, token, func(left int) error { return errs.InvalidKeyed("code", "reset_code_wrong", "n", left) })
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	return s.redeem(ctx, r, `UPDATE staff SET password_hash = $2, totp_last_step = $3, failed_attempts = 0, locked_until = 0, updated_at = $4
		WHERE id = $1 AND totp_last_step < $3`, hash, step)
}

// RedeemAuthenticator enrols a new authenticator with an authenticator
// link and the person's password, and returns its secret, shown once.
func (s *Service) RedeemAuthenticator(ctx context.Context, token, password string) (Created, error) {
	r, err := s.PendingReset(ctx, token)
	if err != nil {
		return Created{}, err
	}
	if r.Kind != ResetAuthenticator {
		return Created{}, errResetGone
	}
	_, _, hash, err := s.factors(ctx, r.Account.ID)
	if err != nil {
		return Created{}, err
	}
	ok, err := s.check(ctx, hash, password)
	if err != nil {
		return Created{}, err
	}
	if !ok {
		return Created{}, s.failReset(ctx, token, func(left int) error { return errs.InvalidKeyed("password", "reset_password_wrong", "n", left) })
	}
	secret, err := NewTOTPSecret()
	if err != nil {
		return Created{}, err
	}
	sealed, err := s.secrets.Seal(ctx, []byte(secret), []byte("totp:"+r.Account.ID))
	if err != nil {
		return Created{}, fmt.Errorf("seal TOTP secret: %w", err)
	}
	err = s.redeem(ctx, r, `UPDATE staff SET totp_secret = $2, totp_last_step = $3, failed_attempts = 0, locked_until = 0, updated_at = $4
		WHERE id = $1 AND totp_last_step >= $3`, base64.StdEncoding.EncodeToString(sealed), 0)
	if err != nil {
		return Created{}, err
	}
	return Created{Account: r.Account, TOTPSecret: secret, TOTPURI: TOTPURI(s.issuer, r.Account.Email, secret)}, nil
}

// factors reads an account's TOTP secret (opened), last used step and
// password hash.
func (s *Service) factors(ctx context.Context, id string) (secret string, lastStep int64, hash string, err error) {
	var sealedSecret string
	err = s.db.QueryRowContext(ctx, `SELECT totp_secret, totp_last_step, password_hash FROM staff WHERE id = $1`, id).Scan(&sealedSecret, &lastStep, &hash)
	if err != nil {
		return "", 0, "", db.Classify(fmt.Errorf("read staff factors: %w", err))
	}
	sealed, err := base64.StdEncoding.DecodeString(sealedSecret)
	if err != nil {
		return "", 0, "", fmt.Errorf("TOTP secret: %w", err)
	}
	plain, err := s.secrets.Open(ctx, sealed, []byte("totp:"+id))
	if err != nil {
		return "", 0, "", fmt.Errorf("open TOTP secret: %w", err)
	}
	return string(plain), lastStep, hash, nil
}

// failReset counts a wrong code or password against a link; the last
// allowed failure spends it. Before that, wrong says what was wrong and
// how many attempts are left.
func (s *Service) failReset(ctx context.Context, token string, wrong func(left int) error) error {
	var attempts int
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `UPDATE staff_resets SET attempts = attempts + 1 WHERE token_hash = $1 RETURNING attempts`, tokenHash(token)).Scan(&attempts)
	})
	if err != nil {
		return db.Classify(fmt.Errorf("record reset failure: %w", err))
	}
	if attempts >= resetAttempts {
		if _, err := s.db.ExecContext(ctx, `UPDATE staff_resets SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL`,
			tokenHash(token), s.now().UnixMicro()); err != nil {
			return db.Classify(fmt.Errorf("record reset failure: %w", err))
		}
		return errs.New(errs.CodeForbidden, "too many wrong attempts: this link no longer works; ask an administrator for a new one").Keyed("reset_too_many")
	}
	return wrong(resetAttempts - attempts)
}

// redeem applies a reset's change to the account, spends the link and
// ends the account's sessions, in the transaction that records it; the
// account's lockouts are lifted. query takes id, value, step, now.
func (s *Service) redeem(ctx context.Context, r Reset, query string, value any, step int64) error {
	now := s.now().UnixMicro()
	_, err := s.audit.Do(ctx, audit.Entry{Actor: audit.Staff(r.Account.ID), Action: "staff.reset_redeemed", Target: target(r.Account.ID),
		Details: audit.MustDetails(map[string]any{"kind": string(r.Kind)})}, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE staff_resets SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2`,
			tokenHash(r.Token), now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errResetGone // used concurrently
		}
		if res, err = tx.ExecContext(ctx, query, r.Account.ID, value, step, now); err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.InvalidKeyed("code", "reset_code_just_used")
		}
		_, err = tx.ExecContext(ctx, `UPDATE staff_sessions SET revoked_at = $2 WHERE staff_id = $1 AND revoked_at IS NULL`, r.Account.ID, now)
		return err
	})
	if err != nil {
		return db.Classify(fmt.Errorf("reset: %w", err))
	}
	s.sources.ResetPrefix(r.Account.Email + "|")
	return nil
}

// LockState is how sign-in limits hold an account.
type LockState struct {
	// Failures are the failed sign-ins counted across addresses since the
	// last success (the account is under attack from accountLockAfter).
	Failures int
	// LockedUntil is when the account-wide lock ends: until then only
	// addresses with no failures, or known ones, may try. Zero: no lock.
	LockedUntil time.Time
	// LockedAddresses counts the client addresses locked out of the
	// account on this server (they are held in memory, per replica).
	LockedAddresses int
}

// Locked reports whether any lock holds the account.
func (l LockState) Locked() bool { return !l.LockedUntil.IsZero() || l.LockedAddresses > 0 }

// LockStates returns the lock state of every account that has one.
func (s *Service) LockStates(ctx context.Context) (map[string]LockState, error) {
	type row struct {
		id, email string
		failures  int
		until     int64
	}
	rows, err := db.QueryAll(ctx, s.db, `SELECT id, email, failed_attempts, locked_until FROM staff`, nil, func(scan func(...any) error) (row, error) {
		var r row
		err := scan(&r.id, &r.email, &r.failures, &r.until)
		return r, err
	})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("read lock states: %w", err))
	}
	now := s.now()
	out := map[string]LockState{}
	for _, r := range rows {
		st := LockState{Failures: r.failures, LockedAddresses: s.sources.LockedPrefix(r.email + "|")}
		if until := time.UnixMicro(r.until); r.until > 0 && now.Before(until) {
			st.LockedUntil = until.UTC()
		}
		if st.Failures > 0 || st.Locked() {
			out[r.id] = st
		}
	}
	return out, nil
}

// Unlock lifts an account's sign-in locks and forgets its failures: the
// account-wide count in the database and the locked addresses on this
// server. Recorded with the failures it cleared.
func (s *Service) Unlock(ctx context.Context, by audit.Actor, id string) error {
	account, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	var failures int
	if err := s.db.QueryRowContext(ctx, `SELECT failed_attempts FROM staff WHERE id = $1`, id).Scan(&failures); err != nil {
		return db.Classify(fmt.Errorf("unlock: %w", err))
	}
	_, err = s.audit.Do(ctx, audit.Entry{Actor: by, Action: "staff.unlock", Target: target(id),
		Details: audit.MustDetails(map[string]any{"failures": failures})}, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE staff SET failed_attempts = 0, locked_until = 0 WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return db.Classify(fmt.Errorf("unlock: %w", err))
	}
	s.sources.ResetPrefix(account.Email + "|")
	return nil
}
