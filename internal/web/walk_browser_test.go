package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/notify/mailtest"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault"
)

// walk is one customer's browser walk-through of issue 12: a Steward with
// email on a test SMTP server, a customer with vault fields, a Chromium tab
// signed in to the portal and a privacy officer's console session.
type walk struct {
	t       *testing.T
	ctx     context.Context
	srv     *apptest.Server
	mail    *mailtest.Server
	base    string // srv.URL on localhost, where Chromium keeps Secure cookies
	tab     context.Context
	officer *browser
	subject string
	email   string
	inbox   []mailtest.Message // mail the walk received but has not looked at
}

func newWalk(t *testing.T, dialect db.Dialect, opts apptest.Options, subject, email string, fields ...vault.Field) *walk {
	t.Helper()
	w := &walk{t: t, ctx: context.Background(), subject: subject, email: email}
	w.mail = mailtest.Start(t, mailtest.Options{})
	opts.SMTP = w.mail.Addr()
	w.srv = apptest.StartWith(t, dialect, opts)
	fields = append([]vault.Field{{Name: "email", Category: "contact", Value: []byte(email)}}, fields...)
	for _, f := range fields {
		if _, err := w.srv.App.Vault.Put(w.ctx, subject, f); err != nil {
			t.Fatal(err)
		}
	}
	w.base = strings.Replace(w.srv.URL, "127.0.0.1", "localhost", 1)
	w.officer, _ = (&consoleFixture{srv: w.srv}).browserFor(t, staff.RolePrivacyOfficer)
	w.tab = chromium.Tab(t)
	w.bypassCSP()
	return w
}

// bypassCSP lets the test fetch URLs and run axe in the tab: the pages' CSP
// rightly forbids scripts to connect anywhere.
func (w *walk) bypassCSP() {
	w.t.Helper()
	if _, err := chromedp.Call(w.tab, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		w.t.Fatal(err)
	}
}

// run runs browser steps or fails the test with what.
func (w *walk) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	w.t.Helper()
	if err := chromedp.Do(w.tab, actions...); err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
}

// text returns the text of the first element sel matches.
func (w *walk) text(sel string) string {
	w.t.Helper()
	s, err := chromedp.Run(w.tab, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		w.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// status fetches path with the tab's cookies and returns the status.
func (w *walk) status(path string) int {
	w.t.Helper()
	n, err := chromedp.Run(w.tab, chromedp.Evaluate[int](`fetch(`+jsString(path)+`, {redirect: "manual"}).then(r => r.type === "opaqueredirect" ? 303 : r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		w.t.Fatalf("fetch %s: %v", path, err)
	}
	return n
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// signIn signs the customer in to the portal in lang with the code the
// test SMTP server received.
func (w *walk) signIn(lang string) {
	w.t.Helper()
	w.run("ask for a code",
		chromedp.Navigate(w.base+"/privacy?lang="+lang),
		chromedp.SendKeys(chromedp.CSS("#email"), w.email),
		chromedp.Click(chromedp.CSS("form.card button")),
		chromedp.WaitVisible(chromedp.CSS("#code")))
	code := w.mailWith(codeSubjects[lang]).Code()
	w.run("sign in",
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS("form.card button")),
		chromedp.WaitVisible(chromedp.CSS("#requests")))
}

// codeSubjects begin the sign-in code mail's subject in each language.
var codeSubjects = map[string]string{"en": "Your sign-in code", "de": "Ihr Anmeldecode", "fr": "Votre code de connexion", "es": "Su código de acceso"}

// mailWith returns the customer's oldest message whose subject contains
// part, waiting for it; other messages stay in the inbox.
func (w *walk) mailWith(part string) mailtest.Message {
	w.t.Helper()
	for i, m := range w.inbox {
		if strings.Contains(m.Subject, part) {
			w.inbox = append(w.inbox[:i], w.inbox[i+1:]...)
			return m
		}
	}
	for {
		m := w.mail.WaitFor(w.t, w.email)
		if strings.Contains(m.Subject, part) {
			return m
		}
		w.inbox = append(w.inbox, m)
	}
}

// file files a request of kind in the portal and returns its ID.
func (w *walk) file(kind dsr.Kind) string {
	w.t.Helper()
	before := map[string]bool{}
	for _, r := range w.requests() {
		before[r.ID] = true
	}
	w.run("file "+string(kind),
		chromedp.Click(chromedp.CSS(`label[for="kind-`+string(kind)+`"]`)),
		chromedp.Click(chromedp.CSS(`#requests form.card button`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	for _, r := range w.requests() {
		if !before[r.ID] && r.Kind == kind {
			return r.ID
		}
	}
	w.t.Fatalf("the portal filed no %s request", kind)
	return ""
}

// prove gives, on request id's page, the two data points a request that
// reaches sensitive data needs: by default the last four of the IBAN and
// the date of birth.
func (w *walk) prove(id, ibanLast4, birthDate string) {
	w.t.Helper()
	form := `form[action="/privacy/requests/` + id + `/identity"]`
	w.run("prove identity for "+id,
		chromedp.Navigate(w.base+"/privacy/requests/"+id),
		chromedp.SendKeys(chromedp.CSS(form+` input[name^="point_"][value="iban_last4"] + label + input`), ibanLast4),
		chromedp.SendKeys(chromedp.CSS(form+` input[name^="point_"][value="birth_date"] + label + input`), birthDate),
		chromedp.Click(chromedp.CSS(form+" button")),
		chromedp.WaitVisible(chromedp.CSS("#id-h")),
		chromedp.WaitNotPresent(chromedp.CSS(form)))
	w.run("back home", chromedp.Navigate(w.base+"/privacy/home"), chromedp.WaitVisible(chromedp.CSS("#requests")))
}

func (w *walk) requests() []dsr.Request {
	w.t.Helper()
	hash, _ := w.srv.App.Vault.BlindIndex(w.ctx, "email", w.email)
	list, err := w.srv.App.Requests.ListForRequester(w.ctx, hash)
	if err != nil {
		w.t.Fatalf("requests: %v", err)
	}
	return list
}

// staffAct posts a request action from the console as the privacy officer.
func (w *walk) staffAct(id, action string, form url.Values) {
	w.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", w.officer.formToken("/admin/requests/"+id))
	if got := w.officer.do("POST", "/admin/requests/"+id+"/"+action, form); got.status != 303 {
		w.t.Fatalf("%s %s: %d %.300s", action, id, got.status, got.body)
	}
}

// complete verifies and starts request id from the console and waits for
// its job to complete it.
func (w *walk) complete(id string) {
	w.t.Helper()
	w.staffAct(id, "verify", nil)
	w.staffAct(id, "start", nil)
	w.waitState(id, dsr.StateCompleted)
}

// waitState polls the store until request id is in state.
func (w *walk) waitState(id string, state dsr.State) dsr.Request {
	w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, err := w.srv.App.Requests.Get(w.ctx, id)
		if err == nil && req.State == state {
			return req
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("request %s: %s, %v; want %s", id, req.State, err, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// forStores runs fn on SQLite and PostgreSQL (apptest skips the latter
// without a server).
func forStores(t *testing.T, fn func(t *testing.T, dialect db.Dialect)) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) { fn(t, dialect) })
	}
}
