package admin

import (
	"net/http"
	"time"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/review"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// accessReviewsData is the list of access reviews, with where they stand.
type accessReviewsData struct {
	Schedule review.Schedule
	// DueLast is the last day of the due quarter (its End is the next
	// quarter's first instant).
	DueLast time.Time
	Reviews []review.Review
	// Quarters are those a review may be opened for now: the current one
	// and an overdue one, without a review yet.
	Quarters []string
	Quarter  string
}

func (c *Console) accessReviewsPage(w http.ResponseWriter, r *http.Request, status int, p page, quarter string) {
	ctx := r.Context()
	d := &accessReviewsData{Quarter: quarter}
	var err error
	if d.Schedule, err = c.Reviews.Schedule(ctx); err != nil {
		c.fail(w, r, err)
		return
	}
	if d.Reviews, err = c.Reviews.List(ctx); err != nil {
		c.fail(w, r, err)
		return
	}
	d.DueLast = d.Schedule.DueBy.Add(-time.Second)
	opened := map[string]bool{}
	for _, rv := range d.Reviews {
		opened[rv.Quarter] = true
	}
	if q := d.Schedule.Overdue; q != nil && !opened[q.String()] {
		d.Quarters = append(d.Quarters, q.String())
	}
	if q := d.Schedule.Current.String(); !opened[q] {
		d.Quarters = append(d.Quarters, q)
	}
	p.Title, p.Data = "title_access_reviews", d
	c.render(w, r, status, "access_reviews", p)
}

// HandleAccessReviews lists the quarterly access reviews, says which is
// due next and by when, and offers to open the quarter's.
func (c *Console) HandleAccessReviews() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.accessReviewsPage(w, r, http.StatusOK, page{}, "")
	})
}

// HandleOpenAccessReview opens a quarter's review and shows it.
func (c *Console) HandleOpenAccessReview() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		quarter := r.PostFormValue("quarter")
		rv, err := c.Reviews.Open(r.Context(), actor(r), quarter)
		if e, ok := errs.As(err); ok && (e.Code == errs.CodeInvalid || e.Code == errs.CodeConflict) {
			c.accessReviewsPage(w, r, httpx.Status(err), page{Problem: message(r, e), Fields: fieldMessages(r, e)}, quarter)
			return
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.accessReviewPage(w, r, http.StatusOK, page{Notice: say(r, "ar_opened_notice", "quarter", rv.Quarter)}, rv.ID)
	})
}

// accessReviewData is one review with the words its page needs.
type accessReviewData struct {
	Review review.Review
	Roles  []staff.Role
	// Names are staff names by audit actor ("staff:stf_…"), for who
	// opened, decided and closed.
	Names map[string]string
}

func (c *Console) accessReviewPage(w http.ResponseWriter, r *http.Request, status int, p page, id string) {
	ctx := r.Context()
	rv, err := c.Reviews.Get(ctx, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	accounts, err := c.Staff.List(ctx)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d := &accessReviewData{Review: rv, Roles: staff.Roles, Names: map[string]string{}}
	for _, a := range accounts {
		d.Names["staff:"+a.ID] = a.Name
	}
	p.Title, p.Data = say(r, "title_access_review", "quarter", rv.Quarter), d
	c.render(w, r, status, "access_review", p)
}

// HandleAccessReview shows one review: every account with its role, last
// sign-in and training, and a form per account still to decide.
func (c *Console) HandleAccessReview() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.accessReviewPage(w, r, http.StatusOK, page{}, r.PathValue("id"))
	})
}

// HandleAccessReviewDecision records the decision on one account:
// confirm, change its role, or disable it.
func (c *Console) HandleAccessReviewDecision() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, staffID := r.PathValue("id"), r.PathValue("staff")
		err := c.Reviews.Decide(r.Context(), actor(r), id, staffID, review.Decision{Kind: r.PostFormValue("decision"), Role: staff.Role(r.PostFormValue("role"))})
		if e, ok := errs.As(err); ok && (e.Code == errs.CodeInvalid || e.Code == errs.CodeConflict) {
			c.accessReviewPage(w, r, httpx.Status(err), page{Problem: message(r, e), Fields: fieldMessages(r, e)}, id)
			return
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		name := staffID
		if a, err := c.Staff.Get(r.Context(), staffID); err == nil {
			name = a.Name
		}
		c.accessReviewPage(w, r, http.StatusOK, page{Notice: say(r, "ar_decided_notice", "name", name)}, id)
	})
}

// HandleCloseAccessReview closes a review whose accounts are all decided.
func (c *Console) HandleCloseAccessReview() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		err := c.Reviews.Close(r.Context(), actor(r), id)
		if e, ok := errs.As(err); ok && e.Code == errs.CodeConflict {
			c.accessReviewPage(w, r, httpx.Status(err), page{Problem: message(r, e)}, id)
			return
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		rv, err := c.Reviews.Get(r.Context(), id)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.accessReviewPage(w, r, http.StatusOK, page{Notice: say(r, "ar_closed_notice", "quarter", rv.Quarter)}, id)
	})
}
