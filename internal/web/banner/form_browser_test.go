package banner_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/receipt"
)

// TestBrowserFormSnippet runs the form snippet as a company's checkout page
// gets it from a real Steward, without the banner: the page shows the
// purposes the declared form asks for in its language as labelled
// checkboxes (axe finds no violation), the visitor ticks one with the keyboard and submits, the
// choices reach the ledger as device events with source form:checkout, and
// the company's back end receives the device and the receipts with the
// form post; the receipts verify against Steward's keys.
func TestBrowserFormSnippet(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			srv := apptest.Start(t, dialect)
			ctx := context.Background()
			if _, err := srv.App.Consent.PutForm(ctx, consent.Form{Property: "demo", ID: "checkout", Name: "Checkout",
				Purposes: []string{"marketing", "analytics"}}, true); err != nil {
				t.Fatal(err)
			}
			posted := make(chan url.Values, 1)
			mux := http.NewServeMux()
			mux.HandleFunc("GET /checkout", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				fmt.Fprintf(w, `<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Kasse</title></head><body>
<form method="post" action="/order"><label>E-Mail <input name="email" value="kim@example.com"></label>
<div data-steward-form></div><button type="submit" id="buy">Kaufen</button></form>
<script src="%s/form.js?p=demo&amp;f=checkout" async></script></body></html>`, srv.URL)
			})
			// A page whose own script stops the first submission (a field
			// it found wrong): the visitor changes their mind and sends
			// again, and the form carries the second choices only.
			mux.HandleFunc("GET /retry", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Checkout</title></head><body>
<form method="post" action="/order" id="order"><div data-steward-form="checkout"></div><button type="submit" id="buy">Buy</button></form>
<script>var stopped = 0; document.getElementById('order').addEventListener('submit', e => { if (!stopped++) e.preventDefault(); });</script>
<script src="%s/form.js?p=demo&amp;f=checkout" async></script></body></html>`, srv.URL)
			})
			mux.HandleFunc("POST /order", func(w http.ResponseWriter, r *http.Request) {
				_ = r.ParseForm()
				posted <- r.PostForm
				io.WriteString(w, "<!doctype html><title>Danke</title><p>Danke</p>")
			})
			// The page is another origin than Steward's, as a shop's is;
			// the demo property's domains hold 127.0.0.1.
			shop := httptest.NewServer(mux)
			t.Cleanup(shop.Close)

			tabCtx := tab(t)
			do(t, tabCtx, chromedp.Navigate(shop.URL+"/checkout"))
			waitJS(t, tabCtx, `window.StewardForm && StewardForm.checkout && document.querySelectorAll('[data-steward-form] input[type=checkbox]').length == 2`)
			// Accessible: a fieldset with a legend, each checkbox labelled
			// and described, none ticked, in the page's language.
			a11y := js[string](t, tabCtx, `(() => {
				const set = document.querySelector('[data-steward-form] fieldset');
				const boxes = [...set.querySelectorAll('input[type=checkbox]')];
				return [set.querySelector('legend').textContent,
					boxes.map(b => document.querySelector('label[for="' + b.id + '"]').textContent + ':' + b.checked + ':' +
						!!document.getElementById(b.getAttribute('aria-describedby'))).join(','),
					set.querySelector('a').href, !!set.querySelector('[role=status]')].join('|') })()`)
			if a11y != "Ihre Einwilligung|Marketing:false:true,Statistik:false:true|https://shop.example/privacy|true" {
				t.Fatalf("rendered form: %q", a11y)
			}
			js[any](t, tabCtx, string(mustRead(t, "testdata/axe/axe.min.js"))+"; 0")
			res := js[map[string]any](t, tabCtx, `axe.run({include: [['[data-steward-form]']]}, {
				runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']},
				resultTypes: ['violations']})`)
			for _, v := range res["violations"].([]any) {
				v := v.(map[string]any)
				t.Errorf("axe %s (%s): %s: %v", v["id"], v["impact"], v["help"], v["nodes"])
			}
			if passes := len(res["passes"].([]any)); passes < 5 {
				t.Errorf("axe ran only %d rules", passes)
			}
			// Keyboard: focus the marketing checkbox and tick it with Space.
			do(t, tabCtx, chromedp.Focus(chromedp.CSS(`[data-steward-form] input[value=marketing]`)))
			press(t, tabCtx, " ", false)
			if !js[bool](t, tabCtx, `document.querySelector('[data-steward-form] input[value=marketing]').checked`) {
				t.Fatal("Space did not tick the focused checkbox")
			}
			click(t, tabCtx, `#buy`)
			var form url.Values
			select {
			case form = <-posted:
			case <-time.After(15 * time.Second):
				t.Fatal("the form was not posted")
			}
			device, receipts := form.Get("steward_device"), form["steward_receipt"]
			if form.Get("email") != "kim@example.com" || device == "" || len(receipts) != 2 {
				t.Fatalf("posted %v", form)
			}
			got := map[string]string{}
			for _, jws := range receipts {
				r, err := receipt.Verify(jws, srv.App.Signer.JWKS())
				if err != nil {
					t.Fatalf("receipt %q: %v", jws, err)
				}
				if r.Steward.Property != "demo" || r.Steward.Source != "form:checkout" || r.Steward.NoticeVersion != "2026-11" {
					t.Fatalf("receipt %+v", r.Steward)
				}
				got[r.Steward.Purpose] = r.Steward.Action
			}
			if got["marketing"] != "grant" || got["analytics"] != "deny" {
				t.Fatalf("receipts say %v, want marketing granted and analytics denied", got)
			}
			events, err := srv.App.Consent.Events(ctx, consent.EventFilter{Device: device})
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 2 || slices.ContainsFunc(events, func(e consent.Event) bool { return e.Source != consent.FormSource("checkout") }) {
				t.Fatalf("ledger of the device: %+v", events)
			}

			retry := tab(t)
			do(t, retry, chromedp.Navigate(shop.URL+"/retry"))
			waitJS(t, retry, `window.StewardForm && document.querySelectorAll('[data-steward-form] input[type=checkbox]').length == 2`)
			click(t, retry, `[data-steward-form] input[value=analytics]`)
			click(t, retry, `#buy`)
			waitJS(t, retry, `stopped == 1 && document.querySelectorAll('input[name=steward_receipt]').length == 2`)
			click(t, retry, `[data-steward-form] input[value=analytics]`) // changed their mind
			click(t, retry, `#buy`)
			select {
			case form = <-posted:
			case <-time.After(15 * time.Second):
				t.Fatal("the form was not posted the second time")
			}
			if len(form["steward_receipt"]) != 2 || len(form["steward_device"]) != 1 {
				t.Fatalf("second post %v: want the second recording's receipts only", form)
			}
			for _, jws := range form["steward_receipt"] {
				if r, err := receipt.Verify(jws, srv.App.Signer.JWKS()); err != nil || r.Steward.Action != "deny" {
					t.Fatalf("receipt of the second choices: %+v %v, want deny", r, err)
				}
			}
		})
	}
}
