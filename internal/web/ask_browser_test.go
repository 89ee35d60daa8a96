package web_test

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
)

var mailLink = regexp.MustCompile(`https?://[^\s<>"]+/privacy/requests/[^\s<>"]+`)

// TestAskAndAnswerInBrowser walks a question thread on both stores: staff
// ask on the console's request page, which stops the deadline's clock; the
// customer gets an email without the question, follows its link to the
// request's page in the portal (signing in on the way), reads the
// question and answers; staff see the answer on the request page, and the
// clock runs again on both sides.
func TestAskAndAnswerInBrowser(t *testing.T) {
	forStores(t, func(t *testing.T, dialect db.Dialect) {
		const question = "Which of your two customer accounts do you mean?"
		const answer = "The one opened in 2024, number 7781."
		w := newWalk(t, dialect, apptest.Options{}, "cust-walk-2", "quinn.walk@example.org")
		w.signIn("en")
		id := w.file(dsr.KindExport)
		w.staffAct(id, "verify", nil)
		w.staffAct(id, "ask", url.Values{"note": {question}})

		page := w.officer.do("GET", "/admin/requests/"+id, nil)
		if !strings.Contains(page.body, "Asked the customer: "+question) || !strings.Contains(page.body, "clock stopped since") {
			t.Fatalf("the console does not show the question and the stopped clock: %.2000s", page.body)
		}

		mail := w.mailWith("We have a question")
		if strings.Contains(mail.Text, question) || strings.Contains(mail.HTML, question) || strings.Contains(mail.Text, w.email) {
			t.Errorf("the question mail carries the question or the address: %q", mail.Text)
		}
		link := mailLink.FindString(mail.Text)
		if !strings.Contains(link, "/privacy/requests/"+id) {
			t.Fatalf("the question mail does not link the request's page: %q", mail.Text)
		}
		// The link, in a browser that is signed out: the sign-in page, then
		// the home page, whose list leads to the question.
		w.tab = chromium.Tab(t)
		w.bypassCSP()
		w.run("follow the mail's link", chromedp.Navigate(strings.Replace(link, "127.0.0.1", "localhost", 1)), chromedp.WaitVisible(chromedp.CSS("#email")))
		w.signIn("en")
		w.run("answer now", chromedp.Click(chromedp.CSS(`#requests a[href^="/privacy/requests/`+id+`"]`)), chromedp.WaitVisible(chromedp.CSS("#answer")))
		got := w.text("main")
		for _, want := range []string{question, "While we wait for your answer, the time we have to answer stands still."} {
			if !strings.Contains(got, want) {
				t.Errorf("the portal's request page lacks %q: %q", want, got)
			}
		}
		w.run("answer",
			chromedp.SendKeys(chromedp.CSS("#answer"), answer),
			chromedp.Click(chromedp.CSS(`form[action$="/answer"] button`)),
			chromedp.WaitVisible(chromedp.CSS("#next-h")))
		if req := w.waitState(id, dsr.StateVerified); req.PausedAt != nil || req.Question != "" {
			t.Errorf("after the answer: paused %v, question %q", req.PausedAt, req.Question)
		}
		if got := w.text("main"); strings.Contains(got, "stands still") || strings.Contains(got, question) {
			t.Errorf("the portal still shows the question or the stopped clock: %q", got)
		}

		page = w.officer.do("GET", "/admin/requests/"+id, nil)
		page.body = html.UnescapeString(page.body)
		if !strings.Contains(page.body, "The customer's answers") || !strings.Contains(page.body, answer) {
			t.Errorf("the console's request page does not show the answer: %.3000s", page.body)
		}
		if strings.Contains(page.body, "clock stopped since") || strings.Contains(page.body, "Asked the customer") {
			t.Errorf("the console still shows the stopped clock: %.3000s", page.body)
		}
		if dialect == db.SQLite {
			axeRun(t, w.tab, "portal request page after the answer")
		}
	})
}
