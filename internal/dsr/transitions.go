package dsr

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// change is one kind of change to a request.
type change struct {
	action string  // the history's action; the audit action is "dsr." + action
	from   []State // the states it is allowed from; any other is refused
	// scope, when set, is the email hash the request must have: the
	// customer's own acts. Another person's request is not found.
	scope []byte
	// apply changes r (its state included) and fills e's note, ref and
	// deadline; facts are added to the audit entry's details and must hold
	// no personal data (no note: staff type those). An error refuses the
	// change.
	apply func(r *Request, e *Event, now time.Time, facts map[string]any) error
}

// apply makes change c to request id in one transaction: the request, its
// history event and the audit entry commit together or not at all. The
// actor is audit.ActorFrom(ctx).
func (s *Service) apply(ctx context.Context, id string, c change) (Request, error) {
	actor := audit.ActorFrom(ctx)
	var out Request
	// On PostgreSQL the row is locked as it is read, so that a concurrent
	// change waits and then applies to what this one wrote (or is refused
	// by its rules); SQLite transactions of package db write one at a time.
	lock := ""
	if s.db.Dialect == db.Postgres {
		lock = " FOR UPDATE"
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := getFor(ctx, tx, id, c.scope, lock)
		if err != nil {
			return err
		}
		if !slices.Contains(c.from, r.State) {
			return errs.New(errs.CodeConflict, "cannot %s request %s: it is %s (allowed from %s)",
				phrase(c.action), id, phrase(string(r.State)), joinStates(c.from))
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		version := r.Version
		e := Event{RequestID: id, Version: version + 1, At: now, Action: c.action, From: r.State, Actor: actor}
		facts := map[string]any{"kind": string(r.Kind), "regime": string(r.Regime)}
		if err := c.apply(&r, &e, now, facts); err != nil {
			return err
		}
		if !r.State.Open() && r.ClosedAt == nil {
			// A final answer: nothing is waited for any more, and the
			// customer's answers, needed for the work only, are forgotten.
			r.ClosedAt, r.WaitingOn, r.Question, r.resume, r.PausedAt = &now, "", "", "", nil
			if _, err := tx.ExecContext(ctx, `UPDATE dsr_events SET answer_sealed = NULL WHERE request_id = $1 AND answer_sealed IS NOT NULL`, id); err != nil {
				return db.Classify(fmt.Errorf("forget answers: %w", err))
			}
		}
		e.To, r.Version, r.UpdatedAt = r.State, version+1, now
		facts["from"], facts["to"] = string(e.From), string(e.To)
		// The version guards against a change made since the read by a
		// writer that did not lock the row: it fails rather than overwrite.
		res, err := tx.ExecContext(ctx, `UPDATE dsr_requests SET state = $3, resume_state = $4, subject_id = $5,
			acknowledged_at = $6, extended_until = $7, extension_reason = $8, question = $9, rejection_reason = $10,
			result_ref = $11, waiting_on = $12, closed_at = $13, updated_at = $14, version = $15, paused_at = $16, due_at = $17, proposal_approved_at = $18
			WHERE id = $1 AND version = $2`,
			id, version, string(r.State), string(r.resume), r.SubjectID, db.OptMicros(r.AcknowledgedAt), db.OptMicros(r.ExtendedUntil),
			r.ExtensionReason, r.Question, r.RejectionReason, r.ResultRef, r.WaitingOn, db.OptMicros(r.ClosedAt), db.OptMicros(&now), r.Version,
			db.OptMicros(r.PausedAt), db.OptMicros(&r.DueAt), db.OptMicros(r.ProposalApprovedAt))
		if err != nil {
			return db.Classify(fmt.Errorf("%s request: %w", phrase(c.action), err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.New(errs.CodeConflict, "request %s was changed meanwhile; reload it and try again", id)
		}
		if err := insertEvent(ctx, tx, e); err != nil {
			return err
		}
		if err := s.changed(ctx, tx, r, e); err != nil {
			return err
		}
		details, err := audit.NewDetails(facts)
		if err != nil {
			return err
		}
		if _, err := s.audit.AppendTx(ctx, tx, audit.Entry{Actor: actor, Action: audit.PrefixDSR + c.action, Target: target(id), Details: details}); err != nil {
			return err
		}
		out = r
		return nil
	})
	if err != nil {
		return Request{}, err
	}
	return out, nil
}

func joinStates(states []State) string {
	words := make([]string, len(states))
	for i, st := range states {
		words[i] = phrase(string(st))
	}
	return strings.Join(words, ", ")
}

// to returns an apply that only moves the request to state.
func to(state State) func(*Request, *Event, time.Time, map[string]any) error {
	return func(r *Request, _ *Event, _ time.Time, _ map[string]any) error {
		r.State = state
		return nil
	}
}

// acknowledge records that the customer heard from the company: staff
// asking a question or giving the final answer confirms receipt too.
func acknowledge(r *Request, now time.Time) {
	if r.AcknowledgedAt == nil {
		r.AcknowledgedAt = &now
	}
}

// Verify records that the requester's identity was verified. A request
// whose required tier is not reached, or an agent's request the customer
// has not confirmed, is refused (ErrIdentityNotReached).
func (s *Service) Verify(ctx context.Context, id string) (Request, error) {
	if err := s.CheckWorkable(ctx, id); err != nil {
		return Request{}, err
	}
	return s.apply(ctx, id, change{action: "verify", from: []State{StateReceived}, apply: to(StateVerified)})
}

// Start records that the work began. Only a verified request is worked on:
// data goes to, or is erased for, a person whose identity was checked.
func (s *Service) Start(ctx context.Context, id string) (Request, error) {
	if err := s.CheckWorkable(ctx, id); err != nil {
		return Request{}, err
	}
	if r, err := s.Get(ctx, id); err != nil {
		return Request{}, err
	} else if err := s.CheckNotHeld(ctx, r); err != nil {
		return Request{}, err
	}
	return s.apply(ctx, id, change{action: "start", from: []State{StateVerified}, apply: to(StateInProgress)})
}

// ApproveProposal records that staff checked and approved the new values a
// rectification proposes, and starts the work (a verified request moves
// to in progress): the rectify job applies only an approved proposal.
func (s *Service) ApproveProposal(ctx context.Context, id string) (Request, error) {
	return s.apply(ctx, id, change{action: "approve_proposal", from: []State{StateVerified, StateInProgress},
		apply: func(r *Request, _ *Event, now time.Time, facts map[string]any) error {
			switch {
			case len(r.Proposed) == 0:
				return errs.New(errs.CodeConflict, "request %s proposes no new value to approve", r.ID)
			case r.ProposalApprovedAt != nil:
				return errs.New(errs.CodeConflict, "request %s: its proposal is approved already", r.ID)
			}
			r.ProposalApprovedAt, r.State = &now, StateInProgress
			facts["fields"] = r.Proposed
			return nil
		}})
}

// AskCustomer records a question to the customer (proof of identity, which
// account they mean) and waits for the answer. The question is shown to
// the customer in the portal and kept in the history. Under a law that
// stops the clock while the answer is awaited (Policy.PauseWhileWaiting:
// the GDPR), the deadline's clock stops now.
func (s *Service) AskCustomer(ctx context.Context, id, question string) (Request, error) {
	question, err := checkNote("question", question)
	if err != nil {
		return Request{}, err
	}
	return s.apply(ctx, id, change{action: "ask_customer", from: []State{StateReceived, StateVerified, StateInProgress},
		apply: func(r *Request, e *Event, now time.Time, facts map[string]any) error {
			r.resume, r.State, r.Question = r.State, StateWaitingForCustomer, question
			e.Note = question
			acknowledge(r, now)
			if policy, err := s.policies.policy(r.Regime); err == nil && policy.PauseWhileWaiting {
				r.PausedAt = &now
				facts["clock"] = "stopped"
			}
			return nil
		}})
}

// CustomerReplied records that the customer answered by other means (a
// letter, a call) and returns the request to the state it was asked from;
// a stopped clock starts again (see resume).
func (s *Service) CustomerReplied(ctx context.Context, id string) (Request, error) {
	return s.apply(ctx, id, change{action: "customer_replied", from: []State{StateWaitingForCustomer},
		apply: func(r *Request, e *Event, now time.Time, facts map[string]any) error {
			s.resume(r, e, now, facts)
			return nil
		}})
}

// Answer records the customer's answer to the question, written in the
// portal, for its requester only (emailHash: another person's request is
// not found). The answer is sealed, shown to staff (Answers) and forgotten
// when the request closes. The request returns to the state it was asked
// from, and a stopped clock starts again.
func (s *Service) Answer(ctx context.Context, emailHash []byte, id, answer string) (Request, error) {
	if len(emailHash) == 0 {
		return Request{}, errs.NotFound("request", id)
	}
	answer = strings.TrimSpace(answer)
	switch {
	case answer == "":
		return Request{}, errs.InvalidKeyed("answer", "required")
	case !utf8.ValidString(answer) || utf8.RuneCountInString(answer) > maxDetails:
		return Request{}, errs.InvalidKeyed("answer", "text_at_most", "max", maxDetails)
	}
	// Sealing writes in a transaction of its own: before the change's.
	sealed, err := s.secrets.Seal(ctx, []byte(answer), answerAAD(id))
	if err != nil {
		return Request{}, fmt.Errorf("seal answer: %w", err)
	}
	return s.apply(ctx, id, change{action: "customer_replied", scope: emailHash, from: []State{StateWaitingForCustomer},
		apply: func(r *Request, e *Event, now time.Time, facts map[string]any) error {
			s.resume(r, e, now, facts)
			e.answerSealed, e.Answered = sealed, true
			facts["answered"] = true
			return nil
		}})
}

// resume returns a request that waited for the customer to the state it
// was asked from. A stopped clock starts again: the deadline (and an
// extended one) moves on by the calendar days from the day the question
// was asked to the day of the answer, so a same-day answer moves nothing.
func (s *Service) resume(r *Request, e *Event, now time.Time, facts map[string]any) {
	r.State = r.resume
	if !r.State.Open() || r.State == StateWaitingForCustomer {
		r.State = StateReceived // cannot happen through this package; the safe place to resume
	}
	r.resume, r.Question = "", ""
	if r.PausedAt == nil {
		return
	}
	days := s.policies.daysBetween(*r.PausedAt, now)
	r.PausedAt = nil
	facts["clock"], facts["paused_days"] = "started", days
	if days <= 0 {
		return
	}
	r.DueAt = s.policies.later(r.DueAt, days)
	if r.ExtendedUntil != nil {
		until := s.policies.later(*r.ExtendedUntil, days)
		r.ExtendedUntil = &until
	}
	deadline := r.Deadline()
	e.Deadline = &deadline
}

func answerAAD(id string) []byte { return []byte("dsr.answer:" + id) }

// Answer is one answer the customer wrote in the portal.
type Answer struct {
	Version int64     `json:"version"`
	At      time.Time `json:"at"`
	Text    string    `json:"text"`
}

// Answers returns the customer's answers to a request's questions, oldest
// first, for staff. Opening them is recorded in the audit log first (one
// entry for all of them); without answers nothing is recorded. A closed
// request has none: they are forgotten when it closes.
func (s *Service) Answers(ctx context.Context, id string) ([]Answer, error) {
	type sealedAnswer struct {
		Answer
		sealed []byte
	}
	rows, err := db.QueryAll(ctx, s.db, `SELECT version, at, answer_sealed FROM dsr_events
		WHERE request_id = $1 AND answer_sealed IS NOT NULL ORDER BY version`, []any{id},
		func(scan func(...any) error) (sealedAnswer, error) {
			var a sealedAnswer
			var at int64
			err := scan(&a.Version, &at, &a.sealed)
			a.At = time.UnixMicro(at).UTC()
			return a, err
		})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("read answers: %w", err))
	}
	out := []Answer{}
	if len(rows) == 0 {
		return out, nil
	}
	if _, err := s.audit.Append(ctx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: "dsr.reveal", Target: target(id),
		Details: audit.MustDetails(map[string]any{"field": "answer", "count": len(rows)})}); err != nil {
		return nil, err
	}
	for _, a := range rows {
		plain, err := s.secrets.Open(ctx, a.sealed, answerAAD(id))
		if err != nil {
			return nil, fmt.Errorf("open answer: %w", err)
		}
		a.Text = string(plain)
		out = append(out, a.Answer)
	}
	return out, nil
}

var resultRefPattern = regexp.MustCompile(fmt.Sprintf(`^[A-Za-z0-9_.:-]{1,%d}$`, maxResultRef))

// Complete records that the request was answered. resultRef names what the
// work produced, such as an export archive; empty when there is nothing to
// deliver (an erasure).
// A restriction or objection request is put into effect first (see
// CompleteWith), for every purpose.
func (s *Service) Complete(ctx context.Context, id, resultRef string) (Request, error) {
	return s.complete(ctx, id, resultRef, nil)
}

// CompleteWith completes a restriction or objection request and puts it
// into effect first (Config.Restrict, Config.Object): the subject's
// processing restricted for purposes (none: all), or their objection
// recorded to each of purposes (at least one). The request must name its
// subject (AttachSubject). Other kinds take no purposes.
func (s *Service) CompleteWith(ctx context.Context, id string, purposes []string) (Request, error) {
	return s.complete(ctx, id, "", purposes)
}

func (s *Service) complete(ctx context.Context, id, resultRef string, purposes []string) (Request, error) {
	if resultRef != "" && !resultRefPattern.MatchString(resultRef) {
		return Request{}, errs.InvalidKeyed("result_ref", "result_ref", "max", maxResultRef)
	}
	r, err := s.Get(ctx, id)
	if err != nil {
		return Request{}, err
	}
	effect := map[Kind]func(ctx context.Context, subject, requestID string, purposes []string) error{
		KindRestriction: s.restrict, KindObjection: s.object}[r.Kind]
	switch {
	case len(purposes) > 0 && r.Kind != KindRestriction && r.Kind != KindObjection:
		return Request{}, errs.InvalidKeyed("purposes", "purposes_not_taken")
	case effect == nil:
	case r.State != StateInProgress:
		// apply refuses it with the usual words.
	case r.SubjectID == "":
		return Request{}, errs.New(errs.CodeConflict, "attach the customer's subject id first: a %s applies to a known customer", r.Kind)
	case r.Kind == KindObjection && len(purposes) == 0:
		return Request{}, errs.InvalidKeyed("purposes", "purposes_objected")
	default:
		if err := effect(ctx, r.SubjectID, r.ID, purposes); err != nil {
			return Request{}, err
		}
	}
	return s.apply(ctx, id, change{action: "complete", from: []State{StateInProgress},
		apply: func(r *Request, e *Event, now time.Time, facts map[string]any) error {
			r.State, r.ResultRef = StateCompleted, resultRef
			e.Ref = resultRef
			facts["result_ref"] = resultRef
			if len(purposes) > 0 {
				facts["purposes"] = purposes
			}
			acknowledge(r, now)
			return nil
		}})
}

// Reject refuses the request with the reason the customer is told (GDPR
// Art. 12(4): the reasons, and the right to complain).
func (s *Service) Reject(ctx context.Context, id, reason string) (Request, error) {
	reason, err := checkNote("reason", reason)
	if err != nil {
		return Request{}, err
	}
	return s.apply(ctx, id, change{action: "reject", from: OpenStates,
		apply: func(r *Request, e *Event, now time.Time, _ map[string]any) error {
			r.State, r.RejectionReason = StateRejected, reason
			e.Note = reason
			acknowledge(r, now)
			return nil
		}})
}

// Extend moves the deadline by the regime's extension, once, for the reason
// the customer is told. Both laws want the customer told within the first
// period, so an extension is refused once the original deadline passed.
// The request keeps its state: an extension changes when, not where the
// work stands.
func (s *Service) Extend(ctx context.Context, id, reason string) (Request, error) {
	reason, err := checkNote("reason", reason)
	if err != nil {
		return Request{}, err
	}
	return s.apply(ctx, id, change{action: "extend", from: OpenStates,
		apply: func(r *Request, e *Event, now time.Time, facts map[string]any) error {
			if r.ExtendedUntil != nil {
				return errs.New(errs.CodeConflict, "request %s was already extended, to %s; a request is extended once",
					r.ID, r.ExtendedUntil.Format(time.DateOnly))
			}
			if r.clock(now).After(r.DueAt) { // a stopped clock has not reached it
				return errs.New(errs.CodeConflict, "request %s was due by %s: an extension must be decided, and told to the customer, before the deadline",
					r.ID, r.DueAt.Format(time.DateOnly))
			}
			d, err := s.policies.Deadlines(r.Regime, r.Kind, r.ReceivedAt)
			if err != nil {
				return err
			}
			if !d.ExtendedDueAt.After(d.DueAt) {
				return errs.New(errs.CodeConflict, "the %s policy allows no extension of %s requests", r.Regime, r.Kind)
			}
			// Days the clock stood still while the customer answered
			// count no more after an extension than before it.
			until := s.policies.later(d.ExtendedDueAt, max(0, s.policies.daysBetween(d.DueAt, r.DueAt)))
			r.ExtendedUntil, r.ExtensionReason = &until, reason
			e.Note, e.Deadline = reason, &until
			facts["until"] = until.Format(time.RFC3339)
			return nil
		}})
}

// Cancel withdraws a request for its requester, identified by the blind
// index of their email: another person's request is not found. Only a
// request whose work has not begun can be withdrawn; once in progress (an
// erasure half done) it is finished or rejected by staff.
func (s *Service) Cancel(ctx context.Context, emailHash []byte, id string) (Request, error) {
	if len(emailHash) == 0 {
		return Request{}, errs.NotFound("request", id)
	}
	return s.apply(ctx, id, change{action: "cancel", scope: emailHash,
		from: []State{StateReceived, StateVerified, StateWaitingForCustomer}, apply: to(StateCancelled)})
}

// AttachSubject records who filed a request, once staff have matched its
// email to a Steward subject. A wrong match can be replaced while the
// request is open; the history keeps each one.
func (s *Service) AttachSubject(ctx context.Context, id, subjectID string) (Request, error) {
	if !validSubject(subjectID) {
		return Request{}, errs.InvalidKeyed("subject_id", "subject_id")
	}
	return s.apply(ctx, id, change{action: "attach_subject", from: OpenStates,
		apply: func(r *Request, e *Event, _ time.Time, facts map[string]any) error {
			if r.SubjectID == subjectID {
				return errs.New(errs.CodeConflict, "request %s is already attached to subject %s", r.ID, subjectID)
			}
			if r.SubjectID != "" {
				facts["previous_subject"] = r.SubjectID
			}
			r.SubjectID, e.Ref = subjectID, subjectID
			facts["subject"] = subjectID
			return nil
		}})
}

// Acknowledge records that receipt was confirmed to the customer (the CCPA
// wants it within 10 business days; under the GDPR it is good practice).
// Asking the customer, completing and rejecting acknowledge on their own.
func (s *Service) Acknowledge(ctx context.Context, id string) (Request, error) {
	return s.apply(ctx, id, change{action: "acknowledge", from: OpenStates,
		apply: func(r *Request, _ *Event, now time.Time, _ map[string]any) error {
			if r.AcknowledgedAt != nil {
				return errs.New(errs.CodeConflict, "request %s was already acknowledged, on %s", r.ID, r.AcknowledgedAt.Format(time.DateOnly))
			}
			acknowledge(r, now)
			return nil
		}})
}

// emailLike finds an email address anywhere in a text.
var emailLike = regexp.MustCompile(`[^@\s]+@[^@\s]+\.[^@\s]+`)

// SetWaitingOn sets what the customer sees the work wait for ("system
// shop-db"); "" clears it. The portal shows it, so it must not hold
// personal data: one line, no email address.
func (s *Service) SetWaitingOn(ctx context.Context, id, note string) (Request, error) {
	note = strings.TrimSpace(note)
	switch {
	case !utf8.ValidString(note) || utf8.RuneCountInString(note) > maxWaitingOn || strings.ContainsFunc(note, unicode.IsControl):
		return Request{}, errs.InvalidKeyed("waiting_on", "one_line_at_most", "max", maxWaitingOn)
	case emailLike.MatchString(note):
		return Request{}, errs.InvalidKeyed("waiting_on", "no_personal_data")
	}
	return s.apply(ctx, id, change{action: "waiting_on", from: OpenStates,
		apply: func(r *Request, e *Event, _ time.Time, _ map[string]any) error {
			r.WaitingOn, e.Note = note, note
			return nil
		}})
}

// checkNote returns a question or reason typed by staff, trimmed; it is
// required and bounded.
func checkNote(field, text string) (string, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return "", errs.InvalidKeyed(field, "required_customer_told")
	case !utf8.ValidString(text) || utf8.RuneCountInString(text) > maxNote:
		return "", errs.InvalidKeyed(field, "text_at_most", "max", maxNote)
	}
	return text, nil
}
