package retention

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/erasure"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/vault"
)

// dormantPage is how many ledger subjects a run reads at a time.
const dormantPage = 500

// Run enforces retention once across every configured store, skipping the
// subjects under a legal hold, and records its report (retention_runs and
// the audit log, action retention.run). With dryRun it counts what would go
// and changes nothing; the counts are those a run at the same instant
// would report. A failing system does not stop the others: the report
// names it and the error is returned with the report.
func (s *Service) Run(ctx context.Context, dryRun bool) (Report, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	r := Report{ID: newID("ret_"), StartedAt: now, DryRun: dryRun, Lines: []Line{}}
	held, err := s.Held(ctx)
	if err != nil {
		return r, err // nothing may go while the holds are unknown
	}
	r.Held = len(held)
	policy := PolicyOf(s.cfg.Catalog)
	var failures []error
	fail := func(system string, err error) {
		r.Failed = append(r.Failed, system)
		failures = append(failures, err)
	}
	if err := s.vault(ctx, &r, policy, held, now, dryRun); err != nil {
		fail(SystemVault, err)
	}
	for _, ds := range s.cfg.Connectors {
		if !ds.HasRetention() {
			continue
		}
		if err := s.connector(ctx, &r, ds, policy, held, now, dryRun); err != nil {
			fail(ds.Name, err)
		}
	}
	if err := s.requests(ctx, &r, held, now, dryRun); err != nil {
		fail(SystemRequests, err)
	}
	if err := s.ledger(ctx, &r, held, now, dryRun); err != nil {
		fail(SystemLedger, err)
	}
	r.FinishedAt = s.now().UTC().Truncate(time.Microsecond)
	if err := s.record(ctx, r); err != nil {
		failures = append(failures, err)
	}
	// Counts and system names only: an error's text can quote a value, so
	// it goes to the caller (the job runner, the command), not here.
	s.log.Info("retention run", "run", r.ID, "dry_run", dryRun, "total", r.Total(), "held", r.Held, "failed", r.Failed)
	return r, errors.Join(failures...)
}

// record saves the report and writes its audit entry: the run, whether it
// was dry, the totals per system and the failed systems.
func (s *Service) record(ctx context.Context, r Report) error {
	if err := s.save(ctx, r); err != nil {
		return err
	}
	details := map[string]any{"run": r.ID, "dry_run": r.DryRun, "held": r.Held, "totals": r.Totals()}
	if len(r.Failed) > 0 {
		details["failed"] = r.Failed
	}
	d, err := audit.NewDetails(details)
	if err != nil {
		return fmt.Errorf("retention: audit details: %w", err)
	}
	if _, err := s.audit.Append(ctx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: ActionRun, Details: d}); err != nil {
		return fmt.Errorf("retention: audit the run: %w", err)
	}
	return nil
}

// vault destroys the fields past their expiry or their category's
// retention.
func (s *Service) vault(ctx context.Context, r *Report, policy Policy, held []string, now time.Time, dryRun bool) error {
	if s.cfg.Vault == nil {
		return nil
	}
	rules := vault.Retention{Categories: policy.categoryCutoffs(now), Held: held}
	counts := map[string]int64{}
	if dryRun {
		var err error
		if counts, err = s.cfg.Vault.CountRetention(ctx, rules); err != nil {
			return err
		}
	} else {
		purged, err := s.cfg.Vault.PurgeRetention(ctx, rules)
		for _, f := range purged {
			counts[f.Category]++
		}
		if err != nil {
			addVault(r, counts, rules)
			return err
		}
	}
	addVault(r, counts, rules)
	return nil
}

func addVault(r *Report, counts map[string]int64, rules vault.Retention) {
	for _, category := range slices.Sorted(maps.Keys(counts)) {
		r.Lines = append(r.Lines, Line{System: SystemVault, Category: category, Action: "purge", Rows: counts[category], Cutoff: rules.Categories[category]})
	}
}

// connector applies the retention sections of one connected system.
func (s *Service) connector(ctx context.Context, r *Report, ds *connector.Dataset, policy Policy, held []string, now time.Time, dryRun bool) error {
	ids, err := s.heldIdentifiers(ctx, r.ID, ds, held)
	if err != nil {
		return fmt.Errorf("retention: connector %s: %w", ds.Name, err)
	}
	conn, err := connector.Open(ctx, ds, s.cfg.Getenv)
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	defer conn.Close()
	cutoff := func(t *connector.Table) time.Time {
		categories := []string{t.Retention.Category}
		for _, c := range t.Columns {
			categories = append(categories, c.Category)
		}
		c, _ := policy.Cutoff(now, t.Retention.Parsed.Before(now), t.Retention.Purpose, categories...)
		return c
	}
	steps, err := conn.Retain(ctx, connector.RetainOptions{Now: now, Cutoff: cutoff, Held: ids, DryRun: dryRun, Batch: s.cfg.Batch})
	for _, st := range steps {
		r.Lines = append(r.Lines, Line{System: ds.Name, Table: st.Table, Category: st.Category, Action: string(st.Strategy), Rows: st.Rows, Cutoff: st.Cutoff})
	}
	return err
}

// heldIdentifiers are how ds's tables know the held subjects: their ids as
// external ids and, where a table finds rows by email, their addresses,
// read from the vault (audited once for the run and system).
func (s *Service) heldIdentifiers(ctx context.Context, runID string, ds *connector.Dataset, held []string) (connector.Identifiers, error) {
	ids := connector.Identifiers{ExternalIDs: held}
	byEmail := false
	for _, t := range ds.Tables {
		byEmail = byEmail || (t.Retention != nil && t.Identifier.Kind == connector.KindEmail)
	}
	if !byEmail || len(held) == 0 {
		return ids, nil
	}
	if s.cfg.Contacts == nil {
		return ids, errors.New("a table finds rows by email, and held subjects' addresses cannot be read: nothing is deleted")
	}
	d, err := audit.NewDetails(map[string]any{"run": runID, "system": ds.Name, "subjects": len(held)})
	if err != nil {
		return ids, err
	}
	if _, err := s.audit.Append(ctx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: ActionReadHeldContacts, Details: d}); err != nil {
		return ids, fmt.Errorf("audit the reading of held subjects' addresses (nothing is deleted): %w", err)
	}
	for _, subject := range held {
		rec, err := s.cfg.Contacts.Get(ctx, subject, "email")
		if errs.CodeOf(err) == errs.CodeNotFound {
			continue
		}
		if err != nil {
			return ids, fmt.Errorf("read a held subject's address (nothing is deleted): %w", err)
		}
		ids.Emails = append(ids.Emails, string(rec.Value))
	}
	return ids, nil
}

// requests retires the requests closed longer ago than the requests
// period, and deletes their archives.
func (s *Service) requests(ctx context.Context, r *Report, held []string, now time.Time, dryRun bool) error {
	if s.cfg.Requests == nil || s.cfg.RequestsPeriod.N == 0 {
		return nil
	}
	cutoff := s.cfg.RequestsPeriod.Before(now)
	ids, err := s.cfg.Requests.RetireClosed(ctx, cutoff, held, dryRun)
	r.Lines = append(r.Lines, Line{System: SystemRequests, Action: "retire", Rows: int64(len(ids)), Cutoff: cutoff})
	if err != nil || s.cfg.Archives == nil {
		return err
	}
	var archives int
	if dryRun {
		archives, err = s.cfg.Archives.CountFor(ctx, ids)
	} else {
		archives, err = s.cfg.Archives.DeleteFor(ctx, "", ids)
	}
	r.Lines = append(r.Lines, Line{System: SystemArchives, Action: "delete", Rows: int64(archives), Cutoff: cutoff})
	return err
}

// ledger pseudonymises the subjects whose last recorded choice is older
// than the proof period, as an erasure does.
func (s *Service) ledger(ctx context.Context, r *Report, held []string, now time.Time, dryRun bool) error {
	if s.cfg.Ledger == nil || s.cfg.LedgerProof.N == 0 {
		return nil
	}
	cutoff := s.cfg.LedgerProof.Before(now)
	line := Line{System: SystemLedger, Action: "pseudonymise", Cutoff: cutoff}
	defer func() { r.Lines = append(r.Lines, line) }()
	isHeld := make(map[string]bool, len(held))
	for _, h := range held {
		isHeld[h] = true
	}
	after := ""
	for {
		page, err := s.cfg.Ledger.DormantSubjects(ctx, cutoff, after, dormantPage)
		if err != nil {
			return err
		}
		for _, subject := range page {
			if isHeld[subject] {
				continue
			}
			if !dryRun {
				res, err := s.cfg.Ledger.Pseudonymise(ctx, subject)
				if err != nil {
					return err
				}
				if err := s.journal(ctx, subject, res); err != nil {
					line.Rows++
					return err
				}
			}
			line.Rows++
		}
		if len(page) < dormantPage {
			return nil
		}
		after = page[len(page)-1]
	}
}

// journal records a pseudonymised subject in the erasure journal, if there
// is one.
func (s *Service) journal(ctx context.Context, subject string, res consent.Pseudonymised) error {
	if s.cfg.Erasures == nil {
		return nil
	}
	entry := erasure.Entry{Subject: subject, At: s.now().UTC(), Source: erasure.SourceRetention,
		Ledger: &erasure.LedgerErased{Events: res.Events, Devices: res.Devices}}
	if err := s.cfg.Erasures.RecordErasure(ctx, entry); err != nil {
		return fmt.Errorf("retention: the erasure journal cannot be written (the subject is pseudonymised; the ledger stops here): %w", err)
	}
	return nil
}
