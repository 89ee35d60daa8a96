package web_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/notify/mailtest"
	"github.com/steward-dev/steward/internal/vault"
)

const shopDataset = `connector: shop
engine: sqlite
dsn_env: SHOP_DB
tables:
  - name: customers
    identifier: {column: id, kind: external_id}
    erase: delete_row
    columns:
      - {name: email, category: contact}
      - {name: name, category: contact}
  - name: orders
    identifier: {column: customer_id, kind: external_id}
    columns:
      - {name: total_cents, category: financial, erase: keep, legal_reason: "invoices are kept for 10 years"}
      - {name: note, category: other, erase: mask}
`

// TestPortalInBrowser walks the portal as a customer does, in Chromium: sign
// in with the code from the email (read from a real SMTP server), withdraw
// a consent, ask for an export and download it once staff started it, then
// ask for erasure. Afterwards the vault field is unreadable, the shop's
// rows are gone or masked, and the ledger no longer names the customer.
func TestPortalInBrowser(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	shopFile := filepath.Join(dir, "shop.db")
	shop, err := sql.Open("sqlite", shopFile)
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close()
	for _, stmt := range []string{
		`CREATE TABLE customers (id TEXT PRIMARY KEY, email TEXT, name TEXT)`,
		`CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id TEXT, total_cents INTEGER NOT NULL, note TEXT)`,
		`INSERT INTO customers VALUES ('cust-1', 'ada.portal@example.org', 'Ada Lovelace'), ('cust-2', 'bob@example.org', 'Bob')`,
		`INSERT INTO orders VALUES (1, 'cust-1', 4200, 'leave at the door'), (2, 'cust-2', 100, 'ring twice')`,
	} {
		if _, err := shop.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	connectors := filepath.Join(dir, "connectors")
	os.Mkdir(connectors, 0o700)
	os.WriteFile(filepath.Join(connectors, "shop.yaml"), []byte(shopDataset), 0o600)

	mail := mailtest.Start(t, mailtest.Options{})
	srv := apptest.StartWith(t, db.SQLite, apptest.Options{SMTP: mail.Addr(), Connectors: connectors, Env: map[string]string{"SHOP_DB": shopFile}})
	app := srv.App
	for _, field := range []vault.Field{
		{Name: "email", Category: "contact", Value: []byte("ada.portal@example.org")},
		{Name: "iban", Category: "financial", Value: []byte("DE89370400440532013000")},
		{Name: "birth_date", Category: "other", Value: []byte("1815-12-10")},
	} {
		if _, err := app.Vault.Put(ctx, "cust-1", field); err != nil {
			t.Fatal(err)
		}
	}
	events := []consent.Event{{ID: "b-1", Property: "demo", Subject: "cust-1", Purpose: "analytics", Action: consent.ActionGrant, Source: consent.SourceAPI, NoticeVersion: "2026-11"}}
	if err := app.Consent.ValidateEvents(events, consent.Author{Kind: consent.AuthorRecordKey}); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Consent.Append(ctx, events); err != nil {
		t.Fatal(err)
	}
	base := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	officer, _ := (&consoleFixture{srv: srv}).browserFor(t, "privacy_officer")
	workRequest := func(id string) {
		t.Helper()
		for _, action := range []string{"verify", "start"} {
			if got := officer.do("POST", "/admin/requests/"+id+"/"+action, url.Values{"csrf": {officer.formToken("/admin/requests/" + id)}}); got.status != 303 {
				t.Fatalf("%s %s: %d", action, id, got.status)
			}
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			if req, err := app.Requests.Get(ctx, id); err == nil && req.State == "completed" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("request %s was not completed", id)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	tab := chromium.Tab(t)
	// The test fetches the download with the page's cookies; the page's CSP
	// rightly forbids scripts to connect anywhere.
	if _, err := chromedp.Call(tab, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tab, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	latestRequest := func() string {
		t.Helper()
		hash, _ := app.Vault.BlindIndex(ctx, "email", "ada.portal@example.org")
		list, err := app.Requests.ListForRequester(ctx, hash)
		if err != nil || len(list) == 0 {
			t.Fatalf("requests: %v", err)
		}
		newest := list[0]
		for _, r := range list {
			if r.ReceivedAt.After(newest.ReceivedAt) {
				newest = r
			}
		}
		return newest.ID
	}

	run("ask for a code",
		chromedp.Navigate(base+"/privacy"),
		chromedp.SendKeys(chromedp.CSS("#email"), "ada.portal@example.org"),
		chromedp.Click(chromedp.CSS("form.card button")),
		chromedp.WaitVisible(chromedp.CSS("#code")))
	code := mail.WaitFor(t, "ada.portal@example.org").Code()
	run("sign in",
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS("form.card button")),
		chromedp.WaitVisible(chromedp.CSS("#consents")))

	if before, _ := app.Consent.Decider().Decide(&consent.Question{Subject: "cust-1", Purpose: "analytics"}, false); !before.Allowed {
		t.Fatalf("decision before the withdrawal: %+v", before)
	}
	run("withdraw analytics",
		chromedp.Click(chromedp.CSS(`#consents button[aria-label^="Withdraw: Analytics"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#consents button[aria-label^="Allow: Analytics"]`)))
	ans, _ := app.Consent.Decider().Decide(&consent.Question{Subject: "cust-1", Purpose: "analytics"}, false)
	if ans.Allowed {
		t.Fatal("the withdrawal made in the portal does not stop the decision")
	}

	run("look in the company's systems",
		chromedp.Click(chromedp.CSS(`form[action="/privacy/data/systems"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#data h3 + table`)))
	found, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(`#data h3 + table tbody`)))
	if err != nil || !strings.Contains(found, "shop · customers") || !strings.Contains(found, "shop · orders") || strings.Contains(found, "Lovelace") {
		t.Fatalf("found in systems: %q, %v", found, err)
	}

	run("ask for an export",
		chromedp.Click(chromedp.CSS(`label[for="kind-export"]`)),
		chromedp.Click(chromedp.CSS(`#requests form.card button`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	exportID := latestRequest()
	// Issue 12: the export of financial data waits for the second proof.
	run("confirm identity",
		chromedp.Navigate(base+"/privacy/requests/"+exportID),
		chromedp.SendKeys(chromedp.CSS("#value_0"), "1815-12-10"),
		chromedp.SendKeys(chromedp.CSS("#value_1"), "3000"),
		chromedp.Click(chromedp.CSS(`form[action$="/identity"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	workRequest(exportID)
	run("reload", chromedp.Navigate(base+"/privacy/home"), chromedp.WaitVisible(chromedp.CSS(`a[href$="/download"]`)))
	head, err := chromedp.Run(tab, chromedp.Evaluate[string](`fetch(document.querySelector('a[href$="/download"]').href)
		.then(r => r.arrayBuffer()).then(b => String.fromCharCode(...new Uint8Array(b).slice(0, 2)) + ':' + b.byteLength)`, chromedp.EvalAwaitPromise))
	if err != nil || !strings.HasPrefix(head, "PK:") || head == "PK:0" {
		t.Fatalf("download: %q, %v", head, err)
	}

	run("ask for erasure",
		chromedp.Click(chromedp.CSS(`label[for="kind-erasure"]`)),
		chromedp.Click(chromedp.CSS(`#requests form.card button`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	erasureID := latestRequest()
	run("confirm identity for the erasure",
		chromedp.Navigate(base+"/privacy/requests/"+erasureID),
		chromedp.SendKeys(chromedp.CSS("#value_0"), "1815-12-10"),
		chromedp.SendKeys(chromedp.CSS("#value_1"), "3000"),
		chromedp.Click(chromedp.CSS(`form[action$="/identity"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	workRequest(erasureID)

	if _, err := app.Vault.Get(ctx, "cust-1", "iban"); err == nil {
		t.Error("the vault field is readable after the erasure")
	}
	var customers, notes, others int
	shop.QueryRow(`SELECT count(*) FROM customers WHERE id = 'cust-1'`).Scan(&customers)
	shop.QueryRow(`SELECT count(*) FROM orders WHERE customer_id = 'cust-1' AND note = 'leave at the door'`).Scan(&notes)
	shop.QueryRow(`SELECT count(*) FROM orders WHERE note = 'ring twice'`).Scan(&others)
	if customers != 0 || notes != 0 || others != 1 {
		t.Errorf("shop after erasure: customer rows %d, unmasked notes %d, another customer's orders %d", customers, notes, others)
	}
	if left, _ := app.Consent.Events(ctx, consent.EventFilter{Subject: "cust-1"}); len(left) != 0 {
		t.Errorf("the ledger still names the customer in %d events", len(left))
	}
}
