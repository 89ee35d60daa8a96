package consent_test

import (
	"context"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/audit/audittest"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/receipt"
)

// TestCatalogNamesAreOneLine replays names with line breaks, which end up
// in mail headers (a vendor's name in a questionnaire's subject) and
// receipts: they are refused where they are entered, naming the field.
func TestCatalogNamesAreOneLine(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		for _, bad := range []string{"Ads Co\r\nBcc: attacker@evil.example", "Ads\nCo", "Ads\u2028Co", "Ads\u0085Co", "Ads\x00Co"} {
			cases := []struct {
				name  string
				field string
				put   func() error
			}{
				{"vendor", "name", func() error {
					_, err := svc.PutVendor(ctx, consent.Vendor{Key: "evil-co", Name: bad, Purposes: []string{"analytics"}}, true)
					return err
				}},
				{"property", "name", func() error {
					_, err := svc.PutProperty(ctx, consent.Property{Key: "evil", Name: bad, Domains: []string{"evil.example"}}, true)
					return err
				}},
				{"purpose", "name.en", func() error {
					_, err := svc.PutPurpose(ctx, consent.Purpose{Key: "evil", Names: map[string]string{"en": bad}, LegalBasis: consent.BasisConsent}, true)
					return err
				}},
			}
			for _, c := range cases {
				err := c.put()
				e, ok := errs.As(err)
				if !ok || e.Code != errs.CodeInvalid || e.Fields[c.field] == "" {
					t.Errorf("%s named %q: %v, want invalid naming %s", c.name, bad, err, c.field)
				}
			}
		}
		// Descriptions and notices may hold paragraphs.
		if _, err := svc.PutPurpose(ctx, consent.Purpose{Key: "fine", Names: map[string]string{"en": "Fine"},
			Descriptions: map[string]string{"en": "Two\nparagraphs"}, LegalBasis: consent.BasisConsent}, true); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCatalogWritesWithoutAudit: with the audit log unwritable, every
// catalog write is refused as unavailable (HTTP 503, try again), not as an
// internal error, and changes nothing.
func TestCatalogWritesWithoutAudit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		log, err := audit.New(audit.Config{DB: store})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := consent.Open(ctx, consent.Config{DB: store, Signer: newSigner(t), Audit: log, FollowInterval: -1,
			Now: func() time.Time { return now }, Controller: receipt.Controller{PIIController: "Example Shop"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { svc.Close() })
		ethicstest.OpenPurposes(t, svc)
		seed(t, svc)
		if _, err := svc.PutNotice(ctx, consent.Notice{Version: "v2", Texts: map[string]string{"en": "Draft"}}, true, false); err != nil {
			t.Fatal(err)
		}
		audittest.MakeUnwritable(t, store)
		writes := []struct {
			name string
			put  func() error
		}{
			{"create purpose", func() error {
				_, err := svc.PutPurpose(ctx, consent.Purpose{Key: "new", Names: map[string]string{"en": "New"}, LegalBasis: consent.BasisConsent}, true)
				return err
			}},
			{"update purpose", func() error {
				_, err := svc.PutPurpose(ctx, consent.Purpose{Key: "analytics", Names: map[string]string{"en": "Changed"}, LegalBasis: consent.BasisConsent, Position: 1}, false)
				return err
			}},
			{"create property", func() error {
				_, err := svc.PutProperty(ctx, consent.Property{Key: "blog", Name: "Blog", Domains: []string{"blog.example"}}, true)
				return err
			}},
			{"create vendor", func() error {
				_, err := svc.PutVendor(ctx, consent.Vendor{Key: "new-co", Name: "New Co", Purposes: []string{"analytics"}}, true)
				return err
			}},
			{"create notice", func() error {
				_, err := svc.PutNotice(ctx, consent.Notice{Version: "v3", Texts: map[string]string{"en": "New"}}, true, false)
				return err
			}},
			{"publish notice", func() error { _, err := svc.PublishNotice(ctx, "v2"); return err }},
		}
		for _, w := range writes {
			if err := w.put(); !errs.Is(err, errs.CodeUnavailable) {
				t.Errorf("%s with the audit log unwritable: %v, want unavailable", w.name, err)
			}
		}
		if _, err := svc.Purpose("new"); !errs.Is(err, errs.CodeNotFound) {
			t.Errorf("the purpose was created without its audit entry: %v", err)
		}
		if p, _ := svc.Purpose("analytics"); p.Names["en"] != "Analytics" {
			t.Errorf("the purpose was changed without its audit entry: %+v", p)
		}
		if n, _ := svc.Notice(ctx, "v2"); n.PublishedAt != nil {
			t.Errorf("the notice was published without its audit entry")
		}
	})
}

// TestCategoriesAreTheVocabulary: the data categories are data in the
// catalog (seeded, created, changed, each change audited); a vendor may
// declare only categories of the vocabulary, a transfer safeguard of the
// known kinds, and purposes and categories a retention within bounds.
func TestCategoriesAreTheVocabulary(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		health, err := svc.Category("health")
		if err != nil || !health.Special || health.InHouse || health.Names["de"] != "Gesundheitsdaten" {
			t.Fatalf("seeded health = %+v, %v; want special, not in-house, named in German", health, err)
		}
		if list := svc.Categories(); len(list) < 12 || list[0].Key != "contact" {
			t.Fatalf("seeded categories = %d, first %q; want 12 by position, contact first", len(list), list[0].Key)
		}
		c, err := svc.PutCategory(ctx, consent.Category{Key: "payroll", Names: map[string]string{"en": "Payroll", "de": "Lohndaten"},
			InHouse: true, RetentionDays: 3650, Position: 5}, true)
		if err != nil || !c.InHouse || c.RetentionDays != 3650 || svc.Categories()[0].Key != "payroll" {
			t.Fatalf("create payroll = %+v, %v", c, err)
		}
		if _, err := svc.PutCategory(ctx, c, true); errs.CodeOf(err) != errs.CodeConflict {
			t.Errorf("create payroll twice: %v, want conflict", err)
		}
		c.InHouse = false
		if c, err = svc.PutCategory(ctx, c, false); err != nil || c.InHouse {
			t.Fatalf("update payroll = %+v, %v", c, err)
		}
		if _, err := svc.PutCategory(ctx, consent.Category{Key: "nope", Names: map[string]string{"en": "Nope"}}, false); errs.CodeOf(err) != errs.CodeNotFound {
			t.Errorf("update of a missing category: %v, want not found", err)
		}
		invalid := []struct {
			name  string
			field string
			put   func() error
		}{
			{"category without an English name", "name", func() error {
				_, err := svc.PutCategory(ctx, consent.Category{Key: "x", Names: map[string]string{"de": "X"}}, true)
				return err
			}},
			{"category kept 200 years", "retention_days", func() error {
				_, err := svc.PutCategory(ctx, consent.Category{Key: "x", Names: map[string]string{"en": "X"}, RetentionDays: 73050}, true)
				return err
			}},
			{"purpose with a negative retention", "retention_days", func() error {
				_, err := svc.PutPurpose(ctx, consent.Purpose{Key: "x", Names: map[string]string{"en": "X"}, LegalBasis: consent.BasisConsent, RetentionDays: -1}, true)
				return err
			}},
			{"vendor with a category outside the vocabulary", "data_categories[1]", func() error {
				_, err := svc.PutVendor(ctx, consent.Vendor{Key: "x", Name: "X", Purposes: []string{"analytics"}, DataCategories: []string{"contact", "shoe_size"}}, true)
				return err
			}},
			{"vendor with an unknown safeguard", "transfer_safeguard", func() error {
				_, err := svc.PutVendor(ctx, consent.Vendor{Key: "x", Name: "X", Purposes: []string{"analytics"}, TransferSafeguard: "trust_us"}, true)
				return err
			}},
		}
		for _, c := range invalid {
			e, ok := errs.As(c.put())
			if !ok || e.Code != errs.CodeInvalid || e.Fields[c.field] == "" {
				t.Errorf("%s: %v, want invalid naming %s", c.name, e, c.field)
			}
		}
		v, err := svc.PutVendor(ctx, consent.Vendor{Key: "us-co", Name: "US Co", Purposes: []string{"analytics"},
			DataCategories: []string{"payroll"}, Country: "US", TransferSafeguard: consent.SafeguardSCC}, true)
		if err != nil || v.TransferSafeguard != consent.SafeguardSCC {
			t.Fatalf("vendor with SCC = %+v, %v", v, err)
		}
		p, err := svc.PutPurpose(ctx, consent.Purpose{Key: "billing", Names: map[string]string{"en": "Billing"}, LegalBasis: consent.BasisLegalObligation, RetentionDays: 3653}, true)
		if err != nil || p.RetentionDays != 3653 {
			t.Fatalf("purpose with retention = %+v, %v", p, err)
		}
		// What was written is read back from the store, not only from memory.
		if err := svc.ReloadCatalog(ctx); err != nil {
			t.Fatal(err)
		}
		if v, _ := svc.Vendor("us-co"); v.TransferSafeguard != consent.SafeguardSCC {
			t.Errorf("after reload, us-co safeguard = %q", v.TransferSafeguard)
		}
		if p, _ := svc.Purpose("billing"); p.RetentionDays != 3653 {
			t.Errorf("after reload, billing retention = %d", p.RetentionDays)
		}
		if c, _ := svc.Category("payroll"); c.RetentionDays != 3650 || c.InHouse {
			t.Errorf("after reload, payroll = %+v", c)
		}
	})
}
