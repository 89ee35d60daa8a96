// Package snaptest fills a store with a large, valid dataset for the
// benchmarks of backups and restores: consent events with their receipts
// and hash chain, sealed vault fields under their subjects' data keys, and
// a hash-chained audit log, each written by the package that owns it, so
// that a restored copy verifies as production data would.
//
//	err := snaptest.BulkFill(ctx, snaptest.Services{Store: a.DB, Ledger: a.Consent, Vault: a.Vault, Audit: a.Audit},
//		snaptest.Sizes{Events: 1_000_000, VaultFields: 100_000, AuditEntries: 100_000})
//
// Speed comes from batching through the owners' own write paths, not from
// SQL written around them: the ledger takes events in groups of
// consent.MaxBatch from one caller per core (its group commit merges
// them), the audit log takes a thousand entries per transaction
// (audit.Log.AppendTx), and the vault as many fields (vault.PutBatch).
package snaptest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/vault"
)

// Sizes is how much BulkFill writes.
type Sizes struct {
	// Events are consent events: nine in ten from devices through the
	// banner, one in ten for subjects, imported with an admin key.
	Events int
	// VaultFields are sealed fields, five per subject; each put writes its
	// own audit entry, as in production.
	VaultFields int
	// AuditEntries are audit entries written besides the vault's: staff
	// reveals of a field with a stated purpose.
	AuditEntries int
}

// Services are the owners BulkFill writes through, all on Store. The
// ledger's catalog needs a property and a purpose that is not necessary
// (app.SeedDemo's, say); the vault must be unsealed.
type Services struct {
	Store  *db.DB
	Ledger *consent.Service
	Vault  *vault.Vault
	Audit  *audit.Log
}

// BulkFill writes n's events, fields and entries. Subjects are named
// SubjectID(i); the events for subjects reuse the vault's subjects, so
// that an erasure of one reaches the ledger and the vault.
func BulkFill(ctx context.Context, s Services, n Sizes) error {
	if s.Store == nil || s.Ledger == nil || s.Vault == nil || s.Audit == nil {
		return errors.New("snaptest: BulkFill needs a store, the ledger, the vault and the audit log")
	}
	subjects := max((n.VaultFields+len(fieldSpecs)-1)/len(fieldSpecs), 1)
	if err := fillLedger(ctx, s.Ledger, n.Events, subjects); err != nil {
		return fmt.Errorf("bulk fill: ledger: %w", err)
	}
	if err := fillVault(ctx, s.Vault, n.VaultFields); err != nil {
		return fmt.Errorf("bulk fill: vault: %w", err)
	}
	if err := fillAudit(ctx, s.Store, s.Audit, n.AuditEntries, subjects); err != nil {
		return fmt.Errorf("bulk fill: audit log: %w", err)
	}
	return nil
}

// SubjectID is the id of the i-th subject BulkFill writes (from 0).
func SubjectID(i int) string { return "bulk-subject-" + strconv.Itoa(i) }

// parallel runs work(i) for i in [0, n) from one goroutine per core and
// returns the first error; the others stop at their next item.
func parallel(ctx context.Context, n int, work func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := work(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

func fillLedger(ctx context.Context, ledger *consent.Service, events, subjects int) error {
	if events == 0 {
		return nil
	}
	props := ledger.Properties()
	if len(props) == 0 {
		return errors.New("the catalog has no property")
	}
	property := props[0].Key
	var purposes []string
	for _, p := range ledger.Purposes() {
		// Communication topics are chosen by subjects only (the preference
		// centre); most bulk events are a device's.
		if !p.Necessary && !p.Communication() {
			purposes = append(purposes, p.Key)
		}
	}
	if len(purposes) == 0 {
		return errors.New("the catalog has no purpose that asks for consent")
	}
	notice := ""
	if n, ok := ledger.CurrentNotice(); ok {
		notice = n.Version
	}
	// A month ago, one event a millisecond: in the past, in order, and
	// within the ledger's bounds.
	start := time.Now().Add(-30 * 24 * time.Hour).Truncate(time.Millisecond)
	batches := (events + consent.MaxBatch - 1) / consent.MaxBatch
	return parallel(ctx, batches, func(ctx context.Context, b int) error {
		first := b * consent.MaxBatch
		// Every tenth batch is an import for subjects, as an admin key
		// sends it; the others are the banner's device events.
		forSubjects := b%10 == 9
		author := consent.Author{Kind: consent.AuthorIngestKey, Property: property}
		if forSubjects {
			author = consent.Author{Kind: consent.AuthorAdminKey}
		}
		batch := make([]consent.Event, 0, consent.MaxBatch)
		for i := first; i < min(first+consent.MaxBatch, events); i++ {
			e := consent.Event{ID: "bulk-" + strconv.Itoa(i), Property: property, Purpose: purposes[i%len(purposes)],
				Action: consent.ActionGrant, Source: consent.SourceBanner, NoticeVersion: notice, Jurisdiction: "DE",
				At: start.Add(time.Duration(i) * time.Millisecond)}
			if i%5 == 0 {
				e.Action = consent.ActionDeny
			}
			if forSubjects {
				e.Subject, e.Source = SubjectID(i%subjects), consent.SourceImport
			} else {
				e.Device = fmt.Sprintf("%08x-5f1c-4e2a-9b7d-%012x", i/3, i/3)
			}
			batch = append(batch, e)
		}
		if err := ledger.ValidateEvents(batch, author); err != nil {
			return fmt.Errorf("events from %d: %w", first, err)
		}
		if _, err := ledger.Append(ctx, batch); err != nil {
			return fmt.Errorf("events from %d: %w", first, err)
		}
		return nil
	})
}

// fieldSpecs are the five fields of each subject: a name, a preferred
// category, and a value shape of realistic length.
var fieldSpecs = []struct{ name, category, format string }{
	{"email", "contact", "customer.%d@example.org"},
	{"phone", "contact", "+49 30 %08d"},
	{"iban", "financial", "DE%020d"},
	{"national_id", "identifier", "T%08dX"},
	{"address", "contact", "Musterstraße %d, 10115 Berlin"},
}

func fillVault(ctx context.Context, v *vault.Vault, fields int) error {
	if fields == 0 {
		return nil
	}
	categories := v.Categories()
	if len(categories) == 0 {
		return errors.New("the vault knows no data category")
	}
	category := func(preferred string) string {
		if slices.Contains(categories, preferred) {
			return preferred
		}
		return categories[0]
	}
	ctx = audit.WithActor(ctx, audit.System())
	for first := 0; first < fields; first += vaultBatch {
		batch := make([]vault.SubjectField, 0, vaultBatch)
		for i := first; i < min(first+vaultBatch, fields); i++ {
			spec := fieldSpecs[i%len(fieldSpecs)]
			batch = append(batch, vault.SubjectField{Subject: SubjectID(i / len(fieldSpecs)),
				Field: vault.Field{Name: spec.name, Category: category(spec.category), Value: fmt.Appendf(nil, spec.format, i)}})
		}
		if _, err := v.PutBatch(ctx, batch); err != nil {
			return fmt.Errorf("fields from %d: %w", first, err)
		}
	}
	return nil
}

// vaultBatch is how many fields one transaction puts.
const vaultBatch = 1000

// auditBatch is how many entries one transaction appends.
const auditBatch = 1000

func fillAudit(ctx context.Context, store *db.DB, log *audit.Log, entries, subjects int) error {
	for first := 0; first < entries; first += auditBatch {
		err := store.Tx(ctx, func(tx *sql.Tx) error {
			for i := first; i < min(first+auditBatch, entries); i++ {
				details, err := audit.NewDetails(map[string]any{"field": fieldSpecs[i%len(fieldSpecs)].name,
					"purpose": "refund", "ticket": "T-" + strconv.Itoa(100000+i)})
				if err != nil {
					return err
				}
				if _, err := log.AppendTx(ctx, tx, audit.Entry{Actor: audit.Staff("stf_bulk" + strconv.Itoa(i%7)),
					Action: "vault.reveal", Target: audit.Subject(SubjectID(i % subjects)), Details: details}); err != nil {
					return fmt.Errorf("entry %d: %w", i, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
