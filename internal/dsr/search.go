package dsr

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// Staff actions on a request, in the order of the work. Each is a method
// of Service (replied is CustomerReplied, attach is AttachSubject).
const (
	ActionVerify      = "verify"
	ActionAcknowledge = "acknowledge"
	ActionStart       = "start"
	ActionReplied     = "replied"
	ActionComplete    = "complete"
	ActionAsk         = "ask"
	ActionExtend      = "extend"
	ActionReject      = "reject"
	ActionAttach      = "attach"
)

// Actions returns what staff may do with r at now, in the order of the
// work (verify, acknowledge, start, complete), then the actions of any
// open state. The rules are those of the methods: an action listed here is
// not refused for the request's state (a concurrent change still may be).
func (s *Service) Actions(r Request, now time.Time) []string {
	if !r.Open() {
		return []string{}
	}
	var out []string
	switch r.State {
	case StateReceived:
		out = append(out, ActionVerify)
	case StateVerified:
		out = append(out, ActionStart)
	case StateWaitingForCustomer:
		out = append(out, ActionReplied)
	case StateInProgress:
		out = append(out, ActionComplete)
	}
	if r.AcknowledgedAt == nil {
		// Verify, acknowledge, start, complete: the customer hears that
		// the request arrived before the work on it begins.
		at := 0
		if r.State == StateReceived {
			at = 1
		}
		out = slices.Insert(out, at, ActionAcknowledge)
	}
	if r.State != StateWaitingForCustomer {
		out = append(out, ActionAsk)
	}
	if r.ExtendedUntil == nil && !r.clock(now).After(r.DueAt) {
		if d, err := s.policies.Deadlines(r.Regime, r.Kind, r.ReceivedAt); err == nil && d.ExtendedDueAt.After(d.DueAt) {
			out = append(out, ActionExtend)
		}
	}
	return append(out, ActionReject, ActionAttach)
}

// Filter selects requests for the console's queue and the API. Empty
// fields select everything open.
type Filter struct {
	// ID finds one request by its id, in any state; the other fields still
	// apply.
	ID      string
	States  []State
	Kinds   []Kind
	Regimes []Regime
	// Overdue selects the open requests past their deadline.
	Overdue bool
	// Closed selects the requests that are answered (completed, rejected,
	// cancelled) instead of the open ones, when States is empty.
	Closed bool
	// Limit bounds a page (default 100, at most 1000); After is the cursor
	// of the page before (Page.Next).
	Limit int
	After string
}

// Page is one page of requests, the soonest deadline first; Next is the
// cursor of the next page, "" on the last.
type Page struct {
	Requests []Queued `json:"requests"`
	Next     string   `json:"next,omitempty"`
}

// FinalStates are the states of answered requests.
var FinalStates = []State{StateCompleted, StateRejected, StateCancelled}

// Search returns the requests f selects, the soonest deadline first (ties
// by id), flagged at risk or overdue as of now. A cursor is the last
// request's deadline and id, so that a page follows on from the one before
// however the queue changed meanwhile.
func (s *Service) Search(ctx context.Context, f Filter) (Page, error) {
	problems := errs.Problems{}
	for _, st := range f.States {
		if !st.Valid() {
			problems.Add("state", "request_state")
		}
	}
	for _, k := range f.Kinds {
		if !k.Valid() {
			problems.Add("kind", "request_kind")
		}
	}
	for _, g := range f.Regimes {
		if !g.Valid() {
			problems.Add("regime", "request_regime")
		}
	}
	if f.Overdue && f.Closed {
		problems.Add("overdue", "overdue_closed")
	}
	f.ID = strings.TrimSpace(f.ID)
	if len(f.ID) > 100 {
		problems.Add("id", "request_id")
	}
	switch {
	case f.Limit == 0:
		f.Limit = 100
	case f.Limit < 0 || f.Limit > 1000:
		problems.Add("limit", "from_to", "min", 1, "max", 1000)
	}
	afterDeadline, afterID, ok := parseCursor(f.After)
	if !ok {
		problems.Add("cursor", "page_cursor")
	}
	if len(problems) > 0 {
		return Page{}, errs.FieldsKeyed(problems)
	}
	states := f.States
	switch {
	case len(states) > 0:
	case f.ID != "":
		states = States // an id finds the request whatever its state
	case f.Closed:
		states = FinalStates
	default:
		states = OpenStates
	}
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	in := func(column string, values []string) {
		marks := make([]string, len(values))
		for i, v := range values {
			marks[i] = arg(v)
		}
		where = append(where, column+" IN ("+strings.Join(marks, ", ")+")")
	}
	in("state", strs(states))
	if len(f.Kinds) > 0 {
		in("kind", strs(f.Kinds))
	}
	if len(f.Regimes) > 0 {
		in("regime", strs(f.Regimes))
	}
	if f.ID != "" {
		where = append(where, "id = "+arg(f.ID))
	}
	const deadline = "COALESCE(extended_until, due_at)"
	now := s.now().UTC()
	if f.Overdue {
		// Past the deadline as of now, or, while the clock is stopped, as
		// of when it stopped (Request.Overdue).
		in("state", strs(OpenStates))
		n := arg(now.UnixMicro())
		where = append(where, "((paused_at IS NULL AND "+deadline+" < "+n+") OR (paused_at IS NOT NULL AND "+deadline+" < paused_at))")
	}
	if f.After != "" {
		d, id := arg(afterDeadline), arg(afterID)
		where = append(where, "("+deadline+" > "+d+" OR ("+deadline+" = "+d+" AND id > "+id+"))")
	}
	limit := arg(f.Limit + 1)
	from := "dsr_requests"
	if s.db.Dialect == db.SQLite && f.ID == "" {
		// Without statistics SQLite picks the state index and sorts every
		// open request; walking the deadline index stops after a page.
		from += " INDEXED BY dsr_requests_deadline"
	}
	requests, err := s.list(ctx, `SELECT `+requestColumns+` FROM `+from+` WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+deadline+`, id LIMIT `+limit, args...)
	if err != nil {
		return Page{}, err
	}
	page := Page{}
	if len(requests) > f.Limit {
		requests = requests[:f.Limit]
		last := requests[len(requests)-1]
		page.Next = cursor(last.Deadline(), last.ID)
	}
	page.Requests = s.flag(requests, now)
	return page, nil
}

func cursor(deadline time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(deadline.UnixMicro(), 10) + ":" + id))
}

func parseCursor(c string) (int64, string, bool) {
	if c == "" {
		return 0, "", true
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", false
	}
	d, id, ok := strings.Cut(string(raw), ":")
	micros, err := strconv.ParseInt(d, 10, 64)
	if !ok || err != nil || id == "" {
		return 0, "", false
	}
	return micros, id, true
}
