package banner_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/web/banner"
)

// TestBrowserServedScript runs what the server renders from the embedded,
// minified browser code, for a property with TCF: the configuration, the
// inline TCF script and the banner in one function. The TCF API exists
// without loading /banner-tcf.js, and the banner works on top of it.
func TestBrowserServedScript(t *testing.T) {
	store := dbtest.Open(t, db.SQLite)
	f := newFixture(t, store)
	served, err := banner.New(banner.Deps{Consent: f.svc, Keys: f.keys, VendorLists: f.gvl, PublicURL: "https://consent.shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := f.svc.Property("shop")
	p.Banner.TCF = consent.TCFSettings{Enabled: true, CmpID: 300, PublisherCC: "DE", VendorIDs: []int{1, 2, 3}, PurposeIDs: []int{1, 2, 3, 4}}
	if _, err := f.svc.PutProperty(context.Background(), p, false); err != nil {
		t.Fatal(err)
	}
	var tcfLoads atomic.Int64
	mux := http.NewServeMux()
	mux.Handle("GET /banner.js", served.HandleScript())
	mux.HandleFunc("GET /banner-tcf.js", func(w http.ResponseWriter, r *http.Request) {
		tcfLoads.Add(1)
		served.HandleTCFScript().ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<script src="/banner.js?p=shop"></script></head><body><p>The shop.</p></body></html>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	rec := httptest.NewRecorder()
	served.HandleScript().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/banner.js?p=shop", nil))
	body := rec.Body.String()
	if !strings.Contains(body, "/*! Steward consent banner: IAB TCF") || strings.Contains(body, "escapeHTML") {
		t.Fatalf("not the minified script with TCF inline: %.300s", body)
	}

	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(srv.URL+"/page"))
	waitJS(t, ctx, `window.Steward && document.readyState == "complete"`)
	waitJS(t, ctx, `document.querySelector('#steward-banner [data-a=accept]')`)
	got := js[string](t, ctx, `new Promise(done => __tcfapi('ping', 2, p => done([typeof StewardTCF, p.cmpId, p.apiVersion, document.querySelector('#steward-banner h2').textContent].join('|'))))`)
	if got != "object|300|2.3|Privacy choices" {
		t.Errorf("TCF and banner: %q", got)
	}
	click(t, ctx, `[data-a=reject]`)
	waitJS(t, ctx, `Steward.consent().decidedAt`)
	if c := js[map[string]any](t, ctx, `Steward.consent()`); c["necessary"] != true || c["analytics"] != false || c["sale"] != false {
		t.Errorf("consent after Reject all: %v", c)
	}
	if n := tcfLoads.Load(); n != 0 {
		t.Errorf("/banner-tcf.js loaded %d times; it is inline", n)
	}
}
