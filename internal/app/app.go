// Package app wires Steward together: the one place that knows every part.
// It opens the store, applies migrations, loads the signing key, starts the
// consent service and builds the HTTP handler; Serve runs it until the
// context ends, then drains.
//
// app only constructs parts and connects them: workflows (emails, webhook
// events, job dispatch, periodic work) live in the packages that own them,
// which app hands to each other. A new capability adds its constructor
// call here, its workers to openJobs and its PeriodicJobs to the list
// there.
//
//	a, err := app.Open(ctx, cfg, logger)
//	if err != nil { ... }
//	defer a.Close()
//	err = a.ListenAndServe(ctx)
package app

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/analytics"
	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/assurance"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/clock"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/connector/drift"
	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/customer"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/disclosure"
	"github.com/steward-dev/steward/internal/disclosure/disclosuremail"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/dsr/dsrmail"
	"github.com/steward-dev/steward/internal/erasure"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/ethics"
	"github.com/steward-dev/steward/internal/export"
	"github.com/steward-dev/steward/internal/fulfil"
	"github.com/steward-dev/steward/internal/incident"
	"github.com/steward-dev/steward/internal/inventory"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/outbox"
	"github.com/steward-dev/steward/internal/preference"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/recovery"
	"github.com/steward-dev/steward/internal/report"
	"github.com/steward-dev/steward/internal/retention"
	"github.com/steward-dev/steward/internal/reveal"
	"github.com/steward-dev/steward/internal/review"
	"github.com/steward-dev/steward/internal/scanner"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/staff/trainingmail"
	"github.com/steward-dev/steward/internal/tcf"
	"github.com/steward-dev/steward/internal/transparency"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/web"
	"github.com/steward-dev/steward/internal/web/admin"
	"github.com/steward-dev/steward/internal/web/assess"
	"github.com/steward-dev/steward/internal/web/banner"
	"github.com/steward-dev/steward/internal/web/clientaddr"
	"github.com/steward-dev/steward/internal/web/httpx"
	"github.com/steward-dev/steward/internal/web/portal"
)

// App is a running Steward.
type App struct {
	Config config.Config
	Log    *slog.Logger
	DB     *db.DB
	// Clock is the time of sessions, codes and request deadlines: it never
	// goes back (package clock).
	Clock   *clock.Steady
	Signer  *receipt.Signer
	Consent *consent.Service
	Keys    *apikey.Store
	GVL     *tcf.VendorLists
	Vault   *vault.Vault
	Audit   *audit.Log
	Staff   *staff.Service
	// Customers signs customers in to the portal; Mailer is nil when no
	// SMTP server is configured.
	Customers *customer.Service
	Mailer    notify.Sender
	// Requests is the data subject request workflow; Exports keeps the
	// archives that answer access and portability requests; Fulfil does
	// the work, across Steward and the connected systems.
	Requests *dsr.Service
	Exports  *export.Store
	Fulfil   *fulfil.Fulfiller
	// Hooks calls the company's HTTP systems and records their callbacks.
	Hooks *httpsystem.Service
	// Drift finds personal data the connected SQL systems hold undeclared.
	Drift *drift.Service
	// Scanner scans the properties' pages for trackers in every consent
	// state (with Chromium, when there is one).
	Scanner *scanner.Service
	// Transparency builds, versions and signs the public transparency page.
	Transparency *transparency.Publisher
	// Retention enforces how long data is kept, and keeps legal holds.
	Retention *retention.Service
	// Journal records every erasure outside the database; Recovery takes
	// the backups that carry it.
	Journal  *erasure.Journal
	Recovery *recovery.Service
	// Vendors keeps the security assessments of third parties;
	// Disclosures decides what data may go to them.
	Vendors     *assurance.Service
	Disclosures *disclosure.Service
	// Jobs runs background work: request fulfilment and maintenance.
	Jobs *jobs.Runner
	// Outbox tells the company's systems of changes (webhooks).
	Outbox *outbox.Service
	// Inventory is the data map and the record of processing.
	Inventory *inventory.Service
	// Ethics keeps the purposes' ethics assessments: a purpose without an
	// approved one is refused by decisions and not offered by the banner.
	Ethics *ethics.Service
	// Incidents is the register of breaches: who was affected, the clocks.
	Incidents *incident.Service
	// Reviews keeps the quarterly access reviews and reminds the
	// administrators of them.
	Reviews *review.Service
	// Reports makes the signed monthly report.
	Reports *report.Service
	// connectors are the connected systems' dataset files.
	connectors Connectors
	// mail are the email templates, parsed once.
	mail *notify.Templates
	// clientAddr finds the client address rate limits count by
	// (--trusted-proxies).
	clientAddr *clientaddr.Resolver
	// bindingKey signs the portal's browser-binding cookies; derived from
	// the receipt signing key, which every replica shares.
	bindingKey []byte
	// preferences makes and opens the preference centre's links, under a
	// key derived from the same seed.
	preferences *preference.Links
	// jwks is the key set the server publishes (receipts and backups).
	jwks []byte
	// Checkpoints signs checkpoints of the audit log into the data directory.
	Checkpoints *audit.Checkpointer
	Metrics     *web.Metrics

	// LedgerCheckpoints verifies the consent ledger's chain and signs
	// checkpoints of it into the data directory.
	LedgerCheckpoints *consent.Checkpointer

	Handler http.Handler

	// queue is the job runner to come, for the services built before it
	// that insert jobs; set by openJobs.
	queue *jobs.Deferred
	// closers release what Open opened, in reverse order (Close).
	closers []func() error
}

// NewLogger returns the process logger described by cfg.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// OpenStore opens and migrates the store named by cfg.
func OpenStore(ctx context.Context, cfg config.Config) (*db.DB, error) {
	store, err := db.Open(ctx, cfg.Database, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}

// LoadSigningKey returns the receipt signing key: from the configured file,
// or from the data directory, made there at first start.
func LoadSigningKey(cfg config.Config) (ed25519.PrivateKey, error) {
	if cfg.SigningKeyFile != "" {
		return receipt.LoadKey(cfg.SigningKeyFile)
	}
	return receipt.LoadOrCreateKey(cfg.DataDir)
}

// Open starts every part of Steward but the listener. Each part that
// needs closing is pushed on one stack as it opens; a failure midway (and
// Close) unwinds it in reverse.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *App, err error) {
	a := &App{Config: cfg, Log: log, Metrics: web.NewMetrics(), queue: &jobs.Deferred{}}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	if a.DB, err = OpenStore(ctx, cfg); err != nil {
		return nil, err
	}
	a.push(a.DB.Close)
	if a.Clock, err = steadyClock(ctx, a.DB); err != nil {
		return nil, err
	}
	key, err := LoadSigningKey(cfg)
	if err != nil {
		return nil, err
	}
	if a.Signer, err = receipt.NewSigner(key); err != nil {
		return nil, err
	}
	a.bindingKey = portal.DeriveBindingKey(key.Seed())
	if a.preferences, err = preference.New(preference.Config{Secret: key.Seed(),
		PageTTL: time.Duration(cfg.PreferenceLinkDays) * 24 * time.Hour, UnsubscribeTTL: time.Duration(cfg.UnsubscribeLinkDays) * 24 * time.Hour}); err != nil {
		return nil, err
	}
	if a.Audit, err = audit.New(audit.Config{DB: a.DB}); err != nil {
		return nil, err
	}
	journal, backupKey, err := OpenJournal(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.Journal = journal
	if a.Recovery, err = recovery.New(recovery.Config{DB: a.DB, Journal: journal, Key: backupKey, Audit: a.Audit, Log: log}); err != nil {
		return nil, err
	}
	if a.jwks, err = publishedKeys(a.Signer.JWKS(), a.Recovery.PublicKey()); err != nil {
		return nil, err
	}
	a.Metrics.WatchBackups(lastBackups(a.DB))
	a.mail, err = notify.NewTemplates()
	if err != nil {
		return nil, err
	}
	if err := a.openMailer(cfg, log); err != nil {
		return nil, err
	}
	started := time.Now()
	a.Consent, err = consent.Open(ctx, consent.Config{
		DB: a.DB, Signer: a.Signer, Logger: log, FollowInterval: cfg.FollowInterval, Observe: a.Metrics.ObserveAppends, Audit: a.Audit,
		Listen: true, OnFollow: a.Metrics.ObserveFollow, SnapshotPath: snapshotPath(cfg, log), SnapshotInterval: cfg.IndexSnapshotInterval,
		OnLiftRequested: dsrmail.LiftRequested(a.queue, a.Mailer),
		Controller: receipt.Controller{PIIController: cfg.Controller.Name, Contact: cfg.Controller.Email, Email: cfg.Controller.Email,
			Address: cfg.Controller.Address, Phone: cfg.Controller.Phone, PIIControllerURL: cfg.Controller.URL},
	})
	if err != nil {
		return nil, err
	}
	a.push(a.Consent.Close)
	a.Metrics.WatchListener(func() bool { ok, _ := a.Consent.Listening(); return ok })
	from, fromSnapshot := a.Consent.StartedFrom()
	log.Info("consent index built", "states", a.Consent.Index().Len(), "ledger_seq", a.Consent.Index().MaxSeq(),
		"from_snapshot", fromSnapshot, "snapshot_seq", from.Seq, "took", time.Since(started).Round(time.Millisecond).String())
	// Reading the whole ledger left garbage several times the index's
	// size; hand it back to the system now rather than keep it resident
	// until the scavenger gets to it.
	debug.FreeOSMemory()
	ring, err := LoadKeyring(cfg)
	if err != nil {
		return nil, err
	}
	if a.Vault, err = vault.Open(ctx, vault.Config{DB: a.DB, Keyring: ring, Logger: log, Audit: a.Audit}); err != nil {
		return nil, err
	}
	a.push(a.Vault.Close)
	if a.Vault.Sealed() {
		log.Warn("the vault is sealed: no master key (STEWARD_MASTER_KEY or --master-key-file); its routes answer 503")
	}
	outboxBox, err := a.Vault.SecretBox("webhooks")
	if err != nil {
		return nil, err
	}
	// Deliveries have a queue of their own: a slow receiver holds no request job.
	if a.Outbox, err = outbox.New(outbox.Config{DB: a.DB, Secrets: outboxBox, Audit: a.Audit,
		AllowHosts: cfg.WebhookAllowHosts, Queue: "webhooks", Logger: log}); err != nil {
		return nil, err
	}
	a.push(a.Outbox.Close)
	if err := a.openAudit(ctx, cfg, log); err != nil {
		return nil, err
	}
	if err := a.openLedgerCheckpoints(ctx, cfg, log); err != nil {
		return nil, err
	}
	if a.Staff, err = OpenStaff(cfg, a.DB, a.Vault, a.Audit, a.Clock.Now); err != nil {
		return nil, err
	}
	// The built-in training modules and their assignments: added once,
	// brought up to date while nobody edited them.
	if err := a.Staff.InstallBuiltins(ctx); err != nil {
		return nil, err
	}
	if a.clientAddr, err = clientaddr.Parse(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	portalServer, err := a.openPortal(cfg, log)
	if err != nil {
		return nil, err
	}
	if a.Inventory, err = inventory.New(inventory.Config{DB: a.DB, Audit: a.Audit, Catalog: a.Consent, Datasets: a.connectors.SQL,
		HTTP: a.connectors.HTTP, Vault: a.Vault, Controller: InventoryController(cfg)}); err != nil {
		return nil, err
	}
	if err := a.openEthics(ctx, log); err != nil {
		return nil, err
	}
	// Access reviews and the monthly report; the reviews remind from
	// the job runner, so they come first.
	if a.Reviews, err = review.New(review.Config{DB: a.DB, Audit: a.Audit, Staff: a.Staff,
		Remind: review.Mail(a.Mailer, a.mail, brand(cfg), cfg.PublicURL)}); err != nil {
		return nil, err
	}
	if a.Reports, err = report.New(report.Config{Audit: a.Audit, DB: a.DB, Signer: a.Signer, Training: a.Staff.Programme,
		Names: a.Staff.List, Reviews: a.Reviews}); err != nil {
		return nil, err
	}
	// The public transparency page, built from what Steward enforces; its
	// periodic rebuild versions a change even while nobody reads it.
	if a.Transparency, err = transparency.NewPublisher(transparency.PublisherConfig{DB: a.DB, Signer: a.Signer, Catalog: a.Consent,
		DataMap: a.Inventory, Incidents: a.Incidents, Cookies: a.cookieDeclarations, PublicURL: cfg.PublicURL, Log: log,
		Company: transparency.Company{Name: cfg.Controller.Name, Email: cfg.Controller.Email, Phone: cfg.Controller.Phone,
			Address: cfg.Controller.Address, URL: cfg.Controller.URL}}); err != nil {
		return nil, err
	}
	if err := a.openJobs(ctx, cfg, log); err != nil {
		return nil, err
	}
	a.Keys = apikey.NewStore(a.DB, a.Clock.Now)
	if err := a.Keys.Warm(ctx); err != nil {
		return nil, fmt.Errorf("read API keys: %w", err)
	}
	// One reveal limit for the console's staff and the API's reveal keys.
	reveals := reveal.New(reveal.Config{DB: a.DB, Audit: a.Audit})
	questionnaires := &assurance.QuestionnaireMail{Catalog: a.Consent, Sender: a.Mailer, Mail: a.mail, Brand: brand(cfg)}
	console, err := admin.New(admin.Deps{Staff: a.Staff, Vault: a.Vault, Audit: a.Audit, Consent: a.Consent, Requests: a.Requests, Jobs: a.Jobs, Disclosures: a.Disclosures, Outbox: a.Outbox,
		MailQuestionnaire:  questionnaires.Func(),
		PublicURL:          cfg.PublicURL,
		AfterRequestAction: a.Fulfil.AfterAction(a.queue, log),
		Progress: func(ctx context.Context, req dsr.Request) (*admin.Progress, error) {
			return a.Fulfil.Progress(ctx, a.Jobs, req)
		},
		Log: log, ClientAddr: a.clientAddr, Reveals: reveals, Keys: a.Keys, Vendors: a.Vendors, Drift: a.Drift, Retention: a.Retention, Inventory: a.Inventory,
		Scanner:        a.Scanner,
		Backups:        func(ctx context.Context) (recovery.Status, error) { return recovery.CurrentStatus(ctx, a.DB) },
		BackupSchedule: admin.BackupSchedule{Scheduled: cfg.Backup.To != "", Every: cfg.Backup.Every, DrillEvery: cfg.Backup.DrillEvery},
		Incidents:      a.Incidents,
		Ethics:         a.Ethics,
		Analytics:      analytics.New(a.DB, a.Audit).WithFlush(a.Consent.FlushRollups),
		Reviews:        a.Reviews,
		Reports:        a.Reports})
	if err != nil {
		return nil, err
	}
	a.GVL = tcf.NewVendorLists(a.DB, time.Now)
	// The banner's browser code is embedded and minified here, once: a
	// build whose scripts do not minify does not start.
	bannerServer, err := banner.New(banner.Deps{Consent: a.Consent, Keys: a.Keys, VendorLists: a.GVL, PublicURL: cfg.PublicURL, Log: log})
	if err != nil {
		return nil, err
	}
	assessPages, err := assess.New(assess.Deps{Vendors: a.Vendors, Log: log})
	if err != nil {
		return nil, err
	}
	publicPages, err := transparency.New(transparency.Deps{Incidents: a.Incidents, Publisher: a.Transparency, CompanyName: cfg.Controller.Name, Log: log,
		CategoryName: func(key, lang string) string {
			for _, c := range a.Consent.Categories() {
				if c.Key == key {
					return c.Names[lang]
				}
			}
			return ""
		}})
	if err != nil {
		return nil, err
	}
	signIn := &customer.SignInNotice{Vault: a.Vault, Audit: a.Audit, Sender: a.Mailer, Mail: a.mail, Brand: brand(cfg),
		ContactEmail: cfg.Controller.Email, PublicURL: cfg.PublicURL}
	agents := &dsrmail.AgentConfirmations{Requests: a.Requests, Sender: a.Mailer, Mail: a.mail, Brand: brand(cfg), PortalURL: cfg.PublicURL}
	disclosures := &disclosuremail.Notifier{Consent: a.Consent, Vault: a.Vault, Audit: a.Audit, Sender: a.Mailer, Mail: a.mail,
		Brand: brand(cfg), PublicURL: cfg.PublicURL, Log: log}
	a.Handler = web.NewServer(web.Deps{Assess: assessPages, Consent: a.Consent, Keys: a.Keys, DB: a.DB, Signer: a.Signer, Metrics: a.Metrics,
		JWKS: a.jwks, Erasures: a.Journal,
		Log: log, AccessLog: cfg.AccessLog, GPCLastUpdate: cfg.GPCLastUpdate, Banner: bannerServer, DemoProperty: demoProperty(cfg),
		Vault: a.Vault, Audit: a.Audit, Hooks: a.Hooks, Disclosures: a.Disclosures, Outbox: a.Outbox, Console: console, Portal: portalServer, Reveals: reveals, Requests: a.Requests,
		BeforeSignInChange:    signIn.Before,
		SendAgentConfirmation: agents.Func(),
		OnDisclosure:          disclosures.Notify,
		MetricsElsewhere:      cfg.MetricsListen != "",
		Retention:             a.Retention,
		Ready:                 a.ready,
		Inventory:             a.Inventory,
		Incidents:             a.Incidents,
		Transparency:          publicPages,
		Preferences:           a.preferences,
		PublicURL:             cfg.PublicURL,
		Ethics:                a.Ethics})
	return a, nil
}

// openEthics opens the purposes' ethics assessments: decisions and the
// banner offer only purposes whose assessment is approved (or in an
// upgrade's grace period); the gate is read now and followed from here on.
func (a *App) openEthics(ctx context.Context, log *slog.Logger) error {
	var err error
	if a.Ethics, err = ethics.New(ethics.Config{DB: a.DB, Audit: a.Audit, Catalog: a.Consent, Inventory: a.Inventory, Gate: a.Consent, Logger: log}); err != nil {
		return err
	}
	if err := a.Consent.SetPurposeAssessmentSource(ctx, a.Ethics.AssessedPurposes); err != nil {
		return fmt.Errorf("load the purpose gate: %w", err)
	}
	return nil
}

// cookieDeclarations are the cookie declarations of the properties scanned
// at least once, for the transparency page.
func (a *App) cookieDeclarations(ctx context.Context) ([]scanner.Declaration, error) {
	var out []scanner.Declaration
	for _, p := range a.Consent.Properties() {
		d, err := a.Scanner.Declaration(ctx, p.Key)
		if errs.Is(err, errs.CodeNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// InventoryController is the controller the record of processing names:
// the company of the controller settings.
func InventoryController(cfg config.Config) inventory.Controller {
	c := cfg.Controller
	return inventory.Controller{Name: c.Name, Email: c.Email, Address: c.Address, Phone: c.Phone, URL: c.URL}
}

// push adds a closer to the stack that Close unwinds.
func (a *App) push(closer func() error) { a.closers = append(a.closers, closer) }

// brand is the controller's branding of every email.
func brand(cfg config.Config) notify.Brand {
	return notify.Brand{CompanyName: cfg.Controller.Name, LogoURL: cfg.Brand.LogoURL, Colour: cfg.Brand.Colour}
}

// openMailer opens the mailer when SMTP is configured (in the demo, a
// directory of files); else Mailer stays nil and email is off.
func (a *App) openMailer(cfg config.Config, log *slog.Logger) error {
	switch {
	case cfg.Mail.SMTPHost != "":
		var err error
		a.Mailer, err = notify.NewMailer(notify.MailConfig{Host: cfg.Mail.SMTPHost, Port: cfg.Mail.SMTPPort, TLS: notify.TLSMode(cfg.Mail.SMTPTLS),
			Username: cfg.Mail.SMTPUsername, Password: cfg.Mail.SMTPPassword, From: cfg.Mail.From, AllowInsecure: cfg.Mail.AllowInsecure,
			AllowPlainAuth: cfg.Mail.AllowPlainAuth, Logger: log})
		if err != nil {
			return fmt.Errorf("mail: %w", err)
		}
	case cfg.Demo:
		dir := filepath.Join(cfg.DataDir, "demo-mail")
		a.Mailer = &notify.DemoDrop{Dir: dir}
		log.Warn("demo: email is written to files instead of sent (no --smtp-host)", "dir", dir)
	default:
		log.Warn("email is off (no --smtp-host): customers cannot sign in to the privacy portal")
	}
	return nil
}

// identityPolicy turns the identity settings into the request service's
// policy.
func identityPolicy(c config.Identity) dsr.IdentityPolicy {
	kinds := make([]dsr.Kind, len(c.SensitiveKinds))
	for i, k := range c.SensitiveKinds {
		kinds[i] = dsr.Kind(k)
	}
	return dsr.IdentityPolicy{SensitiveCategories: c.SensitiveCategories, SensitiveKinds: kinds,
		MaxAttempts: c.MaxAttempts, Wait: c.Wait, AgentExpiry: c.AgentExpiry}
}

// dataPoints are the configured data points, or the default ones.
func dataPoints(c config.Identity) map[string]config.DataPoint {
	if len(c.DataPoints) == 0 {
		return config.DefaultDataPoints()
	}
	return c.DataPoints
}

// matchDataPoint matches the data points the settings allow against the
// vault; any other name matches nothing.
func (a *App) matchDataPoint(points map[string]config.DataPoint) func(ctx context.Context, subject, name, value string) (bool, error) {
	return func(ctx context.Context, subject, name, value string) (bool, error) {
		dp, ok := points[name]
		if !ok {
			return false, nil
		}
		return a.Vault.MatchDataPoint(ctx, subject, vault.DataPoint{Field: dp.Field, Last: dp.Last}, value)
	}
}

// openPortal opens the customer sign-in service, the mailer (when SMTP is
// configured) and the privacy portal.
func (a *App) openPortal(cfg config.Config, log *slog.Logger) (*portal.Portal, error) {
	box, err := a.Vault.SecretBox("customer-email")
	if err != nil {
		return nil, err
	}
	if a.Customers, err = customer.New(customer.Config{DB: a.DB, Secrets: box, Directory: a.Vault, Audit: a.Audit, Now: a.Clock.Now}); err != nil {
		return nil, err
	}
	requestBox, err := a.Vault.SecretBox("dsr")
	if err != nil {
		return nil, err
	}
	if a.Requests, err = dsr.NewService(dsr.Config{DB: a.DB, Secrets: requestBox, Audit: a.Audit, Now: a.Clock.Now, Events: a.Outbox, OnChange: dsrmail.OnChange(a.queue, a.Mailer),
		Restrict: a.Consent.RestrictFor, Object: a.Consent.ObjectFor,
		Identity: identityPolicy(cfg.Identity), MatchDataPoint: a.matchDataPoint(dataPoints(cfg.Identity))}); err != nil {
		return nil, err
	}
	exportBox, err := a.Vault.SecretBox("export")
	if err != nil {
		return nil, err
	}
	if a.Exports, err = export.NewStore(export.StoreConfig{DB: a.DB, Secrets: exportBox, Subjects: a.Vault}); err != nil {
		return nil, err
	}
	systems, err := LoadConnectors(cfg.ConnectorsDir)
	if err != nil {
		return nil, err
	}
	a.connectors = systems
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	hookBox, err := a.Vault.SecretBox("webhook-data")
	if err != nil {
		return nil, err
	}
	if a.Hooks, err = httpsystem.New(httpsystem.Config{DB: a.DB, Secrets: hookBox, Datasets: systems.HTTP, Getenv: getenv, PublicURL: cfg.PublicURL,
		AllowHosts: cfg.WebhookAllowHosts}); err != nil {
		return nil, err
	}
	if a.Fulfil, err = fulfil.New(fulfil.Config{DB: a.DB, Requests: a.Requests, Consent: a.Consent, Vault: a.Vault, Audit: a.Audit,
		Exports: a.Exports, Connectors: systems.SQL, HTTP: systems.HTTP, Hooks: a.Hooks, Getenv: getenv, Poll: cfg.ConnectorPoll,
		Company: cfg.Controller.Name, Contact: cfg.Controller.Email, Events: a.Outbox, Customers: a.Customers,
		VaultFields: cfg.CorrectableFields, Journal: a.Journal}); err != nil {
		return nil, err
	}
	if a.Drift, err = drift.New(drift.Config{DB: a.DB, Audit: a.Audit, Events: a.Outbox, Catalog: a.Consent, Systems: systems.SQL,
		Getenv: getenv, Sample: cfg.DriftSample, Log: log}); err != nil {
		return nil, err
	}
	// Undeclared trackers a scan finds become drift findings (kind
	// tracker), deduplicated across scans and closed when gone or declared.
	recordTrackers := func(ctx context.Context, report *scanner.Report) error {
		_, err := a.Drift.Record(ctx, drift.TrackerResult(report))
		return err
	}
	if a.Scanner, err = scanner.New(scanner.Config{DB: a.DB, Audit: a.Audit, Catalog: a.Consent, PublicURL: cfg.PublicURL,
		Options: scanner.Options{Chrome: cfg.ScanChrome}, Recorded: recordTrackers, Log: log}); err != nil {
		return nil, err
	}
	a.push(a.Scanner.Close)
	if a.Retention, err = newRetention(cfg, a.DB, a.Audit, a.Consent, a.Vault, a.Requests, a.Exports, systems.SQL, getenv, a.Journal, log); err != nil {
		return nil, err
	}
	a.Requests.SetOnHold(a.Retention.OnHold) // a legal hold stops an erasure
	if a.Incidents, err = incident.New(incident.Config{DB: a.DB, Audit: a.Audit, Catalog: a.Consent, Emails: a.Vault,
		Connectors: systems.SQL, Getenv: getenv, Sender: a.Mailer, Mail: a.mail, Brand: brand(cfg), ConsoleURL: cfg.PublicURL,
		Staff: a.Staff, Logger: log, Notices: a.incidentNotices(cfg)}); err != nil {
		return nil, err
	}
	a.Fulfil.Incidents = a.Incidents // an erasure removes the subject from the affected sets
	if err := a.openThirdParties(); err != nil {
		return nil, err
	}
	a.Fulfil.Disclosures = a.Disclosures // an erasure blanks the subject's disclosure texts
	a.Fulfil.Recipients = a.Disclosures  // a rectification is passed on to them
	var staffName func(ctx context.Context, id string) (string, error)
	if cfg.ShowStaffNames {
		staffName = func(ctx context.Context, id string) (string, error) {
			acc, err := a.Staff.Get(ctx, id)
			return acc.Name, err
		}
	}
	return portal.New(portal.Deps{Customers: a.Customers, Disclosures: a.Disclosures, StaffName: staffName, Consent: a.Consent, Vault: a.Vault, Audit: a.Audit, Mailer: a.Mailer, Mail: a.mail,
		Requests: a.Requests, Exports: a.Exports, FindInSystems: a.findInSystems(systems.SQL), ErasureReport: a.Fulfil.Report,
		Correctables: a.Fulfil.Correctables, Rectify: a.Fulfil.RectifyAndStart(a.queue, log), DataPoints: slices.Sorted(maps.Keys(dataPoints(cfg.Identity))),
		Brand: brand(cfg), BreachNotices: a.Incidents.NoticesFor,
		PublicURL: cfg.PublicURL, ContactEmail: cfg.Controller.Email, BindingKey: a.bindingKey, Log: log, ClientAddr: a.clientAddr, JWKS: a.Signer.JWKS(),
		Preferences: a.preferences})
}

// incidentNotices are the parts that tell the parties of a breach: the
// customers' notices, signed under the receipts' key and sent by jobs; the
// vendors' webhook and their contacts' email (the vendors' service opens
// later, so their contacts are read through a.Vendors when needed); the
// controller's contact, named in the regulator's report.
func (a *App) incidentNotices(cfg config.Config) incident.Notices {
	return incident.Notices{Signer: a.Signer, Jobs: a.queue, Profiles: a.Vault, PortalURL: cfg.PublicURL, Vendors: a.Consent, Outbox: a.Outbox,
		Officer: incident.Contact{Name: cfg.Controller.Name, Email: cfg.Controller.Email, Phone: cfg.Controller.Phone, Address: cfg.Controller.Address},
		VendorContacts: func(ctx context.Context, vendorKey string) ([]string, error) {
			if a.Vendors == nil {
				return nil, nil
			}
			contacts, err := a.Vendors.RevealContacts(ctx, vendorKey)
			if err != nil {
				return nil, err
			}
			addresses := make([]string, len(contacts))
			for i, c := range contacts {
				addresses[i] = c.Email
			}
			return addresses, nil
		}}
}

// openJobs starts the background work: the workers of every package's
// jobs, and the periodic jobs each declares, which River schedules.
func (a *App) openJobs(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	// The customer's emails about their requests: a job per message,
	// written with the change (dsrmail.OnChange); without email, none.
	requestMail := &dsrmail.Mailer{Requests: a.Requests, Sender: a.Mailer, Mail: a.mail, PortalURL: cfg.PublicURL, Brand: brand(cfg)}
	// The notice before staff's lift of a restriction, which then lifts it
	// (GDPR Art. 18(3)); queued by dsrmail.LiftRequested.
	liftNotices := &dsrmail.LiftNotices{Consent: a.Consent, Requests: a.Requests, Sender: a.Mailer, Mail: a.mail, PortalURL: cfg.PublicURL,
		Brand: brand(cfg), SubjectContact: dsrmail.VaultContact(a.Vault, a.Audit)}
	feed := &outbox.ConsentFeed{DB: a.DB, Outbox: a.Outbox, Consent: a.Consent}
	workers := jobs.NewWorkers()
	if err := errors.Join(a.Fulfil.Register(workers), a.Outbox.Register(workers), feed.Register(workers),
		jobs.Register(workers, requestMail.Worker()), jobs.Register(workers, liftNotices.Worker()),
		jobs.Register(workers, a.Incidents.NoticeWorker())); err != nil {
		return err
	}
	reminders := &dsrmail.Reminders{Requests: a.Requests, Sender: a.Mailer, Mail: a.mail, Brand: brand(cfg), ConsoleURL: cfg.PublicURL, Staff: a.Staff}
	training := &trainingmail.Reminders{Staff: a.Staff, Sender: a.Mailer, Mail: a.mail, Brand: brand(cfg), ConsoleURL: cfg.PublicURL}
	periodic := slices.Concat(reminders.PeriodicJobs(), training.PeriodicJobs(), a.Exports.PeriodicJobs(), a.Customers.PeriodicJobs(), a.Disclosures.PeriodicJobs(),
		a.Requests.PeriodicJobs(), a.Hooks.PeriodicJobs(), a.Outbox.PeriodicJobs(), a.Vendors.PeriodicJobs(a.Outbox), a.Drift.PeriodicJobs(),
		a.Retention.PeriodicJobs(), a.Incidents.PeriodicJobs(), a.Scanner.PeriodicJobs(), a.Transparency.PeriodicJobs(), a.Reviews.PeriodicJobs())
	backups, err := backupJobs(cfg, a.Recovery, log)
	if err != nil {
		return err
	}
	periodic = append(periodic, backups...)
	if a.Jobs, err = jobs.Open(ctx, jobs.Config{DB: a.DB, Workers: workers, Periodic: periodic, Logger: log, Retry: jobs.RetryPolicy{Base: cfg.JobRetryBase},
		Queues: map[string]int{jobs.QueueDefault: jobs.DefaultWorkers, "webhooks": 8}}); err != nil {
		return err
	}
	a.push(a.Jobs.Close)
	a.queue.Set(a.Jobs)
	a.Outbox.UseJobs(a.Jobs)
	return feed.Start(ctx, a.Jobs)
}

// findInSystems is the portal's search of the connected systems, or nil
// when there are none.
func (a *App) findInSystems(datasets []*connector.Dataset) func(ctx context.Context, subject, email string) ([]fulfil.Found, error) {
	if len(datasets) == 0 {
		return nil
	}
	return a.Fulfil.Find
}

// openThirdParties opens vendor assurance and disclosures: a vendor
// receives data only with a passing, current assessment.
func (a *App) openThirdParties() error {
	box, err := a.Vault.SecretBox("vendor")
	if err != nil {
		return err
	}
	if a.Vendors, err = assurance.NewService(assurance.Config{DB: a.DB, Audit: a.Audit, Secrets: box, Catalog: a.Consent, Gate: a.Consent, Logger: a.Log}); err != nil {
		return err
	}
	if err := a.Vendors.EnsureBuiltins(context.Background()); err != nil {
		return err
	}
	// Decisions and the banner offer only assessed vendors: the gate is
	// read now and followed from here on.
	if err := a.Consent.SetAssessmentSource(context.Background(), a.Vendors.AssessedVendors); err != nil {
		return fmt.Errorf("load the vendor gate: %w", err)
	}
	a.Disclosures, err = disclosure.New(disclosure.Config{DB: a.DB, Consent: a.Consent, Audit: a.Audit, Assurance: a.Vendors.Assured,
		Events: a.Outbox})
	return err
}

// Connectors are the company's systems that requests reach into: SQL
// databases and HTTP systems.
type Connectors struct {
	SQL  []*connector.Dataset
	HTTP []*httpsystem.Dataset
}

// LoadConnectors parses every dataset file (*.yaml, *.yml) in dir: an HTTP
// system's (engine: http) or a database's. Names are unique across both.
// An empty dir means no connected systems.
func LoadConnectors(dir string) (Connectors, error) {
	var out Connectors
	if dir == "" {
		return out, nil
	}
	var files []string
	for _, pattern := range []string{"*.yaml", "*.yml"} {
		found, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return out, fmt.Errorf("connectors: %w", err)
		}
		files = append(files, found...)
	}
	if len(files) == 0 {
		return out, fmt.Errorf("connectors: no dataset file (*.yaml) in %s", dir)
	}
	slices.Sort(files)
	names := map[string]string{}
	for _, f := range files {
		data, err := connector.ReadFile(f) // bounded: see connector.CheckLimits
		if err != nil {
			return out, fmt.Errorf("connectors: %w", err)
		}
		var name string
		if httpsystem.IsHTTP(data) {
			ds, err := httpsystem.ParseFile(f)
			if err != nil {
				return out, fmt.Errorf("connectors: %w", err)
			}
			name, out.HTTP = ds.Name, append(out.HTTP, ds)
		} else {
			ds, err := connector.ParseFile(f)
			if err != nil {
				return out, fmt.Errorf("connectors: %w", err)
			}
			name, out.SQL = ds.Name, append(out.SQL, ds)
		}
		if other, dup := names[name]; dup {
			return out, fmt.Errorf("connectors: %s and %s both name connector %q", other, f, name)
		}
		names[name] = f
	}
	return out, nil
}

// OpenStaff returns the staff service, its TOTP seeds sealed by the vault
// (so that they follow its key rotations). now is its clock (time.Now when
// nil; the server passes its steady clock).
func OpenStaff(cfg config.Config, store *db.DB, v *vault.Vault, log *audit.Log, now func() time.Time) (*staff.Service, error) {
	box, err := v.SecretBox("staff-totp")
	if err != nil {
		return nil, err
	}
	argon := staff.DefaultArgon2
	if cfg.PasswordMemoryMiB > 0 {
		argon.Memory = uint32(cfg.PasswordMemoryMiB) * 1024
	}
	if cfg.PasswordTime > 0 {
		argon.Time = uint32(cfg.PasswordTime)
	}
	return staff.NewService(staff.Config{DB: store, Secrets: box, Audit: log, Argon2: argon, Now: now})
}

func demoProperty(cfg config.Config) string {
	if cfg.Demo {
		return DemoPropertyKey
	}
	return ""
}

// CheckpointFile is where audit checkpoints are appended: the configured
// --audit-checkpoint-file, else audit-checkpoints.txt in the data
// directory. Outside it (another disk, an append-only mount) the file
// reveals a rollback or rewrite of the database.
func CheckpointFile(cfg config.Config) string {
	if cfg.AuditCheckpointFile != "" {
		return cfg.AuditCheckpointFile
	}
	return filepath.Join(cfg.DataDir, "audit-checkpoints.txt")
}

// openAudit opens the audit log's checkpointer, signing with a key
// kept in the data directory.
func (a *App) openAudit(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	key, err := audit.LoadOrCreateKey(cfg.DataDir)
	if err != nil {
		return err
	}
	origin := strings.TrimPrefix(strings.TrimPrefix(cfg.PublicURL, "https://"), "http://") + "/audit"
	signer, err := audit.NewSigner(origin, key)
	if err != nil {
		return err
	}
	a.Checkpoints, err = audit.OpenCheckpointer(ctx, audit.CheckpointerConfig{DB: a.DB, Signer: signer, File: CheckpointFile(cfg),
		Wake: a.Audit.Appended(), Publish: a.Outbox.PublishCheckpoint, Quiet: outbox.DeliveryEntry, Logger: log})
	if err != nil {
		return err
	}
	a.push(a.Checkpoints.Close)
	// The verifier key is public: auditors pin it (audit verify --vkey).
	log.Info("audit checkpoints", "file", CheckpointFile(cfg), "in_data_dir", inDir(cfg.DataDir, CheckpointFile(cfg)), "vkey", signer.VerifierKey())
	return nil
}

// inDir reports whether path lies in dir (the docs advise keeping the
// checkpoint file out of the data directory).
func inDir(dir, path string) bool {
	d, err1 := filepath.Abs(dir)
	p, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// LedgerCheckpointFile is where consent ledger checkpoints are appended, in
// the data directory; ship it elsewhere to detect a rewrite of the ledger.
func LedgerCheckpointFile(cfg config.Config) string {
	return filepath.Join(cfg.DataDir, "ledger-checkpoints.txt")
}

// ledgerOrigin names the ledger's checkpoints: signed by the audit
// checkpoint key under another origin, so that neither passes for the other.
func ledgerOrigin(cfg config.Config) string {
	return strings.TrimPrefix(strings.TrimPrefix(cfg.PublicURL, "https://"), "http://") + "/ledger"
}

// LedgerKey returns the public key of the checkpoint key in the data
// directory, which signs the ledger's checkpoints, or nil when there is
// none there.
func LedgerKey(cfg config.Config) (ed25519.PublicKey, error) {
	key, err := receipt.LoadKey(filepath.Join(cfg.DataDir, audit.KeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return key.Public().(ed25519.PublicKey), nil
}

// openLedgerCheckpoints verifies the tail of the consent ledger's chain and
// starts signing checkpoints of it every second while it grows. A broken
// chain does not stop the server (the evidence stays readable): it is
// logged, shown by /readyz (503) and steward_ledger_chain_ok (0).
func (a *App) openLedgerCheckpoints(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	key, err := audit.LoadOrCreateKey(cfg.DataDir)
	if err != nil {
		return err
	}
	signer, err := audit.NewSigner(ledgerOrigin(cfg), key)
	if err != nil {
		return err
	}
	a.LedgerCheckpoints, err = consent.OpenCheckpointer(ctx, consent.CheckpointerConfig{DB: a.DB, Signer: signer,
		File: LedgerCheckpointFile(cfg), Logger: log, Written: a.Consent.Written()})
	if err != nil {
		return err
	}
	a.push(a.LedgerCheckpoints.Close)
	a.Metrics.WatchLedger(a.LedgerCheckpoints.Status)
	return nil
}

// LoadKeyring reads the vault's key-encryption keys from STEWARD_MASTER_KEY
// or the master key file; nil (a sealed vault) when neither is set.
func LoadKeyring(cfg config.Config) (*vault.Keyring, error) {
	switch {
	case cfg.MasterKey != "":
		return vault.ParseKeyring(cfg.MasterKey)
	case cfg.MasterKeyFile != "":
		return vault.LoadKeyringFile(cfg.MasterKeyFile)
	}
	return nil, nil
}

// Close releases what Open opened, last first: it stops the jobs, the
// checkpointers, the outbox, the vault and the consent service (finishing
// queued appends), then closes the store. Calling it again does nothing.
func (a *App) Close() error {
	var err error
	for i := len(a.closers) - 1; i >= 0; i-- {
		err = errors.Join(err, a.closers[i]())
	}
	a.closers = nil
	return err
}

// Serve serves HTTP on ln until ctx ends, then stops accepting, waits up to
// the shutdown timeout for requests in flight, and returns.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	// Decision streams and long polls end when shutdown begins (their
	// clients resume on another replica); other requests finish.
	drain := make(chan struct{})
	srv.BaseContext = func(net.Listener) context.Context { return httpx.WithDrain(context.Background(), drain) }
	srv.RegisterOnShutdown(func() { close(drain) })
	errCh := make(chan error, 1)
	go func() { errCh <- srv.Serve(ln) }()
	select {
	case err := <-errCh:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	a.Log.Info("shutting down", "timeout", a.Config.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// ListenAndServe listens on the configured address and serves, and on
// the metrics address, when one is configured, serves /metrics there.
func (a *App) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.Config.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.Config.Listen, err)
	}
	if a.Config.MetricsListen != "" {
		mln, err := net.Listen("tcp", a.Config.MetricsListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (metrics): %w", a.Config.MetricsListen, err)
		}
		stop := a.ServeMetrics(mln)
		defer stop()
	}
	a.Log.Info("listening", "addr", ln.Addr().String(), "store", a.DB.Dialect)
	return a.Serve(ctx, ln)
}

// ServeMetrics serves /metrics alone on ln (--metrics-listen, an internal
// address) until the returned function is called.
func (a *App) ServeMetrics(ln net.Listener) (stop func()) {
	srv := &http.Server{
		Handler:           web.MetricsHandler(a.Metrics),
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	a.Log.Info("serving metrics", "addr", ln.Addr().String())
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }
}

// steadyClock returns the clock of sessions, codes and deadlines, never
// earlier than the audit log's latest entry: a restart on a wall clock that
// went back does not revive a session or a code that had ended.
func steadyClock(ctx context.Context, store *db.DB) (*clock.Steady, error) {
	c := clock.NewSteady(time.Now)
	var at sql.NullInt64
	err := store.QueryRowContext(ctx, `SELECT at FROM audit_entries ORDER BY seq DESC LIMIT 1`).Scan(&at)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read the latest audit time: %w", err)
	}
	if at.Valid {
		c.NotBefore(time.UnixMicro(at.Int64))
	}
	return c, nil
}

// snapshotPath is the consent index's snapshot file in the data directory,
// empty when snapshots are off. Turning them off removes the file left by
// an earlier run: nothing would write it anew after an erasure.
func snapshotPath(cfg config.Config, log *slog.Logger) string {
	path := filepath.Join(cfg.DataDir, "consent-index.snapshot")
	if cfg.IndexSnapshotInterval <= 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("remove the consent index snapshot (snapshots are off)", "path", path, "err", err)
		}
		return ""
	}
	return path
}
