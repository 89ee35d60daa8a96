package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/db"
)

// TestPortalSignInReturnsToTheLinkedRequest replays issue 12: an email
// about a request links to its page, but a customer who was not signed in
// landed on the portal's home after signing in and had to look for it.
// The sign-in steps now carry the page through (email form, code page or
// the email's link, sign-in) and land on it; a target that is not one of
// the portal's own pages (another site however written) lands on the home
// page; a customer who is not the request's owner does not see it.
func TestPortalSignInReturnsToTheLinkedRequest(t *testing.T) {
	f := newPortalFixture(t, db.SQLite)
	const email = "ada.portal@example.org"
	owner := f.signIn(t, email)
	token := csrfField.FindStringSubmatch(owner.do("GET", "/privacy/home?lang=de", nil).body)[1]
	filed := owner.do("POST", "/privacy/requests", url.Values{"csrf": {token}, "kind": {"erasure"}, "lang": {"de"}})
	id := regexp.MustCompile(`req_[A-Za-z0-9_-]+`).FindString(filed.header.Get("Location"))
	if filed.status != http.StatusSeeOther || id == "" {
		t.Fatalf("file: %d %s", filed.status, filed.header.Get("Location"))
	}
	received := f.mail.WaitFor(t, email)
	linkRE := regexp.MustCompile(`https?://[^\s"<>]+/privacy/requests/` + id + `\?lang=de`)
	emailLink, err := url.Parse(linkRE.FindString(received.Text))
	if err != nil || emailLink.Path == "" {
		t.Fatalf("no link to the request in %q", received.Text)
	}
	requestPage := "/privacy/requests/" + id

	signInThrough := func(t *testing.T, b *browser, viaEmailLink bool) answer {
		t.Helper()
		opened := b.do("GET", emailLink.RequestURI(), nil)
		loc, _ := url.Parse(opened.header.Get("Location"))
		if opened.status != http.StatusSeeOther || loc.Path != "/privacy" || loc.Query().Get("next") != requestPage || loc.Query().Get("lang") != "de" {
			t.Fatalf("signed out, the email's link: %d %s", opened.status, opened.header.Get("Location"))
		}
		start := b.do("GET", loc.RequestURI(), nil)
		if !strings.Contains(start.body, `name="next" value="`+requestPage+`"`) {
			t.Fatalf("the email form forgets the request: %.2000s", start.body)
		}
		asked := b.do("POST", "/privacy/code", url.Values{"csrf": {csrfField.FindStringSubmatch(start.body)[1]}, "email": {email},
			"lang": {"de"}, "next": {requestPage}})
		codeLoc, _ := url.Parse(asked.header.Get("Location"))
		if asked.status != http.StatusSeeOther || codeLoc.Path != "/privacy/code" || codeLoc.Query().Get("next") != requestPage {
			t.Fatalf("ask code: %d %s", asked.status, asked.header.Get("Location"))
		}
		m := f.mail.WaitFor(t, email)
		for !signInLink.MatchString(m.Text) {
			m = f.mail.WaitFor(t, email)
		}
		verify, _ := url.Parse(signInLink.FindString(m.Text))
		if verify.Query().Get("next") != requestPage {
			t.Fatalf("the email's sign-in link forgets the request: %s", verify)
		}
		page := codeLoc.RequestURI()
		if viaEmailLink {
			page = verify.RequestURI()
		}
		form := b.do("GET", page, nil)
		if !strings.Contains(form.body, `name="next" value="`+requestPage+`"`) {
			t.Fatalf("%s forgets the request: %.2000s", page, form.body)
		}
		return b.do("POST", "/privacy/signin", url.Values{"csrf": {csrfField.FindStringSubmatch(form.body)[1]}, "code": {m.Code()},
			"lang": {"de"}, "next": {requestPage}})
	}
	for _, viaEmailLink := range []bool{false, true} {
		name := map[bool]string{false: "typing the code", true: "the email's link"}[viaEmailLink]
		t.Run(name, func(t *testing.T) {
			b := newBrowser(t, f.srv.URL)
			signedIn := signInThrough(t, b, viaEmailLink)
			if signedIn.status != http.StatusSeeOther || signedIn.header.Get("Location") != requestPage+"?lang=de" {
				t.Fatalf("sign in: %d %s", signedIn.status, signedIn.header.Get("Location"))
			}
			if got := b.do("GET", signedIn.header.Get("Location"), nil); got.status != http.StatusOK || !strings.Contains(got.body, id) {
				t.Fatalf("the request page: %d", got.status)
			}
		})
	}

	t.Run("another customer", func(t *testing.T) {
		other := f.signIn(t, "nobody@example.org")
		if got := other.do("GET", emailLink.RequestURI(), nil); got.status != http.StatusNotFound || strings.Contains(got.body, id) {
			t.Fatalf("another customer opens the request: %d", got.status)
		}
		if got := other.do("GET", "/privacy?next="+url.QueryEscape(requestPage), nil); got.status != http.StatusSeeOther {
			t.Fatalf("signed in, the sign-in page: %d", got.status)
		} else if got = other.do("GET", got.header.Get("Location"), nil); got.status != http.StatusNotFound || strings.Contains(got.body, id) {
			t.Fatalf("another customer lands on the request: %d", got.status)
		}
	})

	evil := []string{"//evil.example", "https://evil.example", `/\evil.example`, "%2F%2Fevil.example", "/%5Cevil", "javascript:alert(1)",
		"/%2F%2Fevil.example", "https:/evil.example", "\t//evil.example", "/privacy/../admin", "/admin/requests/" + id, "/privacy/signout"}
	t.Run("open redirects land home", func(t *testing.T) {
		// Signed in, the sign-in page sends on at once: every target
		// that is not a portal page is the home page.
		for _, target := range evil {
			got := owner.do("GET", "/privacy?lang=de&next="+url.QueryEscape(target), nil)
			if got.status != http.StatusSeeOther || got.header.Get("Location") != "/privacy/home?lang=de" {
				t.Errorf("next %q: %d %s", target, got.status, got.header.Get("Location"))
			}
		}
		// Signed out, none is carried into the form, the code page, the
		// email's link or the sign-in's answer.
		for i, target := range evil[:6] {
			// An address each: codes per address are limited.
			email := fmt.Sprintf("visitor-%d@example.org", i)
			b := newBrowser(t, f.srv.URL)
			start := b.do("GET", "/privacy?lang=en&next="+url.QueryEscape(target), nil)
			if strings.Contains(start.body, `name="next"`) || strings.Contains(start.body, "evil") {
				t.Errorf("next %q is in the email form", target)
			}
			asked := b.do("POST", "/privacy/code", url.Values{"csrf": {csrfField.FindStringSubmatch(start.body)[1]}, "email": {email},
				"lang": {"en"}, "next": {target}})
			if loc := asked.header.Get("Location"); asked.status != http.StatusSeeOther || loc != "/privacy/code?lang=en" {
				t.Errorf("next %q: ask code: %d %s", target, asked.status, loc)
			}
			m := f.mail.WaitFor(t, email)
			for !signInLink.MatchString(m.Text) {
				m = f.mail.WaitFor(t, email)
			}
			if strings.Contains(m.Text, "next=") || strings.Contains(m.Text, "evil") {
				t.Errorf("next %q is in the email: %s", target, signInLink.FindString(m.Text))
			}
			codePage := b.do("GET", "/privacy/code?lang=en&next="+url.QueryEscape(target), nil)
			if strings.Contains(codePage.body, `name="next"`) || strings.Contains(codePage.body, "evil") {
				t.Errorf("next %q is in the code form", target)
			}
			got := b.do("POST", "/privacy/signin", url.Values{"csrf": {csrfField.FindStringSubmatch(codePage.body)[1]}, "code": {m.Code()},
				"lang": {"en"}, "next": {target}})
			if got.status != http.StatusSeeOther || got.header.Get("Location") != "/privacy/home?lang=en" {
				t.Errorf("next %q: signed in to %d %s", target, got.status, got.header.Get("Location"))
			}
		}
	})
}
