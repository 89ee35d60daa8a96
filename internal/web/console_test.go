package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/audit/audittest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/web"
)

// browser is a console client that keeps cookies itself: net/http's
// cookie jar, rightly, sends no Secure cookie to an http:// test server.
type browser struct {
	t       testing.TB
	base    string
	cookies map[string]string
	header  map[string]string // extra request headers
	client  *http.Client
}

func newBrowser(t testing.TB, base string) *browser {
	return &browser{t: t, base: base, cookies: map[string]string{}, header: map[string]string{},
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status int
	body   string
	header http.Header
}

func (b *browser) do(method, path string, form url.Values) answer {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.header {
		req.Header.Set(k, v)
	}
	if host, ok := b.header["Host"]; ok {
		req.Host = host // as a proxy that passes on what the client sent
	}
	for name, value := range b.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return answer{resp.StatusCode, string(raw), resp.Header}
}

var (
	csrfField   = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	signInError = "the email, password or code is not right"
)

// formToken returns the CSRF token of the first form on a page.
func (b *browser) formToken(path string) string {
	b.t.Helper()
	a := b.do("GET", path, nil)
	m := csrfField.FindStringSubmatch(a.body)
	if m == nil {
		b.t.Fatalf("GET %s: %d, no CSRF token in %.300s", path, a.status, a.body)
	}
	return m[1]
}

var drawField = regexp.MustCompile(`name="draw" value="([^"]+)"`)

// takeQuiz opens a module, takes the quiz drawn for this attempt with the
// same answer to every question, and returns the result page.
func (b *browser) takeQuiz(key, choice string) answer {
	b.t.Helper()
	page := b.do("GET", "/admin/training/"+key, nil)
	csrf, draw := csrfField.FindStringSubmatch(page.body), drawField.FindStringSubmatch(page.body)
	if csrf == nil || draw == nil {
		b.t.Fatalf("GET /admin/training/%s: %d, no quiz form in %.300s", key, page.status, page.body)
	}
	form := url.Values{"csrf": {csrf[1]}, "draw": {draw[1]}}
	for i := range strings.Count(page.body, "<fieldset>") {
		form.Set(fmt.Sprintf("q%d", i), choice)
	}
	return b.do("POST", "/admin/training/"+key, form)
}

// signIn signs in with the account's password and a current TOTP code.
func (b *browser) signIn(email, password, secret string) answer {
	b.t.Helper()
	token := b.formToken("/admin/signin")
	code, err := staff.TOTPCode(secret, time.Now())
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do("POST", "/admin/signin", url.Values{"csrf": {token}, "email": {email}, "password": {password}, "code": {code}, "next": {"/admin"}})
}

const staffPassword = "correct horse battery staple"

type consoleFixture struct {
	srv     *apptest.Server
	count   int
	secrets []string // plaintext values no one but a revealer may see
}

func newConsoleFixture(t testing.TB, dialect db.Dialect) *consoleFixture {
	t.Helper()
	ctx := context.Background()
	srv := apptest.Start(t, dialect)
	f := &consoleFixture{srv: srv,
		secrets: []string{"DE89370400440532013000", "ada.fixture@example.org"}}
	for _, field := range []vault.Field{
		{Name: "iban", Category: "financial", Value: []byte(f.secrets[0])},
		{Name: "email", Category: "contact", Value: []byte(f.secrets[1])},
	} {
		if _, err := srv.App.Vault.Put(ctx, "cust-1", field); err != nil {
			t.Fatal(err)
		}
	}
	// The demo seeds this module; the tests replace it with a one-question quiz.
	if _, err := srv.App.Staff.PutModule(ctx, staff.Module{Key: "privacy-basics", Title: "Privacy basics",
		Content: "# Why we ask\n\nEvery reveal needs a **purpose**.", PassMark: 100, ValidityDays: 365,
		Quiz: []staff.Question{{Text: "May you look a customer up out of curiosity?", Choices: []string{"Yes", "No"}, Answer: 1}}}, false); err != nil {
		t.Fatal(err)
	}
	return f
}

// browserFor signs in a new staff member of role: each account's TOTP
// codes work once, so each browser gets its own account.
func (f *consoleFixture) browserFor(t testing.TB, role staff.Role) (*browser, staff.Created) {
	t.Helper()
	f.count++
	a, err := f.srv.App.Staff.Create(context.Background(), audit.System(), staff.NewAccount{Email: fmt.Sprintf("%s%d@shop.example", role, f.count),
		Name: fmt.Sprintf("Test %s %d", role, f.count), Role: role, Password: staffPassword})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, f.srv.URL)
	if got := b.signIn(a.Email, staffPassword, a.TOTPSecret); got.status != http.StatusSeeOther || b.cookies["__Host-steward_session"] == "" {
		t.Fatalf("sign in as %s: %d %.300s", role, got.status, got.body)
	}
	return b, a
}

// TestConsoleQuizCannotBeGuessed replays the quiz attack of issue 11 in the
// console: a quiz asks some of the pool's questions, a failed attempt says
// how many answers were right but not which, and after three failures the
// page says when the next attempt may be made instead of offering one.
func TestConsoleQuizCannotBeGuessed(t *testing.T) {
	f := newConsoleFixture(t, db.SQLite)
	m := staff.Module{Key: "pool", Title: "Pool", Content: "# Pool", PassMark: 100, ValidityDays: 365, Ask: 3}
	for i := range 8 {
		m.Quiz = append(m.Quiz, staff.Question{Text: fmt.Sprintf("Pooled question %d?", i), Choices: []string{"right", "wrong"}})
	}
	if _, err := f.srv.App.Staff.PutModule(context.Background(), m, true); err != nil {
		t.Fatal(err)
	}
	b, _ := f.browserFor(t, staff.RolePrivacyOfficer)
	page := b.do("GET", "/admin/training/pool", nil)
	if n := strings.Count(page.body, "<fieldset>"); n != 3 || strings.Count(page.body, "Pooled question") != 3 {
		t.Fatalf("the page asks %d questions, want 3 of the pool of 8: %.500s", n, page.body)
	}
	for i := range 3 {
		got := b.takeQuiz("pool", "1")
		if !strings.Contains(got.body, "Not passed: 0 of 3 correct") {
			t.Fatalf("failure %d: %.500s", i+1, got.body)
		}
		for _, feedback := range []string{"checked", "incorrect", "right answer", "correct answer"} {
			if strings.Contains(got.body, feedback) {
				t.Fatalf("failure %d: the page gives per-question feedback (%q)", i+1, feedback)
			}
		}
	}
	page = b.do("GET", "/admin/training/pool", nil)
	if !strings.Contains(page.body, "you can retry the quiz after") || strings.Contains(page.body, `name="draw"`) {
		t.Fatalf("after three failures: %.500s", page.body)
	}
}

// TestConsoleAccessMatrix tries every console route as every role and
// signed out: only what the role's permissions allow gets through; support
// never sees a vault value, and the analyst never sees a person.
func TestConsoleAccessMatrix(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			f := newConsoleFixture(t, dialect)
			var routes []web.Route
			for _, rt := range web.Routes(web.Deps{}) {
				if !rt.Console() {
					continue
				}
				if rt.Permission == "" {
					t.Errorf("console route %q declares no permission", rt.Pattern)
				}
				routes = append(routes, rt)
			}
			if len(routes) < 15 {
				t.Fatalf("only %d console routes", len(routes))
			}
			// Signing out ends the session the other cases use: last.
			slices.SortStableFunc(routes, func(a, b web.Route) int {
				return strings.Compare(fmt.Sprint(a.Pattern == "POST /admin/signout"), fmt.Sprint(b.Pattern == "POST /admin/signout"))
			})
			css := regexp.MustCompile(`/admin/assets/[^"]+`).FindString(newBrowser(t, f.srv.URL).do("GET", "/admin/signin", nil).body)
			samples := strings.NewReplacer("{id}", "cust-1", "{action}", "verify", "{op}", "retry", "{key}", "privacy-basics", "{token}", "no-such-link", "{file}", strings.TrimPrefix(css, "/admin/assets/"))

			type who struct {
				name string
				role staff.Role // "" signed out
			}
			people := []who{{name: "signed out"}}
			for _, role := range staff.Roles {
				people = append(people, who{string(role), role})
			}
			for _, p := range people {
				t.Run(p.name, func(t *testing.T) {
					b := newBrowser(t, f.srv.URL)
					csrf := ""
					if p.role != "" {
						b, _ = f.browserFor(t, p.role)
						csrf = b.formToken("/admin/training")
					}
					for _, rt := range routes {
						method, path, _ := strings.Cut(rt.Pattern, " ")
						path = samples.Replace(path)
						var form url.Values
						if method == "POST" {
							form = url.Values{"csrf": {csrf}, "field": {"iban"}, "purpose": {"customer asked for a refund"}, "ticket": {"T-1"}}
						}
						got := b.do(method, path, form)
						allowed := rt.Permission == web.Public
						if perm, ok := strings.CutPrefix(string(rt.Permission), "staff:"); ok && p.role != "" {
							allowed = perm == string(web.SignedIn)[len("staff:"):] || p.role.Can(staff.Permission(perm))
						}
						refused := got.status == http.StatusForbidden && strings.Contains(got.body, "may not open this page") ||
							got.status == http.StatusSeeOther && strings.HasPrefix(got.header.Get("Location"), "/admin/signin?next=") ||
							got.status == http.StatusUnauthorized && strings.Contains(got.body, "sign in first")
						if rt.Permission == web.Public {
							refused = got.status >= 400 && got.status != http.StatusUnauthorized && got.status != http.StatusForbidden &&
								// a reset link's page answers everyone; a made-up link is not found
								!(got.status == http.StatusNotFound && strings.Contains(got.body, "ask an administrator for a new one"))
						}
						if allowed == refused {
							t.Errorf("%s as %s: %d (allowed=%v) %.200s", rt.Pattern, p.name, got.status, allowed, got.body)
						}
						if got.status < 400 && got.status != http.StatusSeeOther && method == "GET" && strings.HasPrefix(got.header.Get("Content-Type"), "text/html") {
							if cc := got.header.Get("Cache-Control"); cc != "no-store" {
								t.Errorf("%s: Cache-Control %q", rt.Pattern, cc)
							}
							if csp := got.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
								t.Errorf("%s: CSP %q", rt.Pattern, csp)
							}
						}
						if p.role != staff.RolePrivacyOfficer {
							for _, secret := range f.secrets {
								if strings.Contains(got.body, secret) {
									t.Errorf("%s as %s shows the plaintext %q", rt.Pattern, p.name, secret)
								}
							}
						}
						if p.role == staff.RoleAnalyst && strings.Contains(got.body, "cust-1") {
							t.Errorf("%s as analyst names a customer", rt.Pattern)
						}
					}
				})
			}
		})
	}
}

// TestConsoleSessionsAndForms: cookie attributes, CSRF refusals, no
// account enumeration, and sessions that end on the server.
func TestConsoleSessionsAndForms(t *testing.T) {
	f := newConsoleFixture(t, db.SQLite)
	_, support := f.browserFor(t, staff.RoleSupport)

	t.Run("cookie attributes", func(t *testing.T) {
		b := newBrowser(t, f.srv.URL)
		token := b.formToken("/admin/signin")
		code, _ := staff.TOTPCode(support.TOTPSecret, time.Now().Add(30*time.Second)) // the next step: this step's code is used
		req, _ := http.NewRequest("POST", f.srv.URL+"/admin/signin", strings.NewReader(url.Values{"csrf": {token}, "email": {support.Email},
			"password": {staffPassword}, "code": {code}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "__Host-steward_signin", Value: b.cookies["__Host-steward_signin"]})
		resp, err := b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var session string
		for _, line := range resp.Header.Values("Set-Cookie") {
			if strings.HasPrefix(line, "__Host-steward_session=") {
				session = line
			}
		}
		for _, want := range []string{"Path=/", "Secure", "HttpOnly", "SameSite=Strict"} {
			if !strings.Contains(session, want) {
				t.Errorf("session cookie %q lacks %s", session, want)
			}
		}
		if strings.Contains(session, "Domain=") {
			t.Errorf("session cookie %q has a Domain", session)
		}
	})

	t.Run("no account enumeration", func(t *testing.T) {
		b := newBrowser(t, f.srv.URL)
		var bodies []string
		for _, email := range []string{support.Email, "nobody@shop.example"} {
			token := b.formToken("/admin/signin")
			got := b.do("POST", "/admin/signin", url.Values{"csrf": {token}, "email": {email}, "password": {"wrong password!"}, "code": {"000000"}})
			if got.status != http.StatusUnauthorized || !strings.Contains(got.body, signInError) {
				t.Fatalf("bad sign-in for %s: %d %.300s", email, got.status, got.body)
			}
			bodies = append(bodies, csrfField.ReplaceAllString(strings.ReplaceAll(got.body, email, "EMAIL"), ""))
		}
		if bodies[0] != bodies[1] {
			t.Error("a known and an unknown email get different pages")
		}
	})

	t.Run("CSRF", func(t *testing.T) {
		b, _ := f.browserFor(t, staff.RoleAdmin)
		form := url.Values{"email": {"new@shop.example"}, "name": {"New"}, "role": {"analyst"}, "password": {staffPassword}}
		if got := b.do("POST", "/admin/staff", form); got.status != http.StatusForbidden || !strings.Contains(got.body, "did not come from the console") {
			t.Errorf("post without token: %d %.200s", got.status, got.body)
		}
		form.Set("csrf", "forged")
		if got := b.do("POST", "/admin/staff", form); got.status != http.StatusForbidden {
			t.Errorf("post with a forged token: %d", got.status)
		}
		form.Set("csrf", b.formToken("/admin/staff"))
		b.header["Sec-Fetch-Site"] = "cross-site"
		if got := b.do("POST", "/admin/staff", form); got.status != http.StatusForbidden {
			t.Errorf("cross-site post with a valid token: %d", got.status)
		}
		delete(b.header, "Sec-Fetch-Site")
		if got := b.do("POST", "/admin/staff", form); got.status != http.StatusOK || !strings.Contains(got.body, "TOTP secret for new@shop.example") {
			t.Errorf("same-site post with the token: %d %.300s", got.status, got.body)
		}
		// The sign-in form has its own token, in a cookie and the form.
		other := newBrowser(t, f.srv.URL)
		other.formToken("/admin/signin")
		if got := other.do("POST", "/admin/signin", url.Values{"csrf": {"guess"}, "email": {support.Email}, "password": {staffPassword}}); got.status != http.StatusForbidden {
			t.Errorf("sign-in without its token: %d", got.status)
		}
	})

	t.Run("sessions end on the server", func(t *testing.T) {
		b, _ := f.browserFor(t, staff.RoleSupport)
		stolen := b.cookies["__Host-steward_session"]
		if got := b.do("POST", "/admin/signout", url.Values{"csrf": {b.formToken("/admin")}}); got.status != http.StatusSeeOther {
			t.Fatalf("sign out: %d", got.status)
		}
		b.cookies["__Host-steward_session"] = stolen
		if got := b.do("GET", "/admin", nil); got.status != http.StatusSeeOther || !strings.HasPrefix(got.header.Get("Location"), "/admin/signin") {
			t.Errorf("a signed-out session still works: %d", got.status)
		}
		// A role change ends the member's sessions too.
		b, member := f.browserFor(t, staff.RoleSupport)
		admin, _ := f.browserFor(t, staff.RoleAdmin)
		if got := admin.do("POST", "/admin/staff/"+member.ID+"/role", url.Values{"csrf": {admin.formToken("/admin/staff")}, "role": {"analyst"}}); got.status != http.StatusSeeOther {
			t.Fatalf("set role: %d %.300s", got.status, got.body)
		}
		if got := b.do("GET", "/admin", nil); got.status != http.StatusSeeOther {
			t.Errorf("the session survived a role change: %d", got.status)
		}
		security, _ := f.browserFor(t, staff.RoleSecurityOfficer)
		page := security.do("GET", "/admin/audit?action=staff.role", nil)
		if !strings.Contains(page.body, member.Name) || !strings.Contains(page.body, "Changed the role to analyst.") {
			t.Errorf("the role change is not in the audit log: %.500s", page.body)
		}
	})
}

// TestConsoleReveal walks the conditions of a reveal: training, a fresh
// sign-in, a purpose, the rate limit with its alert, and the audit log
// (fail closed).
func TestConsoleReveal(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			f := newConsoleFixture(t, dialect)
			app := f.srv.App
			b, officer := f.browserFor(t, staff.RolePrivacyOfficer)
			reveal := func(purpose, ticket string) answer {
				return b.do("POST", "/admin/customers/cust-1/reveal", url.Values{"csrf": {b.formToken("/admin/training")},
					"field": {"iban"}, "purpose": {purpose}, "ticket": {ticket}})
			}
			iban := f.secrets[0]

			// Find by email, exactly; the record is masked.
			got := b.do("GET", "/admin/customers?q="+url.QueryEscape("ADA.fixture@example.org"), nil)
			if got.status != http.StatusSeeOther || got.header.Get("Location") != "/admin/customers/cust-1" {
				t.Fatalf("find by email: %d %s", got.status, got.header.Get("Location"))
			}
			if got := b.do("GET", "/admin/customers?q=ada.fixture", nil); got.status != 200 || !strings.Contains(got.body, "No customer matches") {
				t.Fatalf("a partial email found someone: %d", got.status)
			}
			if got := b.do("GET", "/admin/customers/cust-1", nil); got.status != 200 || strings.Contains(got.body, iban) || !strings.Contains(got.body, "••••") {
				t.Fatalf("record: %d, masked=%v", got.status, !strings.Contains(got.body, iban))
			}

			// Training: a required module blocks the reveal until passed.
			m, _ := app.Staff.Module(ctx, "privacy-basics")
			m.Required = true
			if _, err := app.Staff.PutModule(ctx, m, false); err != nil {
				t.Fatal(err)
			}
			if got := reveal("customer asked for a refund", "T-1"); got.status != http.StatusForbidden || !strings.Contains(got.body, "complete your training") {
				t.Fatalf("untrained reveal: %d %.300s", got.status, got.body)
			}
			if got := b.do("GET", "/admin", nil); !strings.Contains(got.body, "You cannot reveal personal data now") {
				t.Error("the dashboard does not say why the reveal is blocked")
			}
			if got := b.takeQuiz("privacy-basics", "0"); !strings.Contains(got.body, "Not passed: 0 of 1 correct") {
				t.Fatalf("wrong answer passed: %.300s", got.body)
			}
			if got := b.takeQuiz("privacy-basics", "1"); !strings.Contains(got.body, "Passed with 100%") {
				t.Fatalf("right answer: %.300s", got.body)
			}

			// Purpose and ticket are required and must hold no personal data.
			for _, bad := range [][2]string{{"", "T-1"}, {"refund", ""}, {"write to ada@example.org", "T-1"}} {
				if got := reveal(bad[0], bad[1]); got.status != http.StatusBadRequest || strings.Contains(got.body, iban) {
					t.Errorf("reveal with %q: %d", bad, got.status)
				}
			}

			// A stale sign-in must be renewed first.
			if _, err := app.DB.Exec(`UPDATE staff_sessions SET authenticated_at = authenticated_at - $1 WHERE staff_id = $2`,
				(16 * time.Minute).Microseconds(), officer.ID); err != nil {
				t.Fatal(err)
			}
			if got := reveal("customer asked for a refund", "T-1"); got.status != http.StatusSeeOther || !strings.HasPrefix(got.header.Get("Location"), "/admin/reauth") {
				t.Fatalf("stale reveal: %d %s", got.status, got.header.Get("Location"))
			}
			code, _ := staff.TOTPCode(officer.TOTPSecret, time.Now().Add(30*time.Second)) // the next step: this step's code is used
			if got := b.do("POST", "/admin/reauth", url.Values{"csrf": {b.formToken("/admin/training")}, "password": {staffPassword}, "code": {code},
				"next": {"/admin/customers/cust-1"}}); got.status != http.StatusSeeOther || got.header.Get("Location") != "/admin/customers/cust-1" {
				t.Fatalf("reauth: %d %.300s", got.status, got.body)
			}

			got = reveal("customer asked for a refund", "T-1")
			if got.status != http.StatusOK || !strings.Contains(got.body, iban) || got.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("reveal: %d %.300s", got.status, got.body)
			}
			page, err := app.Audit.Accesses(ctx, "cust-1", 0, 10)
			if err != nil || len(page.Entries) == 0 || page.Entries[0].Action != "vault.reveal" || page.Entries[0].Actor != audit.Staff(officer.ID) {
				t.Fatalf("no reveal in the accesses: %+v %v", page.Entries, err)
			}
			details := page.Entries[0].Details.String()
			for _, want := range []string{`"purpose":"customer asked for a refund"`, `"ticket":"T-1"`, `"fields":["iban"]`, `"role":"privacy_officer"`} {
				if !strings.Contains(details, want) {
					t.Errorf("reveal details %s lack %s", details, want)
				}
			}
			if strings.Contains(details, iban) {
				t.Error("the audit entry holds the value")
			}

			// The rate limit: the 11th reveal in 10 minutes is refused and
			// raises one alert, which the dashboard shows.
			for i := 2; i <= 10; i++ {
				if got := reveal("customer asked for a refund", fmt.Sprintf("T-%d", i)); got.status != http.StatusOK {
					t.Fatalf("reveal %d: %d", i, got.status)
				}
			}
			for range 2 {
				if got := reveal("customer asked for a refund", "T-11"); got.status != http.StatusTooManyRequests || strings.Contains(got.body, iban) {
					t.Fatalf("reveal past the limit: %d", got.status)
				}
			}
			alerts, _ := app.Audit.Search(ctx, audit.Query{Action: "alert.reveal_burst"})
			if len(alerts.Entries) != 1 || alerts.Entries[0].Target.ID != officer.ID {
				t.Fatalf("alerts: %+v", alerts.Entries)
			}
			security, _ := f.browserFor(t, staff.RoleSecurityOfficer)
			if got := security.do("GET", "/admin", nil); !strings.Contains(got.body, "too many reveals") || !strings.Contains(got.body, officer.Name) {
				t.Errorf("the dashboard shows no alert: %.500s", got.body)
			}

			// Fail closed: with the audit log unwritable, nothing is revealed.
			if _, err := app.DB.Exec(`DELETE FROM audit_entries WHERE action = 'vault.reveal'`); err == nil {
				t.Fatal("audit entries could be deleted")
			}
			other, _ := f.browserFor(t, staff.RolePrivacyOfficer)
			if got := other.takeQuiz("privacy-basics", "1"); !strings.Contains(got.body, "Passed") {
				t.Fatalf("training: %.300s", got.body)
			}
			audittest.MakeUnwritable(t, app.DB)
			got = other.do("POST", "/admin/customers/cust-1/reveal", url.Values{"csrf": {other.formToken("/admin/training")},
				"field": {"iban"}, "purpose": {"customer asked for a refund"}, "ticket": {"T-12"}})
			if got.status == http.StatusOK || strings.Contains(got.body, iban) {
				t.Fatalf("reveal with the audit log unwritable: %d", got.status)
			}
		})
	}
}

// TestConsoleRequests: a privacy officer works a request through its
// states from the queue; a refused transition says why; reading the
// requester's address is recorded.
func TestConsoleRequests(t *testing.T) {
	ctx := context.Background()
	f := newConsoleFixture(t, db.SQLite)
	app := f.srv.App
	hash, _ := app.Vault.BlindIndex(ctx, "email", "ada.fixture@example.org")
	req, err := app.Requests.File(ctx, dsr.NewRequest{Kind: dsr.KindErasure, Regime: dsr.GDPR, SubjectID: "cust-1",
		Email: "ada.fixture@example.org", EmailHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	b, officer := f.browserFor(t, staff.RolePrivacyOfficer)
	queue := b.do("GET", "/admin/requests", nil)
	if queue.status != 200 || !strings.Contains(queue.body, req.ID) || strings.Contains(queue.body, "ada.fixture@example.org") {
		t.Fatalf("queue: %d", queue.status)
	}
	act := func(action string, form url.Values) answer {
		if form == nil {
			form = url.Values{}
		}
		form.Set("csrf", b.formToken("/admin/requests/"+req.ID))
		return b.do("POST", "/admin/requests/"+req.ID+"/"+action, form)
	}
	if got := act("complete", nil); got.status != http.StatusConflict || !strings.Contains(got.body, "received") {
		t.Fatalf("complete before start: %d %.300s", got.status, got.body)
	}
	for _, action := range []string{"verify", "start", "complete"} {
		if got := act(action, nil); got.status != http.StatusSeeOther {
			t.Fatalf("%s: %d %.300s", action, got.status, got.body)
		}
	}
	if got, _ := app.Requests.Get(ctx, req.ID); got.State != dsr.StateCompleted {
		t.Fatalf("state %s", got.State)
	}
	page := act("contact", nil)
	if page.status != 200 || !strings.Contains(page.body, "ada.fixture@example.org") {
		t.Fatalf("contact: %d", page.status)
	}
	entries, _ := app.Audit.Search(ctx, audit.Query{Actor: audit.Staff(officer.ID)})
	var actions []string
	for _, e := range entries.Entries {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"dsr.verify", "dsr.start", "dsr.complete", "dsr.reveal"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit lacks %s: %v", want, actions)
		}
	}
	// Support may not open the queue.
	support, _ := f.browserFor(t, staff.RoleSupport)
	if got := support.do("GET", "/admin/requests", nil); got.status != http.StatusForbidden {
		t.Fatalf("support opens the queue: %d", got.status)
	}
}

// TestConsoleTrainingFormsNeedCSRF: every form of the training programme
// is refused without the session's token, and works with it.
func TestConsoleTrainingFormsNeedCSRF(t *testing.T) {
	f := newConsoleFixture(t, db.SQLite)
	b, _ := f.browserFor(t, staff.RoleAdmin)
	forms := []struct {
		path string
		form url.Values
		want int
	}{
		{"/admin/training-assignments", url.Values{"role": {"analyst"}, "module": {"threat-response"}, "due_days": {"10"}}, http.StatusSeeOther},
		{"/admin/training-assignments/delete", url.Values{"role": {"analyst"}, "module": {"threat-response"}}, http.StatusSeeOther},
		{"/admin/training", url.Values{"key": {"extra"}, "lang": {"en"}, "title": {"Extra"}, "content": {"# Extra"}, "quiz": {"? Q\n- a\n* b"},
			"pass_mark": {"100"}, "validity_days": {"30"}}, http.StatusSeeOther},
		{"/admin/training/extra", url.Values{"q0": {"1"}}, http.StatusOK},
	}
	for _, tc := range forms {
		if got := b.do("POST", tc.path, tc.form); got.status != http.StatusForbidden || !strings.Contains(got.body, "did not come from the console") {
			t.Errorf("POST %s without a token: %d %.200s", tc.path, got.status, got.body)
		}
		tc.form.Set("csrf", "forged")
		if got := b.do("POST", tc.path, tc.form); got.status != http.StatusForbidden {
			t.Errorf("POST %s with a forged token: %d", tc.path, got.status)
		}
		page := b.do("GET", "/admin/training", nil)
		if m := drawField.FindStringSubmatch(b.do("GET", "/admin/training/extra", nil).body); m != nil {
			tc.form.Set("draw", m[1])
		}
		tc.form.Set("csrf", csrfField.FindStringSubmatch(page.body)[1])
		if got := b.do("POST", tc.path, tc.form); got.status != tc.want {
			t.Errorf("POST %s with the token: %d %.300s", tc.path, got.status, got.body)
		}
	}
}
