package admin

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/web/httpx"
)

type queueData struct {
	Queue []dsr.Queued
}

// HandleRequests shows the open requests, soonest deadline first, with
// those at risk or overdue flagged.
func (c *Console) HandleRequests() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queue, err := c.Requests.Queue(r.Context(), dsr.QueueFilter{})
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusOK, "requests", page{Title: "Requests", Data: queueData{Queue: queue}})
	})
}

type requestData struct {
	Request dsr.Request
	History []dsr.Event
	Contact string
	// Purposes are those a restriction or objection may name;
	// Restrictions the customer's restrictions in force.
	Purposes     []consent.Purpose
	Restrictions []consent.Restriction
}

// HandleRequest shows one request with its history and the actions its
// state allows.
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
	d.Request, d.History = req, history
	if req.Kind == dsr.KindRestriction || req.Kind == dsr.KindObjection {
		d.Purposes = c.Consent.Purposes()
		if req.SubjectID != "" {
			if d.Restrictions, err = c.Consent.Restrictions(r.Context(), req.SubjectID); err != nil {
				c.fail(w, r, err)
				return
			}
		}
	}
	p.Title, p.Data = "Request "+req.ID, d
	c.render(w, r, status, "request", p)
}

// requestActions are the staff's transitions of a request, by form action.
var requestActions = map[string]func(c *Console, r *http.Request, id string) (dsr.Request, error){
	"verify": func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		return c.Requests.Verify(r.Context(), id)
	},
	"acknowledge": func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		return c.Requests.Acknowledge(r.Context(), id)
	},
	"start": func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		return c.Requests.Start(r.Context(), id)
	},
	"ask": func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		return c.Requests.AskCustomer(r.Context(), id, strings.TrimSpace(r.PostFormValue("note")))
	},
	"replied": func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		return c.Requests.CustomerReplied(r.Context(), id)
	},
	// complete puts a restriction or objection into effect first, for the
	// purposes ticked (a restriction without any: every purpose).
	"complete": func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		if err := r.ParseForm(); err != nil {
			return dsr.Request{}, errs.Invalid("purpose", "cannot read the form")
		}
		if purposes := r.PostForm["purpose"]; len(purposes) > 0 {
			return c.Requests.CompleteWith(r.Context(), id, purposes)
		}
		return c.Requests.Complete(r.Context(), id, "")
	},
	// lift ends a restriction of the request's customer (audited as the
	// staff member): the one purpose given, or all.
	"lift": func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		req, err := c.Requests.Get(r.Context(), id)
		if err != nil {
			return req, err
		}
		if req.SubjectID == "" {
			return req, errs.New(errs.CodeConflict, "request %s names no customer, so nothing of theirs is restricted", id)
		}
		return req, c.Consent.Lift(r.Context(), req.SubjectID, r.PostFormValue("purpose"))
	},
	"reject": func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		return c.Requests.Reject(r.Context(), id, strings.TrimSpace(r.PostFormValue("note")))
	},
	"extend": func(c *Console, r *http.Request, id string) (dsr.Request, error) {
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
	"attach": func(c *Console, r *http.Request, id string) (dsr.Request, error) {
		return c.Requests.AttachSubject(r.Context(), id, strings.TrimSpace(r.PostFormValue("subject")))
	},
}

// HandleRequestAction applies one transition; a refused one shows the
// request again with the reason.
func (c *Console) HandleRequestAction() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, action := r.PathValue("id"), r.PathValue("action")
		apply, ok := requestActions[action]
		if !ok {
			c.fail(w, r, errs.NotFound("action", action))
			return
		}
		if _, err := apply(c, r, id); err != nil {
			if e, ok := errs.As(err); ok && (e.Code == errs.CodeConflict || e.Code == errs.CodeInvalid) {
				c.showRequest(w, r, httpx.Status(err), id, page{Problem: e.Message, Fields: e.Fields})
				return
			}
			c.fail(w, r, err)
			return
		}
		if c.AfterRequestAction != nil {
			c.AfterRequestAction(r.Context(), action, id)
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

type jobsData struct {
	Jobs []jobs.Record
	Next string
}

// HandleJobs lists background jobs, newest first, with their errors.
func (c *Console) HandleJobs() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.Jobs == nil {
			c.fail(w, r, errs.New(errs.CodeUnavailable, "background jobs are not running on this server"))
			return
		}
		list, err := c.Jobs.List(r.Context(), jobs.Filter{Limit: 100, After: r.URL.Query().Get("after")})
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusOK, "jobs", page{Title: "Background jobs", Data: jobsData{Jobs: list.Jobs, Next: list.Next}})
	})
}

// HandleJobAction retries or cancels a job; the act is recorded.
func (c *Console) HandleJobAction() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.Jobs == nil {
			c.fail(w, r, errs.New(errs.CodeUnavailable, "background jobs are not running on this server"))
			return
		}
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			c.fail(w, r, errs.Invalid("id", "must be a job number"))
			return
		}
		op := r.PathValue("op")
		if op != "retry" && op != "cancel" {
			c.fail(w, r, errs.NotFound("action", op))
			return
		}
		if _, err := c.Audit.Append(r.Context(), audit.Entry{Actor: actor(r), Action: "job." + op,
			Target: audit.Target{Kind: "job", ID: strconv.FormatInt(id, 10)}}); err != nil {
			c.fail(w, r, errs.Wrap(errs.CodeUnavailable, err, "the audit log cannot be written, so the job is left alone"))
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
