package snapshot_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"testing"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/backup/snapshot"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/disclosure"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
)

var dialects = []db.Dialect{db.SQLite, db.Postgres}

// filledStore starts Steward on dialect with the demo catalog and fills it
// through the services: a customer with consents (receipts) and vault
// fields, staff, a request, a disclosure, audit entries and a signed
// checkpoint; then values at the edges of what the columns hold, written
// directly.
func filledStore(t *testing.T, dialect db.Dialect) *db.DB {
	t.Helper()
	ctx := context.Background()
	srv := apptest.Start(t, dialect)
	a := srv.App
	subject, err := a.SeedDemoCustomer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.SeedDemoStaff(ctx); err != nil {
		t.Fatal(err)
	}
	hash, err := a.Vault.BlindIndex(ctx, "email", "jo.demo@shop.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Requests.File(ctx, dsr.NewRequest{Kind: dsr.KindAccess, Regime: dsr.GDPR, SubjectID: subject,
		Email: "jo.demo@shop.example", EmailHash: hash}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Disclosures.Ask(audit.WithActor(ctx, audit.System()), disclosure.Ask{Subject: subject, Vendor: "adnet",
		Purpose: "marketing", Categories: []string{"contact"}, Reason: "to show you our offers"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Checkpoints.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	edgeValues(t, a.DB)
	return a.DB
}

// edgeValues writes values that must come back bit for bit: int64
// extremes, every byte value, text in several scripts with combining and
// bidirectional marks, NULLs and booleans.
func edgeValues(t *testing.T, store *db.DB) {
	t.Helper()
	ctx := context.Background()
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	stmts := []struct {
		query string
		args  []any
	}{
		{`INSERT INTO feed_cursors (name, seq) VALUES ($1, $2)`, []any{"edge.max", int64(math.MaxInt64)}},
		{`INSERT INTO feed_cursors (name, seq) VALUES ($1, $2)`, []any{"edge.min", int64(math.MinInt64)}},
		{`INSERT INTO vault_secrets (name, sealed, created_at) VALUES ($1, $2, $3)`, []any{"edge.bytes", all, int64(-1)}},
		{`INSERT INTO vault_secrets (name, sealed, created_at) VALUES ($1, $2, $3)`, []any{"edge.empty", []byte{}, int64(0)}},
		{`INSERT INTO inventory_systems (system_key, description, updated_at, updated_by) VALUES ($1, $2, $3, $4)`,
			[]any{"edge.unicode", "Zoë Ångström – 東京 🙂 e\u0301 \u202eevil\u202c 'quote' \"dq\" \\ \n\t", int64(1), "staff:edge"}},
		{`INSERT INTO legal_holds (id, subject_id, reason, placed_by, placed_at, lifted_by, lifted_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			[]any{"hold-edge", "cust-edge", "a synthetic hold", "staff:edge", int64(5), nil, nil}},
		{`INSERT INTO retention_runs (id, started_at, finished_at, dry_run, failed, report) VALUES ($1, $2, $3, $4, $5, $6)`,
			[]any{"run-edge-1", int64(1), int64(2), true, false, "{}"}},
		{`INSERT INTO retention_runs (id, started_at, finished_at, dry_run, failed, report) VALUES ($1, $2, $3, $4, $5, $6)`,
			[]any{"run-edge-2", int64(3), int64(4), false, true, "{}"}},
	}
	for _, s := range stmts {
		if _, err := store.ExecContext(ctx, s.query, s.args...); err != nil {
			t.Fatalf("%s: %v", s.query, err)
		}
	}
}

// canonical renders every row of a snapshot, by table, with booleans as
// 0/1 (SQLite has no boolean type), so that two snapshots of the same
// state compare equal whichever engine they come from.
func canonical(t *testing.T, raw []byte) (snapshot.Summary, map[string][]string) {
	t.Helper()
	out := map[string][]string{}
	sum, err := snapshot.Scan(bytes.NewReader(raw), func(table string, row snapshot.Row) error {
		var b bytes.Buffer
		for i, v := range row.Values {
			if i > 0 {
				b.WriteString(" | ")
			}
			if flag, ok := v.(bool); ok {
				v = int64(0)
				if flag {
					v = int64(1)
				}
			}
			fmt.Fprintf(&b, "%s=%T(%q)", row.Columns[i].Name, v, fmt.Sprint(v))
		}
		out[table] = append(out[table], b.String())
		return nil
	})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return sum, out
}

func dumpBytes(t *testing.T, store *db.DB) ([]byte, snapshot.Summary) {
	t.Helper()
	var buf bytes.Buffer
	sum, err := snapshot.Dump(context.Background(), store, &buf)
	if err != nil {
		t.Fatalf("dump %s: %v", store.Dialect, err)
	}
	return buf.Bytes(), sum
}

// TestRoundTrip dumps a store filled through the services on each engine
// and loads it into an empty store of each engine: every table's rows are
// equal after, and so are the counts, the audit head and the checkpoint.
func TestRoundTrip(t *testing.T) {
	for _, from := range dialects {
		t.Run("from_"+string(from), func(t *testing.T) {
			source := filledStore(t, from)
			raw, dumped := dumpBytes(t, source)
			if dumped.Dialect != string(from) || dumped.SchemaVersion == 0 || dumped.TakenAt.IsZero() {
				t.Fatalf("summary %+v", dumped)
			}
			if len(dumped.AuditHead) == 0 || len(dumped.Checkpoint) == 0 {
				t.Fatalf("summary without audit head or checkpoint: %+v", dumped)
			}
			for _, table := range []string{"consent_events", "vault_fields", "vault_keys", "audit_entries", "audit_checkpoints",
				"staff", "dsr_requests", "dsr_events", "disclosures", "vendor_assessments", "properties"} {
				if dumped.Tables[table] == 0 {
					t.Errorf("the filled store has no rows in %s", table)
				}
			}
			scanned, want := canonical(t, raw)
			if !maps.Equal(scanned.Tables, dumped.Tables) || !bytes.Equal(scanned.AuditHead, dumped.AuditHead) ||
				!bytes.Equal(scanned.Checkpoint, dumped.Checkpoint) || !scanned.TakenAt.Equal(dumped.TakenAt) {
				t.Fatalf("Scan's summary %+v differs from Dump's %+v", scanned, dumped)
			}
			for _, to := range dialects {
				t.Run("to_"+string(to), func(t *testing.T) {
					target := dbtest.Open(t, to)
					loaded, err := snapshot.Load(context.Background(), target, bytes.NewReader(raw))
					if err != nil {
						t.Fatal(err)
					}
					if !maps.Equal(loaded.Tables, dumped.Tables) {
						t.Errorf("Load counted %v, Dump %v", loaded.Tables, dumped.Tables)
					}
					again, after := dumpBytes(t, target)
					_, got := canonical(t, again)
					for _, table := range slices.Sorted(maps.Keys(want)) {
						if len(got[table]) != len(want[table]) {
							t.Errorf("table %s: %d rows after the round trip, %d before", table, len(got[table]), len(want[table]))
							continue
						}
						for i := range want[table] {
							if got[table][i] != want[table][i] {
								t.Errorf("table %s, row %d differs after the round trip:\nbefore %s\nafter  %s", table, i, want[table][i], got[table][i])
								break
							}
						}
					}
					if !bytes.Equal(after.AuditHead, dumped.AuditHead) || !bytes.Equal(after.Checkpoint, dumped.Checkpoint) {
						t.Errorf("audit head %s / checkpoint %s after, %s / %s before", after.AuditHead, after.Checkpoint, dumped.AuditHead, dumped.Checkpoint)
					}
					// A second load into the now filled store is refused.
					_, err = snapshot.Load(context.Background(), target, bytes.NewReader(raw))
					if !errs.Is(err, errs.CodeConflict) {
						t.Errorf("loading into a filled store: %v, want a conflict", err)
					}
				})
			}

			t.Run("truncated", func(t *testing.T) {
				// Cut anywhere (the middle of a row, just before the trailer,
				// inside the trailer, one byte short): Scan and Load refuse,
				// and the store Load was given stays empty.
				for _, cut := range []int{0, 5, 9, len(raw) / 3, len(raw) / 2, len(raw) - 80, len(raw) - 1} {
					part := raw[:cut]
					if _, err := snapshot.Scan(bytes.NewReader(part), nil); !errors.Is(err, snapshot.ErrCorrupt) {
						t.Errorf("Scan of %d of %d bytes: %v, want ErrCorrupt", cut, len(raw), err)
					}
				}
				target := dbtest.Open(t, from)
				for _, cut := range []int{len(raw) / 2, len(raw) - 1} {
					if _, err := snapshot.Load(context.Background(), target, bytes.NewReader(raw[:cut])); !errors.Is(err, snapshot.ErrCorrupt) {
						t.Errorf("Load of %d of %d bytes: %v, want ErrCorrupt", cut, len(raw), err)
					}
				}
				var n int
				if err := target.QueryRowContext(context.Background(), `SELECT count(*) FROM consent_events`).Scan(&n); err != nil || n != 0 {
					t.Errorf("after a refused load the store holds %d events (%v)", n, err)
				}
				// Still empty: the whole snapshot loads.
				if _, err := snapshot.Load(context.Background(), target, bytes.NewReader(raw)); err != nil {
					t.Errorf("load after refused loads: %v", err)
				}
			})

			t.Run("damaged", func(t *testing.T) {
				// One flipped byte anywhere is refused: a value, a length, a tag.
				for _, at := range []int{len(raw) / 4, len(raw) / 2, len(raw) * 3 / 4, len(raw) - 60} {
					bad := slices.Clone(raw)
					bad[at] ^= 0x01
					if _, err := snapshot.Scan(bytes.NewReader(bad), nil); err == nil {
						t.Errorf("Scan accepted a flipped byte at %d", at)
					}
				}
				extra := append(slices.Clone(raw), 0)
				if _, err := snapshot.Scan(bytes.NewReader(extra), nil); !errors.Is(err, snapshot.ErrCorrupt) {
					t.Errorf("Scan with a byte after the trailer: %v", err)
				}
			})
		})
	}
}

// TestLoadRefusesOtherSchemaVersion: a snapshot loads only into a store at
// its schema version.
func TestLoadRefusesOtherSchemaVersion(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range dialects {
		t.Run(string(dialect), func(t *testing.T) {
			raw, _ := dumpBytes(t, dbtest.Open(t, dialect))
			url := "sqlite:" + t.TempDir() + "/steward.db"
			if dialect == db.Postgres {
				url = dbtest.PostgresURL(t)
			}
			older, err := db.Open(ctx, url, "")
			if err != nil {
				t.Fatal(err)
			}
			defer older.Close()
			all, _ := db.Migrations(dialect)
			if err := older.MigrateTo(ctx, len(all)-1); err != nil {
				t.Fatal(err)
			}
			_, err = snapshot.Load(ctx, older, bytes.NewReader(raw))
			if !errs.Is(err, errs.CodeConflict) {
				t.Fatalf("load into a store one migration behind: %v, want a conflict", err)
			}
		})
	}
}
