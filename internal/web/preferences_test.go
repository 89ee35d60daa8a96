package web_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
)

// callAPI sends a JSON request with key (none when empty) and returns the
// status and body.
func callAPI(t *testing.T, base, key, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type linksAnswer struct {
	PreferencesURL       string    `json:"preferences_url"`
	PreferencesExpiresAt time.Time `json:"preferences_expires_at"`
	ListUnsubscribe      string    `json:"list_unsubscribe"`
	ListUnsubscribePost  string    `json:"list_unsubscribe_post"`
	UnsubscribeURL       string    `json:"unsubscribe_url"`
	UnsubscribeExpiresAt time.Time `json:"unsubscribe_expires_at"`
}

// preferenceLinks asks for the links of subject's message about topics.
func preferenceLinks(t *testing.T, base, key, subject, body string) linksAnswer {
	t.Helper()
	code, got := callAPI(t, base, key, "POST", "/v1/subjects/"+subject+"/preference-links", body)
	if code != http.StatusOK {
		t.Fatalf("preference links: %d %s", code, got)
	}
	var links linksAnswer
	if err := json.Unmarshal([]byte(got), &links); err != nil {
		t.Fatal(err)
	}
	return links
}

// pathOf is the path and query of an absolute URL.
func pathOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

var preferenceForm = regexp.MustCompile(`name="form" value="([^"]+)"`)

// newsletterAnswer asks whether subject may be emailed about the newsletter.
func newsletterAnswer(t *testing.T, base, key, subject string) consent.Answer {
	t.Helper()
	code, body := callAPI(t, base, key, "POST", "/v1/decisions", `{"questions":[{"subject":"`+subject+`","purpose":"newsletter","channel":"email"}]}`)
	if code != http.StatusOK {
		t.Fatalf("decide: %d %s", code, body)
	}
	var out struct{ Answers []consent.Answer }
	if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.Answers) != 1 {
		t.Fatalf("decide: %v %s", err, body)
	}
	return out.Answers[0]
}

// subjectEvents returns the ledger's events of subject.
func subjectEvents(t *testing.T, srv *apptest.Server, subject string) []consent.Event {
	t.Helper()
	events, err := srv.App.Consent.Events(context.Background(), consent.EventFilter{Subject: subject, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// TestPreferenceLinksAPI: only a back end's key makes links, for
// communication topics of a known property; the answer holds the header
// values RFC 8058 asks for.
func TestPreferenceLinksAPI(t *testing.T) {
	srv := apptest.Start(t, db.SQLite)
	record, _, err := srv.App.Keys.Create(context.Background(), apikey.ScopeRecord, "", "mailer")
	if err != nil {
		t.Fatal(err)
	}
	const path = "/v1/subjects/cust-p/preference-links"
	good := `{"property":"demo","topics":["newsletter"]}`
	tests := []struct {
		name, key, path, body string
		status                int
		contains              string
	}{
		{"no key", "", path, good, http.StatusUnauthorized, ""},
		{"public ingest key", srv.Keys.Ingest, path, good, http.StatusForbidden, ""},
		{"decide key", srv.Keys.Decide, path, good, http.StatusForbidden, ""},
		{"a processing purpose", record, path, `{"property":"demo","topics":["analytics"]}`, http.StatusBadRequest, "not a communication topic"},
		{"unknown topic", record, path, `{"property":"demo","topics":["gossip"]}`, http.StatusBadRequest, "unknown purpose"},
		{"no topic", record, path, `{"property":"demo","topics":[]}`, http.StatusBadRequest, "topics"},
		{"topic twice", record, path, `{"property":"demo","topics":["newsletter","newsletter"]}`, http.StatusBadRequest, "topics[1]"},
		{"unknown property", record, path, `{"property":"blog","topics":["newsletter"]}`, http.StatusBadRequest, "unknown property"},
		{"unknown language", record, path, `{"property":"demo","topics":["newsletter"],"language":"xx"}`, http.StatusBadRequest, "language"},
		{"bad subject id", record, "/v1/subjects/a%20b/preference-links", good, http.StatusBadRequest, "id"},
		{"record key", record, path, good, http.StatusOK, "List-Unsubscribe=One-Click"},
		{"admin key", srv.Keys.Admin, path, good, http.StatusOK, "preferences_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := callAPI(t, srv.URL, tt.key, "POST", tt.path, tt.body)
			if code != tt.status || !strings.Contains(body, tt.contains) {
				t.Fatalf("%d %s, want %d with %q", code, body, tt.status, tt.contains)
			}
		})
	}
	links := preferenceLinks(t, srv.URL, record, "cust-p", `{"property":"demo","topics":["newsletter"],"language":"de"}`)
	if links.ListUnsubscribe != "<"+links.UnsubscribeURL+">" || links.ListUnsubscribePost != "List-Unsubscribe=One-Click" ||
		!strings.HasPrefix(links.UnsubscribeURL, srv.URL+"/privacy/unsubscribe/") ||
		!strings.HasPrefix(links.PreferencesURL, srv.URL+"/privacy/preferences/") || !strings.HasSuffix(links.PreferencesURL, "?lang=de") {
		t.Fatalf("links %+v", links)
	}
	if strings.Contains(links.PreferencesURL+links.UnsubscribeURL, "cust-p") {
		t.Fatal("a link shows the subject's id")
	}
	days := func(at time.Time) int { return int(time.Until(at).Hours()/24 + 0.5) }
	if days(links.PreferencesExpiresAt) != 60 || days(links.UnsubscribeExpiresAt) != 400 {
		t.Fatalf("lifetimes %d and %d days, want 60 and 400", days(links.PreferencesExpiresAt), days(links.UnsubscribeExpiresAt))
	}
	if code, body := callAPI(t, srv.URL, srv.Keys.Decide, "POST", "/v1/decisions", `{"questions":[{"subject":"cust-p","purpose":"newsletter","channel":"sms"}]}`); code != http.StatusBadRequest || !strings.Contains(body, "channel") {
		t.Fatalf("a channel the topic is not sent by: %d %s", code, body)
	}
	// Topics are declared through the catalog API like any purpose.
	for _, tt := range []struct {
		body, contains string
		status         int
	}{
		{`{"key":"offers","name":{"en":"Offers"},"legal_basis":"consent","kind":"communication","channels":["email","sms"],"frequency":"weekly"}`, `"channels":["email","sms"]`, http.StatusCreated},
		{`{"key":"tips","name":{"en":"Tips"},"legal_basis":"consent","kind":"communication","channels":["fax"],"frequency":"weekly"}`, `channels[0]`, http.StatusBadRequest},
		{`{"key":"stats","name":{"en":"Stats"},"legal_basis":"consent","frequency":"weekly"}`, `only a communication topic`, http.StatusBadRequest},
	} {
		if code, body := callAPI(t, srv.URL, srv.Keys.Admin, "POST", "/v1/purposes", tt.body); code != tt.status || !strings.Contains(body, tt.contains) {
			t.Errorf("POST /v1/purposes %s: %d %s", tt.body, code, body)
		}
	}
	if a := newsletterAnswer(t, srv.URL, srv.Keys.Decide, "cust-p"); a.Allowed {
		t.Fatalf("making links changed the decision: %+v", a)
	}

	// An erased subject gets no links, and an old email's links are dead:
	// they cannot bring the subject back into the ledger.
	old := preferenceLinks(t, srv.URL, record, "cust-e", good)
	if _, err := srv.App.Vault.EraseSubject(context.Background(), "cust-e"); err != nil {
		t.Fatal(err)
	}
	if code, body := callAPI(t, srv.URL, record, "POST", "/v1/subjects/cust-e/preference-links", good); code != http.StatusConflict || !strings.Contains(body, "erased") {
		t.Errorf("links of an erased subject: %d %s", code, body)
	}
	b := newBrowser(t, srv.URL)
	if got := b.do("GET", pathOf(t, old.PreferencesURL), nil); got.status != http.StatusGone {
		t.Errorf("an erased subject's page: %d", got.status)
	}
	if got := b.do("POST", pathOf(t, old.UnsubscribeURL), url.Values{"List-Unsubscribe": {"One-Click"}}); got.status != http.StatusGone {
		t.Errorf("an erased subject's one-click: %d", got.status)
	}
	if n := len(subjectEvents(t, srv, "cust-e")); n != 0 {
		t.Errorf("the erased subject has %d events", n)
	}
}

// TestPreferencePage: the link opens the subject's communication topics
// with no sign-in, in four languages; its form changes them (with the
// page's form token only), records source preferences and the notice, and
// shows the receipt; a tampered link or another subject's form does
// nothing. On both stores.
func TestPreferencePage(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			srv := apptest.Start(t, dialect)
			record, _, err := srv.App.Keys.Create(context.Background(), apikey.ScopeRecord, "", "mailer")
			if err != nil {
				t.Fatal(err)
			}
			links := preferenceLinks(t, srv.URL, record, "cust-p", `{"property":"demo","topics":["newsletter"]}`)
			other := preferenceLinks(t, srv.URL, record, "cust-q", `{"property":"demo","topics":["newsletter"]}`)
			pagePath := strings.SplitN(pathOf(t, links.PreferencesURL), "?", 2)[0]
			if a := newsletterAnswer(t, srv.URL, srv.Keys.Decide, "cust-p"); a.Allowed || a.Reason != consent.ReasonNoConsentRecorded {
				t.Fatalf("before any choice: %+v", a)
			}

			b := newBrowser(t, srv.URL)
			for lang, words := range map[string][]string{
				"en": {"Communication preferences", "Newsletter", "Save my preferences", "monthly"},
				"de": {"Kommunikationseinstellungen", "Newsletter", "Meine Einstellungen speichern", "monatlich"},
				"fr": {"Préférences de communication", "Lettre d&#39;information", "Enregistrer mes préférences", "mensuelle"},
				"es": {"Preferencias de comunicación", "Boletín", "Guardar mis preferencias", "mensual"},
			} {
				page := b.do("GET", pagePath+"?lang="+lang, nil)
				if page.status != http.StatusOK {
					t.Fatalf("%s: %d %.300s", lang, page.status, page.body)
				}
				for _, w := range words {
					if !strings.Contains(page.body, w) {
						t.Errorf("%s page lacks %q", lang, w)
					}
				}
				for _, never := range []string{"cust-p", "Analytics", "Statistik", "Marketing", "/privacy/signout"} {
					if strings.Contains(page.body, never) {
						t.Errorf("%s page shows %q", lang, never)
					}
				}
				if page.header.Get("Cache-Control") != "no-store" || page.header.Get("Referrer-Policy") != "no-referrer" {
					t.Errorf("%s headers %v", lang, page.header)
				}
			}
			page := b.do("GET", pagePath+"?lang=en", nil)
			m := preferenceForm.FindStringSubmatch(page.body)
			if m == nil {
				t.Fatalf("no form token in %.500s", page.body)
			}
			form := html.UnescapeString(m[1])
			subscribe := url.Values{"form": {form}, "shown": {"newsletter"}, "topic": {"newsletter"}, "lang": {"en"}}

			otherPath := strings.SplitN(pathOf(t, other.PreferencesURL), "?", 2)[0]
			tampered := pagePath[:len(pagePath)-3] + flipChar(pagePath[len(pagePath)-3:])
			for name, try := range map[string]struct {
				path   string
				form   url.Values
				status int
			}{
				"no form token":             {pagePath, url.Values{"shown": {"newsletter"}, "topic": {"newsletter"}}, http.StatusForbidden},
				"another link's form token": {otherPath, subscribe, http.StatusForbidden},
				"a tampered link":           {tampered, subscribe, http.StatusNotFound},
				"the unsubscribe link":      {"/privacy/preferences/" + strings.TrimPrefix(pathOf(t, links.UnsubscribeURL), "/privacy/unsubscribe/"), subscribe, http.StatusNotFound},
			} {
				if got := b.do("POST", try.path, try.form); got.status != try.status {
					t.Errorf("%s: %d, want %d", name, got.status, try.status)
				}
			}
			if got := b.do("GET", tampered, nil); got.status != http.StatusNotFound || !strings.Contains(got.body, "not valid") {
				t.Errorf("GET a tampered link: %d %.300s", got.status, got.body)
			}
			for _, subject := range []string{"cust-p", "cust-q"} {
				if n := len(subjectEvents(t, srv, subject)); n != 0 {
					t.Fatalf("%s has %d events after refused posts", subject, n)
				}
			}

			saved := b.do("POST", pagePath, subscribe)
			if saved.status != http.StatusSeeOther || !strings.Contains(saved.header.Get("Location"), "saved=1") {
				t.Fatalf("save: %d %s %.300s", saved.status, saved.header.Get("Location"), saved.body)
			}
			if a := newsletterAnswer(t, srv.URL, srv.Keys.Decide, "cust-p"); !a.Allowed || a.Reason != consent.ReasonConsentGranted {
				t.Fatalf("after subscribing: %+v", a)
			}
			events := subjectEvents(t, srv, "cust-p")
			if len(events) != 1 || events[0].Source != consent.SourcePreferences || events[0].NoticeVersion != "2026-11" ||
				events[0].Action != consent.ActionGrant || events[0].Property != "demo" {
				t.Fatalf("events %+v", events)
			}
			if n := len(subjectEvents(t, srv, "cust-q")); n != 0 {
				t.Fatalf("cust-q has %d events", n)
			}
			// Saving again without a change records nothing.
			if again := b.do("POST", pagePath, subscribe); again.status != http.StatusSeeOther || len(subjectEvents(t, srv, "cust-p")) != 1 {
				t.Fatalf("saving the same choice again: %d, %d events", again.status, len(subjectEvents(t, srv, "cust-p")))
			}
			page = b.do("GET", pagePath+"?lang=en&saved=1", nil)
			receipt := pagePath + "/receipts/demo/" + events[0].ID
			if !strings.Contains(page.body, "Saved.") || !strings.Contains(page.body, receipt) || !strings.Contains(page.body, "checked") {
				t.Fatalf("page after saving lacks the notice, the receipt or the tick: %.2000s", page.body)
			}
			if got := b.do("GET", receipt+"?lang=en", nil); got.status != http.StatusOK || !strings.Contains(got.body, "email preferences page") {
				t.Fatalf("receipt page: %d %.500s", got.status, got.body)
			}
			if got := b.do("GET", receipt+"?format=jws", nil); got.status != http.StatusOK || !strings.HasPrefix(got.body, "eyJ") || strings.Count(got.body, ".") != 2 {
				t.Fatalf("receipt download: %d", got.status)
			}
			// The other subject's link does not show this subject's receipt.
			if got := b.do("GET", otherPath+"/receipts/demo/"+events[0].ID, nil); got.status != http.StatusNotFound {
				t.Fatalf("another subject's receipt through a link: %d", got.status)
			}

			// Unticking withdraws.
			m = preferenceForm.FindStringSubmatch(page.body)
			withdraw := url.Values{"form": {html.UnescapeString(m[1])}, "shown": {"newsletter"}}
			if got := b.do("POST", pagePath, withdraw); got.status != http.StatusSeeOther {
				t.Fatalf("withdraw: %d", got.status)
			}
			if a := newsletterAnswer(t, srv.URL, srv.Keys.Decide, "cust-p"); a.Allowed || a.Reason != consent.ReasonConsentWithdrawn {
				t.Fatalf("after unticking: %+v", a)
			}
		})
	}
}

// flipChar changes the first character of s to another base64url one.
func flipChar(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// TestOneClickUnsubscribe: the RFC 8058 POST, with no cookie, withdraws the
// link's topic and answers 200; again, it records nothing more; a GET
// never unsubscribes; a wrong body, a page link or a tampered link does
// nothing.
func TestOneClickUnsubscribe(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			srv := apptest.Start(t, dialect)
			record, _, err := srv.App.Keys.Create(context.Background(), apikey.ScopeRecord, "", "mailer")
			if err != nil {
				t.Fatal(err)
			}
			grant := []consent.Event{{ID: "n-grant", Property: "demo", Subject: "cust-u", Purpose: "newsletter", Action: consent.ActionGrant,
				Source: consent.SourceAPI, NoticeVersion: "2026-11"}}
			if err := srv.App.Consent.ValidateEvents(grant, consent.Author{Kind: consent.AuthorRecordKey}); err != nil {
				t.Fatal(err)
			}
			if _, err := srv.App.Consent.Append(context.Background(), grant); err != nil {
				t.Fatal(err)
			}
			if a := newsletterAnswer(t, srv.URL, srv.Keys.Decide, "cust-u"); !a.Allowed {
				t.Fatalf("after the grant: %+v", a)
			}
			links := preferenceLinks(t, srv.URL, record, "cust-u", `{"property":"demo","topics":["newsletter"]}`)
			unsubscribe := pathOf(t, links.UnsubscribeURL)
			post := func(path, body string, header map[string]string) (int, string) {
				t.Helper()
				req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				for k, v := range header {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			pageToken := strings.TrimPrefix(strings.SplitN(pathOf(t, links.PreferencesURL), "?", 2)[0], "/privacy/preferences/")
			for name, try := range map[string]struct {
				path, body string
				status     int
			}{
				"no body":          {unsubscribe, "", http.StatusBadRequest},
				"another body":     {unsubscribe, "List-Unsubscribe=Yes", http.StatusBadRequest},
				"the page's token": {"/privacy/unsubscribe/" + pageToken, oneClick, http.StatusNotFound},
				"a tampered token": {unsubscribe[:len(unsubscribe)-3] + flipChar(unsubscribe[len(unsubscribe)-3:]), oneClick, http.StatusNotFound},
			} {
				if code, body := post(try.path, try.body, nil); code != try.status {
					t.Errorf("%s: %d %.200s, want %d", name, code, body, try.status)
				}
			}
			// A GET (a link scanner, or a mail program without RFC 8058)
			// shows the button and changes nothing.
			b := newBrowser(t, srv.URL)
			if got := b.do("GET", unsubscribe+"?lang=de", nil); got.status != http.StatusOK || !strings.Contains(got.body, "Abbestellen") {
				t.Fatalf("GET: %d %.300s", got.status, got.body)
			}
			if n := len(subjectEvents(t, srv, "cust-u")); n != 1 {
				t.Fatalf("%d events before the one-click post, want the grant only", n)
			}

			// A mail receiver posts from its own servers: no cookie, and
			// maybe a cross-site Origin.
			for i := range 2 {
				code, body := post(unsubscribe, oneClick, map[string]string{"Origin": "https://mail.example", "Sec-Fetch-Site": "cross-site"})
				if code != http.StatusOK || strings.TrimSpace(body) != "unsubscribed" {
					t.Fatalf("one-click #%d: %d %s", i+1, code, body)
				}
				if a := newsletterAnswer(t, srv.URL, srv.Keys.Decide, "cust-u"); a.Allowed || a.Reason != consent.ReasonConsentWithdrawn {
					t.Fatalf("after one-click #%d: %+v", i+1, a)
				}
				events := subjectEvents(t, srv, "cust-u")
				if len(events) != 2 || events[1].Action != consent.ActionWithdraw || events[1].Source != consent.SourcePreferences {
					t.Fatalf("after one-click #%d: %+v", i+1, events)
				}
			}
			// The button of the GET page does the same, and says so.
			if got := b.do("POST", unsubscribe, url.Values{"List-Unsubscribe": {"One-Click"}, "page": {"1"}, "lang": {"fr"}}); got.status != http.StatusOK ||
				!strings.Contains(got.body, "Vous êtes désabonné") {
				t.Fatalf("button: %d %.300s", got.status, got.body)
			}
			if n := len(subjectEvents(t, srv, "cust-u")); n != 2 {
				t.Fatalf("%d events, want no third", n)
			}
		})
	}
}

// oneClick is the body RFC 8058 mail receivers post.
const oneClick = "List-Unsubscribe=One-Click"

// TestPortalListsTopics: the privacy center lists communication topics
// with the other consents, with their channels, frequency and state; the
// customer subscribes and unsubscribes there too, and a choice made
// through an email's link shows with its receipt.
func TestPortalListsTopics(t *testing.T) {
	f := newPortalFixture(t, db.SQLite)
	b := f.signIn(t, "ada.portal@example.org")
	topicsTable := regexp.MustCompile(`(?s)<h3 id="topics">.*?</table>`)
	topics := func() string {
		t.Helper()
		home := b.do("GET", "/privacy/home?lang=en", nil)
		table := topicsTable.FindString(home.body)
		if home.status != http.StatusOK || table == "" {
			t.Fatalf("home: %d, no topics in %.500s", home.status, home.body)
		}
		return table
	}
	table := topics()
	for _, want := range []string{"What we send you", "Newsletter", "email", "monthly", "not subscribed", `value="grant"`} {
		if !strings.Contains(table, want) {
			t.Errorf("topics lack %q: %s", want, table)
		}
	}
	home := b.do("GET", "/privacy/home?lang=en", nil)
	if strings.Contains(strings.Split(home.body, `<h3 id="topics">`)[0], `name="purpose" value="newsletter"`) {
		t.Error("the newsletter is also offered among the per-site consents")
	}

	// Subscribed through an email's link: the portal shows it, with the receipt.
	record, _, err := f.srv.App.Keys.Create(context.Background(), apikey.ScopeRecord, "", "mailer")
	if err != nil {
		t.Fatal(err)
	}
	links := preferenceLinks(t, f.srv.URL, record, "cust-1", `{"property":"demo","topics":["newsletter"]}`)
	mailer := newBrowser(t, f.srv.URL)
	pagePath := pathOf(t, links.PreferencesURL)
	m := preferenceForm.FindStringSubmatch(mailer.do("GET", pagePath, nil).body)
	if got := mailer.do("POST", pagePath, url.Values{"form": {html.UnescapeString(m[1])}, "shown": {"newsletter"}, "topic": {"newsletter"}}); got.status != http.StatusSeeOther {
		t.Fatalf("subscribe through the link: %d", got.status)
	}
	events := subjectEvents(t, f.srv, "cust-1")
	last := events[len(events)-1]
	table = topics()
	if !strings.Contains(table, ">subscribed<") || !strings.Contains(table, "/privacy/receipts/demo/"+last.ID) || !strings.Contains(table, `value="withdraw"`) {
		t.Fatalf("after subscribing through the link: %s", table)
	}

	// Unsubscribing in the portal: a portal event, and decisions follow.
	token := csrfField.FindStringSubmatch(b.do("GET", "/privacy/home", nil).body)[1]
	if got := b.do("POST", "/privacy/consents", url.Values{"csrf": {token}, "property": {"demo"}, "purpose": {"newsletter"}, "action": {"withdraw"}}); got.status != http.StatusSeeOther {
		t.Fatalf("withdraw in the portal: %d %.300s", got.status, got.body)
	}
	if a := newsletterAnswer(t, f.srv.URL, f.srv.Keys.Decide, "cust-1"); a.Allowed || a.Reason != consent.ReasonConsentWithdrawn {
		t.Fatalf("after withdrawing in the portal: %+v", a)
	}
	if table = topics(); !strings.Contains(table, "not subscribed") {
		t.Fatalf("after withdrawing: %s", table)
	}
}

// newsletterBy makes the demo newsletter a topic sent by email and SMS,
// and records a grant of it by every channel for subject.
func newsletterBy(t *testing.T, srv *apptest.Server, subject string) {
	t.Helper()
	ctx := context.Background()
	p, err := srv.App.Consent.Purpose("newsletter")
	if err != nil {
		t.Fatal(err)
	}
	p.Channels = []consent.Channel{consent.ChannelEmail, consent.ChannelSMS}
	if _, err := srv.App.Consent.PutPurpose(ctx, p, false); err != nil {
		t.Fatal(err)
	}
	grant := []consent.Event{{ID: "all-" + subject, Property: "demo", Subject: subject, Purpose: "newsletter", Action: consent.ActionGrant,
		Source: consent.SourceAPI, NoticeVersion: "2026-11"}}
	if err := srv.App.Consent.ValidateEvents(grant, consent.Author{Kind: consent.AuthorRecordKey}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.App.Consent.Append(ctx, grant); err != nil {
		t.Fatal(err)
	}
}

// channelAnswers asks POST /v1/decisions about subject and the newsletter
// by email, by SMS and without a channel, in one batch.
func channelAnswers(t *testing.T, base, key, subject string) (email, sms, topic consent.Answer) {
	t.Helper()
	q := `{"subject":"` + subject + `","purpose":"newsletter"`
	code, body := callAPI(t, base, key, "POST", "/v1/decisions", `{"questions":[`+q+`,"channel":"email"},`+q+`,"channel":"sms"},`+q+`}]}`)
	if code != http.StatusOK {
		t.Fatalf("decide: %d %s", code, body)
	}
	var out struct{ Answers []consent.Answer }
	if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.Answers) != 3 {
		t.Fatalf("decide: %v %s", err, body)
	}
	return out.Answers[0], out.Answers[1], out.Answers[2]
}

// TestDecisionByChannel: the decision API answers per channel: a choice by
// one channel decides that channel only, a withdrawal by every channel
// after it decides them all, and a channel the topic is not sent by is a
// problem naming the question's channel.
func TestDecisionByChannel(t *testing.T) {
	srv := apptest.Start(t, db.SQLite)
	newsletterBy(t, srv, "cust-d")
	record, _, err := srv.App.Keys.Create(context.Background(), apikey.ScopeRecord, "", "mailer")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name             string
		event            string
		email, sms, both bool
	}{
		{"granted by every channel", "", true, true, true},
		{"SMS withdrawn", `{"id":"d1","property":"demo","subject":"cust-d","purpose":"newsletter","channel":"sms","action":"withdraw","source":"api","notice_version":"2026-11"}`, true, false, false},
		{"withdrawn by every channel", `{"id":"d2","property":"demo","subject":"cust-d","purpose":"newsletter","action":"withdraw","source":"api","notice_version":"2026-11"}`, false, false, false},
		{"email granted again", `{"id":"d3","property":"demo","subject":"cust-d","purpose":"newsletter","channel":"email","action":"grant","source":"api","notice_version":"2026-11"}`, true, false, false},
	}
	for _, step := range steps {
		if step.event != "" {
			if code, body := callAPI(t, srv.URL, record, "POST", "/v1/consent/events", `{"events":[`+step.event+`]}`); code != http.StatusOK {
				t.Fatalf("%s: append %d %s", step.name, code, body)
			}
		}
		email, sms, both := channelAnswers(t, srv.URL, srv.Keys.Decide, "cust-d")
		if email.Allowed != step.email || sms.Allowed != step.sms || both.Allowed != step.both {
			t.Errorf("%s: email %+v, sms %+v, no channel %+v; want %v %v %v", step.name, email, sms, both, step.email, step.sms, step.both)
		}
	}
	for _, tt := range []struct{ body, field string }{
		{`{"questions":[{"subject":"cust-d","purpose":"newsletter"},{"subject":"cust-d","purpose":"newsletter","channel":"post"}]}`, "questions[1].channel"},
		{`{"questions":[{"subject":"cust-d","purpose":"analytics","channel":"email"}]}`, "questions[0].channel"},
	} {
		if code, body := callAPI(t, srv.URL, srv.Keys.Decide, "POST", "/v1/decisions", tt.body); code != http.StatusBadRequest || !strings.Contains(body, tt.field) {
			t.Errorf("%s: %d %s, want 400 naming %s", tt.body, code, body, tt.field)
		}
	}
	if code, body := callAPI(t, srv.URL, record, "POST", "/v1/consent/events",
		`{"events":[{"id":"d9","property":"demo","subject":"cust-d","purpose":"newsletter","channel":"fax","action":"grant","source":"api"}]}`); code != http.StatusBadRequest || !strings.Contains(body, "events[0].channel") {
		t.Errorf("an event by an unknown channel: %d %s", code, body)
	}
}

// TestPreferencePageChangesOneChannel: the page shows a box per channel;
// unticking one records a withdrawal by that channel only, and the other
// stays allowed; unticking every box withdraws the topic by every channel.
func TestPreferencePageChangesOneChannel(t *testing.T) {
	srv := apptest.Start(t, db.SQLite)
	newsletterBy(t, srv, "cust-o")
	record, _, err := srv.App.Keys.Create(context.Background(), apikey.ScopeRecord, "", "mailer")
	if err != nil {
		t.Fatal(err)
	}
	links := preferenceLinks(t, srv.URL, record, "cust-o", `{"property":"demo","topics":["newsletter"]}`)
	pagePath := strings.SplitN(pathOf(t, links.PreferencesURL), "?", 2)[0]
	b := newBrowser(t, srv.URL)
	for lang, words := range map[string][]string{
		"en": {"by email", "by SMS"}, "de": {"per E-Mail", "per SMS"}, "fr": {"par e-mail", "par SMS"}, "es": {"por correo electrónico", "por SMS"},
	} {
		page := b.do("GET", pagePath+"?lang="+lang, nil)
		for _, w := range append(words, `value="newsletter:email" checked`, `value="newsletter:sms" checked`) {
			if !strings.Contains(page.body, w) {
				t.Errorf("%s page lacks %q", lang, w)
			}
		}
	}
	page := b.do("GET", pagePath+"?lang=en", nil)
	form := html.UnescapeString(preferenceForm.FindStringSubmatch(page.body)[1])
	if got := b.do("POST", pagePath, url.Values{"form": {form}, "shown": {"newsletter"}, "choice": {"newsletter:email"}}); got.status != http.StatusSeeOther {
		t.Fatalf("save: %d %.300s", got.status, got.body)
	}
	events := subjectEvents(t, srv, "cust-o")
	if len(events) != 2 || events[1].Channel != consent.ChannelSMS || events[1].Action != consent.ActionWithdraw || events[1].Source != consent.SourcePreferences {
		t.Fatalf("events %+v, want one withdrawal by SMS", events)
	}
	if email, sms, _ := channelAnswers(t, srv.URL, srv.Keys.Decide, "cust-o"); !email.Allowed || sms.Allowed || sms.Reason != consent.ReasonConsentWithdrawn {
		t.Fatalf("after unticking SMS: email %+v, sms %+v", email, sms)
	}
	page = b.do("GET", pagePath+"?lang=en", nil)
	if !strings.Contains(page.body, `value="newsletter:email" checked`) || strings.Contains(page.body, `value="newsletter:sms" checked`) {
		t.Fatalf("the page does not show email ticked and SMS not: %.3000s", page.body)
	}
	// Ticking SMS again grants SMS only; unticking both withdraws the
	// topic by every channel, in one event.
	form = html.UnescapeString(preferenceForm.FindStringSubmatch(page.body)[1])
	b.do("POST", pagePath, url.Values{"form": {form}, "shown": {"newsletter"}, "choice": {"newsletter:email", "newsletter:sms"}})
	b.do("POST", pagePath, url.Values{"form": {form}, "shown": {"newsletter"}})
	events = subjectEvents(t, srv, "cust-o")
	if len(events) != 4 || events[2].Channel != consent.ChannelSMS || events[2].Action != consent.ActionGrant ||
		events[3].Channel != "" || events[3].Action != consent.ActionWithdraw {
		t.Fatalf("events %+v, want a grant by SMS, then one withdrawal by every channel", events)
	}
	if email, sms, _ := channelAnswers(t, srv.URL, srv.Keys.Decide, "cust-o"); email.Allowed || sms.Allowed {
		t.Fatalf("after unticking both: email %+v, sms %+v", email, sms)
	}
}

// TestOneClickWithdrawsEmailOnly: a List-Unsubscribe link withdraws its
// topics by email (or by the channel the link was made for), never the
// customer's other channels.
func TestOneClickWithdrawsEmailOnly(t *testing.T) {
	srv := apptest.Start(t, db.SQLite)
	newsletterBy(t, srv, "cust-w")
	record, _, err := srv.App.Keys.Create(context.Background(), apikey.ScopeRecord, "", "mailer")
	if err != nil {
		t.Fatal(err)
	}
	links := preferenceLinks(t, srv.URL, record, "cust-w", `{"property":"demo","topics":["newsletter"]}`)
	b := newBrowser(t, srv.URL)
	if got := b.do("GET", pathOf(t, links.UnsubscribeURL)+"?lang=en", nil); !strings.Contains(got.body, "Newsletter</strong> (by email)") {
		t.Errorf("the unsubscribe page does not name the channel: %.1500s", got.body)
	}
	if got := b.do("POST", pathOf(t, links.UnsubscribeURL), url.Values{"List-Unsubscribe": {"One-Click"}}); got.status != http.StatusOK {
		t.Fatalf("one-click: %d %.300s", got.status, got.body)
	}
	events := subjectEvents(t, srv, "cust-w")
	if len(events) != 2 || events[1].Channel != consent.ChannelEmail || events[1].Action != consent.ActionWithdraw {
		t.Fatalf("events %+v, want one withdrawal by email", events)
	}
	if email, sms, _ := channelAnswers(t, srv.URL, srv.Keys.Decide, "cust-w"); email.Allowed || !sms.Allowed {
		t.Fatalf("after one-click: email %+v, sms %+v; want email withdrawn, SMS still allowed", email, sms)
	}
	// A link made for an SMS message withdraws SMS; a bad channel is refused.
	bySMS := preferenceLinks(t, srv.URL, record, "cust-w", `{"property":"demo","topics":["newsletter"],"channel":"sms"}`)
	if got := b.do("POST", pathOf(t, bySMS.UnsubscribeURL), url.Values{"List-Unsubscribe": {"One-Click"}}); got.status != http.StatusOK {
		t.Fatalf("one-click by SMS: %d", got.status)
	}
	if events = subjectEvents(t, srv, "cust-w"); len(events) != 3 || events[2].Channel != consent.ChannelSMS {
		t.Fatalf("events %+v, want a withdrawal by SMS", events)
	}
	if code, body := callAPI(t, srv.URL, record, "POST", "/v1/subjects/cust-w/preference-links", `{"property":"demo","topics":["newsletter"],"channel":"fax"}`); code != http.StatusBadRequest || !strings.Contains(body, `"channel"`) {
		t.Errorf("links for channel fax: %d %s", code, body)
	}
}
