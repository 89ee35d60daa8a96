package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/notify/mailtest"
	"github.com/steward-dev/steward/internal/testenv/netswitch"
)

// TestFaultSMTPDown rehearses a mail server that is down (issue 19). A
// request's mail waits in its job and goes, once, when the server is back;
// a customer who asks for a sign-in code meanwhile is told that no code can
// be sent now (503), never that one is on its way; and with the server back
// the code is sent and the page says so.
func TestFaultSMTPDown(t *testing.T) {
	mail := mailtest.Start(t, mailtest.Options{})
	smtp := netswitch.Start(t, mail.Addr())
	srv := apptest.StartWith(t, db.SQLite, apptest.Options{SMTP: smtp.Addr(), JobRetryBase: 100 * time.Millisecond})
	api := caller{t: t, url: srv.URL}
	smtp.Down()

	// The request is filed; its "received" mail cannot go yet.
	code, body, _ := api.do("POST", "/v1/requests", srv.Keys.Admin, `{"kind":"objection","channel":"phone","email":"queued@shop.example","details":"no marketing"}`)
	if code != http.StatusCreated {
		t.Fatalf("file a request with the mail server down: %d %s", code, body)
	}
	// The customer asks for a code: the page must not say that it was sent.
	b := newBrowser(t, srv.URL)
	token := b.formToken("/privacy?lang=en")
	got := b.do("POST", "/privacy/code", map[string][]string{"csrf": {token}, "email": {"queued@shop.example"}, "lang": {"en"}})
	if got.status != http.StatusServiceUnavailable || !strings.Contains(got.body, "We cannot send email codes right now") ||
		strings.Contains(got.body, "a code is on its way") {
		t.Fatalf("code asked with the mail server down: %d %.400s", got.status, got.body)
	}
	// The mail's job fails, and fails again at its first retry.
	deadline := time.Now().Add(30 * time.Second)
	for failed := 0; failed < 2; {
		page, err := srv.App.Jobs.List(context.Background(), jobs.Filter{Kinds: []string{"dsr.notify"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range page.Jobs {
			failed = max(failed, j.Errors)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the request's mail job has not failed twice within 30 s: %+v", page.Jobs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(mail.Messages()); n != 0 {
		t.Fatalf("%d messages arrived through a mail server that is down", n)
	}

	smtp.Up()
	received := mail.WaitFor(t, "queued@shop.example")
	if !strings.Contains(received.Text, "req_") && !strings.Contains(received.Text, "/privacy/requests/") {
		t.Fatalf("the queued mail is not the request's: %q", received.Text)
	}
	// Once: no second copy of the queued mail arrives.
	time.Sleep(time.Second)
	if n := countTo(mail, "queued@shop.example"); n != 1 {
		t.Fatalf("%d messages to the customer after the mail server came back, want the request's one", n)
	}
	token = b.formToken("/privacy?lang=en")
	got = b.do("POST", "/privacy/code", map[string][]string{"csrf": {token}, "email": {"queued@shop.example"}, "lang": {"en"}})
	if got.status != http.StatusSeeOther {
		t.Fatalf("code asked with the mail server back: %d %.300s", got.status, got.body)
	}
	if page := b.do("GET", got.header.Get("Location"), nil); !strings.Contains(page.body, "a code is on its way") {
		t.Fatalf("code page: %d %.300s", page.status, page.body)
	}
	if m := mail.WaitFor(t, "queued@shop.example"); len(m.Code()) != 6 {
		t.Fatalf("code mail: %q", m.Text)
	}
}

func countTo(mail *mailtest.Server, to string) int {
	n := 0
	for _, m := range mail.Messages() {
		for _, r := range m.To {
			if strings.EqualFold(strings.Trim(r, "<> "), to) {
				n++
			}
		}
	}
	return n
}
