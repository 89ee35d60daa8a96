package consent_test

import (
	"context"
	"testing"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
)

// TestGPPSection: the section a visitor gets is their state's when the
// property enables it, else usnat when enabled; nobody outside the United
// States, under opt-in, or on a property without GPP gets one.
func TestGPPSection(t *testing.T) {
	both := consent.GPPSettings{Enabled: true, Sections: []string{"usnat", "usca"}}
	stateOnly := consent.GPPSettings{Enabled: true, Sections: []string{"usco"}}
	off := consent.GPPSettings{Sections: []string{"usnat"}}
	cases := []struct {
		name         string
		settings     consent.GPPSettings
		jurisdiction string
		regime       consent.Regime
		want         string
	}{
		{"California with usca", both, "US-CA", consent.OptOut, "usca"},
		{"Virginia without usva", both, "US-VA", consent.OptOut, "usnat"},
		{"the country only", both, "US", consent.OptOut, "usnat"},
		{"opt-in in the US", both, "US-CA", consent.OptIn, ""},
		{"Germany", both, "DE", consent.OptIn, ""},
		{"Germany under opt-out", both, "DE", consent.OptOut, ""},
		{"Colorado with only usco", stateOnly, "US-CO", consent.OptOut, "usco"},
		{"Texas with only usco", stateOnly, "US-TX", consent.OptOut, ""},
		{"GPP off", off, "US-CA", consent.OptOut, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.settings.GPPSection(c.jurisdiction, c.regime); got != c.want {
				t.Fatalf("GPPSection(%q, %s) = %q, want %q", c.jurisdiction, c.regime, got, c.want)
			}
		})
	}
}

// TestGPPSettingsValidate: the catalog refuses GPP settings that the banner
// could not write, each problem keyed for the console's languages.
func TestGPPSettingsValidate(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		cases := []struct {
			name  string
			gpp   consent.GPPSettings
			field string // "" means accepted
			key   string
		}{
			{"usnat", consent.GPPSettings{Enabled: true, CmpID: 300, Sections: []string{"usnat"}}, "", ""},
			{"states and purposes", consent.GPPSettings{Enabled: true, Sections: []string{"usca", "usva", "usco", "usut", "usct"},
				SalePurposes: []string{"marketing"}, TargetedAdvertisingPurposes: []string{"marketing", "analytics"},
				MspaCoveredTransaction: true, MspaMode: consent.MspaServiceProvider}, "", ""},
			{"off without sections", consent.GPPSettings{}, "", ""},
			{"on without sections", consent.GPPSettings{Enabled: true}, "banner.gpp.sections", "gpp_sections"},
			{"unknown section", consent.GPPSettings{Enabled: true, Sections: []string{"usnat", "ustx"}}, "banner.gpp.sections[1]", "gpp_section"},
			{"section twice", consent.GPPSettings{Enabled: true, Sections: []string{"usnat", "usnat"}}, "banner.gpp.sections[1]", "gpp_section_twice"},
			{"cmp id", consent.GPPSettings{Enabled: true, CmpID: 5000, Sections: []string{"usnat"}}, "banner.gpp.cmp_id", "between"},
			{"unknown purpose", consent.GPPSettings{Enabled: true, Sections: []string{"usnat"}, SharingPurposes: []string{"nope"}},
				"banner.gpp.sharing_purposes[0]", "unknown_purpose"},
			{"unknown mode", consent.GPPSettings{Enabled: true, Sections: []string{"usnat"}, MspaCoveredTransaction: true, MspaMode: "both"},
				"banner.gpp.mspa_mode", "gpp_mspa_mode"},
			{"mode without coverage", consent.GPPSettings{Enabled: true, Sections: []string{"usnat"}, MspaMode: consent.MspaOptOutOption},
				"banner.gpp.mspa_mode", "gpp_mspa_mode_uncovered"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p, err := svc.Property("shop")
				if err != nil {
					t.Fatal(err)
				}
				p.Banner.GPP = c.gpp
				saved, err := svc.PutProperty(ctx, p, false)
				if c.field == "" {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					if saved.Banner.GPP.Sections == nil || saved.Banner.GPP.SalePurposes == nil {
						t.Fatalf("lists left nil: %+v", saved.Banner.GPP)
					}
					return
				}
				e, ok := errs.As(err)
				if !ok || e.FieldKeys[c.field].Key != c.key || e.Fields[c.field] == "" {
					t.Fatalf("error %v (%+v), want %s keyed %q", err, e, c.field, c.key)
				}
			})
		}
	})
}
