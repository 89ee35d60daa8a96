package admin

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// TestPropertyFormGPP: the property form sets the GPP settings, shows them
// again, keeps the banner settings it does not show, and asks for a
// section when GPP is on without one.
func TestPropertyFormGPP(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newVendorFixtureOn(t, store)
		c := f.console
		form := url.Values{"key": {"blog"}, "name": {"Blog"}, "domains": {"blog.example"}, "default_regime": {"opt_out"},
			"gpp_enabled": {"on"}, "gpp_cmp_id": {"300"}, "gpp_sections": {"usnat", "usca"}, "gpp_sale": {"marketing"},
			"gpp_mspa_covered": {"on"}, "gpp_mspa_mode": {"opt_out_option"}}
		if w := f.call(t, c.HandlePutProperty(true), "POST", "/admin/catalog/properties", form, nil); w.Code != http.StatusSeeOther {
			t.Fatalf("create: %d %.600s", w.Code, w.Body.String())
		}
		p, err := c.Consent.Property("blog")
		if err != nil {
			t.Fatal(err)
		}
		g := p.Banner.GPP
		if !g.Enabled || g.CmpID != 300 || !slices.Equal(g.Sections, []string{"usnat", "usca"}) || !slices.Equal(g.SalePurposes, []string{"marketing"}) ||
			len(g.SharingPurposes) != 0 || !g.MspaCoveredTransaction || g.MspaMode != consent.MspaOptOutOption {
			t.Fatalf("saved GPP settings %+v", g)
		}
		// Settings the form does not show stay as the API set them.
		p.Banner.HonourDNT = true
		if _, err := c.Consent.PutProperty(context.Background(), p, false); err != nil {
			t.Fatal(err)
		}
		page := html.UnescapeString(f.call(t, c.HandleEditProperty(), "GET", "/admin/catalog/properties/blog", nil, map[string]string{"key": "blog"}).Body.String())
		for _, want := range []string{`name="gpp_enabled" checked`, `value="usnat" checked`, `value="usca" checked`, `value="usva">`,
			`id="gpp_cmp_id" name="gpp_cmp_id" inputmode="numeric" size="6" value="300"`, `id="gpp_sale" name="gpp_sale" value="marketing"`,
			`<option value="opt_out_option" selected>Opt-out option mode</option>`} {
			if !strings.Contains(page, want) {
				t.Errorf("the edit page lacks %s", want)
			}
		}
		form.Del("gpp_sections")
		w := f.call(t, c.HandlePutProperty(false), "POST", "/admin/catalog/properties/blog", form, map[string]string{"key": "blog"})
		if body := html.UnescapeString(w.Body.String()); w.Code != http.StatusBadRequest || !strings.Contains(body, "choose at least one GPP section") {
			t.Fatalf("GPP without a section: %d %.600s", w.Code, body)
		}
		form.Set("gpp_sections", "usco")
		if w := f.call(t, c.HandlePutProperty(false), "POST", "/admin/catalog/properties/blog", form, map[string]string{"key": "blog"}); w.Code != http.StatusSeeOther {
			t.Fatalf("edit: %d %.600s", w.Code, w.Body.String())
		}
		if p, _ = c.Consent.Property("blog"); !p.Banner.HonourDNT || !slices.Equal(p.Banner.GPP.Sections, []string{"usco"}) {
			t.Fatalf("after the edit: HonourDNT %v, GPP %+v", p.Banner.HonourDNT, p.Banner.GPP)
		}
	})
}
