package admin

import (
	"net/http"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/report"
	"github.com/steward-dev/steward/internal/web/httpx"
)

type monthlyReportData struct {
	Month  string
	Report *report.Report
	// Print is the view made to be printed: no forms, no links but back.
	Print bool
}

// monthlyReportMonth is the month a report page asks for: ?month=, else the
// month before this one (the last complete month).
func (c *Console) monthlyReportMonth(r *http.Request) (string, report.Month, error) {
	raw := r.URL.Query().Get("month")
	if raw == "" {
		m := report.MonthOf(c.Now()).Prev()
		return m.String(), m, nil
	}
	m, err := report.ParseMonth(raw)
	return raw, m, err
}

func (c *Console) monthlyReportPage(print bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, month, err := c.monthlyReportMonth(r)
		d := &monthlyReportData{Month: raw, Print: print}
		p := page{Title: say(r, "title_monthly_report", "month", raw), Data: d}
		if err == nil {
			var rep report.Report
			if rep, err = c.Reports.Monthly(r.Context(), month); err == nil {
				d.Report = &rep
			}
		}
		if e, ok := errs.As(err); ok && e.Code == errs.CodeInvalid {
			p.Problem, p.Fields = message(r, e), fieldMessages(r, e)
			d.Print = false
			c.render(w, r, httpx.Status(err), "monthly_report", p)
			return
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusOK, "monthly_report", p)
	})
}

// HandleMonthlyReport shows the monthly report of ?month= (the last
// complete month by default), with links to its print view and to the
// signed JSON.
func (c *Console) HandleMonthlyReport() http.Handler { return c.monthlyReportPage(false) }

// HandleMonthlyReportPrint shows the monthly report made to be printed.
func (c *Console) HandleMonthlyReportPrint() http.Handler { return c.monthlyReportPage(true) }

// HandleMonthlyReportJSON downloads the signed monthly report:
// {"jws": ..., "document": ...}, checked with `steward report verify`.
func (c *Console) HandleMonthlyReportJSON() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, month, err := c.monthlyReportMonth(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		signed, err := c.Reports.Signed(r.Context(), month)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Disposition", `attachment; filename="steward-report-`+month.String()+`.json"`)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(signed.Body)
	})
}
