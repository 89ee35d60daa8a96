package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
)

// TestDemoRecordsConsentOnLocalhost opens the demo page at localhost while
// Steward's public URL names 127.0.0.1 (what serve prints), accepts all in
// the banner, and finds the choice in the ledger: before, the page's CSP
// allowed only its own origin and the banner's post was blocked.
func TestDemoRecordsConsentOnLocalhost(t *testing.T) {
	srv := apptest.StartWith(t, db.SQLite, apptest.Options{Demo: true})
	for _, host := range []string{"localhost", "127.0.0.1"} {
		t.Run(host, func(t *testing.T) {
			before := bannerEvents(t, srv)
			tab := chromium.Tab(t)
			page := strings.Replace(srv.URL, "127.0.0.1", host, 1) + "/demo"
			if err := chromedp.Do(tab, chromedp.Navigate(page)); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Run(tab, chromedp.Poll[chromedp.Void](`document.querySelector('[data-a=accept]')`,
				chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
				t.Fatalf("no banner on %s: %v", page, err)
			}
			if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(`[data-a=accept]`), chromedp.NodeVisible)); err != nil {
				t.Fatal(err)
			}
			// The page shows the answer once the banner's post succeeded.
			if _, err := chromedp.Run(tab, chromedp.Poll[chromedp.Void](`document.getElementById('analytics-status').textContent.includes('ran')`,
				chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
				t.Fatalf("the analytics script did not run: %v", err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for bannerEvents(t, srv) == before {
				if time.Now().After(deadline) {
					t.Fatalf("no banner event reached the ledger from %s", page)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestDemoPageCSP: the demo page may connect to its own origin and to the
// public URL the banner posts to, and nowhere else.
func TestDemoPageCSP(t *testing.T) {
	srv := apptest.StartWith(t, db.SQLite, apptest.Options{Demo: true})
	resp, err := http.Get(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/demo")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if want := "connect-src 'self' " + srv.URL + ";"; resp.StatusCode != 200 || !strings.Contains(csp, want) {
		t.Fatalf("status %d, CSP %q lacks %q", resp.StatusCode, csp, want)
	}
	p, err := srv.App.Consent.Property("demo")
	if err != nil {
		t.Fatal(err)
	}
	if !p.AllowsOrigin("http://localhost:8080") || !p.AllowsOrigin("http://127.0.0.1:8080") {
		t.Fatalf("demo property domains %v do not hold localhost and 127.0.0.1", p.Domains)
	}
}

// bannerEvents counts the ledger's events recorded by the banner.
func bannerEvents(t *testing.T, srv *apptest.Server) int {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+"/v1/consent/events?limit=1000", nil)
	req.Header.Set("Authorization", "Bearer "+srv.Keys.Admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		Events []struct {
			Source string `json:"source"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("events: %v: %s", err, body)
	}
	n := 0
	for _, e := range out.Events {
		if e.Source == "banner" {
			n++
		}
	}
	return n
}
