package assess_test

import (
	"context"
	"io"
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
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
	"github.com/steward-dev/steward/internal/web/assess"
)

type catalog map[string]consent.Vendor

func (c catalog) Vendor(key string) (consent.Vendor, error) {
	v, ok := c[key]
	if !ok {
		return consent.Vendor{}, errs.NotFound("vendor", key)
	}
	return v, nil
}

// fixture serves the pages as the route table will, on a real vendor
// service over SQLite (the domain's own tests cover both engines).
type fixture struct {
	vendors *assurance.Service
	pages   *assess.Pages
	srv     *httptest.Server
	now     time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store := dbtest.Open(t, db.SQLite)
	v := vaulttest.Open(t, store)
	box, err := v.SecretBox("vendor")
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	f.vendors, err = assurance.NewService(assurance.Config{DB: store, Audit: log, Secrets: box, Now: func() time.Time { return f.now },
		Catalog: catalog{
			"mailer": {Key: "mailer", Name: "Mailer GmbH", Purposes: []string{"newsletter"}, DataCategories: []string{"contact"}},
			"adnet":  {Key: "adnet", Name: "Adnet Inc.", Purposes: []string{"marketing"}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	f.pages, err = assess.New(assess.Deps{Vendors: f.vendors})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /assess/assets/{file}", f.pages.HandleStylesheet())
	mux.Handle("GET /assess/{token}", f.pages.HandleForm())
	mux.Handle("POST /assess/{token}", f.pages.HandleSave())
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) send(t *testing.T, vendorKey string) string {
	t.Helper()
	sent, err := f.vendors.Send(audit.WithActor(context.Background(), audit.Staff("stf_sam")), vendorKey, assurance.SecurityBaseline, "security@vendor.example", 0)
	if err != nil {
		t.Fatal(err)
	}
	return sent.Token
}

type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request without following redirects.
func (f *fixture) do(t *testing.T, method, path string, form url.Values, header map[string]string) response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

var formTokenField = regexp.MustCompile(`name="form" value="([^"]+)"`)

// formToken reads the hidden form token of a page.
func formToken(t *testing.T, body string) string {
	t.Helper()
	m := formTokenField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form token in %s", body)
	}
	return m[1]
}

// answers returns a form with every question of the built-in template
// answered to pass.
func answers(token string) url.Values {
	form := url.Values{"form": {token}}
	for _, q := range assurance.BuiltinTemplates()[0].Questions {
		switch {
		case len(q.Pass) > 0:
			form.Set("q."+q.ID, q.Pass[0])
		case q.Kind == assurance.KindFileReference:
			form.Set("q."+q.ID, "https://vendor.example/trust/"+q.ID+".pdf")
		default:
			form.Set("q."+q.ID, "Thirty days, then deleted.")
		}
	}
	return form
}

func checkPageHeaders(t *testing.T, r response) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"Cache-Control":           "no-store",
		"Referrer-Policy":         "no-referrer",
		"X-Robots-Tag":            "noindex, nofollow",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}

func TestQuestionnaire(t *testing.T) {
	f := newFixture(t)
	token := f.send(t, "mailer")
	other := f.send(t, "adnet")
	path := "/assess/" + token

	// The form: the vendor's questions, nothing of scoring.
	page := f.do(t, "GET", path, nil, nil)
	checkPageHeaders(t, page)
	if page.status != http.StatusOK || page.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET form: %d %s", page.status, page.body)
	}
	for _, want := range []string{"Mailer GmbH", "Supplier security baseline", "multi-factor authentication",
		`<fieldset id="q-mfa"`, `name="q.mfa" value="yes"`, `<label for="q-mfa-0">Yes</label>`,
		`<textarea id="q-retention" name="q.retention"`, `name="action" value="submit"`, "0 of 18 questions answered",
		`<link rel="stylesheet" href="` + f.pages.StylesheetPath() + `">`, `aria-describedby="q-breach_notice-help"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the form lacks %q", want)
		}
	}
	for _, leak := range []string{"Adnet", "must_pass", "weight", "pass mark", "security@vendor.example", token} {
		if strings.Contains(page.body, leak) {
			t.Errorf("the form shows %q", leak)
		}
	}
	ft := formToken(t, page.body)

	// Save, then come back: the answers are there.
	form := url.Values{"form": {ft}, "action": {"save"}, "q.mfa": {"yes"}, "q.breach_notice": {"Within 48 hours"},
		"q.retention": {"Thirty days <b>then</b> deleted."}}
	saved := f.do(t, "POST", path, form, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": f.srv.URL})
	checkPageHeaders(t, saved)
	if saved.status != http.StatusSeeOther || saved.header.Get("Location") != path+"?saved=1" {
		t.Fatalf("save: %d %q %s", saved.status, saved.header.Get("Location"), saved.body)
	}
	back := f.do(t, "GET", path+"?saved=1", nil, nil)
	for _, want := range []string{"Your answers were saved", `value="yes" checked`, `value="Within 48 hours" checked`,
		"Thirty days &lt;b&gt;then&lt;/b&gt; deleted.</textarea>", "3 of 18 questions answered", "Last saved 2 March 2026"} {
		if !strings.Contains(back.body, want) {
			t.Errorf("back on the form, it lacks %q", want)
		}
	}

	// A wrong answer shows the form again, with what was typed and where.
	bad := answers(ft)
	bad.Set("q.mfa", "maybe")
	bad.Set("q.certification_evidence", "javascript:alert(1)")
	bad.Set("action", "submit")
	refused := f.do(t, "POST", path, bad, nil)
	if refused.status != http.StatusBadRequest || !strings.Contains(refused.body, `id="q-mfa-problem"`) ||
		!strings.Contains(refused.body, `<a href="#q-certification_evidence">Question`) ||
		!strings.Contains(refused.body, `value="javascript:alert(1)"`) || !strings.Contains(refused.body, `aria-invalid="true"`) {
		t.Fatalf("bad answers: %d %s", refused.status, refused.body)
	}
	if q, _ := f.vendors.ByToken(context.Background(), token); q.AnswersVersion != 1 {
		t.Fatalf("bad answers were saved: version %d", q.AnswersVersion)
	}
	incomplete := url.Values{"form": {ft}, "action": {"submit"}, "q.mfa": {"yes"}}
	if r := f.do(t, "POST", path, incomplete, nil); r.status != http.StatusBadRequest || !strings.Contains(r.body, "Answer this question before you submit") {
		t.Fatalf("incomplete submission: %d %s", r.status, r.body)
	}

	// Submit: thanks, and the link is closed.
	submit := answers(ft)
	submit.Set("action", "submit")
	done := f.do(t, "POST", path, submit, map[string]string{"Sec-Fetch-Site": "same-origin"})
	checkPageHeaders(t, done)
	if done.status != http.StatusOK || !strings.Contains(done.body, "were submitted") {
		t.Fatalf("submit: %d %s", done.status, done.body)
	}
	if r := f.do(t, "GET", path, nil, nil); r.status != http.StatusConflict || !strings.Contains(r.body, "submitted on 2026-03-02") {
		t.Fatalf("after submission: %d %s", r.status, r.body)
	}
	if r := f.do(t, "POST", path, answers(ft), nil); r.status != http.StatusConflict {
		t.Fatalf("a save after submission: %d", r.status)
	}

	// The other vendor's questionnaire is untouched.
	if q, err := f.vendors.ByToken(context.Background(), other); err != nil || q.AnswersVersion != 0 {
		t.Fatalf("the other questionnaire: %+v, %v", q, err)
	}
}

func TestRefusals(t *testing.T) {
	f := newFixture(t)
	token := f.send(t, "mailer")
	otherToken := f.send(t, "adnet")
	path := "/assess/" + token
	ft := formToken(t, f.do(t, "GET", path, nil, nil).body)
	otherFT := formToken(t, f.do(t, "GET", "/assess/"+otherToken, nil, nil).body)
	if ft == otherFT {
		t.Fatal("two links share a form token")
	}
	save := func(formTok string) url.Values {
		return url.Values{"form": {formTok}, "action": {"save"}, "q.mfa": {"yes"}}
	}
	cases := []struct {
		name   string
		method string
		path   string
		form   url.Values
		header map[string]string
		status int
		says   string
	}{
		{"no form token", "POST", path, url.Values{"action": {"save"}, "q.mfa": {"yes"}}, nil, http.StatusForbidden, "did not come from this page"},
		{"another link's form token", "POST", path, save(otherFT), nil, http.StatusForbidden, "did not come from this page"},
		{"the link's token as form token", "POST", path, save(token), nil, http.StatusForbidden, "did not come from this page"},
		{"cross-site", "POST", path, save(ft), map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden, "another site"},
		{"same-site, another origin", "POST", path, save(ft), map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden, "another site"},
		{"another origin without Sec-Fetch-Site", "POST", path, save(ft), map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden, "another site"},
		{"an unknown button", "POST", path, url.Values{"form": {ft}, "action": {"delete"}}, nil, http.StatusBadRequest, "Save or the Submit"},
		{"an unknown link", "GET", "/assess/" + strings.Repeat("A", 43), nil, nil, http.StatusUnauthorized, "not valid"},
		{"a malformed link", "GET", "/assess/abc", nil, nil, http.StatusUnauthorized, "not valid"},
		{"a post to an unknown link", "POST", "/assess/" + strings.Repeat("A", 43), save(assess.FormToken(strings.Repeat("A", 43))), nil, http.StatusUnauthorized, "not valid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(t, c.method, c.path, c.form, c.header)
			checkPageHeaders(t, r)
			if r.status != c.status || !strings.Contains(r.body, c.says) {
				t.Fatalf("%d, want %d saying %q: %s", r.status, c.status, c.says, r.body)
			}
			for _, leak := range []string{"Mailer", "Adnet", "mailer", "adnet"} {
				if strings.Contains(r.body, leak) {
					t.Fatalf("the refusal names %q", leak)
				}
			}
		})
	}
	if q, _ := f.vendors.ByToken(context.Background(), token); q.AnswersVersion != 0 {
		t.Fatalf("a refused post was saved: version %d", q.AnswersVersion)
	}

	// An expired link.
	f.now = f.now.Add(31 * 24 * time.Hour)
	if r := f.do(t, "GET", path, nil, nil); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "expired on") {
		t.Fatalf("expired: %d %s", r.status, r.body)
	}
}

func TestStylesheet(t *testing.T) {
	f := newFixture(t)
	css := f.do(t, "GET", f.pages.StylesheetPath(), nil, nil)
	if css.status != http.StatusOK || css.header.Get("Content-Type") != "text/css; charset=utf-8" ||
		css.header.Get("Cache-Control") != "public, max-age=31536000, immutable" || !strings.Contains(css.body, "--accent") {
		t.Fatalf("stylesheet: %d %v", css.status, css.header)
	}
	if !regexp.MustCompile(`^/assess/assets/assess\.[A-Za-z0-9_-]{12}\.css$`).MatchString(f.pages.StylesheetPath()) {
		t.Fatalf("stylesheet path %s", f.pages.StylesheetPath())
	}
	if r := f.do(t, "GET", "/assess/assets/assess.css", nil, nil); r.status != http.StatusNotFound {
		t.Fatalf("an unhashed path: %d", r.status)
	}
}
