package banner_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/tcf"
	"github.com/steward-dev/steward/internal/web/banner"
)

// stubAssets stand in for the browser code, so that these tests check the
// handler alone.
var stubAssets = fstest.MapFS{
	"assets/banner.js": {Data: []byte("/* banner */ window.Steward = {config: C};/*gpp{*/ window.gppBlock = 1;/*}gpp*/")},
	"assets/tcf.js":    {Data: []byte("/* tcf */ window.StewardTCF = {};")},
	"assets/gpp.js":    {Data: []byte("/* gpp */ window.StewardGPP = {};")},
}

type fixture struct {
	// skew moves the consent service's clock ahead of the wall clock
	// (nanoseconds).
	skew   atomic.Int64
	svc    *consent.Service
	keys   *apikey.Store
	gvl    *tcf.VendorLists
	server *banner.Server
	mux    *http.ServeMux
}

func newFixture(tb testing.TB, store *db.DB) *fixture {
	tb.Helper()
	ctx := context.Background()
	key, err := receipt.LoadOrCreateKey(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	signer, _ := receipt.NewSigner(key)
	f := &fixture{}
	svc, err := consent.Open(ctx, consent.Config{DB: store, Signer: signer, FollowInterval: -1, Now: func() time.Time { return time.Now().Add(time.Duration(f.skew.Load())) }})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Close() })
	ethicstest.OpenPurposes(tb, svc)
	must := func(_ any, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	for _, p := range []consent.Purpose{
		{Key: "necessary", Names: map[string]string{"en": "Necessary"}, LegalBasis: consent.BasisContract, Necessary: true},
		{Key: "analytics", Names: map[string]string{"en": "Analytics", "de": "Statistik"}, LegalBasis: consent.BasisConsent, Position: 1, Cookies: []string{"_ga", "_ga_*"}},
		{Key: "sale", Names: map[string]string{"en": "Sale"}, LegalBasis: consent.BasisConsent, SaleOrSharing: true, Position: 2},
		// A communication topic: the preference centre's, never the banner's.
		{Key: "newsletter", Names: map[string]string{"en": "Newsletter"}, LegalBasis: consent.BasisConsent, Position: 3,
			Kind: consent.KindCommunication, Channels: []consent.Channel{consent.ChannelEmail}, Frequency: consent.FrequencyMonthly},
	} {
		must(svc.PutPurpose(ctx, p, true))
	}
	must(svc.PutVendor(ctx, consent.Vendor{Key: "metrics-co", Name: "Metrics Co", Purposes: []string{"analytics"}, Country: "IE"}, true))
	// metrics-co passed its security assessment (package assurance pushes
	// this after the sign-off); the banner offers only such vendors.
	svc.SetAssessedVendors(map[string]consent.VendorAssessment{"metrics-co": {Until: time.Now().AddDate(1, 0, 0), Purposes: []string{"analytics"}}})
	must(svc.PutNotice(ctx, consent.Notice{Version: "v1", Texts: map[string]string{"en": "Notice"}, Material: true}, true, true))
	must(svc.PutProperty(ctx, consent.Property{Key: "shop", Name: "Shop", Domains: []string{"shop.example"}, DefaultJurisdiction: "DE",
		PolicyURL: "https://shop.example/privacy", Banner: consent.BannerSettings{
			JurisdictionHeader: "CF-IPCountry", RegionHeader: "CF-Region-Code",
			ConsentMode: consent.ConsentMode{Enabled: true, Types: map[string][]string{"analytics": {"analytics_storage"}}},
		}}, true))
	f.svc, f.keys, f.gvl = svc, apikey.NewStore(store, time.Now), tcf.NewVendorLists(store, time.Now)
	f.server, err = banner.New(banner.Deps{Consent: svc, Keys: f.keys, VendorLists: f.gvl, PublicURL: "https://consent.shop.example", Assets: stubAssets})
	if err != nil {
		tb.Fatal(err)
	}
	f.mux = http.NewServeMux()
	f.mux.Handle("GET /banner.js", f.server.HandleScript())
	f.mux.Handle("GET /banner-tcf.js", f.server.HandleTCFScript())
	f.mux.Handle("GET /banner-gpp.js", f.server.HandleGPPScript())
	f.mux.Handle("GET /tcf/vendor-list.json", f.server.HandleVendorList())
	return f
}

func (f *fixture) get(url string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	return rec
}

// configOf extracts the inline configuration from a served script.
func configOf(t *testing.T, body string) map[string]any {
	t.Helper()
	_, rest, ok := strings.Cut(body, "var C=")
	if !ok {
		t.Fatalf("no inline configuration in %q", body)
	}
	var cfg map[string]any
	if err := json.NewDecoder(strings.NewReader(rest)).Decode(&cfg); err != nil {
		t.Fatalf("configuration is not JSON: %v", err)
	}
	return cfg
}

func TestScriptCarriesConfiguration(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		rec := f.get("/banner.js?p=shop", nil)
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") {
			t.Fatalf("%d %s", rec.Code, rec.Header().Get("Content-Type"))
		}
		body := rec.Body.String()
		if !strings.Contains(body, "/* banner */") || !strings.HasSuffix(body, "})();\n") {
			t.Fatalf("script not wrapped: %q", body)
		}
		cfg := configOf(t, body)
		if cfg["property"] != "shop" || cfg["regime"] != "opt_in" || cfg["jurisdiction"] != "DE" || cfg["api"] != "https://consent.shop.example" {
			t.Fatalf("config %v", cfg)
		}
		if key, _ := cfg["key"].(string); !strings.HasPrefix(key, "stw_ingest_") {
			t.Fatalf("no public ingest key: %v", cfg["key"])
		}
		if n := cfg["notice"].(map[string]any); n["version"] != "v1" || n["url"] != "https://shop.example/privacy" || n["material"] != true {
			t.Fatalf("notice %v", n)
		}
		purposes := cfg["purposes"].([]any)
		if len(purposes) != 3 || strings.Contains(body, "newsletter") {
			t.Fatalf("purposes %v, want the three but the newsletter", purposes)
		}
		analytics := purposes[1].(map[string]any)
		if analytics["key"] != "analytics" || len(analytics["vendors"].([]any)) != 1 || analytics["cookies"].([]any)[1] != "_ga_*" ||
			analytics["gcm"].([]any)[0] != "analytics_storage" {
			t.Fatalf("analytics purpose %v", analytics)
		}
		if purposes[0].(map[string]any)["necessary"] != true || purposes[2].(map[string]any)["saleOrSharing"] != true {
			t.Fatalf("purpose flags %v", purposes)
		}
		if cfg["tcf"] != nil {
			t.Fatalf("tcf must be null for a property without TCF: %v", cfg["tcf"])
		}
		if rec.Header().Get("Cache-Control") != "public, max-age=60" || !strings.Contains(rec.Header().Get("Vary"), "CF-IPCountry") {
			t.Fatalf("caching headers %v", rec.Header())
		}
		// The same key is served again: the banner key is made once.
		again := configOf(t, f.get("/banner.js?p=shop&x=1", map[string]string{"CF-IPCountry": "FR"}).Body.String())
		if again["key"] != cfg["key"] {
			t.Fatal("a second banner key was made")
		}
	})
}

func TestScriptPerVisitor(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		cases := []struct {
			name                 string
			header               map[string]string
			jurisdiction, regime string
			gpc                  bool
		}{
			{"no header: property default", nil, "DE", "opt_in", false},
			{"country header", map[string]string{"CF-IPCountry": "fr"}, "FR", "opt_in", false},
			{"country and region", map[string]string{"CF-IPCountry": "US", "CF-Region-Code": "CA"}, "US-CA", "opt_out", false},
			{"unknown country code", map[string]string{"CF-IPCountry": "XXX"}, "DE", "opt_in", false},
			{"GPC header", map[string]string{"CF-IPCountry": "US", "Sec-GPC": "1"}, "US", "opt_out", true},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				cfg := configOf(t, f.get("/banner.js?p=shop", c.header).Body.String())
				if cfg["jurisdiction"] != c.jurisdiction || cfg["regime"] != c.regime || (cfg["serverGpc"] == true) != c.gpc {
					t.Fatalf("jurisdiction=%v regime=%v gpc=%v", cfg["jurisdiction"], cfg["regime"], cfg["serverGpc"])
				}
			})
		}
	})
}

func TestScriptCachingAndChanges(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		first := f.get("/banner.js?p=shop", nil)
		etag := first.Header().Get("ETag")
		if etag == "" {
			t.Fatal("no ETag")
		}
		if rec := f.get("/banner.js?p=shop", map[string]string{"If-None-Match": etag}); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Fatalf("matching ETag: %d, %d bytes", rec.Code, rec.Body.Len())
		}
		gz := f.get("/banner.js?p=shop", map[string]string{"Accept-Encoding": "gzip, br"})
		if gz.Header().Get("Content-Encoding") != "gzip" || gz.Header().Get("ETag") == etag {
			t.Fatalf("gzip variant: %v", gz.Header())
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz.Body.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		if string(plain) != first.Body.String() {
			t.Fatal("gzipped script differs from the plain one")
		}
		// A configuration change shows at the next request (the browser cache
		// holds it at most 60 seconds).
		p, _ := f.svc.Purpose("analytics")
		p.Names["en"] = "Audience measurement"
		if _, err := f.svc.PutPurpose(context.Background(), p, false); err != nil {
			t.Fatal(err)
		}
		changed := f.get("/banner.js?p=shop", map[string]string{"If-None-Match": etag})
		if changed.Code != 200 || !strings.Contains(changed.Body.String(), "Audience measurement") || changed.Header().Get("ETag") == etag {
			t.Fatalf("after a change: %d %s", changed.Code, changed.Header().Get("ETag"))
		}
		if rec := f.get("/banner.js?p=nope", nil); rec.Code != 404 || !strings.Contains(rec.Body.String(), `"field":"p"`) {
			t.Fatalf("unknown property: %d %s", rec.Code, rec.Body.String())
		}
	})
}

func TestTCFConfigurationAndVendorList(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		ctx := context.Background()
		if rec := f.get("/tcf/vendor-list.json", nil); rec.Code != http.StatusNotFound {
			t.Fatalf("vendor list before import: %d", rec.Code)
		}
		p, _ := f.svc.Property("shop")
		p.Banner.TCF = consent.TCFSettings{Enabled: true, CmpID: 300, PublisherCC: "DE", VendorIDs: []int{1, 2, 3}, PurposeIDs: []int{1, 2, 3, 4}}
		if _, err := f.svc.PutProperty(ctx, p, false); err != nil {
			t.Fatal(err)
		}
		cfg := configOf(t, f.get("/banner.js?p=shop", nil).Body.String())
		tc, ok := cfg["tcf"].(map[string]any)
		if !ok || tc["cmpId"] != float64(300) || tc["gvlUrl"] != "/tcf/vendor-list.json" || !strings.HasPrefix(tc["script"].(string), "/banner-tcf.js?v=") {
			t.Fatalf("tcf config %v", cfg["tcf"])
		}
		script := f.get(tc["script"].(string), nil)
		if script.Code != 200 || !strings.Contains(script.Header().Get("Cache-Control"), "immutable") || !strings.Contains(script.Body.String(), "StewardTCF") {
			t.Fatalf("tcf script: %d %v", script.Code, script.Header())
		}
		body, err := os.ReadFile("../../tcf/testdata/gvl-v3.json")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.gvl.Import(ctx, body); err != nil {
			t.Fatal(err)
		}
		rec := f.get("/tcf/vendor-list.json", nil)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"vendorListVersion":142`) {
			t.Fatalf("vendor list: %d %.100s", rec.Code, rec.Body.String())
		}
		if again := f.get("/tcf/vendor-list.json", map[string]string{"If-None-Match": rec.Header().Get("ETag")}); again.Code != http.StatusNotModified {
			t.Fatalf("vendor list revalidation: %d", again.Code)
		}
		// TCF settings are checked.
		p.Banner.TCF.CmpID = 1
		if _, err := f.svc.PutProperty(ctx, p, false); err == nil {
			t.Fatal("a CMP id of 1 was accepted")
		}
	})
}

// BenchmarkServeCached measures serving banner.js from the cache, with a
// 304 for a matching ETag and with the gzipped body.
func BenchmarkServeCached(b *testing.B) {
	f := newFixture(b, dbtest.Open(b, db.SQLite))
	etag := f.get("/banner.js?p=shop", nil).Header().Get("ETag")
	for _, c := range []struct {
		name   string
		header map[string]string
	}{
		{"304", map[string]string{"If-None-Match": etag}},
		{"200-gzip", map[string]string{"Accept-Encoding": "gzip"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if rec := f.get("/banner.js?p=shop", c.header); rec.Code != 200 && rec.Code != 304 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}

// TestServedSizeBudget: banner.js for a property without TCF, with its CSS
// and one language, as served (gzip) is at most 7 KB.
func TestServedSizeBudget(t *testing.T) {
	store := dbtest.Open(t, db.SQLite)
	f := newFixture(t, store)
	real, err := banner.New(banner.Deps{Consent: f.svc, Keys: f.keys, VendorLists: f.gvl, PublicURL: "https://consent.shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := f.svc.Property("shop")
	p.Banner.Languages = []string{"en"}
	if _, err := f.svc.PutProperty(context.Background(), p, false); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/banner.js?p=shop", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	real.HandleScript().ServeHTTP(rec, req)
	size := rec.Body.Len()
	t.Logf("banner.js for one language, gzipped as served: %d bytes", size)
	if rec.Code != 200 || size > 7*1024 {
		t.Fatalf("served %d bytes (status %d); the budget is 7168", size, rec.Code)
	}
}

// TestBannerOffersOnlyAssessedPurposes: a purpose without an approved
// ethics assessment is missing from the banner's configuration; its
// approval makes it appear at the next request, and it goes again when
// the approval runs out. A necessary purpose needs none.
func TestBannerOffersOnlyAssessedPurposes(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		f := newFixture(t, store)
		var approved atomic.Pointer[map[string]consent.PurposeAssessment]
		approved.Store(&map[string]consent.PurposeAssessment{})
		if err := f.svc.SetPurposeAssessmentSource(ctx, func(context.Context) (map[string]consent.PurposeAssessment, error) {
			return *approved.Load(), nil
		}); err != nil {
			t.Fatal(err)
		}
		offered := func(step string, want ...string) {
			t.Helper()
			rec := f.get("/banner.js?p=shop", nil)
			if rec.Code != 200 {
				t.Fatalf("%s: %d", step, rec.Code)
			}
			var got []string
			for _, p := range configOf(t, rec.Body.String())["purposes"].([]any) {
				got = append(got, p.(map[string]any)["key"].(string))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s: purposes %v, want %v", step, got, want)
			}
		}
		offered("none approved", "necessary")
		until := time.Now().Add(time.Hour)
		approved.Store(&map[string]consent.PurposeAssessment{"analytics": {Until: until, LegalBasis: consent.BasisConsent,
			Vendors: []string{"metrics-co"}, Categories: []string{}}})
		if err := f.svc.RefreshAssessedPurposes(ctx); err != nil {
			t.Fatal(err)
		}
		offered("analytics approved", "necessary", "analytics")
		f.skew.Store(int64(2 * time.Hour))
		offered("approval ran out", "necessary")
	})
}

// TestBannerOffersOnlyAssessedVendors: a vendor whose approval is withdrawn
// or runs out is no longer offered, at the next request (the cached
// configuration is not served), and offered again once assessed anew.
func TestBannerOffersOnlyAssessedVendors(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		offered := func(step string, want bool) {
			t.Helper()
			rec := f.get("/banner.js?p=shop", nil)
			if rec.Code != 200 {
				t.Fatalf("%s: %d", step, rec.Code)
			}
			analytics := configOf(t, rec.Body.String())["purposes"].([]any)[1].(map[string]any)
			vendors, _ := analytics["vendors"].([]any)
			if got := len(vendors) == 1; got != want {
				t.Fatalf("%s: vendors %v, want offered=%v", step, vendors, want)
			}
		}
		offered("assessed", true)
		f.svc.SetAssessedVendors(map[string]consent.VendorAssessment{})
		offered("approval withdrawn", false)
		until := time.Now().Add(time.Hour)
		f.svc.SetAssessedVendors(map[string]consent.VendorAssessment{"metrics-co": {Until: until, Purposes: []string{"analytics"}}})
		offered("assessed anew", true)
		f.skew.Store(int64(2 * time.Hour))
		offered("approval ran out", false)
	})
}
