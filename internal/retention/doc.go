// Package retention enforces how long personal data is kept. The catalog
// gives each data category, and optionally each purpose, a retention in
// days; a connected system's dataset file gives each table a retention
// section (internal/connector); settings give closed requests and the
// consent ledger theirs. Where several apply, the longest legal need wins.
// A legal hold on a subject stops all of it for that subject.
//
// Run walks every store once, in the order the data is least needed:
//
//   - vault fields past their own expiry, or written longer ago than their
//     category's retention, are destroyed (vault.PurgeRetention);
//   - each connected system's tables with a retention section lose their
//     expired rows in short keyset batches (connector.Conn.Retain), held
//     subjects' rows excluded in SQL;
//   - requests closed longer ago than the requests period lose what they
//     quote of the person and their address (dsr.RetireClosed), and their
//     archives are deleted;
//   - ledger subjects whose last recorded choice is older than the proof
//     period are pseudonymised as an erasure does (consent.Pseudonymise).
//
// Each run writes a report (counts per system, table and category, never a
// value or a subject) to the retention_runs table and the audit log. The
// daily periodic job runs it (periodic.go); `steward retention run
// [--dry-run]` runs it by hand.
//
//	svc, err := retention.New(retention.Config{DB: store, Audit: log, Catalog: consentSvc, Vault: v, ...})
//	report, err := svc.Run(ctx, false)
package retention
