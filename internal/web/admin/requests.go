package admin

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// queueForm is the queue's filter as the form sent it, to show it again.
type queueForm struct {
	ID, State, Kind, Law string
	Overdue, Closed      bool
}

type queueData struct {
	Queue []dsr.Queued
	Form  queueForm
	// Query is the filter as a query string, for the CSV link; Next the
	// link to the next page.
	Query, Next string
	States      []dsr.State
	Kinds       []dsr.Kind
	Regimes     []dsr.Regime
}

// queueFilter reads the queue's filter from the query: state, kind, law,
// overdue=1, closed=1, id (a request id, found in any state), after (a
// cursor).
func queueFilter(r *http.Request) (dsr.Filter, queueForm) {
	q := r.URL.Query()
	form := queueForm{ID: strings.TrimSpace(q.Get("id")), State: q.Get("state"), Kind: q.Get("kind"), Law: q.Get("law"),
		Overdue: q.Get("overdue") == "1", Closed: q.Get("closed") == "1"}
	f := dsr.Filter{ID: form.ID, Overdue: form.Overdue, Closed: form.Closed, After: q.Get("after")}
	if form.State != "" {
		f.States = []dsr.State{dsr.State(form.State)}
	}
	if form.Kind != "" {
		f.Kinds = []dsr.Kind{dsr.Kind(form.Kind)}
	}
	if form.Law != "" {
		f.Regimes = []dsr.Regime{dsr.Regime(form.Law)}
	}
	return f, form
}

func (f queueForm) query() url.Values {
	v := url.Values{}
	for key, value := range map[string]string{"id": f.ID, "state": f.State, "kind": f.Kind, "law": f.Law} {
		if value != "" {
			v.Set(key, value)
		}
	}
	if f.Overdue {
		v.Set("overdue", "1")
	}
	if f.Closed {
		v.Set("closed", "1")
	}
	return v
}

// HandleRequests shows the requests the filter selects (by default the
// open ones), soonest deadline first, with those at risk or overdue
// flagged; a filter that cannot be read is shown again with what is wrong.
func (c *Console) HandleRequests() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, form := queueFilter(r)
		d := queueData{Form: form, Query: form.query().Encode(), States: dsr.States, Kinds: dsr.Kinds, Regimes: dsr.Regimes}
		res, err := c.Requests.Search(r.Context(), f)
		if err != nil {
			if e, ok := errs.As(err); ok && e.Code == errs.CodeInvalid {
				c.render(w, r, http.StatusBadRequest, "requests", page{Title: "title_requests",
					Problem: say(r, "problem_filter"), Fields: fieldMessages(r, e), Data: d})
				return
			}
			c.fail(w, r, err)
			return
		}
		d.Queue = res.Requests
		if res.Next != "" {
			next := form.query()
			next.Set("after", res.Next)
			d.Next = "/admin/requests?" + next.Encode()
		}
		c.render(w, r, http.StatusOK, "requests", page{Title: "title_requests", Data: d})
	})
}

// csvCell makes a value safe for a spreadsheet: a cell that begins with
// =, +, -, @, a tab or a carriage return is read as a formula by Excel,
// LibreOffice and Sheets (CSV injection), so it is prefixed with a quote.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// maxCSVRows bounds one CSV export of the queue.
const maxCSVRows = 50000

// HandleRequestsCSV exports the queue the filter selects as CSV: the
// columns the queue shows, no personal data.
func (c *Console) HandleRequestsCSV() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, _ := queueFilter(r)
		f.Limit, f.After = 1000, ""
		var rows []dsr.Queued
		for {
			page, err := c.Requests.Search(r.Context(), f)
			if err != nil {
				c.fail(w, r, err)
				return
			}
			rows = append(rows, page.Requests...)
			if page.Next == "" || len(rows) >= maxCSVRows {
				break
			}
			f.After = page.Next
		}
		var buf bytes.Buffer
		out := csv.NewWriter(&buf)
		_ = out.Write([]string{"id", "kind", "law", "state", "channel", "received", "due", "extended", "waiting_on", "overdue", "at_risk", "closed"})
		day := func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return t.UTC().Format(time.DateOnly)
		}
		for _, q := range rows {
			req := q.Request
			received, due := req.ReceivedAt, req.Deadline()
			_ = out.Write([]string{csvCell(req.ID), string(req.Kind), string(req.Regime), string(req.State), string(req.Channel),
				day(&received), day(&due), strconv.FormatBool(req.Extended()), csvCell(req.WaitingOn),
				strconv.FormatBool(q.Overdue), strconv.FormatBool(q.AtRisk), day(req.ClosedAt)})
		}
		out.Flush()
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="requests-`+c.Now().UTC().Format("2006-01-02")+`.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(buf.Bytes())
	})
}

// actionInfo is how the request page offers one action: its button, the
// sentence that says what it does, and the label of the text it needs, as
// catalog keys.
type actionInfo struct {
	Name, Button, Says, Note string
}

// actionInfos are the staff's actions in words: catalog keys (console.*)
// the templates say in the page's language.
var actionInfos = map[string]actionInfo{
	dsr.ActionVerify:      {Button: "act_verify", Says: "act_verify_says"},
	dsr.ActionAcknowledge: {Button: "act_acknowledge", Says: "act_acknowledge_says"},
	dsr.ActionStart:       {Button: "act_start", Says: "act_start_says"},
	dsr.ActionReplied:     {Button: "act_replied", Says: "act_replied_says"},
	dsr.ActionComplete:    {Button: "act_complete", Says: "act_complete_says"},
	"work":                {Button: "act_work", Says: "act_work_says"},
	dsr.ActionAsk:         {Button: "act_ask", Note: "act_ask_note", Says: "act_ask_says"},
	dsr.ActionExtend:      {Button: "act_extend", Note: "act_extend_note", Says: "act_extend_says"},
	dsr.ActionReject:      {Button: "act_reject", Note: "act_reject_note", Says: "act_reject_says"},
	dsr.ActionAttach:      {Button: "act_attach", Note: "act_attach_note", Says: "act_attach_says"},
	actionIdentity:        {Button: "act_identity", Says: "act_identity_says"},
}

// actionIdentity records an identity verified by staff another way; it is
// offered in the page's identity section while the tier is not reached.
const actionIdentity = "identity"

// workKinds are the kinds of request whose work is a job that can run again.
var workKinds = []dsr.Kind{dsr.KindAccess, dsr.KindExport, dsr.KindErasure, dsr.KindRectification}

// offered returns the actions the request's state allows, in the order of
// the work, in words.
func (c *Console) offered(req dsr.Request) []actionInfo {
	var out []actionInfo
	for _, name := range c.Requests.Actions(req, c.Now()) {
		info := actionInfos[name]
		info.Name = name
		out = append(out, info)
		if name == dsr.ActionComplete && slices.Contains(workKinds, req.Kind) {
			work := actionInfos["work"]
			work.Name = "work"
			out = append(out, work)
		}
	}
	return out
}

// Progress is how the work of a request stands (dsr.Progress, told by
// fulfil from its steps and the request's job).
type Progress = dsr.Progress

// ProgressStep is one place the work reaches (dsr.ProgressStep).
type ProgressStep = dsr.ProgressStep

type requestData struct {
	Request  dsr.Request
	History  []dsr.Event
	Contact  string
	Actions  []actionInfo
	Answers  []dsr.Answer
	Progress *Progress
	// Proposal and Details are a rectification's proposed values and the
	// customer's own words, once revealed (HandleRequestProposal).
	Proposal map[string]string
	Details  string
	// Purposes are those a restriction or objection may name;
	// Restrictions the customer's restrictions in force.
	Purposes     []consent.Purpose
	Restrictions []consent.Restriction
	// PendingLifts are lifts asked for that wait until the customer has
	// been told (GDPR Art. 18(3)), or could not be told.
	PendingLifts []consent.PendingLift
	// Identity is the tier the request needs and the one reached; Agent
	// the authorised agent who filed it (nil: the customer did), with
	// AgentDetails their name, email and mandate (opening them is
	// audited; nil once the customer's erasure forgot them).
	Identity     dsr.Identity
	Agent        *dsr.AgentRecord
	AgentDetails *dsr.Agent
	// VerifiedBy names who recorded the identity verified another way;
	// Channels are the ways offered; IdentityForm is what was sent, when
	// it is shown again with a problem.
	VerifiedBy, VerifiedHow string
	Channels                []channelOption
	IdentityForm            identityForm
}

// channelOption is a way of verifying an identity, as the form offers it.
type channelOption struct {
	Value dsr.VerifyChannel
	Label string
}

// channelLabels are the channels as the form offers them; channelHow
// says them after "verified" (catalog keys).
var (
	channelLabels = map[dsr.VerifyChannel]string{
		dsr.VerifyPhone: "ch_phone", dsr.VerifyVideo: "ch_video", dsr.VerifyInPerson: "ch_in_person",
		dsr.VerifyPostal: "ch_postal", dsr.VerifyOther: "ch_other",
	}
	channelHow = map[dsr.VerifyChannel]string{
		dsr.VerifyPhone: "how_phone", dsr.VerifyVideo: "how_video", dsr.VerifyInPerson: "how_in_person",
		dsr.VerifyPostal: "how_postal", dsr.VerifyOther: "how_other",
	}
)

// identityForm is the identity form as sent.
type identityForm struct {
	Channel, Statement string
	Declaration        bool
}

// actionLift asks for a restriction of the request's customer to end, and
// actionCancelLift withdraws such a lift; they are offered beside each
// restriction in force and pending lift, not in the request's next steps.
const (
	actionLift       = "lift"
	actionCancelLift = "cancel_lift"
)

// requestSubject returns the request, which must name its customer.
func requestSubject(c *Console, r *http.Request, id string) (dsr.Request, error) {
	req, err := c.Requests.Get(r.Context(), id)
	if err != nil {
		return req, err
	}
	if req.SubjectID == "" {
		return req, errs.New(errs.CodeConflict, "request %s names no customer, so nothing of theirs is restricted", id)
	}
	return req, nil
}

// HandleRequest shows one request with its history, the customer's
// answers, the work's progress and the actions its state allows.
func (c *Console) HandleRequest() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.showRequest(w, r, http.StatusOK, r.PathValue("id"), page{})
	})
}

func (c *Console) showRequest(w http.ResponseWriter, r *http.Request, status int, id string, p page) {
	req, err := c.Requests.Get(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	history, err := c.Requests.History(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d, _ := p.Data.(requestData)
	d.Request, d.History, d.Actions = req, history, c.offered(req)
	if d.Answers, err = c.Requests.Answers(r.Context(), id); err != nil {
		c.fail(w, r, err)
		return
	}
	if d.Identity, err = c.Requests.Identity(r.Context(), id); err != nil {
		c.fail(w, r, err)
		return
	}
	if sv := d.Identity.StaffVerified; sv != nil {
		d.VerifiedBy, d.VerifiedHow = c.names(r).Actor(sv.By), channelHow[sv.Channel]
	}
	for _, ch := range dsr.VerifyChannels {
		d.Channels = append(d.Channels, channelOption{Value: ch, Label: channelLabels[ch]})
	}
	if d.Agent, err = c.Requests.AgentOf(r.Context(), id); err != nil {
		c.fail(w, r, err)
		return
	}
	if d.Agent != nil {
		if d.AgentDetails, err = c.Requests.AgentDetails(r.Context(), id); err != nil {
			c.fail(w, r, err)
			return
		}
	}
	if c.Progress != nil {
		progress, err := c.Progress(r.Context(), req)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d.Progress = progress
	}
	if req.Kind == dsr.KindRestriction || req.Kind == dsr.KindObjection {
		d.Purposes = c.Consent.Purposes()
		if req.SubjectID != "" {
			if d.Restrictions, err = c.Consent.Restrictions(r.Context(), req.SubjectID); err != nil {
				c.fail(w, r, err)
				return
			}
			if d.PendingLifts, err = c.Consent.PendingLifts(r.Context(), req.SubjectID); err != nil {
				c.fail(w, r, err)
				return
			}
		}
	}
	p.Title, p.Data = say(r, "title_request", "id", req.ID), d
	c.render(w, r, status, "request", p)
}

// requestActions are the staff's transitions of a request, by form action.
var requestActions = map[string]func(c *Console, r *http.Request, id string) (dsr.Request, error){
	dsr.ActionVerify: func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		return c.Requests.Verify(r.Context(), id)
	},
	dsr.ActionAcknowledge: func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		return c.Requests.Acknowledge(r.Context(), id)
	},
	dsr.ActionStart: func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		return c.Requests.Start(r.Context(), id)
	},
	dsr.ActionAsk: func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		return c.Requests.AskCustomer(r.Context(), id, strings.TrimSpace(r.PostFormValue("note")))
	},
	dsr.ActionReplied: func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		return c.Requests.CustomerReplied(r.Context(), id)
	},
	// complete puts a restriction or objection into effect first, for the
	// purposes ticked (a restriction without any: every purpose).
	dsr.ActionComplete: func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		if err := r.ParseForm(); err != nil {
			return dsr.Request{}, errs.Invalid("purpose", "cannot read the form")
		}
		if purposes := r.PostForm["purpose"]; len(purposes) > 0 {
			return c.Requests.CompleteWith(r.Context(), id, purposes)
		}
		return c.Requests.Complete(r.Context(), id, "")
	},
	// lift asks for a restriction of the request's customer to end (the
	// one purpose given, or all), audited as the staff member: the
	// customer is emailed first and the restriction ends once the email
	// went out (GDPR Art. 18(3)).
	actionLift: func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		req, err := requestSubject(c, r, id)
		if err != nil {
			return req, err
		}
		_, err = c.Consent.RequestLift(r.Context(), req.SubjectID, r.PostFormValue("purpose"))
		return req, err
	},
	// cancel_lift withdraws a lift still waiting for its notice, or whose
	// notice failed: the restriction stays.
	actionCancelLift: func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		req, err := requestSubject(c, r, id)
		if err != nil {
			return req, err
		}
		lift, err := c.Consent.PendingLift(r.Context(), r.PostFormValue("lift"))
		if err != nil || lift.Subject != req.SubjectID {
			// Only a lift of this request's customer, and never a word on
			// whether another's exists.
			return req, errs.NotFound("pending lift", r.PostFormValue("lift"))
		}
		return req, c.Consent.CancelLift(r.Context(), lift.ID)
	},
	dsr.ActionReject: func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		return c.Requests.Reject(r.Context(), id, strings.TrimSpace(r.PostFormValue("note")))
	},
	dsr.ActionExtend: func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		return c.Requests.Extend(r.Context(), id, strings.TrimSpace(r.PostFormValue("note")))
	},
	// work runs the request's job again (after a failure staff fixed).
	"work": func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		req, err := c.Requests.Get(r.Context(), id)
		if err == nil && req.State != dsr.StateInProgress {
			err = errs.New(errs.CodeConflict, "request %s is %s: only a request in progress has work to run", id, req.State)
		}
		return req, err
	},
	// approve_proposal approves a rectification's proposed values and
	// starts the work that applies them.
	"approve_proposal": func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		return c.Requests.ApproveProposal(r.Context(), id)
	},
	dsr.ActionAttach: func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		return c.Requests.AttachSubject(r.Context(), id, strings.TrimSpace(r.PostFormValue("subject")))
	},
}

type refusedData struct {
	Request dsr.Request
	Tried   string
	Actions []actionInfo
}

// HandleRequestAction applies one transition. A text that is missing or
// wrong shows the request again with the field marked; a transition the
// request's state refuses (someone else moved it meanwhile, or an old
// page) shows a page that says why in a sentence and offers what the
// state allows now.
func (c *Console) HandleRequestAction() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, action := r.PathValue("id"), r.PathValue("action")
		apply, ok := requestActions[action]
		if !ok {
			c.fail(w, r, errs.NotFound("action", action))
			return
		}
		if _, err := apply(c, r, id); err != nil {
			e, ok := errs.As(err)
			switch {
			case ok && e.Code == errs.CodeInvalid:
				c.showRequest(w, r, httpx.Status(err), id, page{Problem: say(r, "rq_not_changed", "reason", message(r, e)), Fields: fieldMessages(r, e)})
			case ok && e.Code == errs.CodeConflict:
				c.refused(w, r, id, action, message(r, e))
			default:
				c.fail(w, r, err)
			}
			return
		}
		if c.AfterRequestAction != nil {
			c.AfterRequestAction(r.Context(), action, id)
		}
		http.Redirect(w, r, "/admin/requests/"+url.PathEscape(id), http.StatusSeeOther)
	})
}

// refused renders the page of a transition the request's state refused:
// a sentence of why, and the way forward.
func (c *Console) refused(w http.ResponseWriter, r *http.Request, id, action, reason string) {
	req, err := c.Requests.Get(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	button := action
	if key := actionInfos[action].Button; key != "" {
		button = say(r, key)
	}
	problem := say(r, "rf_not_done", "action", button, "state", strings.ReplaceAll(string(req.State), "_", " "), "reason", sentence(reason))
	c.render(w, r, http.StatusConflict, "request_refused", page{Title: say(r, "title_request_refused", "id", req.ID), Problem: problem,
		Data: refusedData{Request: req, Tried: button, Actions: c.offered(req)}})
}

// sentence returns a message as a sentence: capitalised, with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// HandleRequestIdentity records that the staff member verified the
// requester's identity another way than the data points: the channel, a
// statement of how (required; no answers, no documents) and, where the
// request needs it, that the declaration was signed. It satisfies the
// request's tier and is audited. A form with a problem is shown again,
// the fields marked and the text kept; a request whose tier is reached
// already, or that needs none, gets the refused page.
func (c *Console) HandleRequestIdentity() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		form := identityForm{Channel: r.PostFormValue("channel"), Statement: r.PostFormValue("statement"),
			Declaration: r.PostFormValue("declaration") == "1"}
		_, err := c.Requests.VerifyIdentityByStaff(r.Context(), id, dsr.StaffCheck{Channel: dsr.VerifyChannel(form.Channel),
			Statement: form.Statement, Declaration: form.Declaration})
		if err != nil {
			e, ok := errs.As(err)
			switch {
			case ok && e.Code == errs.CodeInvalid:
				c.showRequest(w, r, http.StatusBadRequest, id, page{Problem: say(r, "rq_identity_not_recorded", "reason", message(r, e)), Fields: fieldMessages(r, e),
					Data: requestData{IdentityForm: form}})
			case ok && e.Code == errs.CodeConflict:
				c.refused(w, r, id, actionIdentity, message(r, e))
			default:
				c.fail(w, r, err)
			}
			return
		}
		http.Redirect(w, r, "/admin/requests/"+url.PathEscape(id), http.StatusSeeOther)
	})
}

// HandleRequestContact shows the requester's email address, for writing
// to them; the reading is recorded in the audit log first.
func (c *Console) HandleRequestContact() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		email, err := c.Requests.Contact(r.Context(), id)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.showRequest(w, r, http.StatusOK, id, page{Data: requestData{Contact: email}})
	})
}

// HandleRequestProposal shows what a rectification proposes (the new
// value per field) and the customer's own words, for an officer to check
// before approving; each reading is recorded in the audit log first.
func (c *Console) HandleRequestProposal() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		proposal, err := c.Requests.Proposal(r.Context(), id)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		details, err := c.Requests.Details(r.Context(), id)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.showRequest(w, r, http.StatusOK, id, page{Data: requestData{Proposal: proposal, Details: details}})
	})
}

type jobsData struct {
	Jobs []jobs.Record
	Next string
}

// HandleJobs lists background jobs, newest first, with their errors.
func (c *Console) HandleJobs() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := c.Jobs.List(r.Context(), jobs.Filter{Limit: 100, After: r.URL.Query().Get("after")})
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusOK, "jobs", page{Title: "title_jobs", Data: jobsData{Jobs: list.Jobs, Next: list.Next}})
	})
}

// HandleJobAction retries or cancels a job; the act is recorded.
func (c *Console) HandleJobAction() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			c.fail(w, r, errs.Invalid("id", "%s", say(r, "jb_must_be_number")))
			return
		}
		op := r.PathValue("op")
		if op != "retry" && op != "cancel" {
			c.fail(w, r, errs.NotFound("action", op))
			return
		}
		if _, err := c.Audit.Append(r.Context(), audit.Entry{Actor: actor(r), Action: audit.PrefixJob + op,
			Target: audit.Target{Kind: "job", ID: strconv.FormatInt(id, 10)}}); err != nil {
			c.fail(w, r, errs.Wrap(errs.CodeUnavailable, err, say(r, "problem_audit_job")))
			return
		}
		if op == "retry" {
			_, err = c.Jobs.Retry(r.Context(), id)
		} else {
			_, err = c.Jobs.Cancel(r.Context(), id)
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/admin/jobs", http.StatusSeeOther)
	})
}
