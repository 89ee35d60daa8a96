package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/notify/mailtest"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/web"
	"github.com/steward-dev/steward/internal/web/pages"
)

type portalFixture struct {
	srv  *apptest.Server
	mail *mailtest.Server
	iban string
}

func newPortalFixture(t *testing.T, dialect db.Dialect) *portalFixture {
	t.Helper()
	ctx := context.Background()
	mail := mailtest.Start(t, mailtest.Options{})
	srv := apptest.StartWith(t, dialect, apptest.Options{SMTP: mail.Addr()})
	f := &portalFixture{srv: srv, mail: mail, iban: "DE89370400440532013000"}
	for _, field := range []vault.Field{
		{Name: "email", Category: "contact", Value: []byte("ada.portal@example.org")},
		{Name: "iban", Category: "financial", Value: []byte(f.iban)},
	} {
		if _, err := srv.App.Vault.Put(ctx, "cust-1", field); err != nil {
			t.Fatal(err)
		}
	}
	// The demo's notice "2026-11" is material: grants under it count.
	for _, e := range []consent.Event{
		{ID: "e-analytics", Property: "demo", Subject: "cust-1", Purpose: "analytics", Action: consent.ActionGrant, Source: consent.SourceAPI, NoticeVersion: "2026-11"},
		{ID: "e-other", Property: "demo", Subject: "cust-2", Purpose: "analytics", Action: consent.ActionGrant, Source: consent.SourceAPI, NoticeVersion: "2026-11"},
	} {
		events := []consent.Event{e}
		if err := srv.App.Consent.ValidateEvents(events, consent.Author{Kind: consent.AuthorRecordKey}); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.App.Consent.Append(ctx, events); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// askCode asks for a code for email in b and returns the emailed message's
// code and sign-in link.
func (f *portalFixture) askCode(t *testing.T, b *browser, email string) answer {
	t.Helper()
	token := b.formToken("/privacy")
	return b.do("POST", "/privacy/code", url.Values{"csrf": {token}, "email": {email}, "lang": {"en"}})
}

func (f *portalFixture) signIn(t *testing.T, email string) *browser {
	t.Helper()
	b := newBrowser(t, f.srv.URL)
	if got := f.askCode(t, b, email); got.status != http.StatusSeeOther {
		t.Fatalf("ask code: %d %.300s", got.status, got.body)
	}
	// The customer also gets mail about their requests: the code is in the
	// next sign-in message.
	m := f.mail.WaitFor(t, email)
	for !signInLink.MatchString(m.Text) {
		m = f.mail.WaitFor(t, email)
	}
	code := m.Code()
	token := b.formToken("/privacy/code")
	if got := b.do("POST", "/privacy/signin", url.Values{"csrf": {token}, "code": {code}}); got.status != http.StatusSeeOther ||
		!strings.HasPrefix(got.header.Get("Location"), "/privacy/home") {
		t.Fatalf("sign in: %d %.300s", got.status, got.body)
	}
	return b
}

var signInLink = regexp.MustCompile(`https?://[^\s"<>]+/privacy/verify\?[^\s"<>]+`)

// TestPortalSignIn: the emailed code signs in the browser that asked for it
// only; the link in the email leads to a button, not a session; known and
// unknown addresses get the same answer.
func TestPortalSignIn(t *testing.T) {
	f := newPortalFixture(t, db.SQLite)

	answers := map[string]answer{}
	for _, email := range []string{"ada.portal@example.org", "nobody@example.org"} {
		b := newBrowser(t, f.srv.URL)
		answers[email] = f.askCode(t, b, email)
		if m := f.mail.WaitFor(t, email); len(m.Code()) != 6 || !signInLink.MatchString(m.Text) {
			t.Fatalf("mail to %s: %q", email, m.Text)
		}
	}
	known, unknown := answers["ada.portal@example.org"], answers["nobody@example.org"]
	if known.status != unknown.status || known.header.Get("Location") != unknown.header.Get("Location") || known.status != http.StatusSeeOther {
		t.Fatalf("known %d %s, unknown %d %s", known.status, known.header.Get("Location"), unknown.status, unknown.header.Get("Location"))
	}

	b := newBrowser(t, f.srv.URL)
	f.askCode(t, b, "ada.portal@example.org")
	msg := f.mail.WaitFor(t, "ada.portal@example.org")
	link, _ := url.Parse(signInLink.FindString(msg.Text))

	// A mail scanner (another browser) follows the link: a page with a
	// button, and pressing it there signs no one in and spends nothing.
	scanner := newBrowser(t, f.srv.URL)
	page := scanner.do("GET", link.RequestURI(), nil)
	if page.status != 200 || !strings.Contains(page.body, `action="/privacy/signin"`) || scanner.cookies["__Host-steward_portal"] != "" {
		t.Fatalf("verify page: %d", page.status)
	}
	token := csrfField.FindStringSubmatch(page.body)[1]
	if got := scanner.do("POST", "/privacy/signin", url.Values{"csrf": {token}, "code": {msg.Code()}}); got.status != http.StatusUnauthorized || scanner.cookies["__Host-steward_portal"] != "" {
		t.Fatalf("the link signed in another browser: %d", got.status)
	}
	// Without the CSRF token nothing happens either.
	if got := b.do("POST", "/privacy/signin", url.Values{"code": {msg.Code()}}); got.status != http.StatusForbidden {
		t.Fatalf("sign-in without token: %d", got.status)
	}
	// The browser that asked signs in through the same link.
	page = b.do("GET", link.RequestURI(), nil)
	token = csrfField.FindStringSubmatch(page.body)[1]
	if got := b.do("POST", "/privacy/signin", url.Values{"csrf": {token}, "code": {msg.Code()}}); got.status != http.StatusSeeOther || b.cookies["__Host-steward_portal"] == "" {
		t.Fatalf("sign in through the link: %d %.300s", got.status, got.body)
	}
	if got := b.do("GET", "/privacy/home", nil); got.status != 200 || !strings.Contains(got.body, "ada.portal@example.org") {
		t.Fatalf("home: %d", got.status)
	}
	// The code works once.
	if got := b.do("POST", "/privacy/signin", url.Values{"csrf": {token}, "code": {msg.Code()}}); got.status != http.StatusUnauthorized {
		t.Fatalf("a used code: %d", got.status)
	}

	t.Run("a binding cookie the client chose", func(t *testing.T) {
		// An attacker picks the binding value (to know its form token and
		// its codes' binding, or to plant it in a victim's browser): the
		// server refuses it and sets one of its own.
		chosen := strings.Repeat("A", 43)
		evil := newBrowser(t, f.srv.URL)
		evil.cookies["__Host-steward_browser"] = chosen
		got := evil.do("POST", "/privacy/code", url.Values{"csrf": {pages.FormToken("steward portal csrf", chosen)},
			"email": {"ada.portal@example.org"}, "lang": {"en"}})
		if got.status != http.StatusForbidden || evil.cookies["__Host-steward_browser"] == chosen || evil.cookies["__Host-steward_browser"] == "" {
			t.Fatalf("a chosen binding: %d, cookie %q", got.status, evil.cookies["__Host-steward_browser"])
		}
		if page := evil.do("GET", "/privacy", nil); strings.Contains(page.body, pages.FormToken("steward portal csrf", chosen)) {
			t.Fatal("the page derives its token from the chosen value")
		}
	})
	t.Run("languages", func(t *testing.T) {
		b := newBrowser(t, f.srv.URL)
		if got := b.do("GET", "/privacy?lang=de", nil); !strings.Contains(got.body, `<html lang="de">`) || !strings.Contains(got.body, "Code senden") ||
			!strings.Contains(got.body, `<a href="/transparency?lang=de">Wie wir mit Daten umgehen`) {
			t.Errorf("German page (with its footer's link to the transparency page): %.300s", got.body)
		}
		b.header["Accept-Language"] = "fr-CA, en;q=0.5"
		if got := b.do("GET", "/privacy", nil); !strings.Contains(got.body, `<html lang="fr">`) || !strings.Contains(got.body, "M&#39;envoyer un code") {
			t.Errorf("French page: %.400s", got.body)
		}
	})
	t.Run("signed-out routes", func(t *testing.T) {
		anon := newBrowser(t, f.srv.URL)
		for _, rt := range web.Routes(web.Deps{}) {
			if rt.Permission != web.Customer {
				continue
			}
			method, path, _ := strings.Cut(rt.Pattern, " ")
			path = strings.NewReplacer("{property}", "demo", "{id}", "e-analytics").Replace(path)
			got := anon.do(method, path, url.Values{})
			if got.status != http.StatusSeeOther && got.status != http.StatusUnauthorized || strings.Contains(got.body, "cust-1") {
				t.Errorf("%s signed out: %d", rt.Pattern, got.status)
			}
		}
	})
}

// TestPortalCodeLimitsPerClientAddress replays the portal lockout of
// issue 11: a third party asking for codes for the customer's address from
// their own network is refused (and told until when) while the customer
// still gets a code from theirs; behind a trusted proxy the client address
// comes from X-Forwarded-For, and without one a forged header changes
// nothing.
func TestPortalCodeLimitsPerClientAddress(t *testing.T) {
	mail := mailtest.Start(t, mailtest.Options{})
	cases := []struct {
		name    string
		proxies []string
		// customerGetsCode: whether the customer's request, from another
		// X-Forwarded-For, is served after the attacker's are refused.
		customerGetsCode bool
	}{
		{name: "behind a trusted proxy", proxies: []string{"127.0.0.1"}, customerGetsCode: true},
		{name: "forged header from an untrusted peer", proxies: nil, customerGetsCode: false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &portalFixture{mail: mail, srv: apptest.StartWith(t, db.SQLite, apptest.Options{SMTP: mail.Addr(), TrustedProxies: c.proxies})}
			email := fmt.Sprintf("victim%d@example.org", i)
			attacker := newBrowser(t, f.srv.URL)
			attacker.header["X-Forwarded-For"] = "203.0.113.66"
			for n := range 3 {
				if got := f.askCode(t, attacker, email); got.status != http.StatusSeeOther {
					t.Fatalf("attacker's request %d: %d", n+1, got.status)
				}
			}
			got := f.askCode(t, attacker, email)
			if got.status != http.StatusTooManyRequests || !strings.Contains(got.body, "Please try again after") {
				t.Fatalf("attacker's fourth request: %d %.400s", got.status, got.body)
			}
			customer := newBrowser(t, f.srv.URL)
			customer.header["X-Forwarded-For"] = "192.0.2.10"
			got = f.askCode(t, customer, email)
			if served := got.status == http.StatusSeeOther; served != c.customerGetsCode {
				t.Fatalf("the customer's request from another address: %d, want served %v", got.status, c.customerGetsCode)
			}
		})
	}
}

// TestPortalHome: the customer sees and changes their consents (with the
// banner's effect), sees their data masked and, after a recent code, in
// clear, sees who accessed it, and downloads their own receipts only.
func TestPortalHome(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			f := newPortalFixture(t, dialect)
			app := f.srv.App
			b := f.signIn(t, "ada.portal@example.org")

			home := b.do("GET", "/privacy/home", nil)
			if home.status != 200 || !strings.Contains(home.body, "Analytics") || !strings.Contains(home.body, "allowed") ||
				strings.Contains(home.body, f.iban) || !strings.Contains(home.body, "Bank account (IBAN)") {
				t.Fatalf("home: %d %.500s", home.status, home.body)
			}
			if cc := home.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}

			// Withdraw analytics: a portal event, and decisions follow at once.
			if before, _ := app.Consent.Decider().Decide(&consent.Question{Subject: "cust-1", Purpose: "analytics", Jurisdiction: "DE"}, false); !before.Allowed {
				t.Fatalf("decision before withdrawal: %+v", before)
			}
			token := csrfField.FindStringSubmatch(home.body)[1]
			if got := b.do("POST", "/privacy/consents", url.Values{"property": {"demo"}, "purpose": {"analytics"}, "action": {"withdraw"}}); got.status != http.StatusForbidden {
				t.Fatalf("consent change without token: %d", got.status)
			}
			if got := b.do("POST", "/privacy/consents", url.Values{"csrf": {token}, "property": {"demo"}, "purpose": {"analytics"}, "action": {"withdraw"}}); got.status != http.StatusSeeOther {
				t.Fatalf("withdraw: %d %.300s", got.status, got.body)
			}
			events, _ := app.Consent.Events(ctx, consent.EventFilter{Subject: "cust-1"})
			last := events[len(events)-1]
			if last.Source != consent.SourcePortal || last.Action != consent.ActionWithdraw || last.Purpose != "analytics" {
				t.Fatalf("last event %+v", last)
			}
			answer, err := app.Consent.Decider().Decide(&consent.Question{Subject: "cust-1", Purpose: "analytics", Jurisdiction: "DE"}, false)
			if err != nil || answer.Allowed {
				t.Fatalf("decision after withdrawal: %+v, %v", answer, err)
			}

			// Receipts: one's own verifies; another person's is not found.
			// Someone who edits the row in the database gets the receipt
			// issued at append, naming the withdrawal, not one re-signed
			// over the edit.
			issued, err := app.Consent.Event(ctx, "demo", last.ID)
			if err != nil || issued.Receipt == "" {
				t.Fatalf("stored receipt: %v", err)
			}
			if _, err := app.DB.ExecContext(ctx, `UPDATE consent_events SET action = 'grant' WHERE event_id = $1`, last.ID); err != nil {
				t.Fatal(err)
			}
			got := b.do("GET", "/privacy/receipts/demo/"+last.ID+"?format=jws", nil)
			if got.status != 200 || got.body != issued.Receipt {
				t.Fatalf("own receipt: %d, the issued one: %v", got.status, got.body == issued.Receipt)
			}
			if claims, err := receipt.Verify(got.body, app.Signer.JWKS()); err != nil || claims.Steward.Action != "withdraw" {
				t.Fatalf("receipt does not verify or names another action: %+v, %v", claims, err)
			}
			if got := b.do("GET", "/privacy/receipts/demo/e-other", nil); got.status != http.StatusNotFound {
				t.Fatalf("another customer's receipt: %d", got.status)
			}

			// A staff reveal shows up as an access, with its purpose.
			revealKey, _, _ := app.Keys.Create(ctx, "reveal", "", "support tool")
			c := caller{t, f.srv.URL}
			if code, body, _ := c.do("POST", "/v1/subjects/cust-1/fields/iban/reveal", revealKey, `{"purpose":"refund to the customer","ticket":"T-77"}`); code != 200 {
				t.Fatalf("reveal: %d %s", code, body)
			}
			home = b.do("GET", "/privacy/home", nil)
			if !strings.Contains(home.body, "refund to the customer") || !strings.Contains(home.body, "T-77") || strings.Contains(home.body, f.iban) {
				t.Fatalf("accesses: %.2000s", home.body)
			}

			// Values in clear within ten minutes of the code, not after.
			token = csrfField.FindStringSubmatch(home.body)[1]
			if got := b.do("POST", "/privacy/data/show", url.Values{"csrf": {token}}); got.status != 200 || !strings.Contains(got.body, f.iban) {
				t.Fatalf("show data: %d", got.status)
			}
			if _, err := app.DB.Exec(`UPDATE customer_sessions SET authenticated_at = authenticated_at - $1`, (11 * time.Minute).Microseconds()); err != nil {
				t.Fatal(err)
			}
			if got := b.do("POST", "/privacy/data/show", url.Values{"csrf": {token}}); got.status != http.StatusUnauthorized || strings.Contains(got.body, f.iban) {
				t.Fatalf("show data after ten minutes: %d", got.status)
			}

			// Another customer sees nothing of the first.
			other := f.signIn(t, "nobody@example.org")
			if got := other.do("GET", "/privacy/home", nil); strings.Contains(got.body, "iban") || strings.Contains(got.body, "refund to the customer") {
				t.Fatalf("an unknown customer sees another's data")
			}
		})
	}
}

// TestPortalRequests: a customer files, lists and cancels their own
// requests; another customer can neither see nor cancel them.
func TestPortalRequests(t *testing.T) {
	f := newPortalFixture(t, db.SQLite)
	b := f.signIn(t, "ada.portal@example.org")
	home := b.do("GET", "/privacy/home", nil)
	token := csrfField.FindStringSubmatch(home.body)[1]
	got := b.do("POST", "/privacy/requests", url.Values{"csrf": {token}, "kind": {"export"}})
	if got.status != http.StatusSeeOther || !strings.Contains(got.header.Get("Location"), "filed=req_") {
		t.Fatalf("file: %d %s %.300s", got.status, got.header.Get("Location"), got.body)
	}
	id := regexp.MustCompile(`req_[A-Za-z0-9_-]+`).FindString(got.header.Get("Location"))
	home = b.do("GET", got.header.Get("Location"), nil)
	if !strings.Contains(home.body, "Give me a copy of my data") || !strings.Contains(home.body, "received") || !strings.Contains(home.body, "We will answer by") {
		t.Fatalf("home after filing: %.3000s", home.body)
	}
	if got := b.do("POST", "/privacy/requests", url.Values{"csrf": {token}, "kind": {"everything"}}); got.status != http.StatusBadRequest {
		t.Fatalf("a bad kind: %d", got.status)
	}
	req, err := f.srv.App.Requests.Get(context.Background(), id)
	if err != nil || req.SubjectID != "cust-1" || req.Kind != "export" {
		t.Fatalf("filed request %+v, %v", req, err)
	}

	other := f.signIn(t, "nobody@example.org")
	otherHome := other.do("GET", "/privacy/home", nil)
	if strings.Contains(otherHome.body, id) {
		t.Fatal("another customer sees the request")
	}
	otherToken := csrfField.FindStringSubmatch(otherHome.body)[1]
	if got := other.do("POST", "/privacy/requests/"+id+"/cancel", url.Values{"csrf": {otherToken}}); got.status != http.StatusNotFound {
		t.Fatalf("another customer cancels: %d", got.status)
	}
	if got := other.do("GET", "/privacy/requests/"+id+"/download", nil); got.status != http.StatusNotFound {
		t.Fatalf("another customer downloads: %d", got.status)
	}
	if got := b.do("POST", "/privacy/requests/"+id+"/cancel", url.Values{"csrf": {token}}); got.status != http.StatusSeeOther {
		t.Fatalf("cancel: %d %.300s", got.status, got.body)
	}
	if req, _ := f.srv.App.Requests.Get(context.Background(), id); req.State != "cancelled" {
		t.Fatalf("state after cancel: %s", req.State)
	}
}

// TestRequestFulfilment: requests filed in the portal are worked by staff
// in the console and done by background jobs: the customer downloads the
// export archive, and after an erasure their vault data is unreadable and
// the ledger no longer names them.
func TestRequestFulfilment(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			f := newPortalFixture(t, dialect)
			app := f.srv.App
			customerB := f.signIn(t, "ada.portal@example.org")
			file := func(kind string) string {
				token := csrfField.FindStringSubmatch(customerB.do("GET", "/privacy/home", nil).body)[1]
				got := customerB.do("POST", "/privacy/requests", url.Values{"csrf": {token}, "kind": {kind}})
				return regexp.MustCompile(`req_[A-Za-z0-9_-]+`).FindString(got.header.Get("Location"))
			}
			cf := &consoleFixture{srv: f.srv}
			officer, _ := cf.browserFor(t, "privacy_officer")
			work := func(id string) {
				for _, action := range []string{"verify", "start"} {
					token := officer.formToken("/admin/requests/" + id)
					if got := officer.do("POST", "/admin/requests/"+id+"/"+action, url.Values{"csrf": {token}}); got.status != http.StatusSeeOther {
						t.Fatalf("%s %s: %d %.300s", action, id, got.status, got.body)
					}
				}
				deadline := time.Now().Add(20 * time.Second)
				for {
					req, err := app.Requests.Get(ctx, id)
					if err == nil && req.State == "completed" {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("request %s not completed: %+v %v", id, req, err)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}

			// Issue 12: an export of financial data waits for the second
			// proof; staff cannot verify it before.
			if _, err := app.Vault.Put(ctx, "cust-1", vault.Field{Name: "birth_date", Category: "other", Value: []byte("1815-12-10")}); err != nil {
				t.Fatal(err)
			}
			exportID := file("export")
			proveIdentity(t, customerB, exportID)
			work(exportID)
			home := customerB.do("GET", "/privacy/home", nil)
			if !strings.Contains(home.body, "/privacy/requests/"+exportID+"/download") {
				t.Fatalf("no download link: %.3000s", home.body)
			}
			archive := customerB.do("GET", "/privacy/requests/"+exportID+"/download", nil)
			if archive.status != 200 || archive.header.Get("Content-Type") != "application/zip" || !strings.HasPrefix(archive.body, "PK") {
				t.Fatalf("download: %d %s", archive.status, archive.header.Get("Content-Type"))
			}
			jobsPage := officer.do("GET", "/admin/jobs", nil)
			if !strings.Contains(jobsPage.body, "dsr.export") || !strings.Contains(jobsPage.body, exportID) {
				t.Fatalf("jobs page: %.2000s", jobsPage.body)
			}

			erasureID := file("erasure")
			proveIdentity(t, customerB, erasureID)
			work(erasureID)
			if _, err := app.Vault.Get(ctx, "cust-1", "iban"); err == nil {
				t.Fatal("the vault field is readable after the erasure")
			}
			events, _ := app.Consent.Events(ctx, consent.EventFilter{Subject: "cust-1"})
			if len(events) != 0 {
				t.Fatalf("the ledger still names the customer: %d events", len(events))
			}

			// Issue 12: the old archive no longer downloads (the erasure
			// ended the old session too), and the finished erasure shows its
			// report, in the customer's language, instead of a dead
			// "Download your data" link.
			if got := customerB.do("GET", "/privacy/requests/"+exportID+"/download", nil); got.status == http.StatusOK {
				t.Fatalf("the old archive downloads after the erasure with the old session: %d", got.status)
			}
			again := f.signIn(t, "ada.portal@example.org")
			if got := again.do("GET", "/privacy/requests/"+exportID+"/download", nil); got.status != http.StatusNotFound {
				t.Fatalf("the old archive after the erasure: %d", got.status)
			}
			if got := again.do("GET", "/privacy/requests/"+erasureID+"/download", nil); got.status != http.StatusNotFound {
				t.Fatalf("the erasure's download: %d", got.status)
			}
			for lang, want := range map[string]string{"en": "What we erased", "de": "Was wir gelöscht haben", "fr": "Ce que nous avons effacé", "es": "Lo que hemos borrado"} {
				home := again.do("GET", "/privacy/home?lang="+lang, nil)
				if strings.Contains(home.body, "/download") || !strings.Contains(home.body, want) || !strings.Contains(home.body, "<details open>") {
					t.Fatalf("%s: the finished erasure's page: %.4000s", lang, home.body)
				}
				if strings.Contains(home.body, f.iban) {
					t.Fatalf("%s: the report shows the IBAN", lang)
				}
			}
			// The console's request page shows the work's report, place by place.
			page := officer.do("GET", "/admin/requests/"+erasureID, nil)
			if !strings.Contains(page.body, "What the work did") || !strings.Contains(page.body, "Job: done") ||
				!regexp.MustCompile(`<td>vault</td><td>done</td><td>[^<]*fields \d`).MatchString(page.body) ||
				!strings.Contains(page.body, "<td>ledger</td><td>done</td>") {
				t.Fatalf("erasure progress on the request page: %.4000s", page.body)
			}
		})
	}
}

// proveIdentity gives, in b's portal, the two data points a sensitive
// request of cust-1 needs: the last four of the IBAN and the date of birth.
func proveIdentity(t *testing.T, b *browser, id string) {
	t.Helper()
	page := b.do("GET", "/privacy/requests/"+id, nil)
	token := csrfField.FindStringSubmatch(page.body)[1]
	got := b.do("POST", "/privacy/requests/"+id+"/identity", url.Values{"csrf": {token},
		"point_0": {"iban_last4"}, "value_0": {"3000"}, "point_1": {"birth_date"}, "value_1": {"1815-12-10"}})
	if got.status != http.StatusSeeOther {
		t.Fatalf("identity of %s: %d %.2000s", id, got.status, got.body)
	}
}

// TestPortalCrossCustomer tries every signed-in portal route as another
// customer, with the first one's ids: nothing of the first customer shows,
// and nothing of theirs changes.
func TestPortalCrossCustomer(t *testing.T) {
	ctx := context.Background()
	f := newPortalFixture(t, db.SQLite)
	app := f.srv.App
	owner := f.signIn(t, "ada.portal@example.org")
	token := csrfField.FindStringSubmatch(owner.do("GET", "/privacy/home", nil).body)[1]
	filed := owner.do("POST", "/privacy/requests", url.Values{"csrf": {token}, "kind": {"access"}})
	requestID := regexp.MustCompile(`req_[A-Za-z0-9_-]+`).FindString(filed.header.Get("Location"))
	if requestID == "" {
		t.Fatalf("no request filed: %d", filed.status)
	}
	secrets := []string{"ada.portal@example.org", f.iban, requestID, "e-analytics", "cust-1"}

	other := f.signIn(t, "nobody@example.org")
	otherToken := csrfField.FindStringSubmatch(other.do("GET", "/privacy/home", nil).body)[1]
	samples := strings.NewReplacer("{property}", "demo", "{id}", "e-analytics")
	for _, rt := range web.Routes(web.Deps{}) {
		if rt.Permission != web.Customer || rt.Pattern == "POST /privacy/signout" {
			continue
		}
		method, path, _ := strings.Cut(rt.Pattern, " ")
		paths := []string{samples.Replace(path)}
		if strings.Contains(path, "/requests/{id}") {
			paths = append(paths, strings.Replace(path, "{id}", requestID, 1))
		}
		for _, p := range paths {
			form := url.Values{"csrf": {otherToken}, "property": {"demo"}, "purpose": {"analytics"}, "action": {"withdraw"}, "kind": {"access"}}
			got := other.do(method, p, form)
			for _, s := range secrets {
				if strings.Contains(got.body, s) {
					t.Errorf("%s %s as another customer shows %q", method, p, s)
				}
			}
		}
	}
	req, err := app.Requests.Get(ctx, requestID)
	if err != nil || req.State != "received" {
		t.Fatalf("the owner's request changed: %+v %v", req, err)
	}
	answer, _ := app.Consent.Decider().Decide(&consent.Question{Subject: "cust-1", Purpose: "analytics", Jurisdiction: "DE"}, false)
	if !answer.Allowed {
		t.Fatal("another customer changed the owner's consent")
	}
}

// TestPortalStaffNames: the customer sees the role of who accessed their
// data, and the name only where the company enables it.
func TestPortalStaffNames(t *testing.T) {
	for _, names := range []bool{false, true} {
		t.Run(fmt.Sprint("names=", names), func(t *testing.T) {
			ctx := context.Background()
			mail := mailtest.Start(t, mailtest.Options{})
			srv := apptest.StartWith(t, db.SQLite, apptest.Options{SMTP: mail.Addr(), StaffNames: names})
			f := &portalFixture{srv: srv, mail: mail}
			if _, err := srv.App.Vault.Put(ctx, "cust-1", vault.Field{Name: "email", Category: "contact", Value: []byte("ada.portal@example.org")}); err != nil {
				t.Fatal(err)
			}
			member, err := srv.App.Staff.Create(ctx, audit.System(), staff.NewAccount{Email: "grace.h@shop.example", Name: "Grace Hopper", Role: staff.RolePrivacyOfficer, Password: staffPassword})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := srv.App.Audit.Append(ctx, audit.Entry{Actor: audit.Staff(member.ID), Action: "vault.reveal", Target: audit.Subject("cust-1"),
				Details: audit.MustDetails(map[string]any{"fields": []string{"email"}, "purpose": "answer the customer's letter", "ticket": "T-5", "role": "privacy_officer"})}); err != nil {
				t.Fatal(err)
			}
			home := f.signIn(t, "ada.portal@example.org").do("GET", "/privacy/home", nil).body
			if !strings.Contains(home, "privacy officer") || !strings.Contains(home, "answer the customer") || strings.Contains(home, "Grace Hopper") != names {
				t.Fatalf("names=%v: accesses %.3000s", names, home)
			}
		})
	}
}
