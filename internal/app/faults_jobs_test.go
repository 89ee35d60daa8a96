package app_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/notify/mailtest"
	"github.com/steward-dev/steward/internal/vault"
)

const faultShopYAML = `connector: shop
engine: sqlite
dsn_env: SHOP_DB
tables:
  - name: customers
    identifier: {column: email, kind: email}
    erase: delete_row
    columns:
      - {name: name, category: contact}
`

// TestFaultWorkerStoppedMidJob: the worker of an erasure or an export is
// cancelled in the middle of its job (the company's system it reads is
// locked, so the job is held inside it), and its process's job runner stops.
// A second Steward on the same store takes the job up: it finishes once, the
// steps done before are not done again (the vault erasure's report still
// counts the field it erased), the system's rows are erased once, and the
// customer gets each email once.
func TestFaultWorkerStoppedMidJob(t *testing.T) {
	for _, kind := range []dsr.Kind{dsr.KindErasure, dsr.KindExport} {
		t.Run(string(kind), func(t *testing.T) {
			ctx := audit.WithActor(context.Background(), audit.Staff("stf_fault"))
			dir, connectors := t.TempDir(), t.TempDir()
			apptest.CopySQLiteStore(t, filepath.Join(dir, "steward.db"))
			shopFile := filepath.Join(t.TempDir(), "shop.db")
			shop, err := sql.Open("sqlite", shopFile)
			if err != nil {
				t.Fatal(err)
			}
			defer shop.Close()
			for _, stmt := range []string{`CREATE TABLE customers (email TEXT PRIMARY KEY, name TEXT)`,
				`INSERT INTO customers VALUES ('eve.fault@example.org', 'Eve'), ('other@example.org', 'Other')`} {
				if _, err := shop.Exec(stmt); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(connectors, "shop.yaml"), []byte(faultShopYAML), 0o600); err != nil {
				t.Fatal(err)
			}
			mail := mailtest.Start(t, mailtest.Options{})
			opts := apptest.Options{DataDir: dir, MasterKey: "1:" + vault.GenerateKey(), SMTP: mail.Addr(), Connectors: connectors,
				Env: map[string]string{"SHOP_DB": shopFile}, JobRetryBase: 200 * time.Millisecond}
			const email = "eve.fault@example.org"

			// The shop's database is locked: the job waits inside it.
			lock, err := shop.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer lock.Close()
			if _, err := lock.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
				t.Fatal(err)
			}
			var id string
			first := apptest.StartWith(t, db.SQLite, opts)
			a := first.App
			if _, err := a.Vault.Put(ctx, "cust-eve", vault.Field{Name: "email", Category: "contact", Value: []byte(email)}); err != nil {
				t.Fatal(err)
			}
			hash, _ := a.Vault.BlindIndex(ctx, "email", email)
			r, err := a.Requests.File(ctx, dsr.NewRequest{Kind: kind, Regime: dsr.GDPR, SubjectID: "cust-eve", Email: email, EmailHash: hash})
			if err != nil {
				t.Fatal(err)
			}
			id = r.ID
			mail.WaitFor(t, email) // the request is received: that mail is out
			if _, err := a.Requests.Verify(ctx, id); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Requests.Start(ctx, id); err != nil {
				t.Fatal(err)
			}
			a.Fulfil.AfterAction(a.Jobs, slog.New(slog.NewTextHandler(io.Discard, nil)))(ctx, "start", id)
			// Held in the shop's database: for an erasure, after the steps
			// in Steward's own store are done.
			waitFor(t, 20*time.Second, "the job to reach the shop's database", func() bool {
				if kind != dsr.KindErasure {
					return true
				}
				report, err := a.Fulfil.Report(ctx, id)
				return err == nil && len(report.Steps) == 3
			})
			time.Sleep(300 * time.Millisecond)
			// The worker's context is cancelled now, in the middle of the job.
			stop, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			_ = a.Jobs.Stop(stop)
			cancel()
			if got, _ := a.Requests.Get(ctx, id); got.State == dsr.StateCompleted {
				t.Fatalf("the request completed although its job was stopped: %+v", got)
			}

			// Another Steward takes over; the shop opens again.
			if _, err := lock.ExecContext(ctx, "COMMIT"); err != nil {
				t.Fatal(err)
			}
			second := apptest.StartWith(t, db.SQLite, opts).App
			var done dsr.Request
			waitFor(t, 30*time.Second, "the job to finish on the second server", func() bool {
				done, err = second.Requests.Get(ctx, id)
				return err == nil && done.State == dsr.StateCompleted
			})
			update := mail.WaitFor(t, email)
			time.Sleep(time.Second) // a second copy would come now
			if n := countTo(mail, email); n != 2 {
				t.Fatalf("%d messages to the customer, want 2 (received, then %q)", n, update.Subject)
			}
			switch kind {
			case dsr.KindErasure:
				report, err := second.Fulfil.Report(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				seen := map[string]int{}
				for _, s := range report.Steps {
					seen[s.Step]++
					switch s.Step {
					case "vault":
						if !strings.Contains(string(s.Report), `"fields":1`) {
							t.Errorf("vault step %s: it was done again after the restart", s.Report)
						}
					case "system:shop":
						if !strings.Contains(string(s.Report), `"Rows":1`) {
							t.Errorf("system step %s: want one row erased", s.Report)
						}
					}
				}
				for step, n := range seen {
					if n != 1 {
						t.Errorf("step %s recorded %d times", step, n)
					}
				}
				var left, others int
				shop.QueryRow(`SELECT count(*) FROM customers WHERE email = $1`, email).Scan(&left)
				shop.QueryRow(`SELECT count(*) FROM customers`).Scan(&others)
				if left != 0 || others != 1 {
					t.Fatalf("shop after the erasure: %d of the customer's rows, %d in all", left, others)
				}
			case dsr.KindExport:
				archive, err := second.Exports.Open(ctx, done.ResultRef)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(archive)
				if !strings.Contains(string(raw), "systems/shop/customers.csv") {
					t.Fatal("the archive lacks the shop's rows")
				}
			}
		})
	}
}

func countTo(mail *mailtest.Server, to string) int {
	n := 0
	for _, m := range mail.Messages() {
		for _, r := range m.To {
			if strings.EqualFold(strings.Trim(r, "<> "), to) {
				n++
			}
		}
	}
	return n
}
