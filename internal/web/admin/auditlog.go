package admin

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/errs"
)

type auditData struct {
	Actor, Action, Subject, Since, Until string
	Entries                              []audit.Stored
	Next                                 string // the query string of the next page
	Names                                names
	// Actions are the registered actions, offered as the filter's
	// choices; an entry's action is shown with its description.
	Actions []audit.ActionInfo
}

// ActionHelp is what an action records, from the registry; "" for an
// action no longer registered (written by an older version).
func (auditData) ActionHelp(action string) string { return audit.ActionDescription(action) }

// HandleAudit searches the audit log by actor, action, subject and time,
// newest first, a page at a time.
func (c *Console) HandleAudit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query()
		d := auditData{Actor: strings.TrimSpace(v.Get("actor")), Action: strings.TrimSpace(v.Get("action")),
			Subject: strings.TrimSpace(v.Get("subject")), Since: v.Get("since"), Until: v.Get("until"), Actions: audit.Actions()}
		q, problems := d.query(r, v.Get("before"))
		if len(problems) > 0 {
			c.render(w, r, http.StatusBadRequest, "audit", page{Title: "title_audit", Problem: say(r, "au_check"), Fields: problems, Data: d})
			return
		}
		p, err := c.Audit.Search(r.Context(), q)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d.Entries, d.Names = p.Entries, c.names(r)
		if p.Next > 0 {
			next := url.Values{}
			for k, val := range map[string]string{"actor": d.Actor, "action": d.Action, "subject": d.Subject, "since": d.Since, "until": d.Until} {
				if val != "" {
					next.Set(k, val)
				}
			}
			next.Set("before", strconv.FormatInt(p.Next, 10))
			d.Next = next.Encode()
		}
		c.render(w, r, http.StatusOK, "audit", page{Title: "title_audit", Data: d})
	})
}

// dateLayout is what an <input type=date> sends.
const dateLayout = "2006-01-02"

func (d auditData) query(r *http.Request, before string) (audit.Query, map[string]string) {
	problems := map[string]string{}
	q := audit.Query{Action: d.Action, Limit: 100}
	if d.Actor != "" {
		kind, id, _ := strings.Cut(d.Actor, ":")
		q.Actor = audit.Actor{Kind: kind, ID: id}
	}
	if d.Subject != "" {
		q.Target = audit.Subject(d.Subject)
	}
	var err error
	if d.Since != "" {
		if q.Since, err = time.Parse(dateLayout, d.Since); err != nil {
			problems["since"] = say(r, "au_must_be_date")
		}
	}
	if d.Until != "" {
		if q.Until, err = time.Parse(dateLayout, d.Until); err != nil {
			problems["until"] = say(r, "au_must_be_date")
		}
		q.Until = q.Until.AddDate(0, 0, 1) // through the end of that day
	}
	if before != "" {
		if q.Before, err = strconv.ParseInt(before, 10, 64); err != nil || q.Before < 0 {
			problems["before"] = say(r, "au_must_be_seq")
		}
	}
	if e, ok := errs.As(validateQuery(r, q)); ok {
		for k, v := range e.Fields {
			problems[k] = v
		}
	}
	return q, problems
}

// validateQuery checks the parts of q that Search would refuse, so that
// the page can name the field.
func validateQuery(r *http.Request, q audit.Query) error {
	problems := map[string]string{}
	switch q.Actor.Kind {
	case "", audit.KindStaff, audit.KindAPIKey, audit.KindSystem, audit.KindSubject:
	default:
		problems["actor"] = say(r, "au_actor_kind")
	}
	if len(q.Action) > 128 {
		problems["action"] = say(r, "au_action_length")
	}
	if len(problems) > 0 {
		return errs.Fields(problems)
	}
	return nil
}
