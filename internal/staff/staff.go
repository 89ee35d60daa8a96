package staff

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/ratelimit"
)

// SecretBox encrypts small secrets (TOTP seeds) at rest, bound to context
// data; the vault provides one (vault.SecretBox), so that the seeds follow
// the rotations of its key-encryption key.
type SecretBox interface {
	Seal(ctx context.Context, plaintext, associated []byte) ([]byte, error)
	Open(ctx context.Context, ciphertext, associated []byte) ([]byte, error)
}

// Config holds what the service needs.
type Config struct {
	DB      *db.DB
	Secrets SecretBox
	// Audit records sign-ins, failures and account changes, in the
	// transaction of the change: if it cannot be written, the change does
	// not happen.
	Audit audit.Recorder
	Now   func() time.Time
	// SessionLifetime bounds a session (default 8 hours).
	SessionLifetime time.Duration
	// Issuer names the TOTP entry in authenticator apps (default "Steward").
	Issuer string
	// Argon2 is the cost of new password hashes (default DefaultArgon2;
	// tests lower it).
	Argon2 Argon2Params
	// Hashes bounds the password hashes running at once, as each takes
	// Argon2.Memory (default DefaultHashGate(Argon2)).
	Hashes *ratelimit.Gate
}

// HashMemoryBudget bounds the memory of the password hashes running at
// once in DefaultHashGate: well under 512 MiB, so that a
// flood of sign-ins cannot take the server's memory.
const HashMemoryBudget = 128 << 20

// DefaultHashGate returns the gate of password hashes of cost p: as many
// slots as CPUs Go may use, at most as many as fit in HashMemoryBudget;
// four waiters per slot, each waiting at most two seconds. Beyond that a
// sign-in is refused with ErrBusy rather than exhaust the machine.
func DefaultHashGate(p Argon2Params) *ratelimit.Gate {
	perHash := max(int(p.Memory)<<10, 1)
	slots := max(1, min(runtime.GOMAXPROCS(0), HashMemoryBudget/perHash))
	return ratelimit.NewGate(slots, 4*slots, 2*time.Second)
}

// Service manages staff accounts and their sessions.
type Service struct {
	db       *db.DB
	secrets  SecretBox
	audit    audit.Recorder
	now      func() time.Time
	lifetime time.Duration
	issuer   string
	limiter  *ratelimit.Limiter
	argon    Argon2Params
	dummy    string // a password hash to check against for unknown emails
	// hashes bounds the password hashes running at once.
	hashes *ratelimit.Gate
	// sources locks an account for one client address after failures from
	// it; unknown does the database's account-wide count for emails that
	// name no account, so that both answer alike.
	sources, unknown *ratelimit.Lockout
	hashHook         func() // tests: runs in a hash slot, before the hash
	quizMu           sync.Mutex
	// known holds when each account last signed in from each client
	// address: those addresses keep their own attempts while the account
	// is under attack.
	knownMu sync.Mutex
	known   map[string]time.Time
}

// knownFor is how long a client address a staff member signed in from
// stays known.
const knownFor = 30 * 24 * time.Hour

// knownSource reports whether the account signed in from this client
// address (source) in the last knownFor.
func (s *Service) knownSource(source string, now time.Time) bool {
	s.knownMu.Lock()
	defer s.knownMu.Unlock()
	last, ok := s.known[source]
	return ok && now.Sub(last) < knownFor
}

// rememberSource records a sign-in from a client address. The map holds
// at most one entry per successful sign-in's account and address; it
// drops the stale ones when it grows large.
func (s *Service) rememberSource(source string, now time.Time) {
	s.knownMu.Lock()
	defer s.knownMu.Unlock()
	if len(s.known) > 100000 {
		for k, last := range s.known {
			if now.Sub(last) >= knownFor {
				delete(s.known, k)
			}
		}
	}
	s.known[source] = now
}

// NewService returns the staff service.
func NewService(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Secrets == nil || cfg.Audit == nil {
		return nil, errors.New("staff: NewService needs a DB, a SecretBox and an audit Recorder")
	}
	s := &Service{db: cfg.DB, secrets: cfg.Secrets, audit: cfg.Audit, now: cfg.Now, lifetime: cfg.SessionLifetime, issuer: cfg.Issuer}
	if s.now == nil {
		s.now = time.Now
	}
	if s.lifetime == 0 {
		s.lifetime = 8 * time.Hour
	}
	if s.issuer == "" {
		s.issuer = "Steward"
	}
	s.limiter = ratelimit.New(s.now)
	s.argon = cfg.Argon2
	if s.argon == (Argon2Params{}) {
		s.argon = DefaultArgon2
	}
	if s.hashes = cfg.Hashes; s.hashes == nil {
		s.hashes = DefaultHashGate(s.argon)
	}
	s.sources = ratelimit.NewLockout(s.now, sourceLockAfter, lockoutBase, lockoutMax)
	s.known = map[string]time.Time{}
	s.unknown = ratelimit.NewLockout(s.now, accountLockAfter, lockoutBase, lockoutMax)
	var err error
	if s.dummy, err = hashPassword("no account has this password, it only costs the same time", s.argon); err != nil {
		return nil, err
	}
	return s, nil
}

// Account is a staff member, without secrets.
type Account struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     Role   `json:"role"`
	Disabled bool   `json:"disabled"`
	// Language is the catalog language the console speaks to them (and
	// their emails), or "" to follow their browser.
	Language   string     `json:"language"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
}

// NewAccount is what Create takes.
type NewAccount struct {
	Email    string
	Name     string
	Role     Role
	Password string
}

// Created is a new account with its TOTP secret, shown once for enrolment.
type Created struct {
	Account
	TOTPSecret string
	TOTPURI    string
}

func newID(prefix string) (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func normalEmail(email string) (string, bool) {
	email = strings.ToLower(strings.TrimSpace(email))
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 {
		return "", false
	}
	return email, true
}

// Create makes an account with a password and a fresh TOTP secret: the
// second factor is mandatory from the first sign-in.
func (s *Service) Create(ctx context.Context, by audit.Actor, in NewAccount) (Created, error) {
	problems := errs.Problems{}
	email, ok := normalEmail(in.Email)
	if !ok {
		problems.Add("email", "email_address")
	}
	if n := strings.TrimSpace(in.Name); n == "" || len(n) > 200 {
		problems.Add("name", "required_at_most", "max", 200)
	}
	if !in.Role.Valid() {
		problems.Add("role", "staff_role")
	}
	checkNewPassword(problems, in.Password, email)
	if len(problems) > 0 {
		return Created{}, errs.FieldsKeyed(problems)
	}
	hash, err := s.hash(ctx, in.Password)
	if err != nil {
		return Created{}, err
	}
	secret, err := NewTOTPSecret()
	if err != nil {
		return Created{}, err
	}
	id, err := newID("stf_")
	if err != nil {
		return Created{}, err
	}
	sealed, err := s.secrets.Seal(ctx, []byte(secret), []byte("totp:"+id))
	if err != nil {
		return Created{}, fmt.Errorf("seal TOTP secret: %w", err)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	_, err = s.audit.Do(ctx, audit.Entry{Actor: by, Action: "staff.create", Target: target(id),
		Details: audit.MustDetails(map[string]any{"role": string(in.Role)})}, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO staff (id, email, name, role, password_hash, totp_secret, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, id, email, strings.TrimSpace(in.Name), string(in.Role), hash,
			base64.StdEncoding.EncodeToString(sealed), now.UnixMicro())
		return err
	})
	if db.IsUniqueViolation(err) {
		return Created{}, errs.InvalidKeyed("email", "staff_email_taken")
	}
	if err != nil {
		return Created{}, db.Classify(fmt.Errorf("create staff: %w", err))
	}
	return Created{
		Account:    Account{ID: id, Email: email, Name: strings.TrimSpace(in.Name), Role: in.Role, CreatedAt: now, UpdatedAt: now},
		TOTPSecret: secret, TOTPURI: TOTPURI(s.issuer, email, secret),
	}, nil
}

const accountColumns = `id, email, name, role, disabled_at, language, created_at, updated_at`

func scanAccount(scan func(...any) error) (Account, error) {
	var a Account
	var disabled sql.NullInt64
	var created, updated int64
	err := scan(&a.ID, &a.Email, &a.Name, &a.Role, &disabled, &a.Language, &created, &updated)
	if disabled.Valid {
		t := time.UnixMicro(disabled.Int64).UTC()
		a.Disabled, a.DisabledAt = true, &t
	}
	a.CreatedAt, a.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return a, err
}

// Get returns an account by id.
func (s *Service) Get(ctx context.Context, id string) (Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM staff WHERE id = $1`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, errs.NotFound("staff member", id)
	}
	return a, db.Classify(err)
}

// List returns every account by name.
func (s *Service) List(ctx context.Context) ([]Account, error) {
	out, err := db.QueryAll(ctx, s.db, `SELECT `+accountColumns+` FROM staff ORDER BY name, id`, nil, scanAccount)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("list staff: %w", err))
	}
	return out, nil
}

// SetRole changes a staff member's role and ends their sessions, so that
// the new role applies at once.
func (s *Service) SetRole(ctx context.Context, by audit.Actor, id string, role Role) error {
	if !role.Valid() {
		return errs.InvalidKeyed("role", "staff_role")
	}
	now := s.now().UnixMicro()
	return s.update(ctx, audit.Entry{Actor: by, Action: "staff.role", Target: target(id),
		Details: audit.MustDetails(map[string]any{"role": string(role)})},
		now, `UPDATE staff SET role = $2, updated_at = $3 WHERE id = $1`, id, string(role), now)
}

// SetLanguage sets the language a staff member reads the console in: a
// language of the message catalog, or "" to follow the browser. It is their
// own preference: their sessions stay.
func (s *Service) SetLanguage(ctx context.Context, by audit.Actor, id, lang string) error {
	if lang != "" && !i18n.Default().Has(lang) {
		return errs.Invalid("language", "must be one of %s, or empty to follow the browser", strings.Join(i18n.Default().Languages(), ", ")).
			Keyed("staff_language", "languages", strings.Join(i18n.Default().Languages(), ", "))
	}
	now := s.now().UnixMicro()
	_, err := s.audit.Do(ctx, audit.Entry{Actor: by, Action: "staff.language", Target: target(id),
		Details: audit.MustDetails(map[string]any{"language": lang})}, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE staff SET language = $2, updated_at = $3 WHERE id = $1`, id, lang, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFound("staff member", id)
		}
		return nil
	})
	return err
}

// Disable disables an account and ends its sessions.
func (s *Service) Disable(ctx context.Context, by audit.Actor, id string) error {
	now := s.now().UnixMicro()
	return s.update(ctx, audit.Entry{Actor: by, Action: "staff.disable", Target: target(id)}, now, `UPDATE staff SET disabled_at = $2, updated_at = $2 WHERE id = $1`, id, now)
}

// SetRoleTx is SetRole inside the caller's transaction, its audit entry
// (staff.role) written there too: an access review records its decision
// and the change it makes together, or neither.
func (s *Service) SetRoleTx(ctx context.Context, tx *sql.Tx, by audit.Actor, id string, role Role) error {
	if !role.Valid() {
		return errs.InvalidKeyed("role", "staff_role")
	}
	now := s.now().UnixMicro()
	return s.updateTx(ctx, tx, audit.Entry{Actor: by, Action: "staff.role", Target: target(id),
		Details: audit.MustDetails(map[string]any{"role": string(role)})},
		now, `UPDATE staff SET role = $2, updated_at = $3 WHERE id = $1`, id, string(role), now)
}

// DisableTx is Disable inside the caller's transaction, its audit entry
// (staff.disable) written there too.
func (s *Service) DisableTx(ctx context.Context, tx *sql.Tx, by audit.Actor, id string) error {
	now := s.now().UnixMicro()
	return s.updateTx(ctx, tx, audit.Entry{Actor: by, Action: "staff.disable", Target: target(id)}, now,
		`UPDATE staff SET disabled_at = $2, updated_at = $2 WHERE id = $1`, id, now)
}

// update changes an account and ends its sessions, in the transaction that
// records the change.
func (s *Service) update(ctx context.Context, e audit.Entry, now int64, query string, args ...any) error {
	_, err := s.audit.Do(ctx, e, func(ctx context.Context, tx *sql.Tx) error {
		return s.change(ctx, tx, e.Target.ID, now, query, args...)
	})
	return err
}

// updateTx is update in the caller's transaction.
func (s *Service) updateTx(ctx context.Context, tx *sql.Tx, e audit.Entry, now int64, query string, args ...any) error {
	if err := s.change(ctx, tx, e.Target.ID, now, query, args...); err != nil {
		return err
	}
	_, err := s.audit.AppendTx(ctx, tx, e)
	return err
}

// change runs query on the account id and ends its sessions.
func (s *Service) change(ctx context.Context, tx *sql.Tx, id string, now int64, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFound("staff member", id)
	}
	_, err = tx.ExecContext(ctx, `UPDATE staff_sessions SET revoked_at = $2 WHERE staff_id = $1 AND revoked_at IS NULL`, id, now)
	return err
}

// target names a staff member as the target of an audit entry.
func target(id string) audit.Target { return audit.Target{Kind: audit.KindStaff, ID: id} }

// Credentials are what a sign-in presents.
type Credentials struct {
	Email    string
	Password string
	Code     string // the TOTP code
	IP       string // for rate limiting only; not stored
}

// Session is a signed-in staff member.
type Session struct {
	Token           string // the cookie value; only its hash is stored
	Account         Account
	AuthenticatedAt time.Time
	ExpiresAt       time.Time
}

// Fresh reports whether the session's sign-in is younger than maxAge, as
// revealing personal data requires.
func (s *Session) Fresh(now time.Time, maxAge time.Duration) bool {
	return now.Sub(s.AuthenticatedAt) < maxAge
}

// ErrSignIn is the one answer to every failed sign-in, whatever failed: no
// account enumeration.
var ErrSignIn = errs.New(errs.CodeUnauthorized, "the email, password or code is not right").Keyed("signin_refused")

// Lockouts. Failures are counted per account and client address: after
// sourceLockAfter of them that address may not try that account for
// lockoutBase, doubling with each further failure up to lockoutMax, while
// the owner signs in from their own address. Failures are also counted per
// account across addresses (in the database, so across replicas): after
// accountLockAfter the account is under attack, and then an address that
// has failed on it may not try again until the account-wide lock ends, so
// each new address gets one attempt. Addresses the account signed in from
// in the last 30 days keep their own five attempts, so that an owner's
// typo during an attack does not lock them out; an attacker cannot make an
// address known without signing in. A right password with a right code is
// never refused by the account-wide lock: that is what lets the owner in
// during an attack, and it gives an attacker nothing, as every failure,
// locked or not, gets the same answer.
const (
	sourceLockAfter  = 5
	accountLockAfter = 20
	lockoutBase      = time.Minute
	lockoutMax       = time.Hour
)

// lockedError tells the person that their address is locked out of the
// account and when to try again. Known and unknown emails get it alike.
func (s *Service) lockedError(until time.Time) error {
	minutes := int(until.Sub(s.now()).Round(time.Minute) / time.Minute)
	at, minutes := until.UTC().Format("15:04 UTC"), max(minutes, 1)
	return errs.New(errs.CodeUnauthorized, "too many failed sign-ins to this account from your network address; try again after %s "+
		"(in about %d minutes); sign-ins from other networks are not affected", at, minutes).Keyed("signin_locked", "at", at, "n", minutes)
}

// SignIn checks a password and a TOTP code and opens a session. Failures are
// rate limited per address, lock the account for the failing address with
// back-off (see sourceLockAfter), and take the same time whether or not
// the email is known. Password hashes run in the service's bounded hash
// slots: when they are all taken the answer is ErrBusy.
func (s *Service) SignIn(ctx context.Context, c Credentials) (*Session, error) {
	if !s.limiter.Allow("ip:"+c.IP, 20, time.Minute) {
		return nil, errs.New(errs.CodeUnauthorized, "too many sign-in attempts from this address; wait a minute").Keyed("signin_rate_limited")
	}
	email, _ := normalEmail(c.Email)
	source := email + "|" + c.IP
	if until := s.sources.Locked(source); !until.IsZero() {
		return nil, s.lockedError(until)
	}
	var id, hash, sealedSecret string
	var role Role
	var lastStep, lockedUntil int64
	var failures int
	var disabled sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT id, role, password_hash, totp_secret, totp_last_step, failed_attempts, locked_until, disabled_at
		FROM staff WHERE email = $1`, email).Scan(&id, &role, &hash, &sealedSecret, &lastStep, &failures, &lockedUntil, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		// The same work and the same locks as for a known account.
		if until := s.unknown.Locked(email); !until.IsZero() && s.sources.Failures(source) > 0 {
			return nil, s.lockedError(until)
		}
		if _, err := s.check(ctx, s.dummy, c.Password); err != nil && errors.Is(err, ErrBusy) {
			return nil, err
		}
		s.unknown.Fail(email)
		return nil, s.failSource(source, s.refuse(ctx, "", "unknown account"))
	}
	if err != nil {
		return nil, db.Classify(fmt.Errorf("sign in: %w", err))
	}
	now := s.now()
	if now.UnixMicro() < lockedUntil && s.sources.Failures(source) > 0 && !s.knownSource(source, now) {
		return nil, s.lockedError(time.UnixMicro(lockedUntil))
	}
	passwordOK, err := s.check(ctx, hash, c.Password)
	if err != nil {
		if errors.Is(err, ErrBusy) {
			return nil, err
		}
		return nil, fmt.Errorf("sign in: %w", err)
	}
	if disabled.Valid {
		return nil, s.failSource(source, s.refuse(ctx, id, "disabled"))
	}
	if !passwordOK {
		return nil, s.failSource(source, s.fail(ctx, id, now, "password"))
	}
	sealed, err := base64.StdEncoding.DecodeString(sealedSecret)
	if err != nil {
		return nil, fmt.Errorf("sign in: TOTP secret: %w", err)
	}
	secret, err := s.secrets.Open(ctx, sealed, []byte("totp:"+id))
	if err != nil {
		return nil, fmt.Errorf("sign in: open TOTP secret: %w", err)
	}
	step := checkTOTP(string(secret), strings.TrimSpace(c.Code), now, lastStep)
	if step == 0 {
		return nil, s.failSource(source, s.fail(ctx, id, now, "code"))
	}
	token := mustRandom()
	session := &Session{Token: token, AuthenticatedAt: now.UTC().Truncate(time.Microsecond), ExpiresAt: now.Add(s.lifetime).UTC().Truncate(time.Microsecond)}
	_, err = s.audit.Do(ctx, audit.Entry{Actor: audit.Staff(id), Action: "staff.sign_in"}, func(ctx context.Context, tx *sql.Tx) error {
		// The step is stored so that a code works once.
		res, err := tx.ExecContext(ctx, `UPDATE staff SET totp_last_step = $2, failed_attempts = 0, locked_until = 0
			WHERE id = $1 AND totp_last_step < $2`, id, step)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrSignIn // the same code was just used
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO staff_sessions (token_hash, staff_id, created_at, authenticated_at, expires_at)
			VALUES ($1, $2, $3, $3, $4)`, tokenHash(token), id, session.AuthenticatedAt.UnixMicro(), session.ExpiresAt.UnixMicro())
		return err
	})
	if err != nil {
		return nil, err
	}
	s.sources.Reset(source)
	s.rememberSource(source, now)
	if session.Account, err = s.Get(ctx, id); err != nil {
		return nil, err
	}
	return session, nil
}

// mustRandom returns 256 random bits, base64url encoded.
func mustRandom() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("staff: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// fail records a failed attempt in the account's count across addresses
// and locks the account for addresses that failed when there were too
// many. The count is raised in the database, so that concurrent failures
// on several replicas all count.
func (s *Service) fail(ctx context.Context, id string, now time.Time, reason string) error {
	var failures int
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `UPDATE staff SET failed_attempts = failed_attempts + 1 WHERE id = $1 RETURNING failed_attempts`, id).Scan(&failures)
	})
	if err != nil {
		return db.Classify(fmt.Errorf("record failed sign-in: %w", err))
	}
	if failures >= accountLockAfter {
		lock := lockoutBase << min(failures-accountLockAfter, 6)
		until := now.Add(min(lock, lockoutMax)).UnixMicro()
		if _, err := s.db.ExecContext(ctx, `UPDATE staff SET locked_until = $2 WHERE id = $1 AND locked_until < $2`, id, until); err != nil {
			return db.Classify(fmt.Errorf("record failed sign-in: %w", err))
		}
		reason += ", account under attack"
	}
	return s.refuse(ctx, id, reason)
}

// failSource counts a failure of an account from one address; when it locks
// the address, the answer says until when instead of err.
func (s *Service) failSource(source string, err error) error {
	if until := s.sources.Fail(source); !until.IsZero() && err == ErrSignIn {
		return s.lockedError(until)
	}
	return err
}

// refuse records a failed sign-in in the audit log (the account when the
// email named one, never the email itself) and returns the one answer.
// When the log cannot be written the answer is still a refusal.
func (s *Service) refuse(ctx context.Context, id, reason string) error {
	e := audit.Entry{Actor: audit.System(), Action: "staff.sign_in_failed", Details: audit.MustDetails(map[string]any{"reason": reason})}
	if id != "" {
		e.Target = target(id)
	}
	if _, err := s.audit.Append(ctx, e); err != nil {
		return errs.Wrap(errs.CodeUnavailable, err, "sign-in is unavailable: the audit log cannot be written")
	}
	return ErrSignIn
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Session returns the live session of a token, or an unauthorized error.
func (s *Service) Session(ctx context.Context, token string) (*Session, error) {
	if token == "" || len(token) > 200 {
		return nil, errs.New(errs.CodeUnauthorized, "sign in first").Keyed("signin_first")
	}
	var staffID string
	var authenticated, expires int64
	var revoked sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT staff_id, authenticated_at, expires_at, revoked_at FROM staff_sessions WHERE token_hash = $1`,
		tokenHash(token)).Scan(&staffID, &authenticated, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (revoked.Valid || s.now().UnixMicro() >= expires)) {
		return nil, errs.New(errs.CodeUnauthorized, "your session has ended; sign in again").Keyed("session_ended")
	}
	if err != nil {
		return nil, db.Classify(fmt.Errorf("read session: %w", err))
	}
	account, err := s.Get(ctx, staffID)
	if err != nil {
		return nil, err
	}
	if account.Disabled {
		return nil, errs.New(errs.CodeUnauthorized, "this account is disabled").Keyed("account_disabled")
	}
	return &Session{Token: token, Account: account, AuthenticatedAt: time.UnixMicro(authenticated).UTC(), ExpiresAt: time.UnixMicro(expires).UTC()}, nil
}

// Reauthenticate renews a session's sign-in time after the staff member
// gave their password and a TOTP code again, as revealing personal data
// requires a recent sign-in. Failures count towards the lockout like a
// sign-in's.
func (s *Service) Reauthenticate(ctx context.Context, session *Session, password, code, ip string) error {
	fresh, err := s.SignIn(ctx, Credentials{Email: session.Account.Email, Password: password, Code: code, IP: ip})
	if err != nil {
		return err
	}
	// The check opened a session of its own; keep the one the browser holds
	// and renew its sign-in time instead.
	now := fresh.AuthenticatedAt
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE staff_sessions SET revoked_at = $2 WHERE token_hash = $1`, tokenHash(fresh.Token), now.UnixMicro()); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE staff_sessions SET authenticated_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL`,
			tokenHash(session.Token), now.UnixMicro())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.New(errs.CodeUnauthorized, "your session has ended; sign in again").Keyed("session_ended")
		}
		return nil
	})
	if err != nil {
		return db.Classify(fmt.Errorf("renew sign-in: %w", err))
	}
	session.AuthenticatedAt = now
	return nil
}

// SignOut revokes a session on the server.
func (s *Service) SignOut(ctx context.Context, token string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE staff_sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL`,
		tokenHash(token), s.now().UnixMicro())
	return db.Classify(err)
}
