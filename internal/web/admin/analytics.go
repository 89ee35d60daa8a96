package admin

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/steward-dev/steward/internal/analytics"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/staff"
)

type analyticsData struct {
	Filter   analytics.Filter
	From, To string
	Report   *analytics.Report
	// The charts, each with its table in the template.
	Series, Breakdown template.HTML
	Changes           []noticeChangeView
	// The filter's choices.
	Purposes, Properties, Notices, Sources, Dimensions []option
	// ByName says the breakdown's dimension; Name a group's key.
	ByName string
	Names  map[string]string
	// purposeNames say purposes in the notice tables.
	purposeNames map[string]string
	CSV          string
	CanRebuild   bool
}

type noticeChangeView struct {
	analytics.NoticeChange
	Chart template.HTML
}

// Name is how the page says a key of the breakdown.
func (d *analyticsData) Name(key string) string { return cmp.Or(d.Names[key], key) }

// PurposeName is how the page says a purpose.
func (d *analyticsData) PurposeName(key string) string { return cmp.Or(d.purposeNames[key], key) }

// HandleAnalytics shows how people choose: shares over time, by a
// dimension, and around notice changes, for the filter of the query
// string, from the rollups (counts only, never a person).
func (c *Console) HandleAnalytics() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.analyticsPage(w, r, http.StatusOK, page{})
	})
}

// report reads the report of the request's filter; problems are the
// fields at fault, said in the request's language.
func (c *Console) report(r *http.Request) (*analytics.Report, map[string]string, error) {
	f, problems := analytics.ParseFilter(r.URL.Query(), c.Now())
	notices, err := c.Consent.Notices(r.Context())
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(notices, func(a, b consent.Notice) int { return cmp.Compare(a.Ordinal, b.Ordinal) })
	var order []string
	for _, n := range notices {
		if n.Ordinal > 0 {
			order = append(order, n.Version)
		}
	}
	report, err := c.Analytics.Query(r.Context(), f, order)
	if err != nil {
		return nil, nil, err
	}
	var fields map[string]string
	for field, problem := range problems {
		if fields == nil {
			fields = map[string]string{}
		}
		fields[say(r, "an_field_"+field)] = say(r, "an_problem_"+problem)
	}
	return report, fields, nil
}

func (c *Console) analyticsPage(w http.ResponseWriter, r *http.Request, status int, p page) {
	report, fields, err := c.report(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if fields != nil {
		p.Problem, p.Fields = say(r, "an_problem"), fields
		status = http.StatusBadRequest
	}
	f := report.Filter
	lang := languageOf(r)
	d := &analyticsData{Filter: f, From: f.From.Format("2006-01-02"), To: f.To.Format("2006-01-02"), Report: report,
		Names: map[string]string{}, purposeNames: map[string]string{}, CSV: "/admin/analytics.csv?" + f.Query().Encode()}
	if s := sessionOf(r); s != nil {
		d.CanRebuild = s.Account.Role.Can(staff.PermSettings)
	}
	for _, pu := range c.Consent.Purposes() {
		name := cmp.Or(pu.Names[lang], pu.Names["en"], pu.Key)
		d.Purposes = append(d.Purposes, option{pu.Key, name})
		d.purposeNames[pu.Key] = name
		if f.By == analytics.ByPurpose {
			d.Names[pu.Key] = name
		}
	}
	for _, pr := range c.Consent.Properties() {
		d.Properties = append(d.Properties, option{pr.Key, pr.Name})
		if f.By == analytics.ByProperty {
			d.Names[pr.Key] = pr.Name
		}
	}
	if notices, err := c.Consent.Notices(r.Context()); err == nil {
		for _, n := range notices {
			if n.Ordinal > 0 {
				d.Notices = append(d.Notices, option{n.Version, n.Version})
			}
		}
	}
	for _, s := range analytics.Sources {
		d.Sources = append(d.Sources, option{s, say(r, "an_source_"+s)})
		if f.By == analytics.BySource {
			d.Names[s] = say(r, "an_source_"+s)
		}
	}
	if f.By == analytics.BySource {
		for _, g := range report.Breakdown {
			if id, ok := consent.Source(g.Key).FormID(); ok {
				d.Names[g.Key] = say(r, "an_source_form", "id", id)
			}
		}
	}
	for _, dim := range analytics.Dimensions {
		d.Dimensions = append(d.Dimensions, option{string(dim), say(r, "an_by_"+string(dim))})
	}
	d.ByName = say(r, "an_by_"+string(f.By))
	legend := analytics.Legend{Grant: say(r, "an_grant"), Deny: say(r, "an_deny"), Withdraw: say(r, "an_withdraw"), Object: say(r, "an_object")}
	t := report.Total
	total := strconv.FormatInt(t.Total(), 10)
	if t.Small {
		total = analytics.SmallLabel()
	}
	period := say(r, "an_every_"+string(f.Every))
	d.Series = analytics.SeriesChart(report.Series, analytics.Chart{ID: "an-series", Title: say(r, "an_series_h", "period", period),
		Desc: say(r, "an_series_desc", "from", d.From, "to", d.To, "n", total,
			"grant", analytics.Share(t.GrantShare()), "deny", analytics.Share(t.DenialShare()), "withdraw", analytics.Share(t.WithdrawalShare()))}, legend)
	desc := say(r, "an_breakdown_none")
	if len(report.Breakdown) > 0 {
		top := report.Breakdown[0]
		desc = say(r, "an_breakdown_desc", "n", strconv.Itoa(len(report.Breakdown)), "top", d.Name(top.Key), "grant", analytics.Share(top.GrantShare()))
	}
	d.Breakdown = analytics.BreakdownChart(report.Breakdown, d.Name, analytics.Chart{ID: "an-breakdown", Title: say(r, "an_breakdown_h", "by", d.ByName), Desc: desc}, legend)
	purposeName := d.PurposeName
	for i, ch := range report.Changes {
		var parts []string
		for _, e := range ch.Purposes {
			share := func(c analytics.Counts) string {
				if c.Small {
					return analytics.SmallLabel()
				}
				return analytics.Share(c.GrantShare()) + " %"
			}
			if e.Known() {
				parts = append(parts, fmt.Sprintf("%s %s → %s %%", purposeName(e.Purpose), analytics.Share(e.Before.GrantShare()), analytics.Share(e.After.GrantShare())))
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %s → %s", purposeName(e.Purpose), share(e.Before), share(e.After)))
		}
		d.Changes = append(d.Changes, noticeChangeView{NoticeChange: ch, Chart: analytics.NoticeChart(ch, purposeName,
			analytics.Chart{ID: "an-notice-" + strconv.Itoa(i), Title: say(r, "an_notice_chart", "from", ch.From, "to", ch.To),
				Desc: say(r, "an_notice_desc", "figures", strings.Join(parts, "; "))},
			say(r, "an_under", "version", ch.From), say(r, "an_under", "version", ch.To))})
	}
	p.Title, p.Data = "title_analytics", d
	c.render(w, r, status, "analytics", p)
}

// HandleAnalyticsCSV exports the figures of the page for the same filter.
func (c *Console) HandleAnalyticsCSV() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		report, fields, err := c.report(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if fields != nil {
			c.analyticsPage(w, r, http.StatusBadRequest, page{})
			return
		}
		var buf bytes.Buffer
		if err := analytics.WriteCSV(&buf, report); err != nil {
			c.fail(w, r, err)
			return
		}
		f := report.Filter
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="consent-analytics-`+f.From.Format("2006-01-02")+`-`+f.To.Format("2006-01-02")+`.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(buf.Bytes())
	})
}

// HandleRebuildAnalytics recomputes the rollups from the ledger
// (administrators) and shows the page with what it wrote.
func (c *Console) HandleRebuildAnalytics() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := c.Analytics.Rebuild(r.Context())
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.analyticsPage(w, r, http.StatusOK, page{Notice: say(r, "an_rebuilt", "cells", strconv.FormatInt(res.Cells, 10),
			"n", strconv.FormatInt(res.Events, 10), "took", res.Took.Round(1e6).String())})
	})
}
