package web_test

import (
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
)

// TestAgentInBrowser walks issue 12's authorised agent in Chromium on both
// stores: an agent files an access request for a customer in French with
// their mandate; the customer, asked in German by email, opens the link in
// their own browser and confirms; staff then see the agent and the mandate
// on the request page, and the request is the customer's own in their
// portal. Nothing proceeds before the customer confirms.
func TestAgentInBrowser(t *testing.T) {
	confirmLink := regexp.MustCompile(`https?://[^\s"<>]+/privacy/agent/confirm/[^\s"<>]+`)
	forStores(t, func(t *testing.T, dialect db.Dialect) {
		w := newWalk(t, dialect, apptest.Options{}, "cust-walk-agent", "ada.agent@example.org")
		const mandate = "Ada Lovelace authorised me in writing on 1 March 2026 to ask for her data."

		// The agent, in French, in the walk's tab.
		w.run("the agent files",
			chromedp.Navigate(w.base+"/privacy/agent?lang=fr"),
			chromedp.WaitVisible(chromedp.CSS("#agent_name")),
			chromedp.SendKeys(chromedp.CSS("#agent_name"), "Grace Agent"),
			chromedp.SendKeys(chromedp.CSS("#agent_email"), "grace@agents.example"),
			chromedp.SendKeys(chromedp.CSS("#customer_email"), w.email),
			chromedp.SetValue(chromedp.CSS("#customer_lang"), "de"),
			chromedp.Click(chromedp.CSS(`label[for="kind-access"]`)),
			chromedp.SendKeys(chromedp.CSS("#mandate"), mandate),
			chromedp.Click(chromedp.CSS("form.card button")),
			chromedp.WaitNotPresent(chromedp.CSS("#agent_name")))
		filed := w.text("main")
		id := requestID.FindString(filed)
		if id == "" || !strings.Contains(filed, "Nous avons écrit au client") {
			t.Fatalf("the agent's filing page: %q", filed)
		}
		if dialect == db.SQLite {
			axeRun(t, w.tab, "agent filed page")
		}
		if ag, err := w.srv.App.Requests.AgentOf(w.ctx, id); err != nil || ag == nil || ag.ConfirmedAt != nil {
			t.Fatalf("before the customer confirmed: agent %+v, %v", ag, err)
		}
		staffPage := html.UnescapeString(w.officer.do("GET", "/admin/requests/"+id, nil).body)
		if !strings.Contains(staffPage, "Grace Agent") || strings.Contains(staffPage, "the customer confirmed it") {
			t.Errorf("console before confirmation: %.3000s", staffPage)
		}

		// The customer, in German, in a browser of their own.
		m := w.mailWith("Haben Sie Grace Agent beauftragt")
		link := confirmLink.FindString(m.Text)
		if link == "" || !strings.Contains(link, id) {
			t.Fatalf("confirmation email without a link to %s:\n%s", id, m.Text)
		}
		link = strings.Replace(link, "127.0.0.1", "localhost", 1)
		customer := &walk{t: t, ctx: w.ctx, srv: w.srv, mail: w.mail, base: w.base, tab: chromium.Tab(t), subject: w.subject, email: w.email}
		customer.bypassCSP()
		customer.run("the customer opens the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("form.card button")))
		if dialect == db.SQLite {
			axeRun(t, customer.tab, "agent confirmation page")
		}
		customer.run("the customer confirms",
			chromedp.Click(chromedp.CSS("form.card button")),
			chromedp.WaitNotPresent(chromedp.CSS("form.card")))
		if got := customer.text("main"); !strings.Contains(got, "Wir bearbeiten sie nun wie Ihre eigene Anfrage") {
			t.Errorf("after confirming: %q", got)
		}
		if ag, err := w.srv.App.Requests.AgentOf(w.ctx, id); err != nil || ag == nil || ag.ConfirmedAt == nil {
			t.Fatalf("after the customer confirmed: agent %+v, %v", ag, err)
		}

		// Staff see who filed it and on what mandate; the customer sees it
		// among their own requests.
		staffPage = html.UnescapeString(w.officer.do("GET", "/admin/requests/"+id, nil).body)
		for _, want := range []string{"Grace Agent <grace@agents.example>", mandate, "the customer confirmed it"} {
			if !strings.Contains(staffPage, want) {
				t.Errorf("console request page lacks %q", want)
			}
		}
		customer.inbox = append(customer.inbox, w.inbox...)
		customer.signIn("de")
		if n, err := chromedp.Run(customer.tab, chromedp.Evaluate[int](`document.querySelectorAll('#requests a[href^="/privacy/requests/`+id+`?"]').length`)); err != nil || n == 0 {
			t.Errorf("the confirmed request is not in the customer's portal (%d links, %v): %q", n, err, customer.text("#requests"))
		}
	})
}
