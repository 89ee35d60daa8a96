package main

import (
	"context"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/db"
)

// TestAnalyticsRebuildCommand: a rollup that drifted from the ledger (a
// count the ledger does not hold) is gone after `analytics rebuild`, which
// says what it wrote and records itself in the audit log.
func TestAnalyticsRebuildCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, stderr, err := runCLI(t, "", "migrate", "--data-dir", dir); err != nil {
		t.Fatalf("migrate: %v %s", err, stderr)
	}
	ctx := context.Background()
	store, err := db.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.ExecContext(ctx, `INSERT INTO consent_rollups (day, purpose, property, jurisdiction, notice_version, source, grants)
		VALUES (20000, 'analytics', 'shop', 'DE', 'v1', 'banner', 5)`); err != nil {
		t.Fatal(err)
	}
	store.Close()
	stdout, stderr, err := runCLI(t, "", "analytics", "rebuild", "--data-dir", dir)
	if err != nil || !strings.Contains(stdout, "rebuilt the consent analytics from the ledger in") || !strings.Contains(stdout, ": 0 choices in 0 cells") {
		t.Fatalf("rebuild: %v %q %q", err, stdout, stderr)
	}
	store, err = db.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var cells, audited int
	if err := store.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM consent_rollups), (SELECT COUNT(*) FROM audit_entries WHERE action = 'analytics.rebuilt')`).
		Scan(&cells, &audited); err != nil {
		t.Fatal(err)
	}
	if cells != 0 || audited != 1 {
		t.Errorf("after the rebuild: %d cells, %d audit entries; want 0, 1", cells, audited)
	}
	if _, stderr, err := runCLI(t, "", "analytics", "rebuilt", "--data-dir", dir); err == nil || !strings.Contains(stderr, `unknown analytics command "rebuilt"`) {
		t.Errorf("a wrong command: %v %q", err, stderr)
	}
}
