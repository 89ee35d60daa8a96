package banner_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/web/banner"
)

// gppMaxGzip is the budget of banner-gpp.js as served, gzipped.
const gppMaxGzip = 6 << 10

// enableGPP turns GPP on for the fixture's property.
func enableGPP(t *testing.T, svc *consent.Service, g consent.GPPSettings) {
	t.Helper()
	p, err := svc.Property("shop")
	if err != nil {
		t.Fatal(err)
	}
	p.Banner.GPP = g
	if _, err := svc.PutProperty(context.Background(), p, false); err != nil {
		t.Fatal(err)
	}
}

// TestGPPConfigurationPerVisitor: C.gpp and the banner's GPP blocks reach
// only visitors in a US opt-out jurisdiction that one of the property's
// sections covers; everybody else gets the banner without a byte of GPP.
func TestGPPConfigurationPerVisitor(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		us := map[string]string{"CF-IPCountry": "US", "CF-Region-Code": "CA"}
		enableGPP(t, f.svc, consent.GPPSettings{Enabled: true, CmpID: 300, Sections: []string{"usnat", "usca"},
			TargetedAdvertisingPurposes: []string{"analytics", "sale"}, MspaCoveredTransaction: true, MspaMode: consent.MspaOptOutOption})
		cases := []struct {
			name      string
			header    map[string]string
			section   string // "" means no GPP
			sectionID float64
		}{
			{"California", us, "usca", 8},
			{"Texas", map[string]string{"CF-IPCountry": "US", "CF-Region-Code": "TX"}, "usnat", 7},
			{"the United States", map[string]string{"CF-IPCountry": "US"}, "usnat", 7},
			{"Germany", nil, "", 0},
			{"France", map[string]string{"CF-IPCountry": "FR"}, "", 0},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				body := f.get("/banner.js?p=shop", c.header).Body.String()
				cfg := configOf(t, body)
				g, _ := cfg["gpp"].(map[string]any)
				if c.section == "" {
					if g != nil || strings.Contains(strings.ToLower(body), "gpp") {
						t.Fatalf("a visitor without GPP gets some: %q", body)
					}
					return
				}
				if g == nil || g["section"] != c.section || g["sectionId"] != c.sectionID || g["cmpId"] != 300.0 ||
					!strings.HasPrefix(g["script"].(string), "/banner-gpp.js?v=") || !strings.Contains(body, "window.gppBlock") {
					t.Fatalf("C.gpp = %v in %q", g, body)
				}
				list := func(k string) []string {
					var out []string
					for _, v := range g[k].([]any) {
						out = append(out, v.(string))
					}
					return out
				}
				// Sale and sharing default to the purposes marked sale or
				// sharing; the MSPA fields follow the settings.
				if !slices.Equal(list("sale"), []string{"sale"}) || !slices.Equal(list("sharing"), []string{"sale"}) ||
					!slices.Equal(list("targeted"), []string{"analytics", "sale"}) || !slices.Equal(list("supported"), []string{"7:usnat", "8:usca"}) {
					t.Fatalf("C.gpp = %v", g)
				}
				if m := g["mspa"].([]any); m[0] != 1.0 || m[1] != 1.0 || m[2] != 2.0 {
					t.Fatalf("mspa = %v", m)
				}
			})
		}
		rec := f.get("/banner-gpp.js?v=x", nil)
		if rec.Code != 200 || rec.Body.String() != "/* gpp */ window.StewardGPP = {};" || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
			t.Fatalf("/banner-gpp.js: %d %q %v", rec.Code, rec.Body.String(), rec.Header())
		}
	})
}

// TestBannerWithoutGPPIsUnchanged: the banner that properties without GPP
// (and visitors outside US opt-out jurisdictions) get holds nothing of GPP,
// the GPP blocks of assets/banner.js are cut whole, and a property's
// banner.js is the same size whether or not GPP exists for others.
func TestBannerWithoutGPPIsUnchanged(t *testing.T) {
	plain, _, err := banner.Scripts()
	if err != nil {
		t.Fatal(err)
	}
	withGPP, gppJS, err := banner.GPPScripts()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ToLower(plain), []byte("gpp")) {
		t.Errorf("the banner without GPP mentions it: %s", plain)
	}
	for _, want := range []string{"__gpp", "StewardGPP", "gpp_string", "C.gpp.script"} {
		if !bytes.Contains(withGPP, []byte(want)) {
			t.Errorf("the banner with GPP lacks %q", want)
		}
	}
	t.Logf("banner body: %d bytes without GPP, %d with; banner-gpp.js %d bytes minified", len(plain), len(withGPP), len(gppJS))

	store := dbtest.Open(t, db.SQLite)
	f := newFixture(t, store)
	real, err := banner.New(banner.Deps{Consent: f.svc, Keys: f.keys, VendorLists: f.gvl, PublicURL: "https://consent.shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(header map[string]string) string {
		req := httptest.NewRequest(http.MethodGet, "/banner.js?p=shop", nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		real.HandleScript().ServeHTTP(rec, req)
		return rec.Body.String()
	}
	us := map[string]string{"CF-IPCountry": "US", "CF-Region-Code": "CA"}
	euBefore, usBefore := serve(nil), serve(us)
	enableGPP(t, f.svc, consent.GPPSettings{Enabled: true, Sections: []string{"usnat"}})
	eu, american := serve(nil), serve(us)
	for _, body := range []string{euBefore, usBefore, eu} {
		if strings.Contains(strings.ToLower(body), "gpp") || !strings.Contains(body, string(plain)) {
			t.Fatalf("a banner without GPP is not the body without GPP: %.200s", body)
		}
	}
	if !strings.Contains(american, string(withGPP)) {
		t.Fatal("the US visitor of a GPP property does not get the body with GPP")
	}
	// The EU visitor of a GPP property gets, byte for byte, what the
	// property served before it enabled GPP.
	if eu != euBefore {
		t.Fatalf("banner.js for an EU visitor: %d bytes with GPP on, %d before", len(eu), len(euBefore))
	}
	t.Logf("banner.js served: %d bytes without GPP, %d for a US visitor of a GPP property", len(usBefore), len(american))
}

// TestGPPScriptSize: banner-gpp.js as served, gzipped, within its budget.
func TestGPPScriptSize(t *testing.T) {
	store := dbtest.Open(t, db.SQLite)
	f := newFixture(t, store)
	real, err := banner.New(banner.Deps{Consent: f.svc, Keys: f.keys, VendorLists: f.gvl, PublicURL: "https://consent.shop.example"})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, real.GPPScriptPath(), nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	real.HandleGPPScript().ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	zr, err := gzip.NewReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	if _, err := plain.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(plain.Bytes(), []byte("/*! Steward consent banner: IAB GPP")) || bytes.Contains(plain.Bytes(), []byte("// ")) {
		t.Fatalf("not the minified gpp.js: %.100s", plain.Bytes())
	}
	t.Logf("banner-gpp.js: %d bytes, %d bytes gzipped as served", plain.Len(), rec.Body.Len())
	if rec.Body.Len() > gppMaxGzip {
		t.Fatalf("banner-gpp.js is %d bytes gzipped; the budget is %d", rec.Body.Len(), gppMaxGzip)
	}
}
