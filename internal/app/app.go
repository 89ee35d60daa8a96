// Package app wires Steward together: the one place that knows every part.
// It opens the store, applies migrations, loads the signing key, starts the
// consent service and builds the HTTP handler; Serve runs it until the
// context ends, then drains.
//
//	a, err := app.Open(ctx, cfg, logger)
//	if err != nil { ... }
//	defer a.Close()
//	err = a.ListenAndServe(ctx)
package app

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/assurance"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/customer"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/disclosure"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/dsr/dsrmail"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/export"
	"github.com/steward-dev/steward/internal/fulfil"
	"github.com/steward-dev/steward/internal/jobs"
	"github.com/steward-dev/steward/internal/notify"
	"github.com/steward-dev/steward/internal/outbox"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/reveal"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/tcf"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/web"
	"github.com/steward-dev/steward/internal/web/admin"
	"github.com/steward-dev/steward/internal/web/assess"
	"github.com/steward-dev/steward/internal/web/banner"
	"github.com/steward-dev/steward/internal/web/clientaddr"
	"github.com/steward-dev/steward/internal/web/portal"
)

// App is a running Steward.
type App struct {
	Config  config.Config
	Log     *slog.Logger
	DB      *db.DB
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
	// Vendors keeps the security assessments of third parties;
	// Disclosures decides what data may go to them.
	Vendors     *assurance.Service
	Disclosures *disclosure.Service
	// Jobs runs background work: request fulfilment and maintenance.
	Jobs *jobs.Runner
	// Outbox tells the company's systems of changes (webhooks).
	Outbox *outbox.Service
	// mail are the email templates, parsed once.
	mail *notify.Templates
	// clientAddr finds the client address rate limits count by
	// (--trusted-proxies).
	clientAddr *clientaddr.Resolver
	// bindingKey signs the portal's browser-binding cookies; derived from
	// the receipt signing key, which every replica shares.
	bindingKey []byte
	// Checkpoints signs checkpoints of the audit log into the data directory.
	Checkpoints *audit.Checkpointer
	Metrics     *web.Metrics

	// LedgerCheckpoints verifies the consent ledger's chain and signs
	// checkpoints of it into the data directory.
	LedgerCheckpoints *consent.Checkpointer

	Handler http.Handler
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

// Open starts every part of Steward but the listener.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	a := &App{Config: cfg, Log: log, Metrics: web.NewMetrics()}
	var err error
	if a.DB, err = OpenStore(ctx, cfg); err != nil {
		return nil, err
	}
	key, err := LoadSigningKey(cfg)
	if err != nil {
		a.DB.Close()
		return nil, err
	}
	if a.Signer, err = receipt.NewSigner(key); err != nil {
		a.DB.Close()
		return nil, err
	}
	a.bindingKey = portal.DeriveBindingKey(key.Seed())
	if a.Audit, err = audit.New(audit.Config{DB: a.DB}); err != nil {
		a.DB.Close()
		return nil, err
	}
	started := time.Now()
	a.Consent, err = consent.Open(ctx, consent.Config{
		DB: a.DB, Signer: a.Signer, Logger: log, FollowInterval: cfg.FollowInterval, Observe: a.Metrics.ObserveAppends, Audit: a.Audit,
		OnLiftRequested: a.liftRequested,
		Controller: receipt.Controller{PIIController: cfg.Controller.Name, Contact: cfg.Controller.Email, Email: cfg.Controller.Email,
			Address: cfg.Controller.Address, Phone: cfg.Controller.Phone, PIIControllerURL: cfg.Controller.URL},
	})
	if err != nil {
		a.DB.Close()
		return nil, err
	}
	log.Info("consent index built", "states", a.Consent.Index().Len(), "ledger_seq", a.Consent.Index().MaxSeq(),
		"took", time.Since(started).Round(time.Millisecond).String())
	// Reading the whole ledger left garbage several times the index's
	// size; hand it back to the system now rather than keep it resident
	// until the scavenger gets to it.
	debug.FreeOSMemory()
	ring, err := LoadKeyring(cfg)
	if err != nil {
		a.Consent.Close()
		a.DB.Close()
		return nil, err
	}
	if a.Vault, err = vault.Open(ctx, vault.Config{DB: a.DB, Keyring: ring, Logger: log, Audit: a.Audit}); err != nil {
		a.Consent.Close()
		a.DB.Close()
		return nil, err
	}
	if a.Vault.Sealed() {
		log.Warn("the vault is sealed: no master key (STEWARD_MASTER_KEY or --master-key-file); its routes answer 503")
	}
	if err := a.openAudit(ctx, cfg, log); err != nil {
		a.Vault.Close()
		a.Consent.Close()
		a.DB.Close()
		return nil, err
	}
	if err := a.openLedgerCheckpoints(ctx, cfg, log); err != nil {
		a.Checkpoints.Close()
		a.Vault.Close()
		a.Consent.Close()
		a.DB.Close()
		return nil, err
	}
	if a.Staff, err = OpenStaff(cfg, a.DB, a.Vault, a.Audit); err != nil {
		a.Close()
		return nil, err
	}
	if a.mail, err = notify.NewTemplates(); err != nil {
		a.Close()
		return nil, err
	}
	if a.clientAddr, err = clientaddr.Parse(cfg.TrustedProxies); err != nil {
		a.Close()
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	portalServer, err := a.openPortal(cfg, log)
	if err != nil {
		a.Close()
		return nil, err
	}
	if err := a.openJobs(ctx, cfg, log); err != nil {
		a.Close()
		return nil, err
	}
	a.Keys = apikey.NewStore(a.DB, time.Now)
	// One reveal limit for the console's staff and the API's reveal keys.
	reveals := reveal.New(reveal.Config{DB: a.DB, Audit: a.Audit})
	console, err := admin.New(admin.Deps{Staff: a.Staff, Vault: a.Vault, Audit: a.Audit, Consent: a.Consent, Requests: a.Requests, Jobs: a.Jobs, Disclosures: a.Disclosures, Outbox: a.Outbox,
		MailQuestionnaire:  a.mailQuestionnaire(cfg),
		PublicURL:          cfg.PublicURL,
		AfterRequestAction: a.startWork, Progress: a.requestProgress, Log: log, ClientAddr: a.clientAddr, Reveals: reveals, Keys: a.Keys, Vendors: a.Vendors})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.GVL = tcf.NewVendorLists(a.DB, time.Now)
	bannerServer, err := banner.New(banner.Deps{Consent: a.Consent, Keys: a.Keys, VendorLists: a.GVL, PublicURL: cfg.PublicURL, Log: log})
	if err != nil {
		// The banner's browser code is embedded and minified here, once: a
		// build whose scripts do not minify does not start.
		a.Close()
		return nil, err
	}
	assessPages, err := assess.New(assess.Deps{Vendors: a.Vendors, Log: log})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.Handler = web.NewServer(web.Deps{Assess: assessPages, Consent: a.Consent, Keys: a.Keys, DB: a.DB, Signer: a.Signer, Metrics: a.Metrics,
		Log: log, AccessLog: cfg.AccessLog, GPCLastUpdate: cfg.GPCLastUpdate, Banner: bannerServer, DemoProperty: demoProperty(cfg),
		Vault: a.Vault, Audit: a.Audit, Hooks: a.Hooks, Disclosures: a.Disclosures, Outbox: a.Outbox, Console: console, Portal: portalServer, Reveals: reveals, Requests: a.Requests,
		BeforeSignInChange:    a.noticeSignInChange(cfg),
		SendAgentConfirmation: a.sendAgentConfirmation(cfg),
		OnDisclosure:          func(ctx context.Context, d disclosure.Disclosure) { a.notifyDisclosure(ctx, d, cfg) },
		MetricsElsewhere:      cfg.MetricsListen != "",
		Ready:                 a.ready})
	return a, nil
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
	if a.Customers, err = customer.New(customer.Config{DB: a.DB, Secrets: box, Directory: a.Vault, Audit: a.Audit}); err != nil {
		return nil, err
	}
	if cfg.Mail.SMTPHost != "" {
		a.Mailer, err = notify.NewMailer(notify.MailConfig{Host: cfg.Mail.SMTPHost, Port: cfg.Mail.SMTPPort, TLS: notify.TLSMode(cfg.Mail.SMTPTLS),
			Username: cfg.Mail.SMTPUsername, Password: cfg.Mail.SMTPPassword, From: cfg.Mail.From, AllowInsecure: cfg.Mail.AllowInsecure,
			AllowPlainAuth: cfg.Mail.AllowPlainAuth, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("mail: %w", err)
		}
	} else if cfg.Demo {
		dir := filepath.Join(cfg.DataDir, "demo-mail")
		a.Mailer = &notify.DemoDrop{Dir: dir}
		log.Warn("demo: email is written to files instead of sent (no --smtp-host)", "dir", dir)
	} else {
		log.Warn("email is off (no --smtp-host): customers cannot sign in to the privacy portal")
	}
	requestBox, err := a.Vault.SecretBox("dsr")
	if err != nil {
		return nil, err
	}
	if a.Requests, err = dsr.NewService(dsr.Config{DB: a.DB, Secrets: requestBox, Audit: a.Audit, OnChange: a.requestEvent,
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
		Company: cfg.Controller.Name, Contact: cfg.Controller.Email, OnErased: a.erasedEvent, Customers: a.Customers,
		VaultFields: cfg.CorrectableFields, OnRectified: a.rectifiedEvent}); err != nil {
		return nil, err
	}
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
		Correctables: a.Fulfil.Correctables, Rectify: a.rectify, DataPoints: slices.Sorted(maps.Keys(dataPoints(cfg.Identity))),
		Brand:     notify.Brand{CompanyName: cfg.Controller.Name, LogoURL: cfg.Brand.LogoURL, Colour: cfg.Brand.Colour},
		PublicURL: cfg.PublicURL, ContactEmail: cfg.Controller.Email, BindingKey: a.bindingKey, Log: log, ClientAddr: a.clientAddr, JWKS: a.Signer.JWKS()})
}

// openJobs starts the background work: the request jobs and the hourly
// maintenance, whose first run is scheduled now.
func (a *App) openJobs(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	maintenance := &fulfil.Maintenance{Requests: a.Requests, Mailer: a.Mailer, Mail: a.mail, ConsoleURL: cfg.PublicURL, Now: time.Now,
		Brand:    notify.Brand{CompanyName: cfg.Controller.Name, LogoURL: cfg.Brand.LogoURL, Colour: cfg.Brand.Colour},
		Officers: a.privacyOfficers,
		Purges: []func(context.Context) error{
			func(ctx context.Context) error { _, err := a.Exports.PurgeExpired(ctx); return err },
			a.Customers.Purge,
			func(ctx context.Context) error { _, err := a.Disclosures.ExpireDue(ctx); return err },
			// Agents' requests the customer did not confirm in time.
			func(ctx context.Context) error { _, err := a.Requests.ExpireAgentRequests(ctx); return err },
			// Access data a system sent that no archive took within a week.
			func(ctx context.Context) error {
				_, err := a.Hooks.PurgeData(ctx, time.Now().AddDate(0, 0, -7))
				return err
			},
		},
		Next: func(ctx context.Context, at time.Time) error {
			_, err := a.Jobs.Insert(ctx, fulfil.MaintenanceArgs{Slot: fulfil.SlotOf(at)}, &jobs.InsertOpts{ScheduledAt: at, Unique: true})
			return err
		}}
	outboxBox, err := a.Vault.SecretBox("webhooks")
	if err != nil {
		return err
	}
	// Deliveries have a queue of their own: a slow receiver holds no request job.
	if a.Outbox, err = outbox.New(outbox.Config{DB: a.DB, Secrets: outboxBox, Audit: a.Audit,
		AllowHosts: cfg.WebhookAllowHosts, Queue: "webhooks", Logger: log}); err != nil {
		return err
	}
	maintenance.Purges = append(maintenance.Purges, func(ctx context.Context) error {
		_, err := a.Outbox.Purge(ctx, time.Now().AddDate(0, 0, -30))
		return err
	}, func(ctx context.Context) error {
		// An hour's grace: a message's job is written in its transaction,
		// so only a job that ended can be missing.
		_, err := a.Outbox.SweepOrphans(ctx, time.Now().Add(-time.Hour))
		return err
	}, a.announceExpiredAssessments)
	workers := jobs.NewWorkers()
	// The customer's emails about their requests: a job per message,
	// written with the change (requestEvent); without email, none.
	requestMail := &dsrmail.Mailer{Requests: a.Requests, Sender: a.Mailer, Mail: a.mail, PortalURL: cfg.PublicURL,
		Brand: notify.Brand{CompanyName: cfg.Controller.Name, LogoURL: cfg.Brand.LogoURL, Colour: cfg.Brand.Colour}}
	// The notice before staff's lift of a restriction, which then lifts it
	// (GDPR Art. 18(3)); queued by liftRequested.
	liftNotices := &dsrmail.LiftNotices{Consent: a.Consent, Requests: a.Requests, Sender: a.Mailer, Mail: a.mail, PortalURL: cfg.PublicURL,
		Brand: requestMail.Brand, SubjectContact: a.subjectContact}
	if err := errors.Join(a.Fulfil.Register(workers, maintenance), a.Outbox.Register(workers),
		jobs.Register(workers, jobs.WorkFunc(a.workConsentFeed)), jobs.Register(workers, requestMail.Worker()),
		jobs.Register(workers, liftNotices.Worker())); err != nil {
		return err
	}
	if a.Jobs, err = jobs.Open(ctx, jobs.Config{DB: a.DB, Workers: workers, Logger: log,
		Queues: map[string]int{jobs.QueueDefault: jobs.DefaultWorkers, "webhooks": 8}}); err != nil {
		return err
	}
	a.Outbox.UseJobs(a.Jobs)
	if err := a.startConsentFeed(ctx); err != nil {
		return err
	}
	return maintenance.Next(ctx, time.Now())
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
	if a.Vendors, err = assurance.NewService(assurance.Config{DB: a.DB, Audit: a.Audit, Secrets: box, Catalog: a.Consent}); err != nil {
		return err
	}
	if err := a.Vendors.EnsureBuiltins(context.Background()); err != nil {
		return err
	}
	a.Disclosures, err = disclosure.New(disclosure.Config{DB: a.DB, Consent: a.Consent, Audit: a.Audit, Assurance: a.Vendors.Assured,
		OnChange: a.disclosureEvent})
	return err
}

// notifyDisclosure emails the customer a disclosure that waits for their
// answer. Their address is read from the vault (its "email" field), which
// is recorded; without an address or email, the portal still shows it.
func (a *App) notifyDisclosure(ctx context.Context, d disclosure.Disclosure, cfg config.Config) {
	if d.State != disclosure.Pending || a.Mailer == nil {
		return
	}
	if _, err := a.Audit.Append(ctx, audit.Entry{Actor: audit.System(), Action: "disclosure.notify", Target: audit.Subject(d.Subject),
		Details: audit.MustDetails(map[string]any{"disclosure": d.ID, "fields": []string{"email"}})}); err != nil {
		a.Log.Error("disclosure: notify", "disclosure", d.ID, "err", err)
		return
	}
	rec, err := a.Vault.Get(ctx, d.Subject, "email")
	if err != nil {
		return // no address on file: the portal shows the request
	}
	vendorName, purposeName := d.Vendor, d.Purpose
	if v, err := a.Consent.Vendor(d.Vendor); err == nil {
		vendorName = v.Name
	}
	if p, err := a.Consent.Purpose(d.Purpose); err == nil && p.Names["en"] != "" {
		purposeName = p.Names["en"]
	}
	msg, err := a.mail.Render(notify.DefaultLanguage, notify.TemplateDisclosureRequest, notify.DisclosureRequest{
		Brand:  notify.Brand{CompanyName: cfg.Controller.Name, LogoURL: cfg.Brand.LogoURL, Colour: cfg.Brand.Colour},
		Vendor: vendorName, Purpose: purposeName, Categories: strings.Join(d.Categories, ", "), Reason: d.Reason,
		AnswerBy: d.NeededBy, PortalURL: cfg.PublicURL + "/privacy"})
	if err == nil {
		msg.To = string(rec.Value)
		err = a.Mailer.Send(ctx, msg)
	}
	if err != nil {
		a.Log.Warn("disclosure: the customer could not be emailed", "disclosure", d.ID, "err", err)
	}
}

// noticeSignInChange tells a customer, at their previous address, that the
// address they sign in to the portal with is being changed or deleted
// (address ""): whoever holds the new one can sign in as them, and a
// deletion followed by a new address is the same change in two steps. It
// runs before the write, which it refuses by failing (the message was not
// sent). Without email there is no portal sign-in, so nothing to tell. The
// message is in the language of the subject's vault field "language" (a
// tag such as "de") when there is one, else English; it holds neither
// address.
func (a *App) noticeSignInChange(cfg config.Config) func(ctx context.Context, subject, address string) error {
	return func(ctx context.Context, subject, address string) error {
		if a.Mailer == nil {
			return nil
		}
		previous, err := a.Vault.Get(ctx, subject, "email")
		if errs.CodeOf(err) == errs.CodeNotFound {
			return nil // the first address, or an erased subject
		}
		if err != nil {
			return err
		}
		if address != "" { // "": the address is being deleted, which is a change too
			before, err := a.Vault.BlindIndex(ctx, "email", string(previous.Value))
			if err != nil {
				return err
			}
			after, err := a.Vault.BlindIndex(ctx, "email", address)
			if err != nil {
				return err
			}
			if hmac.Equal(before, after) {
				return nil
			}
		}
		lang := notify.DefaultLanguage
		if rec, err := a.Vault.Get(ctx, subject, "language"); err == nil {
			lang = string(rec.Value)
		}
		msg, err := a.mail.Render(lang, notify.TemplateSignInAddressChanged, notify.SignInAddressChanged{
			Brand:     notify.Brand{CompanyName: cfg.Controller.Name, LogoURL: cfg.Brand.LogoURL, Colour: cfg.Brand.Colour},
			ChangedAt: time.Now(), ContactEmail: cfg.Controller.Email, PortalURL: cfg.PublicURL + "/privacy"})
		if err != nil {
			return err
		}
		// The address leaves the process in the message: recorded first.
		if _, err := a.Audit.Append(ctx, audit.Entry{Actor: audit.System(), Action: "customer.notify", Target: audit.Subject(subject),
			Details: audit.MustDetails(map[string]any{"fields": []string{"email"}, "notice": notify.TemplateSignInAddressChanged})}); err != nil {
			return err
		}
		msg.To = string(previous.Value)
		if err := a.Mailer.Send(ctx, msg); err != nil {
			// Even a refused recipient is no fault of the caller's input:
			// the change waits until the previous address can be told.
			return errs.Wrap(errs.CodeUnavailable, err, "the previous sign-in address could not be told of the change")
		}
		return nil
	}
}

// requestEvent writes the webhook of a request's filing and completion,
// and the job of the customer's email about it (dsrmail), in the
// transaction of the change.
func (a *App) requestEvent(ctx context.Context, tx *sql.Tx, r dsr.Request, e dsr.Event) error {
	if a.Jobs != nil && a.Mailer != nil {
		if err := dsrmail.Enqueue(ctx, tx, r, e, func(ctx context.Context, tx *sql.Tx, args dsrmail.Args) error {
			_, err := a.Jobs.InsertTx(ctx, tx, args, &jobs.InsertOpts{Unique: true})
			return err
		}); err != nil {
			return err
		}
	}
	if a.Outbox == nil {
		return nil
	}
	var t string
	switch {
	case e.Action == "file":
		t = outbox.RequestCreated
	case e.To == dsr.StateCompleted:
		t = outbox.RequestCompleted
	default:
		return nil
	}
	_, err := a.Outbox.EmitTx(ctx, tx, outbox.Event{Type: t, SubjectID: r.SubjectID,
		Data: map[string]any{"request_id": r.ID, "kind": string(r.Kind), "state": string(r.State)}})
	return err
}

// liftRequested queues the notice of a lift staff asked for, in its
// transaction (consent.Config.OnLiftRequested). Without email the customer
// cannot be told, so the lift is refused (consent.ErrLiftNotice).
func (a *App) liftRequested(ctx context.Context, tx *sql.Tx, lift consent.PendingLift) error {
	if a.Jobs == nil || a.Mailer == nil {
		return consent.ErrLiftNotice
	}
	return dsrmail.EnqueueLift(ctx, tx, lift, func(ctx context.Context, tx *sql.Tx, args dsrmail.LiftArgs) error {
		_, err := a.Jobs.InsertTx(ctx, tx, args, &jobs.InsertOpts{Unique: true})
		return err
	})
}

// subjectContact opens the subject's own address (vault field "email")
// and language (field "language"), recording the opening first, for a
// notice that no request's address can carry; "" when they have none (or
// were erased).
func (a *App) subjectContact(ctx context.Context, subject string) (address, lang string, err error) {
	rec, err := a.Vault.Get(ctx, subject, "email")
	if errs.CodeOf(err) == errs.CodeNotFound {
		return "", "", nil
	}
	if err != nil {
		return "", "", err
	}
	if _, err := a.Audit.Append(ctx, audit.Entry{Actor: audit.System(), Action: "customer.notify", Target: audit.Subject(subject),
		Details: audit.MustDetails(map[string]any{"fields": []string{"email"}, "notice": notify.TemplateRestrictionLift})}); err != nil {
		return "", "", err
	}
	if l, err := a.Vault.Get(ctx, subject, "language"); err == nil {
		lang = string(l.Value)
	}
	return string(rec.Value), lang, nil
}

// disclosureEvent writes the webhook of a disclosure asked (pending) or
// answered, in its transaction.
func (a *App) disclosureEvent(ctx context.Context, tx *sql.Tx, d disclosure.Disclosure) error {
	if a.Outbox == nil {
		return nil
	}
	t := outbox.DisclosureDecided
	if d.State == disclosure.Pending {
		t = outbox.DisclosureRequested
	}
	_, err := a.Outbox.EmitTx(ctx, tx, outbox.Event{Type: t, SubjectID: d.Subject,
		Data: map[string]any{"disclosure_id": d.ID, "vendor": d.Vendor, "purpose": d.Purpose, "state": string(d.State)}})
	return err
}

// erasedEvent writes the webhook of a subject's erasure, in its
// transaction.
func (a *App) erasedEvent(ctx context.Context, tx *sql.Tx, subject, requestID string) error {
	if a.Outbox == nil {
		return nil
	}
	_, err := a.Outbox.EmitTx(ctx, tx, outbox.Event{Type: outbox.SubjectErased, SubjectID: subject, Data: map[string]any{"request_id": requestID}})
	return err
}

// rectifiedEvent writes the webhook of a subject's rectification, in the
// transaction that records its last step: ids and field names only.
func (a *App) rectifiedEvent(ctx context.Context, tx *sql.Tx, r fulfil.Rectified) error {
	if a.Outbox == nil {
		return nil
	}
	_, err := a.Outbox.EmitTx(ctx, tx, outbox.Event{Type: outbox.SubjectRectified, SubjectID: r.SubjectID,
		Data: map[string]any{"request_id": r.RequestID, "fields": r.Fields, "vendors": r.Vendors}})
	return err
}

// rectify files a customer's proposal of new values and, when it applies
// without approval, enqueues its work.
func (a *App) rectify(ctx context.Context, in dsr.NewRequest) (dsr.Request, error) {
	req, start, err := a.Fulfil.FileRectification(ctx, in)
	if err != nil || !start {
		return req, err
	}
	if args := fulfil.Work(req); args != nil && a.Jobs != nil {
		if _, err := a.Jobs.Insert(ctx, args, &jobs.InsertOpts{Unique: true}); err != nil {
			a.Log.Error("start rectification", "request", req.ID, "err", err)
		}
	}
	return req, nil
}

// announceExpiredAssessments sends vendor.assessment_expired for the
// approvals that ended since the last hourly run.
func (a *App) announceExpiredAssessments(ctx context.Context) error {
	ending, err := a.Vendors.Expiring(ctx, 0)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, as := range ending {
		if as.ValidUntil == nil || as.ValidUntil.After(now) || !as.ValidUntil.After(now.Add(-fulfil.Every)) {
			continue
		}
		if _, err := a.Outbox.Emit(ctx, outbox.Event{Type: outbox.VendorAssessmentExpired,
			Data: map[string]any{"vendor": as.VendorKey, "assessment_id": as.ID}}); err != nil {
			return err
		}
	}
	return nil
}

// mailQuestionnaire emails a vendor contact the link of a questionnaire,
// or is nil without email.
func (a *App) mailQuestionnaire(cfg config.Config) func(ctx context.Context, to, vendorKey, link string, expires time.Time) error {
	if a.Mailer == nil {
		return nil
	}
	return func(ctx context.Context, to, vendorKey, link string, expires time.Time) error {
		name := vendorKey
		if v, err := a.Consent.Vendor(vendorKey); err == nil {
			name = v.Name
		}
		msg, err := a.mail.Render(notify.DefaultLanguage, notify.TemplateVendorQuestionnaire, notify.VendorQuestionnaire{
			Brand: notify.Brand{CompanyName: cfg.Controller.Name, LogoURL: cfg.Brand.LogoURL, Colour: cfg.Brand.Colour}, Vendor: name, Link: link, Expires: expires})
		if err != nil {
			return err
		}
		msg.To = to
		return a.Mailer.Send(ctx, msg)
	}
}

// privacyOfficers returns the addresses deadline reminders go to.
func (a *App) privacyOfficers(ctx context.Context) ([]string, error) {
	accounts, err := a.Staff.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, acc := range accounts {
		if acc.Role == staff.RolePrivacyOfficer && !acc.Disabled {
			out = append(out, acc.Email)
		}
	}
	return out, nil
}

// startWork enqueues the job a request needs once staff start it (or ask
// for the work to run again).
func (a *App) startWork(ctx context.Context, action, id string) {
	if action != "start" && action != "work" && action != "approve_proposal" {
		return
	}
	req, err := a.Requests.Get(ctx, id)
	if err != nil {
		a.Log.Error("start request work", "request", id, "err", err)
		return
	}
	if args := fulfil.Work(req); args != nil {
		if _, err := a.Jobs.Insert(ctx, args, &jobs.InsertOpts{Unique: true}); err != nil {
			a.Log.Error("start request work", "request", id, "err", err)
		}
	}
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
// (so that they follow its key rotations).
func OpenStaff(cfg config.Config, store *db.DB, v *vault.Vault, log *audit.Log) (*staff.Service, error) {
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
	return staff.NewService(staff.Config{DB: store, Secrets: box, Audit: log, Argon2: argon})
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
		Wake: a.Audit.Appended(), Publish: a.checkpointEvent, Quiet: outbox.DeliveryEntry, Logger: log})
	if err != nil {
		return err
	}
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

// checkpointEvent writes the audit.checkpoint webhook in the transaction
// that stores a checkpoint, so that another system witnesses each signed
// head once.
func (a *App) checkpointEvent(ctx context.Context, tx *sql.Tx, p audit.Published) error {
	if a.Outbox == nil {
		return nil
	}
	_, err := a.Outbox.EmitTx(ctx, tx, outbox.Event{Type: outbox.AuditCheckpoint, Data: p.Data(), At: p.At})
	return err
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
		File: LedgerCheckpointFile(cfg), Logger: log})
	if err != nil {
		return err
	}
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

// Close stops the consent service (finishing queued appends) and closes the store.
func (a *App) Close() error {
	var stopJobs error
	if a.Jobs != nil {
		stopJobs = a.Jobs.Close()
	}
	if a.Outbox != nil {
		stopJobs = errors.Join(stopJobs, a.Outbox.Close())
	}
	return errors.Join(stopJobs, a.Checkpoints.Close(), a.Vault.Close(), a.Consent.Close(), a.LedgerCheckpoints.Close(), a.DB.Close())
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
