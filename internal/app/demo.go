package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/assurance"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/ethics"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault"
)

// DemoPropertyKey is the key of the demo property.
const DemoPropertyKey = "demo"

// DemoKeys are the keys made for a demo run.
type DemoKeys struct {
	Admin, Decide, Ingest string
	// Staff are console accounts made for this start, with their secrets.
	Staff []DemoStaff
	// Customer is the demo customer's subject id (SeedDemoCustomer).
	Customer string
}

// DemoStaff is a demo console account.
type DemoStaff struct {
	Role                     staff.Role
	Email, Password, TOTPURI string
	TOTPSecret               string
}

// SeedDemo fills an empty catalog with a demo property, four purposes
// (each that needs one with an approved ethics assessment, so that the
// banner offers them and decisions allow them), a newsletter (a
// communication topic), two vendors (each with a signed-off security
// assessment, so that the banner offers them and decisions and disclosures
// may name them) and a published notice (leaving what exists alone), and
// makes fresh admin, decide and ingest keys.
func (a *App) SeedDemo(ctx context.Context) (DemoKeys, error) {
	c := a.Consent
	ignoreExisting := func(_ any, err error) error { return ignoreConflict(err) }
	purposes := []consent.Purpose{
		{Key: "necessary", Position: 0, LegalBasis: consent.BasisContract, Necessary: true,
			Names: map[string]string{"en": "Strictly necessary", "de": "Unbedingt erforderlich", "fr": "Strictement nécessaire", "es": "Estrictamente necesarias"},
			Descriptions: map[string]string{"en": "Keeps the shop working: your basket, sign-in and security.",
				"de": "Hält den Shop am Laufen: Warenkorb, Anmeldung und Sicherheit.",
				"fr": "Fait fonctionner la boutique : votre panier, la connexion et la sécurité.",
				"es": "Hace que la tienda funcione: su cesta, el inicio de sesión y la seguridad."}},
		{Key: "analytics", Position: 1, LegalBasis: consent.BasisConsent, Cookies: []string{"_ga", "_ga_*"},
			Names: map[string]string{"en": "Analytics", "de": "Statistik", "fr": "Statistiques", "es": "Analítica"},
			Descriptions: map[string]string{"en": "Counts visits and measures which pages work, so that we can improve them.",
				"de": "Zählt Besuche und misst, welche Seiten funktionieren, damit wir sie verbessern können.",
				"fr": "Compte les visites et mesure quelles pages fonctionnent, afin que nous puissions les améliorer.",
				"es": "Cuenta las visitas y mide qué páginas funcionan, para que podamos mejorarlas."}},
		{Key: "marketing", Position: 2, LegalBasis: consent.BasisConsent,
			Names: map[string]string{"en": "Marketing", "de": "Marketing", "fr": "Marketing", "es": "Marketing"},
			Descriptions: map[string]string{"en": "Shows you offers based on what you looked at.",
				"de": "Zeigt Ihnen Angebote, die zu dem passen, was Sie sich angesehen haben.",
				"fr": "Vous montre des offres selon ce que vous avez consulté.",
				"es": "Le muestra ofertas según lo que ha consultado."}},
		{Key: "sale_of_data", Position: 3, LegalBasis: consent.BasisConsent, SaleOrSharing: true,
			Names: map[string]string{"en": "Sale or sharing of personal data", "de": "Verkauf oder Weitergabe personenbezogener Daten",
				"fr": "Vente ou partage de données personnelles", "es": "Venta o cesión de datos personales"},
			Descriptions: map[string]string{"en": "Shares data with advertising partners for cross-context behavioural advertising.",
				"de": "Gibt Daten an Werbepartner weiter, für kontextübergreifende verhaltensbasierte Werbung.",
				"fr": "Partage des données avec des partenaires publicitaires pour de la publicité comportementale intercontextuelle.",
				"es": "Comparte datos con socios publicitarios para publicidad comportamental entre contextos."}},
		// A communication topic: chosen in the preference centre each
		// newsletter links to, never in the banner.
		{Key: "newsletter", Position: 10, LegalBasis: consent.BasisConsent, Kind: consent.KindCommunication,
			Channels: []consent.Channel{consent.ChannelEmail}, Frequency: consent.FrequencyMonthly,
			Names: map[string]string{"en": "Newsletter", "de": "Newsletter", "fr": "Lettre d'information", "es": "Boletín"},
			Descriptions: map[string]string{"en": "News from the shop and its offers, once a month.",
				"de": "Neuigkeiten aus dem Shop und seine Angebote, einmal im Monat.",
				"fr": "Les nouvelles de la boutique et ses offres, une fois par mois.",
				"es": "Novedades de la tienda y sus ofertas, una vez al mes."}},
	}
	var steps []func() error
	for _, p := range purposes {
		steps = append(steps, func() error { return ignoreExisting(c.PutPurpose(ctx, p, true)) })
	}
	vendors := []consent.Vendor{
		{Key: "metrics-co", Name: "Metrics Co", Purposes: []string{"analytics"}, DataCategories: []string{"behavioural", "device"},
			Country: "IE", PrivacyURL: "https://metrics.example/privacy"},
		{Key: "adnet", Name: "AdNet", Purposes: []string{"marketing", "sale_of_data"}, DataCategories: []string{"behavioural", "device", "contact"},
			Country: "US", TransferSafeguard: consent.SafeguardSCC, PrivacyURL: "https://adnet.example/privacy"},
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
	steps = append(steps, func() error { return a.seedDemoAssessments(ctx, vendors) })
	steps = append(steps, func() error { return a.seedDemoEthics(ctx) })
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
	if err := a.seedDemoConsole(ctx); err != nil {
		return keys, fmt.Errorf("seed demo: %w", err)
	}
	return keys, nil
}

// demoSecurityOfficer is who signs off the demo vendors' assessments in
// the audit log.
var demoSecurityOfficer = audit.Staff("demo_security_officer")

// seedDemoAssessments gives each demo vendor without a current passing
// assessment one, through the assurance service as a real one goes (sent,
// answered and submitted through its link, approved by a security
// officer), each step audited. With the vault sealed, the contact address
// cannot be sealed: the vendors stay unassessed, and the console says so.
func (a *App) seedDemoAssessments(ctx context.Context, vendors []consent.Vendor) error {
	if a.Vault.Sealed() {
		return nil
	}
	officer := audit.WithActor(ctx, demoSecurityOfficer)
	for _, v := range vendors {
		current, err := a.Vendors.Assurance(ctx, v.Key)
		if err != nil {
			return err
		}
		if current.Passing {
			continue
		}
		sent, err := a.Vendors.Send(officer, v.Key, assurance.SecurityBaseline, "security@"+v.Key+".example", 0)
		if err != nil {
			return fmt.Errorf("send the demo assessment of %s: %w", v.Key, err)
		}
		template, err := a.Vendors.Template(ctx, assurance.SecurityBaseline)
		if err != nil {
			return err
		}
		if _, err := a.Vendors.SaveAnswers(ctx, sent.Token, demoAnswers(template, v.Key), true); err != nil {
			return fmt.Errorf("answer the demo assessment of %s: %w", v.Key, err)
		}
		if _, err := a.Vendors.Review(officer, sent.Assessment.ID, true, "Demo: read the vendor's ISO 27001 certificate and penetration test summary; the scope covers the service."); err != nil {
			return fmt.Errorf("sign off the demo assessment of %s: %w", v.Key, err)
		}
	}
	return nil
}

// demoPrivacyOfficer is who approves the demo purposes' ethics
// assessments in the audit log.
var demoPrivacyOfficer = audit.Staff("demo_privacy_officer")

// seedDemoEthics gives each demo purpose that needs one and has no
// approval in force an approved ethics assessment, through the ethics
// service as a real one goes (a draft saved, then approved by a privacy
// officer), each step audited.
func (a *App) seedDemoEthics(ctx context.Context) error {
	officer := audit.WithActor(ctx, demoPrivacyOfficer)
	yes, no := true, false
	for _, key := range []string{"analytics", "marketing", "sale_of_data", "newsletter"} {
		v, err := a.Ethics.Get(ctx, key)
		if err != nil {
			return err
		}
		if !v.Required || v.Status == ethics.StatusApproved {
			continue
		}
		answers := ethics.Answers{
			CustomerKnows: "The banner names the purpose, its vendors and their countries before asking; the privacy notice says what is collected, why and for how long.",
			OptOut:        &yes,
			StorageSafe:   &yes,
			Storage:       "Kept by the vendors named in the banner, each with a signed-off security assessment; transfers outside the EEA under standard contractual clauses.",
			Typical:       &yes,
		}
		if key == "newsletter" {
			answers.CustomerKnows = "The customer subscribes on the preference page or in the privacy portal, which say what we send, by which channel and how often; we keep only the email address."
			answers.Storage = "The email address stays in Steward's vault; the mailer receives it per message only."
		}
		if key == "sale_of_data" {
			answers.Typical = &no
			answers.Advantage = "Advertising partners pay for the audience, which keeps prices low; the banner says so before asking."
			answers.CustomerKnowsWhy = &yes
		}
		if _, err := a.Ethics.Save(officer, key, answers); err != nil {
			return fmt.Errorf("save the demo ethics assessment of %s: %w", key, err)
		}
		if _, err := a.Ethics.Approve(officer, key); err != nil {
			return fmt.Errorf("approve the demo ethics assessment of %s: %w", key, err)
		}
	}
	return nil
}

// demoAnswers answers every question of t with a passing answer, as a
// vendor that meets the baseline would.
func demoAnswers(t assurance.Template, vendorKey string) map[string]string {
	out := map[string]string{}
	for _, q := range t.Questions {
		switch {
		case len(q.Pass) > 0:
			out[q.ID] = q.Pass[0]
		case q.Kind == assurance.KindFileReference:
			out[q.ID] = "https://" + vendorKey + ".example/trust/" + q.ID + ".pdf"
		default:
			out[q.ID] = "Documented in our security policy, reviewed every year."
		}
	}
	return out
}

// seedDemoConsole keeps the demo's console as Open leaves it: the built-in
// training modules (staff.InstallBuiltins) are its programme, privacy
// basics among them, required before a reveal.
func (a *App) seedDemoConsole(ctx context.Context) error {
	_, err := a.Staff.Module(ctx, "privacy-basics")
	return err
}

// DemoCustomer is the demo customer's subject id, while it is not erased.
const DemoCustomer = "cust-demo-1"

// SeedDemoCustomer adds a synthetic customer (jo.demo@shop.example), with
// consents and protected fields, for the portal and the console of `serve
// --demo`, and returns its subject id: DemoCustomer, or, once that was
// erased (an erased subject can hold no vault data again), the first of
// cust-demo-2, cust-demo-3, … that was not, so that the demo starts again
// with a fresh customer and the erasure stands.
func (a *App) SeedDemoCustomer(ctx context.Context) (string, error) {
	subject, err := a.demoSubject(ctx)
	if err != nil {
		return "", err
	}
	// The first customer's event ids stay as they were, so that a restart
	// adds no second copy of them.
	prefix := "demo-cust-1-"
	if subject != DemoCustomer {
		prefix = "demo-" + subject + "-"
	}
	events := []consent.Event{
		{ID: prefix + "analytics", Property: DemoPropertyKey, Subject: subject, Purpose: "analytics", Action: consent.ActionGrant, Source: consent.SourceAPI},
		{ID: prefix + "marketing", Property: DemoPropertyKey, Subject: subject, Purpose: "marketing", Action: consent.ActionDeny, Source: consent.SourceAPI},
	}
	if notice, ok := a.Consent.CurrentNotice(); ok {
		for i := range events {
			events[i].NoticeVersion = notice.Version
		}
	}
	// Recorded as the company's back end would, with a record key.
	if err := a.Consent.ValidateEvents(events, consent.Author{Kind: consent.AuthorRecordKey}); err != nil {
		return "", err
	}
	if _, err := a.Consent.Append(ctx, events); err != nil {
		return "", err
	}
	if a.Vault.Sealed() {
		return subject, nil
	}
	for _, f := range []vault.Field{
		{Name: "email", Category: "contact", Value: []byte("jo.demo@shop.example")},
		{Name: "iban", Category: "financial", Value: []byte("DE02120300000000202051")},
		{Name: "address", Category: "location", Value: []byte("Musterstraße 1, 10115 Berlin")},
		// Data points for the portal's second proof (README).
		{Name: "birth_date", Category: "other", Value: []byte("1990-04-01")},
		{Name: "postcode", Category: "location", Value: []byte("10115")},
	} {
		if _, err := a.Vault.Put(ctx, subject, f); err != nil {
			return "", fmt.Errorf("demo customer: %w", err)
		}
	}
	return subject, nil
}

// demoSubject returns the first demo customer id that was not erased.
func (a *App) demoSubject(ctx context.Context) (string, error) {
	for n := 1; n <= 1000; n++ {
		subject := fmt.Sprintf("cust-demo-%d", n)
		erased, err := a.Vault.Erased(ctx, subject)
		if err != nil {
			return "", fmt.Errorf("demo customer: %w", err)
		}
		if !erased {
			return subject, nil
		}
	}
	return "", errors.New("demo customer: the first 1000 demo customers were all erased; start with a fresh --data-dir")
}

// SeedDemoStaff makes an administrator (who manages staff accounts and
// keys), a privacy officer and a security officer with fresh passwords, at
// every demo start: their TOTP secrets cannot be shown twice.
func (a *App) SeedDemoStaff(ctx context.Context) ([]DemoStaff, error) {
	if a.Vault.Sealed() {
		return nil, nil
	}
	suffix := strings.ToLower(rand.Text()[:6])
	var out []DemoStaff
	for _, role := range []staff.Role{staff.RoleAdmin, staff.RolePrivacyOfficer, staff.RoleSecurityOfficer} {
		password := rand.Text()
		created, err := a.Staff.Create(ctx, audit.System(), staff.NewAccount{Email: fmt.Sprintf("%s-%s@demo.example", strings.ReplaceAll(string(role), "_", "-"), suffix),
			Name: "Demo " + strings.ReplaceAll(string(role), "_", " "), Role: role, Password: password})
		if err != nil {
			return nil, err
		}
		out = append(out, DemoStaff{Role: role, Email: created.Email, Password: password, TOTPSecret: created.TOTPSecret, TOTPURI: created.TOTPURI})
	}
	return out, nil
}

func ignoreConflict(err error) error {
	if errs.Is(err, errs.CodeConflict) {
		return nil
	}
	return err
}
