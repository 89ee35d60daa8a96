package outbox

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/jobs"
)

// State is where a message stands.
type State string

// The states of a message.
const (
	// Pending: not delivered yet; attempts go on.
	Pending State = "pending"
	// Delivered: a 2xx answer came.
	Delivered State = "delivered"
	// Dead: given up (see DeadReason); Replay sends it again.
	Dead State = "dead"
)

func (s State) valid() bool { return s == Pending || s == Delivered || s == Dead }

// Message is one event for one endpoint, as staff see it.
type Message struct {
	// ID is the webhook-id.
	ID         string
	EndpointID string
	EventID    string
	EventType  string
	// Payload is the body sent: ids and types only.
	Payload   json.RawMessage
	State     State
	CreatedAt time.Time
	// JobID is the delivery job's id (jobs.Runner.Get), of the last replay
	// if any.
	JobID          int64
	Attempts       int
	FirstAttemptAt time.Time
	LastAttemptAt  time.Time
	// LastStatus is the HTTP status of the last attempt; 0 when it got no
	// answer (see LastError).
	LastStatus    int
	LastError     string
	NextAttemptAt time.Time
	DeliveredAt   time.Time
	DeadAt        time.Time
	// DeadReason is DeadExpired, DeadGone, DeadEndpointDisabled or DeadJobEnded.
	DeadReason string
	// Replays counts the times staff sent it again.
	Replays int
}

// Attempt is one attempt to deliver a message.
type Attempt struct {
	N        int
	At       time.Time
	Duration time.Duration
	// Status is the HTTP status; 0 when no answer came.
	Status int
	// ErrorClass says why no answer came: timeout, connection, dns, tls,
	// address_refused (the host resolved to an internal address).
	ErrorClass string
	// Outcome is delivered, retry, gone or dead.
	Outcome string
	// Snippet is the start of a refusal's body, masked.
	Snippet string
}

// Filter selects messages. Empty fields select everything.
type Filter struct {
	EndpointID string
	EventType  string
	States     []State
	// Since and Until bound the creation time: Since <= created < Until.
	Since, Until time.Time
	// Limit is the page size: 0 means 50, at most 500.
	Limit int
	// After is the Next of the previous page.
	After string
}

// Page is one page of messages, newest first.
type Page struct {
	Messages []Message
	// Next fetches the following page (Filter.After); empty on the last.
	Next string
}

// Messages returns the messages of an endpoint that f selects, newest
// first.
func (s *Service) Messages(ctx context.Context, endpointID string, f Filter) (Page, error) {
	if _, err := s.Endpoint(ctx, endpointID); err != nil {
		return Page{}, err
	}
	f.EndpointID = endpointID
	return s.list(ctx, f)
}

// DeadLetters returns the dead letters that f selects (its States are
// ignored), newest first.
func (s *Service) DeadLetters(ctx context.Context, f Filter) (Page, error) {
	f.States = []State{Dead}
	return s.list(ctx, f)
}

const messageColumns = `id, endpoint_id, event_id, event_type, body, state, created_at, job_id, attempts, first_attempt_at,
	last_attempt_at, last_status, last_error, next_attempt_at, delivered_at, dead_at, dead_reason, replays`

func (s *Service) list(ctx context.Context, f Filter) (Page, error) {
	limit := f.Limit
	switch {
	case limit == 0:
		limit = 50
	case limit < 0 || limit > 500:
		return Page{}, errs.Invalid("limit", "must be between 1 and 500")
	}
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.EndpointID != "" {
		where = append(where, "endpoint_id = "+arg(f.EndpointID))
	}
	if f.EventType != "" {
		where = append(where, "event_type = "+arg(f.EventType))
	}
	if len(f.States) > 0 {
		var in []string
		for _, st := range f.States {
			if !st.valid() {
				return Page{}, errs.Invalid("state", "unknown state %q", st)
			}
			in = append(in, arg(string(st)))
		}
		where = append(where, "state IN ("+strings.Join(in, ", ")+")")
	}
	if !f.Since.IsZero() {
		where = append(where, "created_at >= "+arg(micros(f.Since)))
	}
	if !f.Until.IsZero() {
		where = append(where, "created_at < "+arg(micros(f.Until)))
	}
	if f.After != "" {
		at, id, ok := decodeCursor(f.After)
		if !ok {
			return Page{}, errs.Invalid("after", "not a page cursor")
		}
		a, b := arg(at), arg(id)
		where = append(where, fmt.Sprintf("(created_at < %s OR (created_at = %s AND id < %s))", a, a, b))
	}
	query := `SELECT ` + messageColumns + ` FROM outbox_messages`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY created_at DESC, id DESC LIMIT " + arg(limit)
	rows, err := s.cfg.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return Page{}, db.Classify(fmt.Errorf("list messages: %w", err))
	}
	defer rows.Close()
	var page Page
	for rows.Next() {
		m, err := scanMessage(rows.Scan)
		if err != nil {
			return Page{}, fmt.Errorf("list messages: %w", err)
		}
		page.Messages = append(page.Messages, m)
	}
	if err := rows.Err(); err != nil {
		return Page{}, db.Classify(fmt.Errorf("list messages: %w", err))
	}
	if len(page.Messages) == limit {
		last := page.Messages[limit-1]
		page.Next = encodeCursor(micros(last.CreatedAt), last.ID)
	}
	return page, nil
}

func encodeCursor(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + "|" + id))
}

func decodeCursor(c string) (int64, string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", false
	}
	atText, id, ok := strings.Cut(string(raw), "|")
	at, err := strconv.ParseInt(atText, 10, 64)
	return at, id, ok && err == nil && id != ""
}

func scanMessage(scan func(...any) error) (Message, error) {
	var (
		m                                            Message
		body, state                                  string
		createdAt                                    int64
		jobID, lastStatus                            sql.NullInt64
		firstAt, lastAt, nextAt, deliveredAt, deadAt sql.NullInt64
	)
	if err := scan(&m.ID, &m.EndpointID, &m.EventID, &m.EventType, &body, &state, &createdAt, &jobID, &m.Attempts,
		&firstAt, &lastAt, &lastStatus, &m.LastError, &nextAt, &deliveredAt, &deadAt, &m.DeadReason, &m.Replays); err != nil {
		return Message{}, err
	}
	m.Payload, m.State = json.RawMessage(body), State(state)
	m.CreatedAt = time.UnixMicro(createdAt).UTC()
	m.JobID, m.LastStatus = jobID.Int64, int(lastStatus.Int64)
	m.FirstAttemptAt, m.LastAttemptAt, m.NextAttemptAt = fromMicros(firstAt), fromMicros(lastAt), fromMicros(nextAt)
	m.DeliveredAt, m.DeadAt = fromMicros(deliveredAt), fromMicros(deadAt)
	return m, nil
}

func getMessage(ctx context.Context, q db.Querier, id string) (Message, error) {
	m, err := scanMessage(q.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM outbox_messages WHERE id = $1`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, errs.NotFound("message", id)
	}
	return m, err
}

// Message returns a message with its attempts, oldest first.
func (s *Service) Message(ctx context.Context, id string) (Message, []Attempt, error) {
	m, err := getMessage(ctx, s.cfg.DB, id)
	if err != nil {
		return Message{}, nil, db.Classify(fmt.Errorf("get message: %w", err))
	}
	rows, err := s.cfg.DB.QueryContext(ctx, `SELECT attempt, at, duration_us, status, error_class, outcome, snippet
		FROM outbox_attempts WHERE message_id = $1 ORDER BY attempt`, id)
	if err != nil {
		return Message{}, nil, db.Classify(fmt.Errorf("get attempts: %w", err))
	}
	defer rows.Close()
	var attempts []Attempt
	for rows.Next() {
		var (
			a          Attempt
			at, micros int64
			status     sql.NullInt64
		)
		if err := rows.Scan(&a.N, &at, &micros, &status, &a.ErrorClass, &a.Outcome, &a.Snippet); err != nil {
			return Message{}, nil, fmt.Errorf("get attempts: %w", err)
		}
		a.At, a.Duration, a.Status = time.UnixMicro(at).UTC(), time.Duration(micros)*time.Microsecond, int(status.Int64)
		attempts = append(attempts, a)
	}
	if err := rows.Err(); err != nil {
		return Message{}, nil, db.Classify(fmt.Errorf("get attempts: %w", err))
	}
	return m, attempts, nil
}

// Replay sends a dead letter again, with the same webhook-id (a receiver
// that did get it before recognises it) and a new horizon of attempts. Its
// endpoint must be enabled (errs.CodeConflict otherwise), and so must the
// message be dead.
func (s *Service) Replay(ctx context.Context, id string) (Message, error) {
	enqueuer, err := s.enqueuer()
	if err != nil {
		return Message{}, err
	}
	var m Message
	_, err = s.cfg.Audit.Do(ctx, s.entry(ctx, "webhook.replay", targetMessage, id, nil), func(ctx context.Context, tx *sql.Tx) error {
		var err error
		m, err = s.replayTx(ctx, tx, enqueuer, id)
		return err
	})
	if err != nil {
		return Message{}, db.Classify(fmt.Errorf("replay %s: %w", id, err))
	}
	return m, nil
}

// MaxReplayBatch bounds the dead letters ReplayDead sends at once.
const MaxReplayBatch = 1000

// ReplayDead replays the dead letters of an enabled endpoint, oldest
// first, at most MaxReplayBatch per call; it returns how many it replayed.
// For the backlog of an outage, once the endpoint works again.
func (s *Service) ReplayDead(ctx context.Context, endpointID string) (int, error) {
	enqueuer, err := s.enqueuer()
	if err != nil {
		return 0, err
	}
	n := 0
	entry := s.entry(ctx, "webhook.replay_dead", targetEndpoint, endpointID, nil)
	_, err = s.cfg.Audit.Do(ctx, entry, func(ctx context.Context, tx *sql.Tx) error {
		ep, err := getEndpoint(ctx, tx, endpointID)
		if err != nil {
			return err
		}
		if !ep.Enabled {
			return errs.New(errs.CodeConflict, "endpoint %s is disabled: enable it before replaying its messages", endpointID)
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM outbox_messages WHERE endpoint_id = $1 AND state = 'dead'
			ORDER BY created_at, id LIMIT $2`, endpointID, MaxReplayBatch)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := s.replayTx(ctx, tx, enqueuer, id); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	if err != nil {
		return 0, db.Classify(fmt.Errorf("replay dead letters of %s: %w", endpointID, err))
	}
	return n, nil
}

func (s *Service) replayTx(ctx context.Context, tx *sql.Tx, enqueuer Enqueuer, id string) (Message, error) {
	m, err := getMessage(ctx, tx, id)
	if err != nil {
		return Message{}, err
	}
	if m.State != Dead {
		return Message{}, errs.New(errs.CodeConflict, "message %s is %s, not a dead letter", id, m.State)
	}
	ep, err := getEndpoint(ctx, tx, m.EndpointID)
	if err != nil {
		return Message{}, err
	}
	if !ep.Enabled {
		return Message{}, errs.New(errs.CodeConflict, "endpoint %s is disabled: enable it before replaying its messages", ep.ID)
	}
	job, err := enqueuer.InsertTx(ctx, tx, DeliverArgs{MessageID: id}, &jobs.InsertOpts{Queue: s.cfg.Queue})
	if err != nil {
		return Message{}, err
	}
	// first_attempt_at starts afresh: the horizon runs from the replay.
	if _, err := tx.ExecContext(ctx, `UPDATE outbox_messages SET state = 'pending', job_id = $2, first_attempt_at = NULL,
		next_attempt_at = NULL, dead_at = NULL, dead_reason = '', replays = replays + 1 WHERE id = $1 AND state = 'dead'`,
		id, job.ID); err != nil {
		return Message{}, err
	}
	return getMessage(ctx, tx, id)
}

// Purge deletes delivered and dead messages created before before, with
// their attempts, and returns how many; pending ones stay. For the hourly
// maintenance, with a retention such as 30 days.
func (s *Service) Purge(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		// In batches, so that no transaction holds SQLite's write lock
		// for long.
		var n int64
		err := s.cfg.DB.Tx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM outbox_messages WHERE id IN (SELECT id FROM outbox_messages
				WHERE state <> 'pending' AND created_at < $1 LIMIT 1000)`, micros(before))
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, db.Classify(fmt.Errorf("purge messages: %w", err))
		}
		total += n
		if n < 1000 {
			return total, nil
		}
	}
}

// SweepOrphans dead-letters the pending messages, made before the given
// time, whose delivery job has ended (discarded, cancelled or completed) or
// is gone: River gives a job up after its retries for Steward's own faults
// run out, and such a message would otherwise wait forever, unseen. As a
// dead letter it shows in the console and can be replayed. It returns how
// many it dead-lettered; the hourly maintenance calls it.
func (s *Service) SweepOrphans(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.cfg.DB.ExecContext(ctx, `UPDATE outbox_messages SET state = 'dead', dead_at = $1, dead_reason = $2, next_attempt_at = NULL
		WHERE state = 'pending' AND created_at < $3 AND NOT EXISTS (SELECT 1 FROM river_job j
			WHERE j.id = outbox_messages.job_id AND j.state NOT IN ('discarded', 'cancelled', 'completed'))`,
		micros(s.now()), DeadJobEnded, micros(before))
	if err != nil {
		return 0, db.Classify(fmt.Errorf("sweep orphaned messages: %w", err))
	}
	n, err := res.RowsAffected()
	if n > 0 {
		s.cfg.Logger.Warn("webhook messages whose delivery job ended are dead letters now", "messages", n)
	}
	return n, err
}
