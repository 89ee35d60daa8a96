package admin

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// reviewForm is what the review page's forms sent, to show it again when
// it is refused.
type reviewForm struct {
	WhatFailed, Controls     string
	Areas                    []string
	ActionTitle, Owner, Due  string
	Texts                    map[string]incident.AccountText
	filledReview, filledText bool
}

// accountPreview is the public account as it would be published.
type accountPreview struct {
	incident.Account
	// Fallback are the languages shown in English.
	Fallback                  []string
	Categories, Jurisdictions []countLine
}

// reviewData is the review page of an incident: the post-incident review,
// its actions, and the public account.
type reviewData struct {
	Incident incident.Incident
	// Review is nil until one is written.
	Review    *incident.Review
	Areas     []string
	Owners    []staff.Account
	OwnerName map[string]string
	Languages []string
	// Set is the latest affected set, nil until one is computed: the
	// account gives its counts.
	Set       *incident.Set
	Versions  []incident.Account
	Published bool
	Preview   *accountPreview
	Form      reviewForm
	Now       time.Time
}

// HandleIncidentReview shows the review page.
func (c *Console) HandleIncidentReview() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		notice := ""
		if key := r.URL.Query().Get("done"); slices.Contains([]string{"reviewed", "action", "action_done", "published", "withdrawn"}, key) {
			notice = say(r, "rv_done_"+key)
		}
		c.reviewPage(w, r, http.StatusOK, page{Notice: notice}, reviewForm{}, nil)
	})
}

func (c *Console) reviewPage(w http.ResponseWriter, r *http.Request, status int, p page, form reviewForm, preview *accountPreview) {
	ctx, id := r.Context(), r.PathValue("id")
	inc, err := c.Incidents.Get(ctx, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d := &reviewData{Incident: inc, Areas: incident.ControlAreas, Languages: incident.AccountLanguages, OwnerName: map[string]string{},
		Preview: preview, Now: c.Now()}
	switch review, err := c.Incidents.ReviewOf(ctx, id); {
	case err == nil:
		d.Review = &review
	case !errs.Is(err, errs.CodeNotFound):
		c.fail(w, r, err)
		return
	}
	accounts, err := c.Staff.List(ctx)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	for _, a := range accounts {
		d.OwnerName[a.ID] = a.Name
		if !a.Disabled {
			d.Owners = append(d.Owners, a)
		}
	}
	switch set, err := c.Incidents.LatestSet(ctx, id); {
	case err == nil:
		d.Set = set
	case !errs.Is(err, errs.CodeNotFound):
		c.fail(w, r, err)
		return
	}
	if d.Versions, err = c.Incidents.Accounts(ctx, id); err != nil {
		c.fail(w, r, err)
		return
	}
	d.Published = len(d.Versions) > 0 && d.Versions[0].WithdrawnAt == nil
	if !form.filledReview && d.Review != nil {
		form.WhatFailed, form.Controls, form.Areas = d.Review.WhatFailed, d.Review.Controls, d.Review.Areas
	}
	if !form.filledText && len(d.Versions) > 0 {
		form.Texts = d.Versions[0].Texts
	}
	if form.Texts == nil {
		form.Texts = map[string]incident.AccountText{}
	}
	d.Form = form
	p.Title, p.Data = say(r, "title_incident_review", "id", inc.ID), d
	c.render(w, r, status, "incident_review", p)
}

// HandleSaveReview writes the review from its form.
func (c *Console) HandleSaveReview() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form := reviewForm{WhatFailed: r.PostFormValue("what_failed"), Controls: r.PostFormValue("controls"), Areas: r.PostForm["areas"], filledReview: true}
		_, err := c.Incidents.SaveReview(r.Context(), r.PathValue("id"), incident.ReviewInput{WhatFailed: form.WhatFailed, Controls: form.Controls, Areas: form.Areas})
		c.afterReviewChange(w, r, err, form, "reviewed")
	})
}

// HandleAddReviewAction adds a follow-up action from its form.
func (c *Console) HandleAddReviewAction() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form := reviewForm{ActionTitle: r.PostFormValue("title"), Owner: r.PostFormValue("owner"), Due: r.PostFormValue("due")}
		_, err := c.Incidents.AddReviewAction(r.Context(), r.PathValue("id"), incident.ActionInput{Title: form.ActionTitle, Owner: form.Owner, Due: form.Due})
		c.afterReviewChange(w, r, err, form, "action")
	})
}

// HandleCompleteReviewAction marks an action done, by an officer.
func (c *Console) HandleCompleteReviewAction() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := c.Incidents.CompleteReviewAction(r.Context(), r.PathValue("id"), r.PathValue("action"))
		c.afterReviewChange(w, r, err, reviewForm{}, "action_done")
	})
}

// readAccountForm reads the public account's texts, by language.
func readAccountForm(r *http.Request) reviewForm {
	form := reviewForm{Texts: map[string]incident.AccountText{}, filledText: true}
	for _, lang := range incident.AccountLanguages {
		t := incident.AccountText{Title: r.PostFormValue(lang + ".title"), Happened: r.PostFormValue(lang + ".happened"),
			Done: r.PostFormValue(lang + ".done"), Outcome: r.PostFormValue(lang + ".outcome")}
		if strings.TrimSpace(t.Title+t.Happened+t.Done+t.Outcome) != "" {
			form.Texts[lang] = t
		}
	}
	return form
}

// HandlePreviewAccount shows the account as it would be published, with
// the form to publish it or change it; nothing is published.
func (c *Console) HandlePreviewAccount() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form := readAccountForm(r)
		a, err := c.Incidents.PreviewAccount(r.Context(), r.PathValue("id"), incident.AccountInput{Texts: form.Texts})
		if err != nil {
			c.afterReviewChange(w, r, err, form, "")
			return
		}
		preview := &accountPreview{Account: a, Categories: counts(a.ByCategory), Jurisdictions: counts(a.ByJurisdiction)}
		for _, lang := range incident.AccountLanguages {
			if _, fallback := a.Text(lang); fallback {
				preview.Fallback = append(preview.Fallback, words(lang)["lang_name"])
			}
		}
		c.reviewPage(w, r, http.StatusOK, page{Notice: say(r, "rv_preview_notice")}, form, preview)
	})
}

// HandlePublishAccount publishes the account's texts as a new version.
func (c *Console) HandlePublishAccount() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form := readAccountForm(r)
		_, err := c.Incidents.Publish(r.Context(), r.PathValue("id"), incident.AccountInput{Texts: form.Texts})
		c.afterReviewChange(w, r, err, form, "published")
	})
}

// HandleWithdrawAccount takes the account off the public pages.
func (c *Console) HandleWithdrawAccount() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := c.Incidents.Withdraw(r.Context(), r.PathValue("id"))
		c.afterReviewChange(w, r, err, reviewForm{}, "withdrawn")
	})
}

// HandleCompleteMyAction marks an action done from the dashboard: by its
// owner, or by a staff member who handles incidents.
func (c *Console) HandleCompleteMyAction() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, session := r.Context(), sessionOf(r)
		a, err := c.Incidents.ReviewAction(ctx, r.PathValue("action"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if a.Owner != session.Account.ID && !session.Account.Role.Can(staff.PermIncidents) {
			c.fail(w, r, errs.New(errs.CodeForbidden, "only its owner or a security officer marks this action done").Keyed("review_action_not_yours"))
			return
		}
		if _, err := c.Incidents.CompleteReviewAction(ctx, a.IncidentID, a.ID); err != nil {
			c.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/admin?done=action", http.StatusSeeOther)
	})
}

// afterReviewChange redirects to the review page after a change, or shows
// it again with what was refused and what to do.
func (c *Console) afterReviewChange(w http.ResponseWriter, r *http.Request, err error, form reviewForm, done string) {
	if err == nil {
		http.Redirect(w, r, "/admin/incidents/"+r.PathValue("id")+"/review?done="+done, http.StatusSeeOther)
		return
	}
	e, ok := errs.As(err)
	if !ok || (e.Code != errs.CodeInvalid && e.Code != errs.CodeConflict && e.Code != errs.CodeNotFound) {
		c.fail(w, r, err)
		return
	}
	p := page{Problem: say(r, "in_not_saved")}
	if e.Code != errs.CodeInvalid {
		p.Problem = message(r, e)
	}
	if fields := fieldMessages(r, e); len(fields) > 0 {
		p.Fields = map[string]string{}
		for field, text := range fields {
			p.Fields[reviewLabel(r, field)] = text
		}
	}
	c.reviewPage(w, r, httpx.Status(err), p, form, nil)
}

// reviewLabel names a field of the review page's forms in the page's
// language: "texts.de.title" is "Deutsch · Title".
func reviewLabel(r *http.Request, field string) string {
	if rest, ok := strings.CutPrefix(field, "texts."); ok {
		lang, part, _ := strings.Cut(rest, ".")
		name := lang
		if i18n.Default().Has(lang) {
			name = words(lang)["lang_name"]
		}
		if part == "" {
			return name
		}
		return name + " · " + say(r, "rv_label_account_"+part)
	}
	if slices.Contains([]string{"what_failed", "controls", "areas", "title", "owner", "due"}, field) {
		return say(r, "rv_label_"+field)
	}
	return field
}
