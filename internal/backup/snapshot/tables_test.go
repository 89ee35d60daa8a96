package snapshot

import (
	"context"
	"slices"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// TestEveryTableClassified reads the live schema of a migrated store and
// fails on a table that tables.go neither backs up nor leaves out with a
// reason, and on a rule for a table that no longer exists: the next
// migration cannot be forgotten by backups.
func TestEveryTableClassified(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		live, err := liveTables(ctx, store, store.Dialect)
		if err != nil {
			t.Fatal(err)
		}
		if len(live) < 40 {
			t.Fatalf("read %d tables; the reader misses some", len(live))
		}
		for _, name := range live {
			r, ok := rule(name)
			if !ok {
				t.Errorf("table %s is not classified in tables.go: back it up, or leave it out with the reason", name)
				continue
			}
			if !r.backedUp && len(r.why) < 20 {
				t.Errorf("table %s is left out without a reason", name)
			}
		}
		seen := map[string]bool{}
		for _, r := range tables {
			if seen[r.name] {
				t.Errorf("table %s is classified twice", r.name)
			}
			seen[r.name] = true
			if !slices.Contains(live, r.name) {
				t.Errorf("tables.go names %s, which the migrations do not create", r.name)
			}
		}
		// Every column of a backed-up table has a neutral kind, and the
		// tables the migrations seed are the ones marked seeded.
		for _, r := range backedUpTables() {
			if _, err := readTable(ctx, store, store.Dialect, r.name); err != nil {
				t.Error(err)
			}
			var n int
			if err := store.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(r.name)).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if (n > 0) != r.seeded {
				t.Errorf("table %s: %d rows after migrating, marked seeded = %v", r.name, n, r.seeded)
			}
		}
	})
}

// TestIssueTablesBackedUp: what issue 15 lists as a backup's contents is
// backed up.
func TestIssueTablesBackedUp(t *testing.T) {
	for _, name := range []string{
		"properties", "purposes", "vendors", "notices", "data_categories", // catalog
		"consent_events", "ledger_head", "consent_erasures", "ledger_checkpoints", // ledger
		"subjects", "subject_devices", // device links
		"vault_fields", "vault_keys", "vault_keks", // ciphertexts and wrapped data keys
		"audit_entries", "audit_head", "audit_checkpoints", "audit_keys", // audit log and checkpoints
		"staff", "training_modules", "training_completions", // staff and training
		"dsr_requests", "dsr_events", // requests and their history
		"disclosures", "vendor_assessments", "vendor_templates", "vendor_answers", // disclosures, vendors and assessments
		"outbox_endpoints",  // webhooks configuration
		"inventory_systems", // inventory
	} {
		if r, ok := rule(name); !ok || !r.backedUp {
			t.Errorf("%s is not backed up", name)
		}
	}
}

// TestTableOrderFollowsForeignKeys: every backed-up table comes after the
// tables its foreign keys name, so that Load can insert in snapshot order
// with the foreign keys checked; and no backed-up table references a table
// left out.
func TestTableOrderFollowsForeignKeys(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		query := `SELECT DISTINCT "table" FROM pragma_foreign_key_list($1)`
		if store.Dialect == db.Postgres {
			query = `SELECT DISTINCT r.relname FROM pg_constraint c
				JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
				JOIN pg_namespace n ON n.oid = t.relnamespace
				WHERE c.contype = 'f' AND n.nspname = current_schema() AND t.relname = $1`
		}
		position := map[string]int{}
		for i, r := range backedUpTables() {
			position[r.name] = i
		}
		checked := 0
		for _, r := range backedUpTables() {
			refs, err := db.QueryAll(ctx, store, query, []any{r.name}, func(scan func(...any) error) (string, error) {
				var s string
				err := scan(&s)
				return s, err
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, ref := range refs {
				checked++
				p, ok := position[ref]
				switch {
				case !ok:
					t.Errorf("%s references %s, which is not backed up", r.name, ref)
				case p > position[r.name]:
					t.Errorf("%s references %s, which comes after it in tables.go", r.name, ref)
				}
			}
		}
		if checked < 10 {
			t.Fatalf("found %d foreign keys; the query misses some", checked)
		}
	})
}
