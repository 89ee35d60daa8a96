package app

import (
	"context"
	"fmt"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/errs"
)

// DemoPropertyKey is the key of the demo property.
const DemoPropertyKey = "demo"

// DemoKeys are the keys made for a demo run.
type DemoKeys struct {
	Admin, Decide, Ingest string
}

// SeedDemo fills an empty catalog with a demo property, four purposes, two
// vendors and a published notice (leaving what exists alone), and makes
// fresh admin, decide and ingest keys.
func (a *App) SeedDemo(ctx context.Context) (DemoKeys, error) {
	c := a.Consent
	ignoreExisting := func(_ any, err error) error {
		if errs.Is(err, errs.CodeConflict) {
			return nil
		}
		return err
	}
	purposes := []consent.Purpose{
		{Key: "necessary", Position: 0, LegalBasis: consent.BasisContract, Necessary: true,
			Names:        map[string]string{"en": "Strictly necessary", "de": "Unbedingt erforderlich", "fr": "Strictement nécessaire", "es": "Estrictamente necesarias"},
			Descriptions: map[string]string{"en": "Keeps the shop working: your basket, sign-in and security."}},
		{Key: "analytics", Position: 1, LegalBasis: consent.BasisConsent, Cookies: []string{"_ga", "_ga_*"},
			Names:        map[string]string{"en": "Analytics", "de": "Statistik", "fr": "Statistiques", "es": "Analítica"},
			Descriptions: map[string]string{"en": "Counts visits and measures which pages work, so that we can improve them."}},
		{Key: "marketing", Position: 2, LegalBasis: consent.BasisConsent,
			Names:        map[string]string{"en": "Marketing", "de": "Marketing", "fr": "Marketing", "es": "Marketing"},
			Descriptions: map[string]string{"en": "Shows you offers based on what you looked at."}},
		{Key: "sale_of_data", Position: 3, LegalBasis: consent.BasisConsent, SaleOrSharing: true,
			Names:        map[string]string{"en": "Sale or sharing of personal data", "de": "Verkauf oder Weitergabe personenbezogener Daten"},
			Descriptions: map[string]string{"en": "Shares data with advertising partners for cross-context behavioural advertising."}},
	}
	var steps []func() error
	for _, p := range purposes {
		steps = append(steps, func() error { return ignoreExisting(c.PutPurpose(ctx, p, true)) })
	}
	vendors := []consent.Vendor{
		{Key: "metrics-co", Name: "Metrics Co", Purposes: []string{"analytics"}, DataCategories: []string{"usage", "device"},
			Country: "IE", PrivacyURL: "https://metrics.example/privacy"},
		{Key: "adnet", Name: "AdNet", Purposes: []string{"marketing", "sale_of_data"}, DataCategories: []string{"usage", "device", "contact"},
			Country: "US", PrivacyURL: "https://adnet.example/privacy"},
	}
	for _, v := range vendors {
		steps = append(steps, func() error { return ignoreExisting(c.PutVendor(ctx, v, true)) })
	}
	// The property comes after the purposes its banner settings name.
	steps = append(steps,
		func() error {
			return ignoreExisting(c.PutProperty(ctx, consent.Property{Key: DemoPropertyKey, Name: "Demo Shop",
				Domains: []string{"localhost", "127.0.0.1", "shop.example"}, DefaultJurisdiction: "DE",
				PolicyURL: "https://shop.example/privacy", Banner: consent.BannerSettings{
					JurisdictionHeader: "X-Demo-Country", RegionHeader: "X-Demo-Region",
					ConsentMode: consent.ConsentMode{Enabled: true, Types: map[string][]string{
						"necessary": {"security_storage", "functionality_storage"},
						"analytics": {"analytics_storage"},
						"marketing": {"ad_storage", "ad_user_data", "ad_personalization", "personalization_storage"},
					}},
				}}, true))
		},
	)
	steps = append(steps, func() error {
		return ignoreExisting(c.PutNotice(ctx, consent.Notice{Version: "2026-11", Material: true, Texts: map[string]string{
			"en": "Demo Shop uses your data to run the shop and, with your consent, for analytics and marketing.",
			"de": "Demo Shop verwendet Ihre Daten für den Betrieb des Shops und, mit Ihrer Einwilligung, für Statistik und Marketing.",
		}}, true, true))
	})
	for _, step := range steps {
		if err := step(); err != nil {
			return DemoKeys{}, fmt.Errorf("seed demo: %w", err)
		}
	}
	var keys DemoKeys
	var err error
	if keys.Admin, _, err = a.Keys.Create(ctx, apikey.ScopeAdmin, "", "demo admin"); err != nil {
		return keys, fmt.Errorf("seed demo: %w", err)
	}
	if keys.Decide, _, err = a.Keys.Create(ctx, apikey.ScopeDecide, "", "demo decide"); err != nil {
		return keys, fmt.Errorf("seed demo: %w", err)
	}
	if keys.Ingest, _, err = a.Keys.Create(ctx, apikey.ScopeIngest, "demo", "demo banner"); err != nil {
		return keys, fmt.Errorf("seed demo: %w", err)
	}
	return keys, nil
}
