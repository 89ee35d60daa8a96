package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/stdwebhooks"
)

// Endpoint is a URL of the company's that receives events.
type Endpoint struct {
	ID          string
	URL         string
	Description string
	// EventTypes are the types it receives; empty means all.
	EventTypes []string
	Enabled    bool
	// DisabledReason says why a disabled endpoint is: DisabledGone or
	// DisabledByStaff.
	DisabledReason string
	DisabledAt     time.Time
	// SecretVersion counts the endpoint's secrets: 1 at creation, one more
	// at each rotation.
	SecretVersion int
	// PreviousSecretUntil is when the secret before the last rotation
	// stops signing; zero when it no longer does.
	PreviousSecretUntil time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// Why an endpoint is disabled.
const (
	// DisabledGone: the receiver answered 410 Gone.
	DisabledGone = "gone"
	// DisabledByStaff: staff disabled it.
	DisabledByStaff = "staff"
)

// EndpointUpdate changes an endpoint; nil fields stay as they are.
type EndpointUpdate struct {
	URL         *string
	Description *string
	// EventTypes replaces the types; a pointer to an empty slice means all.
	EventTypes *[]string
	// Enabled false stops new messages to the endpoint and dead-letters
	// the pending ones at their next attempt; true takes it back into
	// service (replay its dead letters with ReplayDead).
	Enabled *bool
}

const (
	maxDescription = 500
	// The audit target kind of endpoints and messages.
	targetEndpoint = "webhook_endpoint"
	targetMessage  = "webhook_message"
)

// secretAAD binds a sealed secret to its endpoint and version, so that a
// sealed secret copied to another endpoint, or an old version put back in
// place of the current one, does not open.
func secretAAD(endpointID string, version int) []byte {
	return []byte("outbox.endpoint:" + endpointID + ":v" + strconv.Itoa(version))
}

// checkDescription returns an endpoint's description trimmed; what is
// wrong with it goes under "description" in problems.
func checkDescription(d string, problems errs.Problems) string {
	d = strings.TrimSpace(d)
	switch {
	case len(d) > maxDescription:
		problems.Add("description", "at_most_bytes", "max", maxDescription)
	case !utf8.ValidString(d) || strings.ContainsFunc(d, unicode.IsControl):
		problems.Add("description", "no_control_characters")
	}
	return d
}

// hostOf returns the host of an endpoint URL, for audit entries and logs:
// the path and query may hold a receiver's token.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// CreateEndpoint registers an endpoint from e's URL, Description and
// EventTypes, enabled, with a fresh secret. The secret is returned this
// once: staff hand it to the receiver, and Steward keeps it only sealed.
func (s *Service) CreateEndpoint(ctx context.Context, e Endpoint) (Endpoint, string, error) {
	problems := errs.Problems{}
	rawURL, err := s.validateURL(ctx, e.URL, problems)
	if err != nil {
		return Endpoint{}, "", err
	}
	description := checkDescription(e.Description, problems)
	types := normaliseTypes(e.EventTypes, problems)
	if len(problems) > 0 {
		return Endpoint{}, "", errs.FieldsKeyed(problems)
	}
	now := s.now()
	ep := Endpoint{ID: newID("ep_"), URL: rawURL, Description: description, EventTypes: types, Enabled: true,
		SecretVersion: 1, CreatedAt: now, UpdatedAt: now}
	secret := stdwebhooks.NewSecret()
	// Sealing writes to the vault in a transaction of its own: before ours.
	sealed, err := s.cfg.Secrets.Seal(ctx, []byte(secret), secretAAD(ep.ID, ep.SecretVersion))
	if err != nil {
		return Endpoint{}, "", fmt.Errorf("seal endpoint secret: %w", err)
	}
	typesJSON, _ := json.Marshal(ep.EventTypes)
	entry := s.entry(ctx, "webhook.endpoint_create", targetEndpoint, ep.ID, map[string]any{
		"host": hostOf(ep.URL), "event_types": ep.EventTypes})
	_, err = s.cfg.Audit.Do(ctx, entry, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO outbox_endpoints (id, url, description, event_types, enabled,
			secret_version, secret_sealed, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			ep.ID, ep.URL, ep.Description, string(typesJSON), true, ep.SecretVersion, sealed, micros(now), micros(now))
		return err
	})
	if err != nil {
		return Endpoint{}, "", db.Classify(fmt.Errorf("create endpoint: %w", err))
	}
	return ep, secret, nil
}

// UpdateEndpoint changes the fields of u that are set.
func (s *Service) UpdateEndpoint(ctx context.Context, id string, u EndpointUpdate) (Endpoint, error) {
	problems := errs.Problems{}
	var newURL, newDescription string
	var newTypes []string
	var err error
	if u.URL != nil {
		if newURL, err = s.validateURL(ctx, *u.URL, problems); err != nil {
			return Endpoint{}, err
		}
	}
	if u.Description != nil {
		newDescription = checkDescription(*u.Description, problems)
	}
	if u.EventTypes != nil {
		newTypes = normaliseTypes(*u.EventTypes, problems)
	}
	if len(problems) > 0 {
		return Endpoint{}, errs.FieldsKeyed(problems)
	}
	details := map[string]any{}
	if u.URL != nil {
		details["host"] = hostOf(newURL)
	}
	if u.EventTypes != nil {
		details["event_types"] = newTypes
	}
	if u.Enabled != nil {
		details["enabled"] = *u.Enabled
	}
	if u.Description != nil {
		details["description_changed"] = true
	}
	var ep Endpoint
	_, err = s.cfg.Audit.Do(ctx, s.entry(ctx, "webhook.endpoint_update", targetEndpoint, id, details), func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if ep, err = s.lockEndpoint(ctx, tx, id); err != nil {
			return err
		}
		now := s.now()
		if u.URL != nil {
			ep.URL = newURL
		}
		if u.Description != nil {
			ep.Description = newDescription
		}
		if u.EventTypes != nil {
			ep.EventTypes = newTypes
		}
		if u.Enabled != nil && *u.Enabled != ep.Enabled {
			ep.Enabled = *u.Enabled
			if ep.Enabled {
				ep.DisabledReason, ep.DisabledAt = "", time.Time{}
			} else {
				ep.DisabledReason, ep.DisabledAt = DisabledByStaff, now
			}
		}
		ep.UpdatedAt = now
		typesJSON, _ := json.Marshal(ep.EventTypes)
		if _, err = tx.ExecContext(ctx, `UPDATE outbox_endpoints SET url = $2, description = $3, event_types = $4, enabled = $5,
			disabled_reason = $6, disabled_at = $7, updated_at = $8 WHERE id = $1`,
			id, ep.URL, ep.Description, string(typesJSON), ep.Enabled, ep.DisabledReason, nullMicros(ep.DisabledAt), micros(now)); err != nil {
			return err
		}
		if !ep.Enabled {
			// A disabled endpoint's backlog becomes dead letters at once,
			// visible to staff and replayable once it is enabled again.
			return deadLetterPending(ctx, tx, id, now)
		}
		return nil
	})
	if err != nil {
		return Endpoint{}, db.Classify(fmt.Errorf("update endpoint: %w", err))
	}
	return ep, nil
}

// RotateSecret gives the endpoint a new secret, returned this once. The
// secret it replaces keeps signing next to the new one for
// Config.RotationGrace, so that the receiver can switch without losing a
// message: during the grace, each message carries both signatures. A
// rotation within the grace of the last one drops the oldest secret: at
// most two sign.
func (s *Service) RotateSecret(ctx context.Context, id string) (Endpoint, string, error) {
	current, err := s.Endpoint(ctx, id)
	if err != nil {
		return Endpoint{}, "", err
	}
	next := current.SecretVersion + 1
	secret := stdwebhooks.NewSecret()
	sealed, err := s.cfg.Secrets.Seal(ctx, []byte(secret), secretAAD(id, next))
	if err != nil {
		return Endpoint{}, "", fmt.Errorf("seal endpoint secret: %w", err)
	}
	now := s.now()
	until := now.Add(s.cfg.RotationGrace)
	var ep Endpoint
	entry := s.entry(ctx, "webhook.secret_rotate", targetEndpoint, id, map[string]any{
		"version": next, "grace_seconds": int64(s.cfg.RotationGrace / time.Second)})
	_, err = s.cfg.Audit.Do(ctx, entry, func(ctx context.Context, tx *sql.Tx) error {
		// The version read above must still be current: two rotations at
		// once would otherwise both keep "the previous" secret, and one of
		// the two new secrets would never sign.
		res, err := tx.ExecContext(ctx, `UPDATE outbox_endpoints SET previous_sealed = secret_sealed, previous_until = $3,
			secret_sealed = $4, secret_version = $5, updated_at = $6 WHERE id = $1 AND secret_version = $2`,
			id, current.SecretVersion, micros(until), sealed, next, micros(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return errs.New(errs.CodeConflict, "the secret of endpoint %s was changed meanwhile; rotate again", id)
		}
		ep, err = getEndpoint(ctx, tx, id)
		return err
	})
	if err != nil {
		return Endpoint{}, "", db.Classify(fmt.Errorf("rotate secret: %w", err))
	}
	return ep, secret, nil
}

// DeleteEndpoint deletes an endpoint with its messages, dead letters
// included.
func (s *Service) DeleteEndpoint(ctx context.Context, id string) error {
	_, err := s.cfg.Audit.Do(ctx, s.entry(ctx, "webhook.endpoint_delete", targetEndpoint, id, nil), func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM outbox_endpoints WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errs.NotFound("endpoint", id)
		}
		return nil
	})
	if err != nil {
		return db.Classify(fmt.Errorf("delete endpoint: %w", err))
	}
	s.forgetSecrets(id)
	return nil
}

// Endpoint returns the endpoint with id.
func (s *Service) Endpoint(ctx context.Context, id string) (Endpoint, error) {
	ep, err := getEndpoint(ctx, s.cfg.DB, id)
	if err != nil {
		return Endpoint{}, db.Classify(fmt.Errorf("get endpoint: %w", err))
	}
	return ep, nil
}

// Endpoints returns every endpoint, oldest first.
func (s *Service) Endpoints(ctx context.Context) ([]Endpoint, error) {
	out, err := db.QueryAll(ctx, s.cfg.DB, `SELECT `+endpointColumns+` FROM outbox_endpoints ORDER BY created_at, id`, nil, scanEndpoint)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("list endpoints: %w", err))
	}
	return out, nil
}

const endpointColumns = `id, url, description, event_types, enabled, disabled_reason, disabled_at, secret_version,
	previous_until, created_at, updated_at`

// lockEndpoint reads an endpoint to change it: on PostgreSQL it locks the
// row until tx ends, so that a change read from a stale row (staff editing
// the description) cannot undo another made meanwhile (a 410 disabling
// the endpoint). SQLite's write transactions are serial already.
func (s *Service) lockEndpoint(ctx context.Context, tx *sql.Tx, id string) (Endpoint, error) {
	if s.cfg.DB.Dialect != db.Postgres {
		return getEndpoint(ctx, tx, id)
	}
	ep, err := scanEndpoint(tx.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM outbox_endpoints WHERE id = $1 FOR UPDATE`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Endpoint{}, errs.NotFound("endpoint", id)
	}
	return ep, err
}

func getEndpoint(ctx context.Context, q db.Querier, id string) (Endpoint, error) {
	ep, err := scanEndpoint(q.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM outbox_endpoints WHERE id = $1`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Endpoint{}, errs.NotFound("endpoint", id)
	}
	return ep, err
}

func scanEndpoint(scan func(...any) error) (Endpoint, error) {
	var (
		ep                        Endpoint
		types                     string
		disabledAt, previousUntil sql.NullInt64
		createdAt, updatedAt      int64
	)
	if err := scan(&ep.ID, &ep.URL, &ep.Description, &types, &ep.Enabled, &ep.DisabledReason, &disabledAt,
		&ep.SecretVersion, &previousUntil, &createdAt, &updatedAt); err != nil {
		return Endpoint{}, err
	}
	if err := json.Unmarshal([]byte(types), &ep.EventTypes); err != nil {
		return Endpoint{}, fmt.Errorf("endpoint %s: event types: %w", ep.ID, err)
	}
	ep.DisabledAt = fromMicros(disabledAt)
	ep.PreviousSecretUntil = fromMicros(previousUntil)
	ep.CreatedAt, ep.UpdatedAt = time.UnixMicro(createdAt).UTC(), time.UnixMicro(updatedAt).UTC()
	return ep, nil
}

// entry returns the audit entry of an act of ctx's actor.
func (s *Service) entry(ctx context.Context, action, kind, id string, details map[string]any) audit.Entry {
	d, err := audit.NewDetails(details)
	if err != nil {
		// Details are built here from ids and settings; one that is
		// refused is a bug, and the act is still recorded.
		d = audit.MustDetails(map[string]any{"details_refused": true})
	}
	return audit.Entry{Actor: audit.ActorFrom(ctx), Action: action, Target: audit.Target{Kind: kind, ID: id}, Details: d}
}
