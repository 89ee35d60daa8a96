package httpsystem

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/netguard"
)

// callPayload is the body of a call, signed as sent.
type callPayload struct {
	Type        string    `json:"type"` // steward.access, steward.erasure or steward.correction
	CallID      string    `json:"call_id"`
	RequestID   string    `json:"request_id"`
	Subject     subject   `json:"subject"`
	CallbackURL string    `json:"callback_url"`
	Deadline    time.Time `json:"deadline"`
	// Changes are a correction's new values; absent from other calls.
	Changes []Change `json:"changes,omitempty"`
}

// Change is a new value for one correctable field of a system.
type Change struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

type subject struct {
	ExternalIDs []string `json:"external_ids"`
	Emails      []string `json:"emails"`
}

// cleanIdentifiers trims the subject's identifiers and drops empty and
// repeated ones; the lists are never null in the payload.
func cleanIdentifiers(ids connector.Identifiers) subject {
	clean := func(in []string) []string {
		out := []string{}
		for _, v := range in {
			if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		return out
	}
	return subject{ExternalIDs: clean(ids.ExternalIDs), Emails: clean(ids.Emails)}
}

// Start asks a system to do op for a request and returns the call, which
// is also how a job polls it: Start is idempotent per (connector, request,
// operation), so that a retried job never asks twice, and a job calls it
// on every attempt.
//
//   - With no call yet, it records a new pending call and delivers it.
//   - A pending call that the system has not accepted yet (a network
//     failure, a 5xx) is delivered again, with the same webhook-id, which
//     the system may use to ignore a repeat. Otherwise a pending call is
//     returned as it is: snooze and ask again.
//   - A done call is returned: its Report or Data holds the answer.
//   - A call that failed or timed out is returned once, so that the caller
//     can report it (the request waits on the system) and back off; the
//     next Start makes a new call.
//
// Delivery POSTs the signed JSON payload (see the package comment) to the
// dataset's URL and counts any 2xx as accepted (202 is expected). A 5xx,
// 408, 425 or 429, a timeout or a network failure is an errs.CodeUnavailable
// error, and the call stays pending, to deliver again. A redirect or
// another 4xx fails the call: errs.CodeConflict for 409, errs.CodeInvalid
// for the rest, since calling again as it is would not help.
func (s *Service) Start(ctx context.Context, ds *Dataset, op Operation, requestID string, subject connector.Identifiers) (Call, error) {
	if op == Correction {
		return Call{}, errs.New(errs.CodeInvalid, "a correction call carries its new values: use Correct")
	}
	return s.start(ctx, ds, op, requestID, subject, nil)
}

// Correct asks a system to set new values for a request (a
// rectification), as Start does for access and erasure, and with the same
// idempotence: one live call per (connector, request), delivered again
// until the system accepts it, polled until it calls back. Every change
// must name a field the dataset lists as correctable, once, with a value
// of at most MaxValueBytes (errs.CodeInvalid names the change at fault).
//
// The values travel in the signed call only: they are not stored with
// the call, so each delivery sends those given to that Correct (the job
// reads them from the request each time). The system calls back with a
// report of what it did per field: corrected, or not_held when it holds
// no such value for the subject.
func (s *Service) Correct(ctx context.Context, ds *Dataset, requestID string, subject connector.Identifiers, changes []Change) (Call, error) {
	if ds == nil {
		return Call{}, errs.New(errs.CodeInvalid, "Correct needs a dataset")
	}
	if known, ok := s.datasets[ds.Name]; ok {
		ds = known
	}
	problems := map[string]string{}
	if len(changes) == 0 {
		problems["changes"] = "a correction needs at least one new value"
	}
	seen := map[string]bool{}
	for i, c := range changes {
		field := fmt.Sprintf("changes[%d]", i)
		if _, ok := ds.CorrectableField(c.Field); !ok {
			problems[field+".field"] = fmt.Sprintf("%q is not a correctable field of connector %s", c.Field, ds.Name)
		} else if seen[c.Field] {
			problems[field+".field"] = fmt.Sprintf("field %s is changed twice", c.Field)
		}
		seen[c.Field] = true
		if len(c.Value) > MaxValueBytes {
			problems[field+".value"] = fmt.Sprintf("at most %d bytes", MaxValueBytes)
		}
	}
	if len(problems) > 0 {
		return Call{}, errs.Fields(problems)
	}
	sorted := slices.Clone(changes)
	slices.SortFunc(sorted, func(a, b Change) int { return strings.Compare(a.Field, b.Field) })
	return s.start(ctx, ds, Correction, requestID, subject, sorted)
}

// MaxValueBytes bounds one new value of a correction.
const MaxValueBytes = 4000

func (s *Service) start(ctx context.Context, ds *Dataset, op Operation, requestID string, subject connector.Identifiers, changes []Change) (Call, error) {
	if ds == nil {
		return Call{}, errs.New(errs.CodeInvalid, "Start needs a dataset")
	}
	known, ok := s.datasets[ds.Name]
	if !ok {
		return Call{}, errs.New(errs.CodeInvalid, "connector %s is not one of the service's HTTP connectors", ds.Name)
	}
	ds = known // the dataset the callbacks will be checked against
	if !ds.Supports(op) {
		return Call{}, errs.Invalid("operation", "connector %s does not support %s", ds.Name, op)
	}
	if strings.TrimSpace(requestID) == "" {
		return Call{}, errs.Invalid("request", "a call needs the request's id")
	}
	ids := cleanIdentifiers(subject)
	if len(ids.ExternalIDs) == 0 && len(ids.Emails) == 0 {
		return Call{}, errs.Invalid("subject", "the subject has no external id or email to give connector %s", ds.Name)
	}
	secret, err := ds.Secret(s.Getenv)
	if err != nil {
		return Call{}, err
	}
	call, deliver, err := s.claim(ctx, ds, op, requestID)
	if err != nil || !deliver {
		return call, err
	}
	return s.deliver(ctx, ds, secret, call, ids, changes)
}

// now is the service's clock at the precision the store keeps.
func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// claim finds or makes the call for (connector, request, operation), and
// says whether it is to be delivered.
func (s *Service) claim(ctx context.Context, ds *Dataset, op Operation, requestID string) (Call, bool, error) {
	for attempt := 0; ; attempt++ {
		var (
			call    Call
			deliver bool
		)
		err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			var seen sql.NullInt64
			latest, err := s.scanCall(tx.QueryRowContext(ctx, `SELECT `+callColumns+`, seen_at FROM webhook_calls
				WHERE connector = $1 AND request_id = $2 AND operation = $3 ORDER BY created_at DESC, id DESC LIMIT 1`,
				ds.Name, requestID, string(op)), &seen)
			now := s.now()
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return err
			case latest.State == Done:
				call = latest
				return nil
			case latest.State == Pending:
				call, deliver = latest, latest.AcceptedAt.IsZero()
				return nil
			case latest.State == TimedOut && latest.CompletedAt.IsZero():
				// Read as timed out, stored as pending: record it, and
				// report it this once.
				if _, err := tx.ExecContext(ctx, `UPDATE webhook_calls SET state = $2, failure = $3, completed_at = $4, seen_at = $4
					WHERE id = $1 AND state = $5`, latest.ID, string(TimedOut), failureTimedOut, now.UnixMicro(), string(Pending)); err != nil {
					return fmt.Errorf("time out call: %w", err)
				}
				latest.Failure, latest.CompletedAt = failureTimedOut, now
				call = latest
				return nil
			case !seen.Valid:
				// Failed (or timed out) and not reported yet.
				if _, err := tx.ExecContext(ctx, `UPDATE webhook_calls SET seen_at = $2 WHERE id = $1`, latest.ID, now.UnixMicro()); err != nil {
					return fmt.Errorf("report failed call: %w", err)
				}
				call = latest
				return nil
			}
			call = Call{ID: newCallID(), Connector: ds.Name, Operation: op, RequestID: requestID, State: Pending,
				CreatedAt: now, Deadline: now.Add(ds.Timeout)}
			if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_calls (id, connector, operation, request_id, state, created_at, deadline)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, call.ID, call.Connector, string(op), requestID, string(Pending),
				now.UnixMicro(), call.Deadline.UnixMicro()); err != nil {
				return fmt.Errorf("record call: %w", err)
			}
			deliver = true
			return nil
		})
		// Two Starts at once: the one that lost the race for the unique
		// index reads the winner's call.
		if err != nil && attempt == 0 && db.IsUniqueViolation(err) {
			continue
		}
		if err != nil {
			return Call{}, false, db.Classify(fmt.Errorf("connector %s: %w", ds.Name, err))
		}
		return call, deliver, nil
	}
}

const failureTimedOut = "no callback came by the deadline"

// deliver POSTs the call to the system and records its answer.
func (s *Service) deliver(ctx context.Context, ds *Dataset, secret string, call Call, ids subject, changes []Change) (Call, error) {
	now := s.now()
	body, err := json.Marshal(callPayload{Type: call.Operation.eventType(), CallID: call.ID, RequestID: call.RequestID, Subject: ids,
		CallbackURL: s.callURL(ds.Name, call.ID), Deadline: now.Add(ds.Timeout), Changes: changes})
	if err != nil {
		return Call{}, fmt.Errorf("connector %s: encode call: %w", ds.Name, err)
	}
	header, err := Headers(secret, call.ID, now, body)
	if err != nil {
		return Call{}, fmt.Errorf("connector %s: sign call: %w", ds.Name, err)
	}
	reqCtx, cancel := context.WithTimeout(ctx, s.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, ds.URL, bytes.NewReader(body))
	if err != nil {
		return Call{}, fmt.Errorf("connector %s: %w", ds.Name, err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Steward")
	resp, err := s.client.Do(req)
	var refused *netguard.RefusedError
	if errors.As(err, &refused) {
		// The host resolved into Steward's own network: delivering again
		// would not help; the operator must allow-list it, or fix the URL.
		return Call{}, errs.Wrap(errs.CodeInvalid, refused, fmt.Sprintf("connector %s: %v: Steward calls no system in its own network unless an operator allow-lists the host (--webhook-allow-hosts)", ds.Name, refused))
	}
	if err != nil {
		// The error names the URL, never the body.
		return Call{}, errs.Wrap(errs.CodeUnavailable, err, fmt.Sprintf("connector %s: the system cannot be reached; the call will be delivered again", ds.Name))
	}
	// Drained (a little) so that the connection can be reused; what the
	// system says beyond its status is not needed.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		accepted := s.now()
		// A system that calls back before it answers has made the call
		// done already; the acceptance is recorded all the same.
		if _, err := s.DB.ExecContext(ctx, `UPDATE webhook_calls SET accepted_at = $2, deadline = $3 WHERE id = $1 AND accepted_at IS NULL`,
			call.ID, accepted.UnixMicro(), accepted.Add(ds.Timeout).UnixMicro()); err != nil {
			return Call{}, db.Classify(fmt.Errorf("connector %s: record acceptance: %w", ds.Name, err))
		}
		return s.Call(ctx, call.ID)
	case code >= 500, code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests:
		return Call{}, errs.New(errs.CodeUnavailable, "connector %s: the system answered %s; the call will be delivered again", ds.Name, resp.Status)
	}
	failure := fmt.Sprintf("the system refused the call: %s", statusText(code))
	if code >= 300 && code < 400 {
		failure = fmt.Sprintf("the system redirected the call (%s): set url to the address that answers", statusText(code))
	}
	completed := s.now().UnixMicro()
	if _, err := s.DB.ExecContext(ctx, `UPDATE webhook_calls SET state = $2, failure = $3, completed_at = $4, seen_at = $4 WHERE id = $1 AND state = $5`,
		call.ID, string(Failed), failure, completed, string(Pending)); err != nil {
		return Call{}, db.Classify(fmt.Errorf("connector %s: record failure: %w", ds.Name, err))
	}
	errCode := errs.CodeInvalid
	if code == http.StatusConflict {
		errCode = errs.CodeConflict
	}
	return Call{}, errs.New(errCode, "connector %s: %s", ds.Name, failure)
}

func statusText(code int) string {
	if text := http.StatusText(code); text != "" {
		return fmt.Sprintf("HTTP %d %s", code, text)
	}
	return fmt.Sprintf("HTTP %d", code)
}
