package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/vault"
)

// TestEraseAfterExportInBrowser walks issue 12's erasure in Chromium on
// both stores: the customer signs in with the emailed code, files an
// export that staff work in the console, and downloads the archive; then
// files an erasure that completes. The old archive's URL answers 404, the
// portal shows the erasure report and no download link, and a raw grep of
// the store (the SQLite file after a checkpoint; PostgreSQL rows as text)
// finds none of the customer's values.
func TestEraseAfterExportInBrowser(t *testing.T) {
	forStores(t, func(t *testing.T, dialect db.Dialect) {
		values := []string{"erin.walk@example.org", "Erin Walkthrough", "DE44500105175407324931", "+49 30 5550 1234"}
		w := newWalk(t, dialect, apptest.Options{}, "cust-walk-1", values[0],
			vault.Field{Name: "name", Category: "contact", Value: []byte(values[1])},
			vault.Field{Name: "iban", Category: "financial", Value: []byte(values[2])},
			vault.Field{Name: "phone", Category: "contact", Value: []byte(values[3])},
			vault.Field{Name: "birth_date", Category: "other", Value: []byte("1991-07-23")})
		store := w.srv.App.DB
		w.signIn("en")

		// An export and an erasure reach the IBAN (financial): the customer
		// gives two data points on the request's page first.
		exportID := w.file(dsr.KindExport)
		w.prove(exportID, "4931", "1991-07-23")
		w.complete(exportID)
		download := "/privacy/requests/" + exportID + "/download"
		w.run("reload", chromedp.Navigate(w.base+"/privacy/home"), chromedp.WaitVisible(chromedp.CSS(`a[href="`+download+`"]`)))
		head, err := chromedp.Run(w.tab, chromedp.Evaluate[string](`fetch(`+jsString(download)+`)
			.then(r => r.arrayBuffer()).then(b => String.fromCharCode(...new Uint8Array(b).slice(0, 2)) + ':' + b.byteLength)`, chromedp.EvalAwaitPromise))
		if err != nil || !strings.HasPrefix(head, "PK:") || head == "PK:0" {
			t.Fatalf("download before the erasure: %q, %v", head, err)
		}
		// The grep finds what is stored in clear, so that its zero below
		// means something: the export's request names its subject.
		if dbtest.RawHits(t, store, w.subject) == 0 {
			t.Fatal("the raw grep finds nothing before the erasure: it would prove nothing")
		}

		erasureID := w.file(dsr.KindErasure)
		w.prove(erasureID, "4931", "1991-07-23")
		w.complete(erasureID)

		// The erasure ended the customer's sessions: the old URL sends the
		// tab to sign in; signed in again, it answers not found.
		if got := w.status(download); got != 303 {
			t.Errorf("the old archive's URL answers %d right after the erasure, want 303 to sign in", got)
		}
		// The customer comes back later: a fresh tab (each has 30 seconds).
		w.tab = chromium.Tab(t)
		w.bypassCSP()
		w.signIn("en")
		if got := w.status(download); got != 404 {
			t.Errorf("the old archive's URL answers %d after the erasure, want 404", got)
		}
		if got := w.text("#requests details"); !strings.Contains(got, "What we erased") {
			t.Errorf("the portal does not show the erasure report: %q", got)
		}
		n, err := chromedp.Run(w.tab, chromedp.Evaluate[int](`document.querySelectorAll('a[href$="/download"]').length`))
		if err != nil || n != 0 {
			t.Errorf("the portal shows %d download links after the erasure (%v)", n, err)
		}
		if dialect == db.SQLite {
			axeRun(t, w.tab, "portal home with an erasure report")
		}
		// The closed export no longer carries the address: its page is
		// not the customer's any more.
		if got := w.status("/privacy/requests/" + exportID); got != 404 {
			t.Errorf("the export's page answers %d after the erasure, want 404", got)
		}
		for _, v := range values {
			if hits := dbtest.RawHits(t, store, v); hits != 0 {
				t.Errorf("the raw store holds %q %d times after the erasure", v, hits)
			}
		}
	})
}
