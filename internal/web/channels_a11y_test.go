package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/db"
)

// TestChannelPagesAccessible: the preference page with a box per channel
// and the unsubscribe page that names its channel pass axe, in German
// and Spanish, without JavaScript of their own.
func TestChannelPagesAccessible(t *testing.T) {
	f := newPortalFixture(t, db.SQLite)
	newsletterBy(t, f.srv, "cust-1")
	base := strings.Replace(f.srv.URL, "127.0.0.1", "localhost", 1)
	tab := chromium.Tab(t)
	if _, err := chromedp.Call(tab, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	record, _, err := f.srv.App.Keys.Create(context.Background(), apikey.ScopeRecord, "", "mailer")
	if err != nil {
		t.Fatal(err)
	}
	links := preferenceLinks(t, f.srv.URL, record, "cust-1", `{"property":"demo","topics":["newsletter"],"language":"de"}`)
	for name, path := range map[string]string{"preferences by channel": pathOf(t, links.PreferencesURL), "unsubscribe by email": pathOf(t, links.UnsubscribeURL) + "?lang=es"} {
		visit(t, tab, base+path)
		axeRun(t, tab, name)
	}
}
