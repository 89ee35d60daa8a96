package admin

import (
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/retention"
)

// HandlePlaceHold places a legal hold on the customer, for the reason staff
// give, and shows the customer's page again: retention keeps all of the
// customer's data until the hold is lifted. Audited as the staff member.
func (c *Console) HandlePlaceHold() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		subject, reason := r.PathValue("id"), strings.TrimSpace(r.PostFormValue("reason"))
		if problem := checkHoldReason(r, reason); problem != "" {
			c.customerAfterHold(w, r, subject, http.StatusBadRequest, page{Problem: say(r, "rh_not_placed"), Fields: map[string]string{"reason": problem}}, reason)
			return
		}
		if _, err := c.Retention.PlaceHold(r.Context(), subject, reason); err != nil {
			if errs.CodeOf(err) == errs.CodeConflict {
				c.customerAfterHold(w, r, subject, http.StatusConflict, page{Problem: say(r, "rh_already_held")}, "")
				return
			}
			c.fail(w, r, err)
			return
		}
		c.customerAfterHold(w, r, subject, http.StatusOK, page{Notice: say(r, "rh_placed")}, "")
	})
}

// HandleLiftHold lifts the customer's open legal hold: retention applies to
// their data again at its next run. Audited as the staff member.
func (c *Console) HandleLiftHold() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		subject := r.PathValue("id")
		if _, err := c.Retention.LiftHold(r.Context(), subject); err != nil {
			if errs.CodeOf(err) == errs.CodeNotFound {
				c.customerAfterHold(w, r, subject, http.StatusNotFound, page{Problem: say(r, "rh_none_open")}, "")
				return
			}
			c.fail(w, r, err)
			return
		}
		c.customerAfterHold(w, r, subject, http.StatusOK, page{Notice: say(r, "rh_lifted")}, "")
	})
}

// checkHoldReason says, in the page's language, what is wrong with a
// hold's reason ("" when nothing is); the retention package checks again.
func checkHoldReason(r *http.Request, reason string) string {
	switch {
	case reason == "":
		return say(r, "rh_reason_needed")
	case utf8.RuneCountInString(reason) > retention.MaxReason || strings.ContainsFunc(reason, unicode.IsControl):
		return say(r, "rh_reason_shape")
	case emailLike.MatchString(reason):
		return say(r, "cu_no_personal_data")
	}
	return ""
}

// customerAfterHold shows the customer's page after a hold was placed or
// lifted (or refused), with p's notice or problem.
func (c *Console) customerAfterHold(w http.ResponseWriter, r *http.Request, subject string, status int, p page, reason string) {
	d, err := c.customer(r, subject)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d.HoldReason = reason
	p.Title, p.Data = say(r, "title_customer", "id", subject), d
	c.render(w, r, status, "customer", p)
}

// retentionData is the retention page: the latest runs and their reports.
type retentionData struct {
	Runs []retention.Report
}

// HandleRetention lists the latest retention runs with their reports:
// counts per system, table and category, never a customer.
func (c *Console) HandleRetention() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs, err := c.Retention.Runs(r.Context(), time.Time{}, 30)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusOK, "retention", page{Title: "title_retention", Data: &retentionData{Runs: runs}})
	})
}
