package admin

// Vendor pages of the console: the vendors of the catalog with whether
// each may receive data, and for one vendor its purposes, categories,
// country, contacts, assessment history and the state of its disclosures;
// sending a questionnaire (the link is shown once), reviewing submitted
// answers and signing them off. The handlers take the vendor service as
// an argument, so that the console's Deps need not change; the lead adds
// these routes to internal/web/routes.go, all with
// StaffCan(staff.PermVendors) (security officers), vendors being
// internal/assurance's *assurance.Service:
//
//	{"GET /admin/vendors", StaffCan(staff.PermVendors), s.console(func(c *admin.Console) http.Handler { return c.HandleVendors(vendors) })},
//	{"GET /admin/vendors/{key}", ..., c.HandleVendor(vendors)},
//	{"POST /admin/vendors/{key}/send", ..., c.HandleSendQuestionnaire(vendors)},
//	{"POST /admin/vendors/{key}/contacts", ..., c.HandleAddContact(vendors)},
//	{"POST /admin/vendors/{key}/contacts/reveal", ..., c.HandleRevealContacts(vendors)},
//	{"POST /admin/vendors/{key}/contacts/{id}/remove", ..., c.HandleRemoveContact(vendors)},
//	{"GET /admin/vendors/{key}/assessments/{id}", ..., c.HandleAssessment(vendors)},
//	{"POST /admin/vendors/{key}/assessments/{id}/review", ..., c.HandleReviewAssessment(vendors)},
//	{"POST /admin/vendors/{key}/assessments/{id}/revoke", ..., c.HandleRevokeAssessment(vendors)},
//
// and a link in templates/layout.html's navigation:
//
//	{{if can . "vendors"}}<li><a href="/admin/vendors">Vendors</a></li>{{end}}
//
// Console.Require checks the session, the permission and the CSRF token of
// every form; the vendor service records each act in the audit log under
// the signed-in staff member, and refuses to act if it cannot.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/assurance"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/disclosure"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// vendorRow is one vendor of the list.
type vendorRow struct {
	Vendor    consent.Vendor
	Assurance assurance.Assurance
	// Gated: the decision engine's gate holds the vendor back (no current
	// passing assessment): the banner does not offer it, decisions naming
	// it are refused.
	Gated bool
}

// HandleVendors lists the vendors of the catalog with whether each may
// receive data now, and why not.
func (c *Console) HandleVendors() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list := c.Consent.Vendors()
		rows := make([]vendorRow, len(list))
		for i, ven := range list {
			// One query per vendor: vendors are tens, not thousands.
			a, err := c.Vendors.Assurance(r.Context(), ven.Key)
			if err != nil {
				c.fail(w, r, err)
				return
			}
			rows[i] = vendorRow{Vendor: ven, Assurance: a, Gated: !c.Consent.VendorAssessed(ven.Key)}
		}
		c.render(w, r, http.StatusOK, "vendors", page{Title: "title_vendors", Data: rows})
	})
}

// sendForm is what the send form was filled with.
type sendForm struct {
	Template string
	Email    string
	Days     string
}

// vendorData is the vendor page.
type vendorData struct {
	Vendor    consent.Vendor
	Assurance assurance.Assurance
	// Gated: see vendorRow.
	Gated    bool
	History  []historyRow
	Contacts []assurance.Contact
	// Revealed is set when Contacts hold names and addresses.
	Revealed  bool
	Templates []assurance.Template
	Form      sendForm
	// Link is the questionnaire link just sent, shown once.
	Link string
	// LinkExpires is when Link stops working.
	LinkExpires time.Time
	// Disclosed is what went ahead to the vendor, newest first.
	Disclosed []disclosure.Disclosure
}

// historyRow is one assessment of the history.
type historyRow struct {
	A     assurance.Assessment
	Score string
}

// scoreText shows a score for the console.
func scoreText(sc *assurance.Score) string {
	if sc == nil {
		return "—"
	}
	verdict := "passed"
	if !sc.Passed {
		verdict = "not passed"
		if len(sc.MustPassFailed) > 0 {
			verdict += ", must-pass failed: " + strings.Join(sc.MustPassFailed, ", ")
		}
	}
	return fmt.Sprintf("%d%% (pass mark %d%%), %s", sc.Percent, sc.PassMark, verdict)
}

// showVendor renders the vendor page, with d's form, link and contacts
// kept.
func (c *Console) showVendor(w http.ResponseWriter, r *http.Request, status int, p page, d vendorData) {
	key := r.PathValue("key")
	ven, err := c.Consent.Vendor(key)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	ctx := r.Context()
	current, err := c.Vendors.Assurance(ctx, key)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	history, err := c.Vendors.History(ctx, key)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	templates, err := c.Vendors.Templates(ctx)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if !d.Revealed {
		if d.Contacts, err = c.Vendors.Contacts(ctx, key); err != nil {
			c.fail(w, r, err)
			return
		}
	}
	d.Vendor, d.Assurance, d.Templates = ven, current, templates
	d.Gated = !c.Consent.VendorAssessed(key)
	if c.Disclosures != nil {
		if d.Disclosed, err = c.Disclosures.ForVendor(ctx, key); err != nil {
			c.fail(w, r, err)
			return
		}
	}
	for _, a := range history {
		d.History = append(d.History, historyRow{A: a, Score: scoreText(a.Score)})
	}
	if d.Form.Template == "" {
		d.Form.Template = assurance.SecurityBaseline
	}
	if d.Form.Days == "" {
		d.Form.Days = strconv.Itoa(int(assurance.DefaultLinkLifetime / (24 * time.Hour)))
	}
	p.Title, p.Data = ven.Name, d
	c.render(w, r, status, "vendor", p)
}

// HandleVendor shows one vendor: what it receives, whether it may, its
// contacts (masked) and its assessments.
func (c *Console) HandleVendor() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.showVendor(w, r, http.StatusOK, page{}, vendorData{})
	})
}

// refusal shows the vendor page again when an act is refused for a reason
// the officer can fix (bad input, a state that does not allow it); other
// errors get the error page.
func (c *Console) refusal(w http.ResponseWriter, r *http.Request, err error, d vendorData) {
	if e, ok := errs.As(err); ok && (e.Code == errs.CodeInvalid || e.Code == errs.CodeConflict) {
		c.showVendor(w, r, httpx.Status(err), page{Problem: message(r, e), Fields: fieldMessages(r, e)}, d)
		return
	}
	c.fail(w, r, err)
}

// HandleSendQuestionnaire sends a questionnaire to a vendor contact and
// shows its link once: Steward keeps only its hash. The officer sends the
// link to the contact (the address is recorded with the assessment).
func (c *Console) HandleSendQuestionnaire() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := vendorData{Form: sendForm{Template: r.PostFormValue("template"), Email: strings.TrimSpace(r.PostFormValue("contact_email")),
			Days: strings.TrimSpace(r.PostFormValue("expiry_days"))}}
		days, err := strconv.Atoi(d.Form.Days)
		maxDays := int(assurance.MaxLinkLifetime / (24 * time.Hour))
		if err != nil || days < 1 || days > maxDays {
			c.refusal(w, r, errs.Invalid("expiry_days", "must be a number of days from 1 to %d", maxDays), d)
			return
		}
		sent, err := c.Vendors.Send(r.Context(), r.PathValue("key"), d.Form.Template, d.Form.Email, time.Duration(days)*24*time.Hour)
		if err != nil {
			c.refusal(w, r, err, d)
			return
		}
		d.Link, d.LinkExpires = c.publicBase(r)+sent.Path(), sent.Assessment.LinkExpiresAt
		notice := say(r, "vd_sent_copy")
		if c.MailQuestionnaire != nil {
			if err := c.MailQuestionnaire(r.Context(), d.Form.Email, r.PathValue("key"), d.Link, d.LinkExpires); err != nil {
				c.Log.Warn("console: questionnaire link not emailed", "vendor", r.PathValue("key"), "err", err)
				notice = say(r, "vd_sent_mail_failed")
			} else {
				notice = say(r, "vd_sent_mailed")
			}
		}
		d.Form = sendForm{}
		c.showVendor(w, r, http.StatusOK, page{Notice: notice}, d)
	})
}

// publicBase is where links in emails point: the configured public URL or,
// without one, the scheme and host this request came in on. A link the
// vendor follows must not name a host that a forged Host header chose.
func (c *Console) publicBase(r *http.Request) string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// HandleAddContact records a person to reach at the vendor.
func (c *Console) HandleAddContact() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.PathValue("key")
		if _, err := c.Vendors.AddContact(r.Context(), key, r.PostFormValue("name"), r.PostFormValue("email")); err != nil {
			c.refusal(w, r, err, vendorData{})
			return
		}
		http.Redirect(w, r, "/admin/vendors/"+url.PathEscape(key), http.StatusSeeOther)
	})
}

// HandleRevealContacts shows the vendor page with its contacts' names and
// addresses; the reading is recorded in the audit log first.
func (c *Console) HandleRevealContacts() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		contacts, err := c.Vendors.RevealContacts(r.Context(), r.PathValue("key"))
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.showVendor(w, r, http.StatusOK, page{}, vendorData{Contacts: contacts, Revealed: true})
	})
}

// HandleRemoveContact deletes a contact of the vendor.
func (c *Console) HandleRemoveContact() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.PathValue("key")
		if err := c.Vendors.RemoveContact(r.Context(), key, r.PathValue("id")); err != nil {
			c.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/admin/vendors/"+url.PathEscape(key), http.StatusSeeOther)
	})
}

// assessmentData is the page of one assessment.
type assessmentData struct {
	Vendor   consent.Vendor
	A        assurance.Assessment
	Template assurance.Template
	Score    string
	Answers  assurance.Answers
	Results  []resultRow
	Comments string
	// ValidMonths is how long an approval holds.
	ValidMonths int
}

// resultRow is one question of an assessment, with what passes it.
type resultRow struct {
	Number   int
	Q        assurance.Question
	Answer   string
	Link     bool // Answer is an https link
	Passed   bool
	Required string
}

// required says what passes a question.
func required(q assurance.Question) string {
	if len(q.Pass) == 0 {
		return "an answer"
	}
	return strings.Join(q.Pass, " / ")
}

func (c *Console) showAssessment(w http.ResponseWriter, r *http.Request, status int, p page, comments string) {
	key, id := r.PathValue("key"), r.PathValue("id")
	ven, err := c.Consent.Vendor(key)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d, err := c.Vendors.Detail(r.Context(), id)
	if err == nil && d.Assessment.VendorKey != key {
		err = errs.NotFound("assessment", id) // another vendor's: not under this one
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	data := assessmentData{Vendor: ven, A: d.Assessment, Template: d.Template, Score: scoreText(d.Assessment.Score),
		Answers: d.Answers, Comments: comments, ValidMonths: c.Vendors.ValidMonths()}
	for i, res := range d.Results {
		data.Results = append(data.Results, resultRow{Number: i + 1, Q: res.Question, Answer: res.Answer, Passed: res.Passed,
			Link: res.Question.Kind == assurance.KindFileReference && strings.HasPrefix(res.Answer, "https://"), Required: required(res.Question)})
	}
	p.Title, p.Data = say(r, "title_assessment", "id", d.Assessment.ID), data
	c.render(w, r, status, "vendor_assessment", p)
}

// HandleAssessment shows an assessment: its state, score, each question
// with the answer and what passes it, and the forms its state allows.
func (c *Console) HandleAssessment() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.showAssessment(w, r, http.StatusOK, page{}, "")
	})
}

// HandleReviewAssessment approves or rejects a submitted assessment with
// the officer's comments. Approval is refused for answers that did not
// pass.
func (c *Console) HandleReviewAssessment() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.assessmentAct(w, r, func(id, note string) error {
			var approve bool
			switch r.PostFormValue("decision") {
			case "approve":
				approve = true
			case "reject":
			default:
				return errs.Invalid("decision", "choose approve or reject")
			}
			_, err := c.Vendors.Review(r.Context(), id, approve, note)
			return err
		})
	})
}

// HandleRevokeAssessment withdraws the link of an assessment not yet
// submitted, or an approval (the vendor is held back at once).
func (c *Console) HandleRevokeAssessment() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.assessmentAct(w, r, func(id, note string) error {
			_, err := c.Vendors.Revoke(r.Context(), id, note)
			return err
		})
	})
}

// assessmentAct checks that the assessment is the vendor's, runs act with
// the posted comments, and shows the assessment again: with the reason
// when refused.
func (c *Console) assessmentAct(w http.ResponseWriter, r *http.Request, act func(id, note string) error) {
	key, id := r.PathValue("key"), r.PathValue("id")
	a, err := c.Vendors.Get(r.Context(), id)
	if err == nil && a.VendorKey != key {
		err = errs.NotFound("assessment", id)
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	note := r.PostFormValue("comments")
	if err := act(id, note); err != nil {
		if e, ok := errs.As(err); ok && (e.Code == errs.CodeInvalid || e.Code == errs.CodeConflict) {
			c.showAssessment(w, r, httpx.Status(err), page{Problem: message(r, e), Fields: fieldMessages(r, e)}, note)
			return
		}
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/vendors/"+url.PathEscape(key)+"/assessments/"+url.PathEscape(id), http.StatusSeeOther)
}

type templatesData struct {
	Templates []assurance.Template
	Text      string
}

// HandleTemplates lists the questionnaire templates, with a form to add
// one written as JSON (the built-in one is the model to copy).
func (c *Console) HandleTemplates() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.templatesPage(w, r, http.StatusOK, page{}, templatesData{})
	})
}

func (c *Console) templatesPage(w http.ResponseWriter, r *http.Request, status int, p page, d templatesData) {
	var err error
	if d.Templates, err = c.Vendors.Templates(r.Context()); err != nil {
		c.fail(w, r, err)
		return
	}
	if d.Text == "" && len(d.Templates) > 0 {
		example := d.Templates[0]
		example.Key, example.Name, example.Builtin, example.Version = "my-template", "My questionnaire", false, 0
		raw, _ := json.MarshalIndent(example, "", "  ")
		d.Text = string(raw)
	}
	p.Title, p.Data = "title_vendor_templates", d
	c.render(w, r, status, "vendor_templates", p)
}

// HandlePutTemplate saves a template (a new version when its key exists).
func (c *Console) HandlePutTemplate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := templatesData{Text: r.PostFormValue("template")}
		var t assurance.Template
		dec := json.NewDecoder(strings.NewReader(d.Text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			c.templatesPage(w, r, http.StatusBadRequest, page{Problem: say(r, "vd_not_json", "error", err.Error())}, d)
			return
		}
		if _, err := c.Vendors.PutTemplate(r.Context(), t); err != nil {
			if e, ok := errs.As(err); ok && e.Code == errs.CodeInvalid {
				c.templatesPage(w, r, http.StatusBadRequest, page{Problem: say(r, "vd_not_saved"), Fields: fieldMessages(r, e)}, d)
				return
			}
			c.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/admin/vendors/templates", http.StatusSeeOther)
	})
}
