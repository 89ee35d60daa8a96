package admin

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/outbox"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault"
)

// serveAs calls h as the signed-in staff member of session, as Require
// would.
func serveAs(session *staff.Session, h http.Handler, method, target string, form url.Values, path map[string]string) *httptest.ResponseRecorder {
	body := ""
	if form != nil {
		body = form.Encode()
	}
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range path {
		r.SetPathValue(k, v)
	}
	ctx := context.WithValue(r.Context(), sessionCtx{}, session)
	r = r.WithContext(audit.WithActor(ctx, audit.Staff(session.Account.ID)))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// consolePage is a console page rendered in a language, and English
// phrases it says in English only.
type consolePage struct {
	name string
	// serve renders the page with ?lang=lang and returns the response.
	serve   func(t *testing.T, lang string) (int, string)
	status  int
	english []string
}

// TestConsolePagesSpeakTheLanguage (issue 13): every converted console
// page says its words in German, French and Spanish, none of the English
// phrases of the page remaining, and in English by default. The English
// render proves each phrase is really on the page, so the check of the
// other languages can fail.
func TestConsolePagesSpeakTheLanguage(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newRequestsFixture(t, store)
		ctx := audit.WithActor(context.Background(), audit.Staff("stf_officer"))
		restriction := f.file(t, dsr.KindRestriction, dsr.GDPR)
		if _, err := f.requests.AskCustomer(ctx, restriction.ID, "Which account do you mean?"); err != nil {
			t.Fatal(err)
		}
		erasure := f.file(t, dsr.KindErasure, dsr.GDPR)
		if _, err := f.vault.Put(ctx, "cust-1", vault.Field{Name: "iban", Category: "financial", Value: []byte("DE89370400440532013000")}); err != nil {
			t.Fatal(err)
		}
		f.console.Keys = apikey.NewStore(store, func() time.Time { return f.now })
		hooks, _ := f.vault.SecretBox("outbox")
		var err error
		if f.console.Outbox, err = outbox.New(outbox.Config{DB: store, Secrets: hooks, Audit: f.console.Audit}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.console.Staff.PutModule(ctx, staff.Module{Key: "privacy-basics", Title: "Privacy basics", Required: true,
			Content: "# Why we ask", PassMark: 100, ValidityDays: 365,
			Quiz: []staff.Question{{Text: "May you look a customer up out of curiosity?", Choices: []string{"Yes", "No"}, Answer: 1}}}, true); err != nil {
			t.Fatal(err)
		}
		officer := &staff.Session{Token: "session-token", Account: staff.Account{ID: "stf_officer", Name: "Olive Officer", Role: staff.RolePrivacyOfficer}}
		admin := &staff.Session{Token: "session-token", Account: staff.Account{ID: "stf_admin", Name: "Ada Admin", Role: staff.RoleAdmin}}
		if w := serveAs(admin, f.console.HandleCreateStaff(), "POST", "/admin/staff", url.Values{"email": {"sam@shop.example"}, "name": {"Sam Support"},
			"role": {"support"}, "password": {"correct horse battery"}}, nil); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Account created.") {
			t.Fatalf("create staff: %d %.500s", w.Code, w.Body.String())
		}
		accounts, err := f.console.Staff.List(ctx)
		if err != nil || len(accounts) != 1 {
			t.Fatalf("staff: %v %v", accounts, err)
		}
		reset, err := f.console.Staff.IssueReset(ctx, audit.Staff(admin.Account.ID), accounts[0].ID, staff.ResetPassword)
		if err != nil {
			t.Fatal(err)
		}
		pages := []consolePage{
			{name: "request", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) {
				w := serve(f.console.HandleRequest(), "GET", "/admin/requests/"+restriction.ID+"?lang="+lang, nil, map[string]string{"id": restriction.ID})
				return w.Code, w.Body.String()
			}, english: []string{"Request " + restriction.ID + " ·", "Identity", "the email code", "Needed:", "Reached:",
				"Next steps", "Customer answered", "Show the requester's address",
				"History", "clock stands still", ">Channel<", ">Customer<"}},
			{name: "unknown request", status: http.StatusNotFound, serve: func(t *testing.T, lang string) (int, string) {
				w := serve(f.console.HandleRequest(), "GET", "/admin/requests/req_nothing?lang="+lang, nil, map[string]string{"id": "req_nothing"})
				return w.Code, w.Body.String()
			}, english: []string{"<title>Not found ·"}},
			{name: "request refused", status: http.StatusConflict, serve: func(t *testing.T, lang string) (int, string) {
				w := serve(f.console.HandleRequestAction(), "POST", "/admin/requests/"+erasure.ID+"/complete?lang="+lang, url.Values{},
					map[string]string{"id": erasure.ID, "action": "complete"})
				return w.Code, w.Body.String()
			}, english: []string{"not changed", "“Complete” was not done", "What you can do now", "Verify identity", "Back to request", "The queue"}},
			{name: "request not changed", status: http.StatusBadRequest, serve: func(t *testing.T, lang string) (int, string) {
				w := serve(f.console.HandleRequestAction(), "POST", "/admin/requests/"+erasure.ID+"/reject?lang="+lang, url.Values{"note": {" "}},
					map[string]string{"id": erasure.ID, "action": "reject"})
				return w.Code, w.Body.String()
			}, english: []string{"The request was not changed", "Reject, because", "Acknowledge receipt"}},
			{name: "customers", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) {
				w := serveAs(officer, f.console.HandleCustomerSearch(), "GET", "/admin/customers?q=nobody&lang="+lang, nil, nil)
				return w.Code, w.Body.String()
			}, english: []string{"<title>Customers ·", "There is no list to browse.", "External id or email", ">Find<", "No customer matches."}},
			{name: "customer", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) {
				w := serveAs(officer, f.console.HandleCustomer(), "GET", "/admin/customers/cust-1?lang="+lang, nil, map[string]string{"id": "cust-1"})
				return w.Code, w.Body.String()
			}, english: []string{"<title>Customer cust-1 ·", ">Category<", ">Updated<", "Consents", "No consent events.", "Who accessed this record", `aria-label="hidden"`}},
			{name: "audit", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) {
				w := serveAs(officer, f.console.HandleAudit(), "GET", "/admin/audit?lang="+lang, nil, nil)
				return w.Code, w.Body.String()
			}, english: []string{"<title>Audit log ·", "Customer (external id)", ">About<", "Everything they did",
				"Added the account, as support.", "Issued a one-time link to reset the password"}},
			{name: "audit problem", status: http.StatusBadRequest, serve: func(t *testing.T, lang string) (int, string) {
				w := serveAs(officer, f.console.HandleAudit(), "GET", "/admin/audit?since=yesterday&actor=robot:1&lang="+lang, nil, nil)
				return w.Code, w.Body.String()
			}, english: []string{"Check the search.", "must be a date", "the kind is staff", "No entries match."}},
			{name: "staff", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) {
				w := serveAs(admin, f.console.HandleStaff(), "GET", "/admin/staff?lang="+lang, nil, nil)
				return w.Code, w.Body.String()
			}, english: []string{"<title>Staff ·", "Add a staff member", "Initial password", "Create account", "asks you to confirm your password", ">active<", "no failures", "Reset authenticator"}},
			{name: "staff not created", status: http.StatusBadRequest, serve: func(t *testing.T, lang string) (int, string) {
				w := serveAs(admin, f.console.HandleCreateStaff(), "POST", "/admin/staff?lang="+lang, url.Values{"email": {"x"}}, nil)
				return w.Code, w.Body.String()
			}, english: []string{"The account was not created."}},
			{name: "keys", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) {
				w := serveAs(admin, f.console.HandleKeys(), "GET", "/admin/keys?lang="+lang, nil, nil)
				return w.Code, w.Body.String()
			}, english: []string{"<title>API keys ·", "No keys.", "Make a key", "Make key", "manages the catalog", "you will be asked to confirm it is you"}},
			{name: "key not made", status: http.StatusBadRequest, serve: func(t *testing.T, lang string) (int, string) {
				w := serveAs(admin, f.console.HandleCreateKey(), "POST", "/admin/keys?lang="+lang, url.Values{"scope": {"everything"}}, nil)
				return w.Code, w.Body.String()
			}, english: []string{"The key was not made."}},
			{name: "webhooks", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) {
				w := serveAs(admin, f.console.HandleWebhooks(), "GET", "/admin/webhooks?lang="+lang, nil, nil)
				return w.Code, w.Body.String()
			}, english: []string{"No endpoints.", "Add an endpoint", "Undelivered messages", "Events (none checked: all)", "with ids only"}},
			{name: "webhook not added", status: http.StatusBadRequest, serve: func(t *testing.T, lang string) (int, string) {
				w := serveAs(admin, f.console.HandleCreateWebhook(), "POST", "/admin/webhooks?lang="+lang, url.Values{"url": {"ftp://hooks.example"}}, nil)
				return w.Code, w.Body.String()
			}, english: []string{"The endpoint was not added."}},
			{name: "training", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) {
				w := serveAs(admin, f.console.HandleTraining(), "GET", "/admin/training?lang="+lang, nil, nil)
				return w.Code, w.Body.String()
			}, english: []string{"<title>Training ·", "Last pass", "Add or replace a module", "Pass mark (%)", "Save module", "Required before revealing"}},
			{name: "module", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) {
				w := serveAs(officer, f.console.HandleModule(), "GET", "/admin/training/privacy-basics?lang="+lang, nil, map[string]string{"key": "privacy-basics"})
				return w.Code, w.Body.String()
			}, english: []string{"questions drawn from the module's pool", "Submit answers"}},
			{name: "module unanswered", status: http.StatusBadRequest, serve: func(t *testing.T, lang string) (int, string) {
				w := serveAs(officer, f.console.HandleQuiz(), "POST", "/admin/training/privacy-basics?lang="+lang, url.Values{}, map[string]string{"key": "privacy-basics"})
				return w.Code, w.Body.String()
			}, english: []string{"Answer every question.", "answer question 1"}},
			{name: "module not saved", status: http.StatusBadRequest, serve: func(t *testing.T, lang string) (int, string) {
				w := serveAs(admin, f.console.HandlePutModule(), "POST", "/admin/training?lang="+lang, url.Values{"key": {"basics"}, "title": {"Basics"},
					"content": {"# Basics"}, "quiz": {"Is this a question?"}, "pass_mark": {"most"}, "validity_days": {"365"}}, nil)
				return w.Code, w.Body.String()
			}, english: []string{"The module was not saved.", "must be a whole number", "start with '? ' for a question"}},
			{name: "queue filter", status: http.StatusBadRequest, serve: func(t *testing.T, lang string) (int, string) {
				w := serveAs(officer, f.console.HandleRequests(), "GET", "/admin/requests?state=sleeping&lang="+lang, nil, nil)
				return w.Code, w.Body.String()
			}, english: []string{"This filter cannot be used."}},
			{name: "customer id", status: http.StatusBadRequest, serve: func(t *testing.T, lang string) (int, string) {
				w := serveAs(officer, f.console.HandleCustomerSearch(), "GET", "/admin/customers?q="+url.QueryEscape("no spaces")+"&lang="+lang, nil, nil)
				return w.Code, w.Body.String()
			}, english: []string{"an external id is 1 to 128"}},
			{name: "reauth", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) {
				w := serveAs(officer, f.console.HandleReauthPage(), "GET", "/admin/reauth?lang="+lang, nil, nil)
				return w.Code, w.Body.String()
			}, english: []string{"<title>Confirm it is you ·", "need a sign-in from the last 15 minutes", "Code from your authenticator app", ">Confirm<"}},
			{name: "reset", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) {
				w := serveAs(admin, f.console.HandleResetPage(), "GET", "/admin/reset/"+reset.Token+"?lang="+lang, nil, map[string]string{"token": reset.Token})
				return w.Code, w.Body.String()
			}, english: []string{"<title>Choose a new password ·", "an administrator made this link for you", "The new password again", "Set the new password"}},
		}
		checkLanguages(t, pages)
	})
}

// TestVendorPagesSpeakTheLanguage: the vendor list, a vendor's page and
// the questionnaire templates are said in the console's language.
func TestVendorPagesSpeakTheLanguage(t *testing.T) {
	f := newVendorFixture(t)
	c := f.console
	pages := []consolePage{
		{name: "vendors", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) {
			w := f.call(t, c.HandleVendors(), "GET", "/admin/vendors?lang="+lang, nil, nil)
			return w.Code, w.Body.String()
		}, english: []string{"<title>Vendors ·", ">Questionnaire templates<", "Data categories", "May receive data", "no: blocked"}},
		{name: "vendor", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) {
			w := f.call(t, c.HandleVendor(), "GET", "/admin/vendors/mailer?lang="+lang, nil, map[string]string{"key": "mailer"})
			return w.Code, w.Body.String()
		}, english: []string{"Blocked.", "No data goes to this vendor", "Never assessed.", "Send a questionnaire", "Contact's email",
			"Link works for (days)", "No contacts yet.", "Add a contact"}},
		{name: "templates", status: http.StatusOK, serve: func(t *testing.T, lang string) (int, string) {
			w := f.call(t, c.HandleTemplates(), "GET", "/admin/vendors/templates?lang="+lang, nil, nil)
			return w.Code, w.Body.String()
		}, english: []string{"<title>Questionnaire templates ·", "(built in)", "Add or change a template", "Save template"}},
		{name: "template not JSON", status: http.StatusBadRequest, serve: func(t *testing.T, lang string) (int, string) {
			w := f.call(t, c.HandlePutTemplate(), "POST", "/admin/vendors/templates?lang="+lang, url.Values{"template": {"{"}}, nil)
			return w.Code, w.Body.String()
		}, english: []string{"The template is not valid JSON"}},
	}
	checkLanguages(t, pages)
}

// checkLanguages renders each page in every language of the console: in
// English it must hold each English phrase (so that the check can fail),
// in German, French and Spanish none of them.
func checkLanguages(t *testing.T, pages []consolePage) {
	t.Helper()
	for _, p := range pages {
		for _, lang := range []string{"en", "de", "fr", "es"} {
			status, body := p.serve(t, lang)
			text := html.UnescapeString(body)
			if status != p.status || !strings.Contains(body, `<html lang="`+lang+`">`) {
				t.Errorf("%s in %s: %d, want %d\n%.500s", p.name, lang, status, p.status, body)
				continue
			}
			for _, phrase := range p.english {
				if got := strings.Contains(text, phrase); got != (lang == "en") {
					t.Errorf("%s in %s: has %q: %v", p.name, lang, phrase, got)
				}
			}
		}
	}
}
