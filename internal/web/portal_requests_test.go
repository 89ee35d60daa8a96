package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/staff"
)

// TestPortalAnswerThread replays issue 12: "ask the customer" only set a
// state; the customer could not answer anywhere and staff never saw an
// answer. Now the customer is emailed in their language with a link to
// the request, answers in the portal, staff see the answer on the request
// page, and the GDPR's clock stops while the answer is awaited.
func TestPortalAnswerThread(t *testing.T) {
	ctx := context.Background()
	f := newPortalFixture(t, db.SQLite)
	app := f.srv.App
	const email = "ada.portal@example.org"
	b := f.signIn(t, email)
	token := csrfField.FindStringSubmatch(b.do("GET", "/privacy/home?lang=de", nil).body)[1]
	filed := b.do("POST", "/privacy/requests", url.Values{"csrf": {token}, "kind": {"erasure"}, "lang": {"de"}})
	id := regexp.MustCompile(`req_[A-Za-z0-9_-]+`).FindString(filed.header.Get("Location"))
	if filed.status != http.StatusSeeOther || id == "" {
		t.Fatalf("file: %d %s", filed.status, filed.header.Get("Location"))
	}
	if m := f.mail.WaitFor(t, email); !strings.Contains(m.Subject, "Wir haben Ihre Anfrage erhalten") {
		t.Fatalf("received email: %q", m.Subject)
	}
	staffCtx := audit.WithActor(ctx, audit.Staff("stf_officer"))
	const question = "Welche Kundennummer meinen Sie?"
	if _, err := app.Requests.AskCustomer(staffCtx, id, question); err != nil {
		t.Fatal(err)
	}
	m := f.mail.WaitFor(t, email)
	link := "/privacy/requests/" + id + "?lang=de"
	if !strings.Contains(m.Subject, "Frage zu Ihrer Anfrage") || !strings.Contains(m.Text, link) || strings.Contains(m.Text, question) {
		t.Fatalf("question email: %q\n%s", m.Subject, m.Text)
	}
	if r, _ := app.Requests.Get(ctx, id); r.PausedAt == nil {
		t.Fatal("the GDPR clock did not stop while waiting for the customer")
	}
	page := b.do("GET", link, nil)
	if page.status != 200 || !strings.Contains(page.body, question) || !strings.Contains(page.body, "Antwort senden") ||
		!strings.Contains(page.body, "läuft unsere Frist nicht weiter") {
		t.Fatalf("request page: %d %.3000s", page.status, page.body)
	}
	// Another customer cannot see or answer it.
	other := f.signIn(t, "nobody@example.org")
	otherToken := csrfField.FindStringSubmatch(other.do("GET", "/privacy/home", nil).body)[1]
	if got := other.do("GET", link, nil); got.status != http.StatusNotFound || strings.Contains(got.body, question) {
		t.Fatalf("another customer opens the request: %d", got.status)
	}
	if got := other.do("POST", "/privacy/requests/"+id+"/answer", url.Values{"csrf": {otherToken}, "answer": {"me"}}); got.status != http.StatusNotFound {
		t.Fatalf("another customer answers: %d", got.status)
	}
	// An empty answer is refused in German.
	token = csrfField.FindStringSubmatch(page.body)[1]
	if got := b.do("POST", "/privacy/requests/"+id+"/answer", url.Values{"csrf": {token}, "lang": {"de"}, "answer": {"  "}}); got.status != http.StatusBadRequest ||
		!strings.Contains(got.body, "Bitte schreiben Sie Ihre Antwort.") {
		t.Fatalf("empty answer: %d %.2000s", got.status, got.body)
	}
	got := b.do("POST", "/privacy/requests/"+id+"/answer", url.Values{"csrf": {token}, "lang": {"de"}, "answer": {"Die Nummer 4711."}})
	if got.status != http.StatusSeeOther {
		t.Fatalf("answer: %d %.300s", got.status, got.body)
	}
	if after := b.do("GET", got.header.Get("Location"), nil); !strings.Contains(after.body, "Wir haben Ihre Antwort erhalten") {
		t.Fatalf("after answering: %.2000s", after.body)
	}
	r, _ := app.Requests.Get(ctx, id)
	if r.State != dsr.StateReceived || r.PausedAt != nil {
		t.Fatalf("after the answer: %s, paused %v", r.State, r.PausedAt)
	}
	// A second answer finds nothing waiting, said in German.
	if got := b.do("POST", "/privacy/requests/"+id+"/answer", url.Values{"csrf": {token}, "lang": {"de"}, "answer": {"Noch etwas."}}); got.status != http.StatusConflict ||
		!strings.Contains(got.body, "Wir warten bei dieser Anfrage nicht mehr") {
		t.Fatalf("second answer: %d %.2000s", got.status, got.body)
	}
	// Staff see the answer on the request page.
	officer, _ := (&consoleFixture{srv: f.srv}).browserFor(t, staff.RolePrivacyOfficer)
	if page := officer.do("GET", "/admin/requests/"+id, nil); page.status != 200 || !strings.Contains(page.body, "Die Nummer 4711.") {
		t.Fatalf("console request page: %d %.3000s", page.status, page.body)
	}
}

// TestPortalRequestFormKeepsInputAndIsTranslated replays issue 12: the
// request form showed the details box for every kind, forgot the
// customer's input when it refused it, and answered the German page with
// the service's English ("say what is wrong and what it should be").
func TestPortalRequestFormKeepsInputAndIsTranslated(t *testing.T) {
	f := newPortalFixture(t, db.SQLite)
	b := f.signIn(t, "ada.portal@example.org")
	home := b.do("GET", "/privacy/home?lang=de", nil)
	if !strings.Contains(home.body, `class="details-box"`) {
		t.Fatal("the details box is not marked for the stylesheet that shows it for rectification and objection only")
	}
	css := b.do("GET", regexp.MustCompile(`/privacy/assets/portal[^"]*`).FindString(home.body), nil)
	if !strings.Contains(css.body, "input[name=kind][value=rectification]:checked) .details-box") || strings.Contains(css.body, "value=erasure") {
		t.Fatalf("stylesheet: %.200s", css.body)
	}
	token := csrfField.FindStringSubmatch(home.body)[1]
	got := b.do("POST", "/privacy/requests", url.Values{"csrf": {token}, "lang": {"de"}, "kind": {"rectification"}, "details": {"  "}})
	if got.status != http.StatusBadRequest || !strings.Contains(got.body, "Bitte schreiben Sie uns, was falsch ist") ||
		!regexp.MustCompile(`id="kind-rectification" name="kind" value="rectification" checked`).MatchString(got.body) {
		t.Fatalf("refused rectification: %d %.4000s", got.status, got.body)
	}
	for _, english := range []string{"say what is wrong", "must be", "Please", "Your request"} {
		if strings.Contains(got.body, english) {
			t.Errorf("the German page says %q", english)
		}
	}
	long := strings.Repeat("x", 4001)
	got = b.do("POST", "/privacy/requests", url.Values{"csrf": {token}, "lang": {"de"}, "kind": {"objection"}, "details": {long}})
	if got.status != http.StatusBadRequest || !strings.Contains(got.body, ">"+long+"</textarea>") || !strings.Contains(got.body, "höchstens 4000 Zeichen") ||
		!regexp.MustCompile(`value="objection" checked`).MatchString(got.body) {
		t.Fatalf("refused objection: %d", got.status)
	}
	// Details typed for another choice are not kept for an erasure.
	got = b.do("POST", "/privacy/requests", url.Values{"csrf": {token}, "lang": {"de"}, "kind": {"erasure"}, "details": {"typed for a correction"}})
	id := regexp.MustCompile(`req_[A-Za-z0-9_-]+`).FindString(got.header.Get("Location"))
	if got.status != http.StatusSeeOther || id == "" {
		t.Fatalf("erasure with stray details: %d %.300s", got.status, got.body)
	}
	if r, err := f.srv.App.Requests.Get(context.Background(), id); err != nil || r.HasDetails || r.Language != "de" {
		t.Fatalf("filed %+v, %v", r, err)
	}
}
