package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/report"
	"github.com/steward-dev/steward/internal/review"
	"github.com/steward-dev/steward/internal/staff"
)

var reviewLink = regexp.MustCompile(`action="(/admin/access-reviews/arv_[A-Za-z0-9_-]+)/close"`)

// TestConsoleAccessReview: an administrator sees when the next review is
// due, opens the quarter's review, confirms their own access, changes a
// colleague's role, disables another's account, and closes the review once
// every account is decided; other roles are refused, forms need the CSRF
// token, and every decision is in the audit log by the administrator.
func TestConsoleAccessReview(t *testing.T) {
	ctx := context.Background()
	f := newConsoleFixture(t, db.SQLite)
	app := f.srv.App
	admin, ada := f.browserFor(t, staff.RoleAdmin)
	officer, bo := f.browserFor(t, staff.RolePrivacyOfficer)
	_, cy := f.browserFor(t, staff.RoleSupport)
	quarter := review.QuarterOf(time.Now()).String()

	if page := admin.do("GET", "/admin", nil); !strings.Contains(page.body, "Next review due: "+quarter) {
		t.Fatalf("the dashboard does not say when the review is due: %.3000s", page.body)
	}
	if page := officer.do("GET", "/admin", nil); strings.Contains(page.body, "Next review due") {
		t.Fatal("the dashboard tells a privacy officer of access reviews")
	}
	page := admin.do("GET", "/admin/access-reviews", nil)
	if page.status != http.StatusOK || !strings.Contains(page.body, "Next review due: "+quarter) || !strings.Contains(page.body, `<option value="`+quarter+`"`) {
		t.Fatalf("reviews page: %d %.3000s", page.status, page.body)
	}
	if got := officer.do("GET", "/admin/access-reviews", nil); got.status != http.StatusForbidden {
		t.Fatalf("a privacy officer sees the reviews: %d", got.status)
	}
	token := admin.formToken("/admin/access-reviews")
	if got := admin.do("POST", "/admin/access-reviews", url.Values{"quarter": {quarter}}); got.status != http.StatusForbidden {
		t.Fatalf("opened without the CSRF token: %d", got.status)
	}
	if got := admin.do("POST", "/admin/access-reviews", url.Values{"csrf": {token}, "quarter": {"2999-Q1"}}); got.status != http.StatusBadRequest ||
		!strings.Contains(got.body, "has not begun yet") {
		t.Fatalf("a quarter to come: %d %.2000s", got.status, got.body)
	}
	page = admin.do("POST", "/admin/access-reviews", url.Values{"csrf": {token}, "quarter": {quarter}})
	m := reviewLink.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil || !strings.Contains(page.body, "Decide on each account below") {
		t.Fatalf("open: %d %.3000s", page.status, page.body)
	}
	reviewPath := m[1]
	for _, a := range []staff.Created{ada, bo, cy} {
		if !strings.Contains(page.body, a.Name) {
			t.Fatalf("the review does not list %s", a.Name)
		}
	}
	if !strings.Contains(page.body, "Accounts still waiting for a decision: ") {
		t.Fatalf("the page does not say what is left: %.3000s", page.body)
	}
	// One's own account: confirm only.
	if strings.Contains(page.body, `id="role-`+ada.ID+`"`) {
		t.Fatal("the administrator is offered to change their own role")
	}
	decide := func(who staff.Created, form url.Values) answer {
		form.Set("csrf", token)
		return admin.do("POST", reviewPath+"/accounts/"+who.ID, form)
	}
	if got := decide(ada, url.Values{"decision": {"disabled"}}); got.status != http.StatusBadRequest || !strings.Contains(got.body, "another administrator must") {
		t.Fatalf("disabled oneself: %d %.2000s", got.status, got.body)
	}
	if got := officer.do("POST", reviewPath+"/accounts/"+bo.ID, url.Values{"csrf": {officer.formToken("/admin/training")}, "decision": {"confirmed"}}); got.status != http.StatusForbidden {
		t.Fatalf("an officer decided: %d", got.status)
	}
	if got := decide(ada, url.Values{"decision": {"confirmed"}}); got.status != http.StatusOK || !strings.Contains(got.body, "Decision recorded for "+ada.Name) {
		t.Fatalf("confirm: %d %.2000s", got.status, got.body)
	}
	if got := decide(bo, url.Values{"decision": {"changed"}, "role": {string(staff.RoleAnalyst)}}); got.status != http.StatusOK || !strings.Contains(got.body, "Role changed to") {
		t.Fatalf("change: %d %.2000s", got.status, got.body)
	}
	if got := admin.do("POST", reviewPath+"/close", url.Values{"csrf": {token}}); got.status != http.StatusConflict || !strings.Contains(got.body, "1 accounts still wait") {
		t.Fatalf("closed with an account pending: %d %.2000s", got.status, got.body)
	}
	if got := decide(cy, url.Values{"decision": {"disabled"}}); got.status != http.StatusOK {
		t.Fatalf("disable: %d %.2000s", got.status, got.body)
	}
	if got := decide(cy, url.Values{"decision": {"confirmed"}}); got.status != http.StatusConflict {
		t.Fatalf("decided twice: %d", got.status)
	}
	page = admin.do("POST", reviewPath+"/close", url.Values{"csrf": {token}})
	if page.status != http.StatusOK || !strings.Contains(page.body, "The review of "+quarter+" is closed.") || strings.Contains(page.body, `name="decision"`) {
		t.Fatalf("close: %d %.3000s", page.status, page.body)
	}
	// The role change ended Bo's session; Cy's account is disabled.
	if got := officer.do("GET", "/admin", nil); got.status != http.StatusSeeOther {
		t.Fatalf("Bo's session survived the role change: %d", got.status)
	}
	if a, _ := app.Staff.Get(ctx, cy.ID); !a.Disabled {
		t.Fatal("Cy's account is not disabled")
	}
	if got := admin.do("GET", "/admin/access-reviews", nil); !strings.Contains(got.body, "Next review due: "+review.QuarterOf(time.Now()).Next().String()) {
		t.Fatalf("the next review is not the next quarter's: %.2000s", got.body)
	}
	for _, c := range []struct {
		action string
		target string
	}{{review.ActionOpen, ""}, {review.ActionConfirm, ada.ID}, {review.ActionChange, bo.ID}, {"staff.role", bo.ID},
		{review.ActionDisable, cy.ID}, {"staff.disable", cy.ID}, {review.ActionClose, ""}} {
		q := audit.Query{Action: c.action, Actor: audit.Staff(ada.ID)}
		if c.target != "" {
			q.Target = audit.Target{Kind: audit.KindStaff, ID: c.target}
		}
		if p, err := app.Audit.Search(ctx, q); err != nil || len(p.Entries) != 1 {
			t.Errorf("%s %s: %d entries by the administrator (%v)", c.action, c.target, len(p.Entries), err)
		}
	}
}

// TestConsoleMonthlyReport: administrators and security officers read the
// monthly report, print it and download it signed; the download verifies
// against the server's key set and its counts are the audit log's; a bad
// month says what to type; other roles are refused.
func TestConsoleMonthlyReport(t *testing.T) {
	f := newConsoleFixture(t, db.SQLite)
	app := f.srv.App
	security, _ := f.browserFor(t, staff.RoleSecurityOfficer)
	admin, _ := f.browserFor(t, staff.RoleAdmin)
	support, _ := f.browserFor(t, staff.RoleSupport)
	month := report.MonthOf(time.Now()).String()

	page := security.do("GET", "/admin/reports/monthly?month="+month, nil)
	if page.status != http.StatusOK || !strings.Contains(page.body, "<code>staff.sign_in</code>") || !strings.Contains(page.body, "Download the signed report") {
		t.Fatalf("report page: %d %.3000s", page.status, page.body)
	}
	if got := admin.do("GET", "/admin/reports/monthly", nil); got.status != http.StatusOK || !strings.Contains(got.body, report.MonthOf(time.Now()).Prev().String()) {
		t.Fatalf("the default month is not the last one: %d", got.status)
	}
	if got := support.do("GET", "/admin/reports/monthly", nil); got.status != http.StatusForbidden {
		t.Fatalf("support reads the report: %d", got.status)
	}
	if got := admin.do("GET", "/admin/reports/monthly?month=2027-13", nil); got.status != http.StatusBadRequest || !strings.Contains(got.body, "must be a month such as 2027-01") {
		t.Fatalf("a bad month: %d %.2000s", got.status, got.body)
	}
	if got := admin.do("GET", "/admin/reports/monthly/print?month="+month, nil); got.status != http.StatusOK || strings.Contains(got.body, `<form method="get"`) ||
		!strings.Contains(got.body, "Back to the report") {
		t.Fatalf("print view: %d %.2000s", got.status, got.body)
	}

	dl := security.do("GET", "/admin/reports/monthly.json?month="+month, nil)
	if dl.status != http.StatusOK || !strings.Contains(dl.header.Get("Content-Disposition"), "steward-report-"+month+".json") {
		t.Fatalf("download: %d %s", dl.status, dl.header.Get("Content-Disposition"))
	}
	body := []byte(dl.body)
	got, err := report.Verify(body, app.Signer.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	m := report.MonthOf(time.Now())
	p, err := app.Audit.Search(context.Background(), audit.Query{Action: "staff.sign_in", Since: m.Start(), Until: m.End(), Limit: audit.MaxPage})
	if err != nil {
		t.Fatal(err)
	}
	if got.SignIns.Succeeded != len(p.Entries) || got.SignIns.Succeeded < 3 {
		t.Fatalf("the report counts %d sign-ins, the audit log %d", got.SignIns.Succeeded, len(p.Entries))
	}
	body[len(body)/2] ^= 1
	if _, err := report.Verify(body, app.Signer.JWKS()); err == nil {
		t.Fatal("a changed download verifies")
	}
}
