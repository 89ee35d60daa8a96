package outbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/netguard"
)

// The Standard Webhooks headers, spelled as the specification spells them.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Why a message is a dead letter.
const (
	// DeadExpired: attempts failed until Backoff.Horizon after the first.
	DeadExpired = "expired"
	// DeadGone: the receiver answered this message with 410 Gone.
	DeadGone = "gone"
	// DeadEndpointDisabled: the endpoint was disabled (by a 410 to another
	// of its messages, or by staff) while the message was pending.
	DeadEndpointDisabled = "endpoint_disabled"
	// DeadJobEnded: the message's delivery job ended, or was deleted,
	// without settling it: its retries for faults of Steward's own (the
	// store down) ran out, or it was cancelled. SweepOrphans finds these.
	DeadJobEnded = "job_ended"
)

// Outcomes of an attempt, as recorded.
const (
	outcomeDelivered = "delivered"
	outcomeRetry     = "retry"
	outcomeDead      = "dead"
	outcomeGone      = "gone"
)

const (
	// snippetRead and maxSnippet: how much of a refusal's body is read,
	// and how much of it (masked) is kept. Enough to tell "maintenance"
	// from "invalid signature", too little for a record of anyone.
	snippetRead = 512
	maxSnippet  = 100
	// drainBytes is how much more of a body is read so that the
	// connection can be used again.
	drainBytes = 64 << 10
	// secretCacheTTL bounds how long an opened secret stays in memory.
	secretCacheTTL = 10 * time.Minute
	userAgent      = "Steward-Webhooks/1.0"
)

type deliverWorker struct {
	jobs.WorkerDefaults[DeliverArgs]
	s *Service
}

func (w *deliverWorker) Work(ctx context.Context, job *jobs.Job[DeliverArgs]) error {
	return w.s.deliver(ctx, job.Args.MessageID)
}

// Timeout leaves the attempt its RequestTimeout and the recording of its
// outcome time of its own.
func (w *deliverWorker) Timeout(*jobs.Job[DeliverArgs]) time.Duration {
	return w.s.cfg.RequestTimeout + time.Minute
}

// delivery is a message with what sending it needs.
type delivery struct {
	id, endpointID, body, state string
	attempts                    int
	firstAttemptAt              sql.NullInt64
	url                         string
	enabled                     bool
	version                     int
	sealed, previous            []byte
	previousUntil               sql.NullInt64
}

// attempt is what one POST came to.
type attempt struct {
	n        int
	at       time.Time
	duration time.Duration
	status   int
	class    string // error class, "" for an HTTP answer
	problem  string // short description for last_error
	snippet  string
	header   http.Header
}

// deliver makes one attempt to deliver message id and records it. Its
// error is what the job returns: nil when the message is settled (or gone
// with its endpoint), a snooze until the next attempt, or an error of
// Steward's own (the store down) for River to retry.
func (s *Service) deliver(ctx context.Context, id string) error {
	d, err := s.loadDelivery(ctx, id)
	if errs.Is(err, errs.CodeNotFound) {
		return nil // deleted with its endpoint, or purged
	}
	if err != nil {
		return err
	}
	if d.state != string(Pending) {
		return nil // delivered, or dead-lettered meanwhile
	}
	if !d.enabled {
		return s.settle(ctx, d, DeadEndpointDisabled)
	}
	now := s.now()
	signature, err := s.signatures(ctx, d, now)
	if err != nil {
		return err
	}
	a := s.post(ctx, d, now, signature)
	if ctx.Err() != nil {
		// Stop cancelled the job: not the receiver's failure, and River
		// runs the job again at the next start.
		return ctx.Err()
	}
	switch {
	case a.status >= 200 && a.status <= 299:
		return s.recordDelivered(ctx, d, a)
	case a.status == http.StatusGone:
		return s.recordGone(ctx, d, a)
	}
	return s.recordFailure(ctx, d, a)
}

func (s *Service) loadDelivery(ctx context.Context, id string) (*delivery, error) {
	d := &delivery{}
	err := s.cfg.DB.QueryRowContext(ctx, `SELECT m.id, m.endpoint_id, m.body, m.state, m.attempts, m.first_attempt_at,
		e.url, e.enabled, e.secret_version, e.secret_sealed, e.previous_sealed, e.previous_until
		FROM outbox_messages m JOIN outbox_endpoints e ON e.id = m.endpoint_id WHERE m.id = $1`, id).
		Scan(&d.id, &d.endpointID, &d.body, &d.state, &d.attempts, &d.firstAttemptAt,
			&d.url, &d.enabled, &d.version, &d.sealed, &d.previous, &d.previousUntil)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFound("message", id)
	}
	if err != nil {
		return nil, db.Classify(fmt.Errorf("load message %s: %w", id, err))
	}
	return d, nil
}

// signatures returns the webhook-signature value: the current secret's
// signature, and during a rotation's grace the previous secret's after it.
func (s *Service) signatures(ctx context.Context, d *delivery, now time.Time) (string, error) {
	current, err := s.openSecret(ctx, d.endpointID, d.version, d.sealed)
	if err != nil {
		return "", err
	}
	ts := time.Unix(now.Unix(), 0)
	sig, err := s.cfg.Sign(current, d.id, ts, []byte(d.body))
	if err != nil {
		return "", fmt.Errorf("sign message %s: %w", d.id, err)
	}
	if d.previous == nil || !d.previousUntil.Valid || !now.Before(fromMicros(d.previousUntil)) {
		return sig, nil
	}
	previous, err := s.openSecret(ctx, d.endpointID, d.version-1, d.previous)
	if err != nil {
		// The new secret signs: a receiver that switched is served, and
		// one that did not would be refused by a wrong signature anyway.
		s.cfg.Logger.Warn("outbox: previous endpoint secret does not open; signing with the current one only",
			"endpoint", d.endpointID, "err", err)
		return sig, nil
	}
	old, err := s.cfg.Sign(previous, d.id, ts, []byte(d.body))
	if err != nil {
		return "", fmt.Errorf("sign message %s: %w", d.id, err)
	}
	return sig + " " + old, nil
}

type cachedSecret struct {
	secret  string
	expires time.Time
}

// openSecret opens a sealed endpoint secret. Opened secrets are kept a
// while: the vault's Open reads the store and unwraps a key, which would
// otherwise cost every delivery a round trip. The key includes the
// version, so a rotation is seen at once, here and on other replicas.
func (s *Service) openSecret(ctx context.Context, endpointID string, version int, sealed []byte) (string, error) {
	key := endpointID + ":" + strconv.Itoa(version)
	now := s.cfg.Now()
	s.secretsMu.Lock()
	c, ok := s.secrets[key]
	s.secretsMu.Unlock()
	if ok && now.Before(c.expires) {
		return c.secret, nil
	}
	plain, err := s.cfg.Secrets.Open(ctx, sealed, secretAAD(endpointID, version))
	if err != nil {
		return "", fmt.Errorf("open secret of endpoint %s: %w", endpointID, err)
	}
	s.secretsMu.Lock()
	for k, old := range s.secrets {
		if !now.Before(old.expires) {
			delete(s.secrets, k)
		}
	}
	s.secrets[key] = cachedSecret{secret: string(plain), expires: now.Add(secretCacheTTL)}
	s.secretsMu.Unlock()
	return string(plain), nil
}

// forgetSecrets drops the cached secrets of an endpoint.
func (s *Service) forgetSecrets(endpointID string) {
	s.secretsMu.Lock()
	defer s.secretsMu.Unlock()
	for k := range s.secrets {
		if strings.HasPrefix(k, endpointID+":") {
			delete(s.secrets, k)
		}
	}
}

// post sends the message once.
func (s *Service) post(ctx context.Context, d *delivery, now time.Time, signature string) attempt {
	a := attempt{n: d.attempts + 1, at: now}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader([]byte(d.body)))
	if err != nil {
		a.class, a.problem = "request", "the endpoint URL is not usable"
		return a
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	// Set directly rather than through Set, which would send Webhook-Id:
	// header names are case-insensitive, but the specification's spelling
	// spares receivers that compare them as written.
	req.Header[HeaderID] = []string{d.id}
	req.Header[HeaderTimestamp] = []string{strconv.FormatInt(now.Unix(), 10)}
	req.Header[HeaderSignature] = []string{signature}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		a.duration = time.Since(start)
		a.class = errorClass(err)
		a.problem = a.class + ": " + truncate(causeOf(err), 200)
		return a
	}
	defer resp.Body.Close()
	a.status, a.header = resp.StatusCode, resp.Header
	if a.status < 200 || a.status > 299 {
		head, _ := io.ReadAll(io.LimitReader(resp.Body, snippetRead))
		a.snippet = snippetOf(head)
		a.problem = "HTTP " + strconv.Itoa(a.status)
		if a.snippet != "" {
			a.problem += ": " + a.snippet
		}
	}
	// Read on (a little) so that the connection can carry the next
	// message; the answer itself is of no interest.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainBytes))
	a.duration = time.Since(start)
	return a
}

// errorClass names the kind of a failed request for staff.
func errorClass(err error) string {
	var (
		refused  *netguard.RefusedError
		dnsErr   *net.DNSError
		netErr   net.Error
		certErr  *tls.CertificateVerificationError
		authErr  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
		recordEr tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &refused):
		return "address_refused"
	case errors.As(err, &dnsErr):
		return "dns"
	case errors.As(err, &certErr), errors.As(err, &authErr), errors.As(err, &hostErr), errors.As(err, &invalid),
		errors.As(err, &recordEr):
		return "tls"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	}
	return "connection"
}

// causeOf returns err's message without the URL that http.Client puts in
// front (its path or query may hold a receiver's token).
func causeOf(err error) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err.Error()
	}
	return err.Error()
}

var emailLike = regexp.MustCompile(`[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+`)

// snippetOf returns the start of a refusal's body, fit to keep: valid
// text on one line, email addresses masked, at most maxSnippet bytes.
func snippetOf(b []byte) string {
	text := strings.ToValidUTF8(string(b), "?")
	text = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, text)
	text = emailLike.ReplaceAllString(text, "[redacted]")
	return truncate(strings.Join(strings.Fields(text), " "), maxSnippet)
}

// truncate cuts s to at most n bytes on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func insertAttempt(ctx context.Context, tx *sql.Tx, d *delivery, a attempt, outcome string) error {
	status := sql.NullInt64{Int64: int64(a.status), Valid: a.status != 0}
	_, err := tx.ExecContext(ctx, `INSERT INTO outbox_attempts (message_id, attempt, at, duration_us, status, error_class, outcome, snippet)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, d.id, a.n, micros(a.at), a.duration.Microseconds(), status, a.class, outcome, a.snippet)
	return err
}

func (s *Service) recordDelivered(ctx context.Context, d *delivery, a attempt) error {
	done := s.now()
	err := s.rec.Do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := insertAttempt(ctx, tx, d, a, outcomeDelivered); err != nil {
			return err
		}
		// Whatever state the message is in: a message dead-lettered while
		// this attempt was under way (its endpoint answered 410 to another)
		// has reached its receiver all the same.
		_, err := tx.ExecContext(ctx, `UPDATE outbox_messages SET state = 'delivered', attempts = $2,
			first_attempt_at = COALESCE(first_attempt_at, $3), last_attempt_at = $3, last_status = $4, last_error = '',
			next_attempt_at = NULL, delivered_at = $5, dead_at = NULL, dead_reason = '' WHERE id = $1 AND state <> 'delivered'`,
			d.id, a.n, micros(a.at), a.status, micros(done))
		return err
	})
	if err != nil {
		return fmt.Errorf("record delivery of %s: %w", d.id, err)
	}
	return nil
}

// recordGone disables the endpoint and dead-letters the message and the
// endpoint's other pending messages, all in one transaction with the
// audit entry of the disabling.
func (s *Service) recordGone(ctx context.Context, d *delivery, a attempt) error {
	now := s.now()
	disabled := false
	err := s.rec.Do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		disabled = false // the write may run twice (see recorder.do)
		if err := insertAttempt(ctx, tx, d, a, outcomeGone); err != nil {
			return err
		}
		if err := markDead(ctx, tx, d.id, a, now, DeadGone); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE outbox_endpoints SET enabled = $2, disabled_reason = $3, disabled_at = $4, updated_at = $4
			WHERE id = $1 AND enabled`, d.endpointID, false, DisabledGone, micros(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if err := deadLetterPending(ctx, tx, d.endpointID, now); err != nil {
			return err
		}
		if n == 0 {
			return nil // disabled already, by another message's 410 or by staff
		}
		disabled = true
		entry := audit.Entry{Actor: audit.System(), Action: actionEndpointDisable,
			Target:  audit.Target{Kind: targetEndpoint, ID: d.endpointID},
			Details: audit.MustDetails(map[string]any{"reason": DisabledGone, "status": http.StatusGone, "message_id": d.id})}
		_, err = s.cfg.Audit.AppendTx(ctx, tx, entry)
		return err
	})
	if err != nil {
		return fmt.Errorf("record 410 of %s: %w", d.id, err)
	}
	if disabled {
		s.cfg.Logger.Warn("outbox: endpoint answered 410 Gone and is disabled", "endpoint", d.endpointID, "host", hostOf(d.url))
	}
	return jobs.Permanent(fmt.Errorf("dead letter: the endpoint answered 410 Gone and is disabled"))
}

// deadLetterPending dead-letters the pending messages of a disabled
// endpoint. Their jobs find them settled and end.
func deadLetterPending(ctx context.Context, tx *sql.Tx, endpointID string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE outbox_messages SET state = 'dead', dead_at = $2, dead_reason = $3, next_attempt_at = NULL
		WHERE endpoint_id = $1 AND state = 'pending'`, endpointID, micros(now), DeadEndpointDisabled)
	return err
}

func markDead(ctx context.Context, tx *sql.Tx, id string, a attempt, now time.Time, reason string) error {
	if a.n == 0 {
		// Settled without an attempt (the endpoint was disabled).
		_, err := tx.ExecContext(ctx, `UPDATE outbox_messages SET state = 'dead', dead_at = $2, dead_reason = $3, next_attempt_at = NULL
			WHERE id = $1 AND state = 'pending'`, id, micros(now), reason)
		return err
	}
	status := sql.NullInt64{Int64: int64(a.status), Valid: a.status != 0}
	_, err := tx.ExecContext(ctx, `UPDATE outbox_messages SET state = 'dead', attempts = $2, first_attempt_at = COALESCE(first_attempt_at, $3),
		last_attempt_at = $3, last_status = $4, last_error = $5, next_attempt_at = NULL, dead_at = $6, dead_reason = $7
		WHERE id = $1 AND state = 'pending'`, id, a.n, micros(a.at), status, a.problem, micros(now), reason)
	return err
}

// settle dead-letters a message without attempting it.
func (s *Service) settle(ctx context.Context, d *delivery, reason string) error {
	err := s.rec.Do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return markDead(ctx, tx, d.id, attempt{}, s.now(), reason)
	})
	if err != nil {
		return fmt.Errorf("dead-letter %s: %w", d.id, err)
	}
	return jobs.Permanent(fmt.Errorf("dead letter: %s", reason))
}

// recordFailure records a failed attempt and schedules the next, or
// dead-letters the message once the horizon has passed.
func (s *Service) recordFailure(ctx context.Context, d *delivery, a attempt) error {
	b := s.cfg.Backoff
	end := s.now()
	first := a.at
	if d.firstAttemptAt.Valid {
		first = fromMicros(d.firstAttemptAt)
	}
	deadline := first.Add(b.Horizon)
	wait := b.delay(a.n, nil)
	if a.status == http.StatusTooManyRequests || a.status == http.StatusServiceUnavailable {
		if asked, ok := retryAfter(a.header, end); ok {
			wait = min(max(asked, b.Base), b.MaxRetryAfter)
		}
	}
	if !end.Before(deadline) {
		err := s.rec.Do(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if err := insertAttempt(ctx, tx, d, a, outcomeDead); err != nil {
				return err
			}
			return markDead(ctx, tx, d.id, a, end, DeadExpired)
		})
		if err != nil {
			return fmt.Errorf("record failure of %s: %w", d.id, err)
		}
		return jobs.Permanent(fmt.Errorf("dead letter: %d attempts failed over %v; last: %s", a.n, b.Horizon, a.problem))
	}
	// The last attempt is made at the horizon, not a back-off step short
	// of it.
	next := end.Add(wait)
	if next.After(deadline) {
		next = deadline
	}
	status := sql.NullInt64{Int64: int64(a.status), Valid: a.status != 0}
	err := s.rec.Do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := insertAttempt(ctx, tx, d, a, outcomeRetry); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE outbox_messages SET attempts = $2, first_attempt_at = COALESCE(first_attempt_at, $3),
			last_attempt_at = $3, last_status = $4, last_error = $5, next_attempt_at = $6 WHERE id = $1 AND state = 'pending'`,
			d.id, a.n, micros(a.at), status, a.problem, micros(next))
		return err
	})
	if err != nil {
		return fmt.Errorf("record failure of %s: %w", d.id, err)
	}
	return jobs.Snooze(max(next.Sub(end), 0))
}

// actionEndpointDisable is the audit action of an endpoint disabled by a
// delivery's 410.
const actionEndpointDisable = "webhook.endpoint_disable"

// DeliveryEntry reports whether an audit entry is one that delivering
// messages writes (the system disabling an endpoint that answered 410):
// the audit log's Checkpointer does not publish a checkpoint (the
// audit.checkpoint event) for such entries alone, so that delivering that
// event cannot make another one (audit.CheckpointerConfig.Quiet).
func DeliveryEntry(e audit.Stored) bool {
	return e.Actor == audit.System() && e.Action == actionEndpointDisable
}
