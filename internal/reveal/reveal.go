// Package reveal limits how much plaintext one actor may read: a staff
// member revealing fields in the console, or a reveal key revealing and
// detokenising over the API. Each disclosure is counted and recorded in the
// audit log in one transaction that holds a per-actor lock in the database,
// so the limit holds under concurrency and across replicas sharing one
// PostgreSQL: of 30 simultaneous reveals by one actor with room for 10,
// exactly 10 are recorded and returned.
//
//	limits := reveal.New(reveal.Config{DB: store, Audit: log})
//	stored, err := limits.Record(ctx, audit.Entry{Actor: audit.APIKey(id), Action: reveal.ActionReveal, ...})
//	if errors.Is(err, reveal.ErrTooMany) { /* 429; security was alerted */ }
//	// hand out the value only now: the entry is committed
//
// At the limit the disclosure is refused and, once per window per actor, an
// alert (ActionAlert, by the system, naming the actor as its target) is
// recorded; the console's dashboard shows it.
package reveal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// The audit actions this package counts and writes.
const (
	// ActionReveal is a field shown in plaintext (console or API).
	ActionReveal = "vault.reveal"
	// ActionDetokenize is a token exchanged for its value (API).
	ActionDetokenize = "vault.detokenize"
	// ActionAlert is recorded when an actor reaches the limit.
	ActionAlert = "alert.reveal_burst"
)

// Defaults: 10 disclosures per 10 minutes per actor.
const (
	DefaultLimit  = 10
	DefaultWindow = 10 * time.Minute
)

// ErrTooMany marks a disclosure refused by the limit; the web layer answers
// 429.
var ErrTooMany = errors.New("too many reveals")

// Config holds what a Limiter needs.
type Config struct {
	DB    *db.DB
	Audit *audit.Log
	// Limit disclosures per Window per actor; 0 means the defaults.
	Limit  int
	Window time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Limiter counts and records disclosures.
type Limiter struct {
	db     *db.DB
	audit  *audit.Log
	limit  int
	window time.Duration
	now    func() time.Time
}

// New returns a Limiter.
func New(cfg Config) *Limiter {
	l := &Limiter{db: cfg.DB, audit: cfg.Audit, limit: cfg.Limit, window: cfg.Window, now: cfg.Now}
	if l.limit <= 0 {
		l.limit = DefaultLimit
	}
	if l.window <= 0 {
		l.window = DefaultWindow
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l
}

// Limit returns the number of disclosures allowed per Window.
func (l *Limiter) Limit() int { return l.limit }

// Window returns the length of the window.
func (l *Limiter) Window() time.Duration { return l.window }

// Record writes e, a disclosure (ActionReveal or ActionDetokenize) by
// e.Actor, if the actor has made fewer than Limit disclosures in the last
// Window, and returns it once committed: hand out the value only then.
// Otherwise it records the alert (once per window) and returns an error
// wrapping ErrTooMany. Errors writing the log have code unavailable (503):
// nothing is disclosed.
func (l *Limiter) Record(ctx context.Context, e audit.Entry) (audit.Stored, error) {
	if e.Action != ActionReveal && e.Action != ActionDetokenize {
		return audit.Stored{}, fmt.Errorf("reveal: %q is not a disclosure", e.Action)
	}
	if err := e.Validate(); err != nil {
		return audit.Stored{}, err
	}
	var stored audit.Stored
	var refused error
	err := l.db.Tx(ctx, func(tx *sql.Tx) error {
		refused = nil
		if err := l.lock(ctx, tx, e.Actor); err != nil {
			return err
		}
		since := l.now().Add(-l.window)
		n := 0
		for _, action := range []string{ActionReveal, ActionDetokenize} {
			c, err := l.audit.CountTx(ctx, tx, audit.Query{Actor: e.Actor, Action: action, Since: since, Limit: l.limit})
			if err != nil {
				return err
			}
			n += c
		}
		if n < l.limit {
			var err error
			stored, err = l.audit.AppendTx(ctx, tx, e)
			return err
		}
		target := audit.Target{Kind: e.Actor.Kind, ID: e.Actor.ID}
		alerted, err := l.audit.CountTx(ctx, tx, audit.Query{Actor: audit.System(), Action: ActionAlert, Target: target, Since: since, Limit: 1})
		if err != nil {
			return err
		}
		if alerted == 0 {
			if _, err := l.audit.AppendTx(ctx, tx, audit.Entry{Actor: audit.System(), Action: ActionAlert, Target: target,
				Details: audit.MustDetails(map[string]any{"reveals": n, "window_minutes": int(l.window / time.Minute)})}); err != nil {
				return err
			}
		}
		refused = fmt.Errorf("%w: %d fields revealed in the last %d minutes, the most allowed; security has been alerted. Wait, or ask a security officer",
			ErrTooMany, n, int(l.window/time.Minute))
		return nil
	})
	if err != nil {
		if errs.Is(err, errs.CodeInvalid) {
			return audit.Stored{}, err
		}
		return audit.Stored{}, errs.Wrap(errs.CodeUnavailable, err, "the audit log cannot be written, so nothing is revealed")
	}
	if refused != nil {
		return audit.Stored{}, refused
	}
	return stored, nil
}

// lock serialises one actor's count and append. On PostgreSQL it is a
// transaction-scoped advisory lock, which every replica on the database
// shares; SQLite transactions of package db begin IMMEDIATE and so hold the
// database's one write lock already.
func (l *Limiter) lock(ctx context.Context, tx *sql.Tx, actor audit.Actor) error {
	if l.db.Dialect != db.Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('steward.reveal.' || $1::text))`, actor.String()); err != nil {
		return fmt.Errorf("reveal: lock actor: %w", err)
	}
	return nil
}
