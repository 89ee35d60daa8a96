package admin

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/assurance"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

// vendorFixture is a console with real services over a store, and a
// security officer's session to call the vendor handlers with (Require,
// which checks sessions and CSRF tokens, is tested with the routes).
type vendorFixture struct {
	console *Console
	vendors *assurance.Service
	session *staff.Session
}

func newVendorFixture(t *testing.T) *vendorFixture {
	t.Helper()
	return newVendorFixtureOn(t, dbtest.Open(t, db.SQLite))
}

// newVendorFixtureOn is newVendorFixture on store, for a test that runs on
// both engines (dbtest.Run).
func newVendorFixtureOn(t *testing.T, store *db.DB) *vendorFixture {
	t.Helper()
	ctx := context.Background()
	v := vaulttest.Open(t, store)
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		t.Fatal(err)
	}
	box := func(purpose string) *vault.SecretBox {
		b, err := v.SecretBox(purpose)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	accounts, err := staff.NewService(staff.Config{DB: store, Secrets: box("staff-totp"), Audit: log})
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	signer, err := receipt.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := consent.Open(ctx, consent.Config{DB: store, Signer: signer, FollowInterval: -1, Audit: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { catalog.Close() })
	ethicstest.OpenPurposes(t, catalog)
	for _, p := range []string{"newsletter", "marketing"} {
		if _, err := catalog.PutPurpose(ctx, consent.Purpose{Key: p, Names: map[string]string{"en": p}, LegalBasis: consent.BasisConsent}, true); err != nil {
			t.Fatal(err)
		}
	}
	for _, ven := range []consent.Vendor{
		{Key: "mailer", Name: "Mailer GmbH", Purposes: []string{"newsletter"}, DataCategories: []string{"contact"}, Country: "DE"},
		{Key: "adnet", Name: "Adnet Inc.", Purposes: []string{"marketing"}, Country: "US"},
	} {
		if _, err := catalog.PutVendor(ctx, ven, true); err != nil {
			t.Fatal(err)
		}
	}
	requests, err := dsr.NewService(dsr.Config{DB: store, Secrets: box("dsr"), Audit: log})
	if err != nil {
		t.Fatal(err)
	}
	vendors, err := assurance.NewService(assurance.Config{DB: store, Audit: log, Secrets: box("vendor"), Catalog: catalog, Gate: catalog})
	if err != nil {
		t.Fatal(err)
	}
	if err := catalog.SetAssessmentSource(ctx, vendors.AssessedVendors); err != nil {
		t.Fatal(err)
	}
	console, err := New(Deps{Staff: accounts, Vault: v, Audit: log, Consent: catalog, Requests: requests, PublicURL: "https://steward.example", Vendors: vendors})
	if err != nil {
		t.Fatal(err)
	}
	return &vendorFixture{console: console, vendors: vendors, session: &staff.Session{Token: "session-token",
		Account: staff.Account{ID: "stf_sam", Name: "Sam Officer", Role: staff.RoleSecurityOfficer}}}
}

// call serves one request as the signed-in officer, as Require would.
func (f *vendorFixture) call(t *testing.T, h http.Handler, method, target string, form url.Values, path map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	r.Host = "steward.example"
	for k, v := range path {
		r.SetPathValue(k, v)
	}
	ctx := context.WithValue(r.Context(), sessionCtx{}, f.session)
	r = r.WithContext(audit.WithActor(ctx, audit.Staff(f.session.Account.ID)))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var postForm = regexp.MustCompile(`(?s)<form method="post".*?</form>`)

// checkForms fails unless every form that posts carries the session's
// CSRF token.
func checkForms(t *testing.T, body, csrf string) {
	t.Helper()
	forms := postForm.FindAllString(body, -1)
	for _, form := range forms {
		if !strings.Contains(form, `<input type="hidden" name="csrf" value="`+csrf+`">`) {
			t.Errorf("a form without the CSRF token: %s", form)
		}
	}
}

func TestVendorPages(t *testing.T) {
	f := newVendorFixture(t)
	c, v := f.console, f.vendors
	csrf := csrfToken(f.session)
	mailer := map[string]string{"key": "mailer"}

	list := f.call(t, c.HandleVendors(), "GET", "/admin/vendors", nil, nil)
	if list.Code != http.StatusOK || !strings.Contains(list.Body.String(), "Mailer GmbH") || !strings.Contains(list.Body.String(), "no: blocked") ||
		!strings.Contains(list.Body.String(), "no assessment") || !strings.Contains(list.Body.String(), "Adnet Inc.") {
		t.Fatalf("vendor list: %d %s", list.Code, list.Body)
	}
	page := f.call(t, c.HandleVendor(), "GET", "/admin/vendors/mailer", nil, mailer)
	body := page.Body.String()
	if page.Code != http.StatusOK || !strings.Contains(body, "Blocked.") || !strings.Contains(body, "Never assessed.") ||
		!strings.Contains(body, `<option value="security-baseline" selected>`) || !strings.Contains(body, `value="30"`) {
		t.Fatalf("vendor page: %d %s", page.Code, body)
	}
	checkForms(t, body, csrf)
	if missing := f.call(t, c.HandleVendor(), "GET", "/admin/vendors/nobody", nil, map[string]string{"key": "nobody"}); missing.Code != http.StatusNotFound {
		t.Fatalf("an unknown vendor: %d", missing.Code)
	}

	// Sending: refused input shows the form again; sent, the link once.
	send := func(email, days string) *httptest.ResponseRecorder {
		return f.call(t, c.HandleSendQuestionnaire(), "POST", "/admin/vendors/mailer/send",
			url.Values{"csrf": {csrf}, "template": {assurance.SecurityBaseline}, "contact_email": {email}, "expiry_days": {days}}, mailer)
	}
	if r := send("security@mailer.example", "0"); r.Code != http.StatusBadRequest || !strings.Contains(r.Body.String(), "expiry_days") {
		t.Fatalf("0 days: %d %s", r.Code, r.Body)
	}
	if r := send("not an address", "14"); r.Code != http.StatusBadRequest || !strings.Contains(r.Body.String(), `value="not an address"`) {
		t.Fatalf("a bad address: %d %s", r.Code, r.Body)
	}
	sent := send("security@mailer.example", "14")
	link := regexp.MustCompile(`https://steward\.example/assess/([A-Za-z0-9_-]{43})`).FindStringSubmatch(sent.Body.String())
	if sent.Code != http.StatusOK || link == nil || !strings.Contains(sent.Body.String(), "shown only once") {
		t.Fatalf("send: %d %s", sent.Code, sent.Body)
	}
	checkForms(t, sent.Body.String(), csrf)
	token := link[1]
	if again := f.call(t, c.HandleVendor(), "GET", "/admin/vendors/mailer", nil, mailer); strings.Contains(again.Body.String(), token) {
		t.Fatal("the link is shown again")
	}

	// The vendor answers badly; approval is refused, rejection is not.
	answers := map[string]string{}
	for _, q := range assurance.BuiltinTemplates()[0].Questions {
		if len(q.Pass) > 0 {
			answers[q.ID] = q.Pass[0]
		} else {
			answers[q.ID] = "https://mailer.example/trust/doc.pdf"
		}
	}
	answers["mfa"] = "no"
	if _, err := v.SaveAnswers(context.Background(), token, answers, true); err != nil {
		t.Fatal(err)
	}
	history, err := v.History(context.Background(), "mailer")
	if err != nil || len(history) != 1 {
		t.Fatalf("history %+v, %v", history, err)
	}
	id := history[0].ID
	at := map[string]string{"key": "mailer", "id": id}
	review := f.call(t, c.HandleAssessment(), "GET", "/admin/vendors/mailer/assessments/"+id, nil, at)
	body = review.Body.String()
	if review.Code != http.StatusOK || !strings.Contains(body, "Not passed") || !strings.Contains(body, `value="approve" disabled`) ||
		!strings.Contains(body, `<a href="#r-mfa">mfa</a>`) || !strings.Contains(body, `<a href="https://mailer.example/trust/doc.pdf" rel="noopener noreferrer">`) ||
		!strings.Contains(body, "for 12 months") {
		t.Fatalf("review page: %d %s", review.Code, body)
	}
	checkForms(t, body, csrf)
	decide := func(decision, comments string) *httptest.ResponseRecorder {
		return f.call(t, c.HandleReviewAssessment(), "POST", "/admin/vendors/mailer/assessments/"+id+"/review",
			url.Values{"csrf": {csrf}, "decision": {decision}, "comments": {comments}}, at)
	}
	if r := decide("approve", "Looks fine."); r.Code != http.StatusConflict || !strings.Contains(r.Body.String(), "did not pass") ||
		!strings.Contains(r.Body.String(), "Looks fine.</textarea>") {
		t.Fatalf("approving a failure: %d %s", r.Code, r.Body)
	}
	if r := decide("maybe", "x"); r.Code != http.StatusBadRequest {
		t.Fatalf("no decision: %d", r.Code)
	}
	if r := decide("reject", "No MFA for administrators."); r.Code != http.StatusSeeOther {
		t.Fatalf("reject: %d %s", r.Code, r.Body)
	}
	if r := f.call(t, c.HandleAssessment(), "GET", "/", nil, map[string]string{"key": "adnet", "id": id}); r.Code != http.StatusNotFound {
		t.Fatalf("mailer's assessment under adnet: %d", r.Code)
	}
	if r := f.call(t, c.HandleReviewAssessment(), "POST", "/", url.Values{"csrf": {csrf}, "decision": {"reject"}, "comments": {"x"}},
		map[string]string{"key": "adnet", "id": id}); r.Code != http.StatusNotFound {
		t.Fatalf("reviewing mailer's assessment under adnet: %d", r.Code)
	}

	// A second questionnaire, answered well and approved.
	sent2, err := v.Send(audit.WithActor(context.Background(), audit.Staff("stf_sam")), "mailer", assurance.SecurityBaseline, "security@mailer.example", 0)
	if err != nil {
		t.Fatal(err)
	}
	answers["mfa"] = "yes"
	if _, err := v.SaveAnswers(context.Background(), sent2.Token, answers, true); err != nil {
		t.Fatal(err)
	}
	at2 := map[string]string{"key": "mailer", "id": sent2.Assessment.ID}
	if r := f.call(t, c.HandleReviewAssessment(), "POST", "/", url.Values{"csrf": {csrf}, "decision": {"approve"}, "comments": {"ISO 27001 certificate read."}}, at2); r.Code != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", r.Code, r.Body)
	}
	page = f.call(t, c.HandleVendor(), "GET", "/admin/vendors/mailer", nil, mailer)
	body = page.Body.String()
	if !strings.Contains(body, "Allowed.") || !strings.Contains(body, "approved") || !strings.Contains(body, "rejected") {
		t.Fatalf("vendor page after approval: %s", body)
	}
	if r := f.call(t, c.HandleVendors(), "GET", "/admin/vendors", nil, nil); !strings.Contains(r.Body.String(), `<strong class="state-current">yes</strong>`) {
		t.Fatalf("vendor list after approval: %s", r.Body)
	}

	// Withdrawing a link still out.
	sent3, err := v.Send(audit.WithActor(context.Background(), audit.Staff("stf_sam")), "mailer", assurance.SecurityBaseline, "security@mailer.example", 0)
	if err != nil {
		t.Fatal(err)
	}
	at3 := map[string]string{"key": "mailer", "id": sent3.Assessment.ID}
	if r := f.call(t, c.HandleRevokeAssessment(), "POST", "/", url.Values{"csrf": {csrf}, "comments": {""}}, at3); r.Code != http.StatusBadRequest {
		t.Fatalf("withdraw without a reason: %d", r.Code)
	}
	if r := f.call(t, c.HandleRevokeAssessment(), "POST", "/", url.Values{"csrf": {csrf}, "comments": {"Sent to the wrong address."}}, at3); r.Code != http.StatusSeeOther {
		t.Fatalf("withdraw: %d %s", r.Code, r.Body)
	}

	// Contacts: masked until revealed.
	if r := f.call(t, c.HandleAddContact(), "POST", "/", url.Values{"csrf": {csrf}, "name": {"Kim Vendor"}, "email": {"kim@mailer.example"}}, mailer); r.Code != http.StatusSeeOther {
		t.Fatalf("add contact: %d %s", r.Code, r.Body)
	}
	if r := f.call(t, c.HandleAddContact(), "POST", "/", url.Values{"csrf": {csrf}, "name": {""}, "email": {"kim"}}, mailer); r.Code != http.StatusBadRequest {
		t.Fatalf("add a bad contact: %d", r.Code)
	}
	page = f.call(t, c.HandleVendor(), "GET", "/admin/vendors/mailer", nil, mailer)
	if body = page.Body.String(); strings.Contains(body, "Kim Vendor") || strings.Contains(body, "kim@mailer.example") || !strings.Contains(body, "Show names and addresses") {
		t.Fatalf("contacts not masked: %s", body)
	}
	revealed := f.call(t, c.HandleRevealContacts(), "POST", "/", url.Values{"csrf": {csrf}}, mailer)
	if body = revealed.Body.String(); revealed.Code != http.StatusOK || !strings.Contains(body, "Kim Vendor") || !strings.Contains(body, "kim@mailer.example") {
		t.Fatalf("revealed contacts: %d %s", revealed.Code, body)
	}
	contacts, _ := v.Contacts(context.Background(), "mailer")
	if r := f.call(t, c.HandleRemoveContact(), "POST", "/", url.Values{"csrf": {csrf}}, map[string]string{"key": "mailer", "id": contacts[0].ID}); r.Code != http.StatusSeeOther {
		t.Fatalf("remove contact: %d", r.Code)
	}
	if contacts, _ := v.Contacts(context.Background(), "mailer"); len(contacts) != 0 {
		t.Fatalf("contacts after removal %+v", contacts)
	}
}

// TestQuestionnaireLinkIgnoresHost replays a send whose Host header an
// attacker chose (a proxy that passes it on, a poisoned cache): the link in
// the vendor's email and on the page starts with --public-url. Without a
// public URL it takes the request's own scheme, not a hardcoded https.
func TestQuestionnaireLinkIgnoresHost(t *testing.T) {
	cases := []struct {
		name, publicURL, host string
		tls                   bool
		want                  string
	}{
		{"forged host", "https://privacy.shop.example/", "evil.example", false, "https://privacy.shop.example/assess/"},
		{"forged host over TLS", "https://privacy.shop.example", "evil.example", true, "https://privacy.shop.example/assess/"},
		{"no public URL, plain", "", "steward.internal:8080", false, "http://steward.internal:8080/assess/"},
		{"no public URL, TLS", "", "steward.internal", true, "https://steward.internal/assess/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newVendorFixture(t)
			var mailed string
			f.console.PublicURL = c.publicURL
			f.console.MailQuestionnaire = func(_ context.Context, _, _, link string, _ time.Time) error {
				mailed = link
				return nil
			}
			form := url.Values{"csrf": {csrfToken(f.session)}, "template": {assurance.SecurityBaseline},
				"contact_email": {"security@mailer.example"}, "expiry_days": {"14"}}
			r := httptest.NewRequest("POST", "/admin/vendors/mailer/send", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Host = c.host
			if c.tls {
				r.TLS = &tls.ConnectionState{}
			}
			r.SetPathValue("key", "mailer")
			ctx := context.WithValue(r.Context(), sessionCtx{}, f.session)
			r = r.WithContext(audit.WithActor(ctx, audit.Staff(f.session.Account.ID)))
			w := httptest.NewRecorder()
			f.console.HandleSendQuestionnaire().ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				t.Fatalf("send: %d %s", w.Code, w.Body)
			}
			if !strings.HasPrefix(mailed, c.want) || strings.Contains(mailed, "evil.example") {
				t.Fatalf("emailed link %q, want it to start with %s", mailed, c.want)
			}
			if !strings.Contains(w.Body.String(), mailed) {
				t.Fatalf("the page does not show the emailed link %q", mailed)
			}
		})
	}
}

// TestVendorGateInConsole: the console says why a vendor is held back (not
// offered in the banner, refused in decisions) and what to do next, and a
// security officer can withdraw an approval, which holds the vendor back
// at once.
func TestVendorGateInConsole(t *testing.T) {
	f := newVendorFixture(t)
	c, v := f.console, f.vendors
	csrf := csrfToken(f.session)
	mailer := map[string]string{"key": "mailer"}
	const gated = "Not offered in the banner and blocked in decisions: no current passing assessment."
	const next = "Send a questionnaire from the vendor&#39;s page"
	check := func(step string, wantGated bool) {
		t.Helper()
		list := f.call(t, c.HandleVendors(), "GET", "/admin/vendors", nil, nil)
		row := regexp.MustCompile(`(?s)<code>mailer</code>.*?</tr>`).FindString(list.Body.String())
		if list.Code != http.StatusOK || strings.Contains(row, gated) != wantGated {
			t.Fatalf("%s: list: gated=%v wanted, got %d %s", step, wantGated, list.Code, row)
		}
		page := f.call(t, c.HandleVendor(), "GET", "/admin/vendors/mailer", nil, mailer)
		body := page.Body.String()
		if page.Code != http.StatusOK || strings.Contains(body, gated) != wantGated || strings.Contains(body, next) != wantGated {
			t.Fatalf("%s: page: gated=%v wanted, got %d %s", step, wantGated, page.Code, body)
		}
	}
	check("never assessed", true)
	sent, err := v.Send(audit.WithActor(context.Background(), audit.Staff("stf_sam")), "mailer", assurance.SecurityBaseline, "security@mailer.example", 0)
	if err != nil {
		t.Fatal(err)
	}
	answers := map[string]string{}
	for _, q := range assurance.BuiltinTemplates()[0].Questions {
		if len(q.Pass) > 0 {
			answers[q.ID] = q.Pass[0]
		} else {
			answers[q.ID] = "https://mailer.example/trust/doc.pdf"
		}
	}
	if _, err := v.SaveAnswers(context.Background(), sent.Token, answers, true); err != nil {
		t.Fatal(err)
	}
	at := map[string]string{"key": "mailer", "id": sent.Assessment.ID}
	if r := f.call(t, c.HandleReviewAssessment(), "POST", "/", url.Values{"csrf": {csrf}, "decision": {"approve"}, "comments": {"ISO 27001 certificate read."}}, at); r.Code != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", r.Code, r.Body)
	}
	check("approved", false)
	approved := f.call(t, c.HandleAssessment(), "GET", "/", nil, at)
	if body := approved.Body.String(); !strings.Contains(body, "Withdraw the approval") || !strings.Contains(body, "blocked at once") {
		t.Fatalf("an approval offers no withdrawal: %s", body)
	}
	checkForms(t, approved.Body.String(), csrf)
	if r := f.call(t, c.HandleRevokeAssessment(), "POST", "/", url.Values{"csrf": {csrf}, "comments": {"Their certificate was suspended."}}, at); r.Code != http.StatusSeeOther {
		t.Fatalf("withdraw the approval: %d %s", r.Code, r.Body)
	}
	check("approval withdrawn", true)
}
