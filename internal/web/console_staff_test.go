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
	"github.com/steward-dev/steward/internal/staff"
)

var resetLink = regexp.MustCompile(`<output class="value">https?://[^<]*(/admin/reset/[A-Za-z0-9_-]+)</output>`)

// TestConsoleStaffAdministration: an administrator sees a colleague's
// sign-in lock and lifts it, and hands them a one-time link to choose a new
// password or set up a new authenticator; each needs a fresh sign-in, is
// refused to other roles, and is audited. The link works once.
func TestConsoleStaffAdministration(t *testing.T) {
	ctx := context.Background()
	f := newConsoleFixture(t, db.SQLite)
	app := f.srv.App
	admin, adminAccount := f.browserFor(t, staff.RoleAdmin)
	officer, bo := f.browserFor(t, staff.RolePrivacyOfficer)
	form := func(b *browser, extra url.Values) url.Values {
		v := url.Values{"csrf": {b.formToken("/admin/training")}}
		for k, val := range extra {
			v[k] = val
		}
		return v
	}

	// Five wrong passwords lock Bo's address; the staff page says so.
	for range 5 {
		newBrowser(t, f.srv.URL).signIn(bo.Email, "not the password at all", bo.TOTPSecret)
	}
	if page := admin.do("GET", "/admin/staff", nil); !strings.Contains(page.body, "<strong>locked</strong>") || !strings.Contains(page.body, "5 failed sign-ins") {
		t.Fatalf("the staff page shows no lock: %.2000s", page.body)
	}

	// Other roles may not; a stale administrator confirms first.
	if got := officer.do("POST", "/admin/staff/"+bo.ID+"/unlock", form(officer, nil)); got.status != http.StatusForbidden {
		t.Fatalf("an officer unlocked: %d", got.status)
	}
	if _, err := app.DB.Exec(`UPDATE staff_sessions SET authenticated_at = authenticated_at - $1 WHERE staff_id = $2`,
		(16 * time.Minute).Microseconds(), adminAccount.ID); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/unlock", "/reset"} {
		got := admin.do("POST", "/admin/staff/"+bo.ID+path, form(admin, url.Values{"kind": {"password"}}))
		if got.status != http.StatusSeeOther || !strings.HasPrefix(got.header.Get("Location"), "/admin/reauth") {
			t.Fatalf("stale %s: %d %s", path, got.status, got.header.Get("Location"))
		}
	}
	code, _ := staff.TOTPCode(adminAccount.TOTPSecret, time.Now().Add(30*time.Second))
	if got := admin.do("POST", "/admin/reauth", form(admin, url.Values{"password": {staffPassword}, "code": {code}, "next": {"/admin/staff"}})); got.status != http.StatusSeeOther {
		t.Fatalf("reauth: %d %.300s", got.status, got.body)
	}
	if got := admin.do("POST", "/admin/staff/"+bo.ID+"/unlock", form(admin, nil)); got.status != http.StatusOK || !strings.Contains(got.body, "is unlocked") {
		t.Fatalf("unlock: %d %.300s", got.status, got.body)
	}
	if states, _ := app.Staff.LockStates(ctx); states[bo.ID].Locked() {
		t.Fatalf("still locked: %+v", states[bo.ID])
	}

	// A password link: Bo's session ends; the link asks for a code and works once.
	got := admin.do("POST", "/admin/staff/"+bo.ID+"/reset", form(admin, url.Values{"kind": {"password"}}))
	m := resetLink.FindStringSubmatch(got.body)
	if got.status != http.StatusOK || m == nil {
		t.Fatalf("reset: %d %.2000s", got.status, got.body)
	}
	if page := officer.do("GET", "/admin", nil); page.status != http.StatusSeeOther {
		t.Fatalf("Bo's session survived the reset: %d", page.status)
	}
	visitor := newBrowser(t, f.srv.URL)
	if page := visitor.do("GET", m[1], nil); page.status != http.StatusOK || !strings.Contains(page.body, "Code from your authenticator app") {
		t.Fatalf("reset page: %d %.500s", page.status, page.body)
	}
	const newPassword = "bo's brand new passphrase"
	if page := visitor.do("POST", m[1], url.Values{"password": {newPassword}, "confirm": {newPassword}, "code": {"000000"}}); page.status != http.StatusBadRequest {
		t.Fatalf("a wrong code: %d", page.status)
	}
	code, _ = staff.TOTPCode(bo.TOTPSecret, time.Now().Add(30*time.Second)) // the next step: this one signed Bo in
	if page := visitor.do("POST", m[1], url.Values{"password": {newPassword}, "confirm": {newPassword}, "code": {code}}); page.status != http.StatusOK || !strings.Contains(page.body, "Your new password is set") {
		t.Fatalf("redeem: %d %.3000s", page.status, page.body)
	}
	if page := visitor.do("GET", m[1], nil); page.status != http.StatusNotFound || !strings.Contains(page.body, "ask an administrator for a new one") {
		t.Fatalf("a used link: %d", page.status)
	}

	// An authenticator link: the password enrols a new secret, shown once.
	got = admin.do("POST", "/admin/staff/"+bo.ID+"/reset", form(admin, url.Values{"kind": {"authenticator"}}))
	if m = resetLink.FindStringSubmatch(got.body); m == nil {
		t.Fatalf("reset: %d %.2000s", got.status, got.body)
	}
	page := visitor.do("POST", m[1], url.Values{"password": {newPassword}})
	secret := regexp.MustCompile(`<output class="value">([A-Z2-7]{32})</output>`).FindStringSubmatch(page.body)
	if page.status != http.StatusOK || secret == nil {
		t.Fatalf("enrol: %d %.500s", page.status, page.body)
	}
	if got := newBrowser(t, f.srv.URL).signIn(bo.Email, newPassword, secret[1]); got.status != http.StatusSeeOther {
		t.Fatalf("sign in with the new factors: %d %.300s", got.status, got.body)
	}

	// Audited, and the audit log says it in words.
	for action, want := range map[string]int{"staff.reset_issued": 2, "staff.reset_redeemed": 2, "staff.unlock": 1} {
		p, err := app.Audit.Search(ctx, audit.Query{Action: action, Target: audit.Target{Kind: audit.KindStaff, ID: bo.ID}})
		if err != nil || len(p.Entries) != want {
			t.Errorf("%s: %d entries, want %d (%v)", action, len(p.Entries), want, err)
		}
	}
}
