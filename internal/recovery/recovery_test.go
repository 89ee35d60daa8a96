package recovery_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/backup"
	"github.com/steward-dev/steward/internal/backup/target"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/erasure"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/recovery"
	"github.com/steward-dev/steward/internal/vault"
)

const shopDataset = `connector: shop
engine: sqlite
dsn_env: SHOP_DB
tables:
  - name: customers
    identifier: {column: id, kind: external_id}
    erase: delete_row
    columns:
      - {name: email, category: contact}
      - {name: name, category: contact}
`

// The kept customer's and the erased customer's known values.
const (
	erasedEmail = "jo.demo@shop.example"
	erasedIBAN  = "DE02120300000000202051"
	shopName    = "Jo Shopper-Demo"
	keptSubject = "cust-kept-7"
)

// world is a running Steward with a connected shop database, the demo
// customer (erased after the backup) and a kept customer and device.
type world struct {
	srv      *apptest.Server
	a        *app.App
	shopFile string
	tgt      target.Target
	ids      []age.Identity
	recips   []age.Recipient
}

func newWorld(t *testing.T, dialect db.Dialect) *world {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	w := &world{shopFile: filepath.Join(dir, "shop.db")}
	shop, err := sql.Open("sqlite", w.shopFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE customers (id TEXT PRIMARY KEY, email TEXT, name TEXT)`,
		fmt.Sprintf(`INSERT INTO customers VALUES ('%s', '%s', '%s'), ('%s', 'kept@example.org', 'Kept')`, app.DemoCustomer, erasedEmail, shopName, keptSubject),
	} {
		if _, err := shop.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	shop.Close()
	connectors := filepath.Join(dir, "connectors")
	os.Mkdir(connectors, 0o700)
	os.WriteFile(filepath.Join(connectors, "shop.yaml"), []byte(shopDataset), 0o600)
	w.srv = apptest.StartWith(t, dialect, apptest.Options{Connectors: connectors, Env: map[string]string{"SHOP_DB": w.shopFile}})
	w.a = w.srv.App
	if _, err := w.a.SeedDemoCustomer(ctx); err != nil {
		t.Fatal(err)
	}
	events := []consent.Event{
		{ID: "kept-analytics", Property: app.DemoPropertyKey, Subject: keptSubject, Purpose: "analytics", Action: consent.ActionGrant, Source: consent.SourceAPI},
		{ID: "kept-marketing", Property: app.DemoPropertyKey, Subject: keptSubject, Purpose: "marketing", Action: consent.ActionGrant, Source: consent.SourceAPI},
		{ID: "dev-analytics", Property: app.DemoPropertyKey, Device: "dev-recovery-1", Purpose: "analytics", Action: consent.ActionDeny, Source: consent.SourceBanner},
	}
	if notice, ok := w.a.Consent.CurrentNotice(); ok {
		for i := range events {
			events[i].NoticeVersion = notice.Version
		}
	}
	if _, err := w.a.Consent.Append(ctx, events); err != nil {
		t.Fatal(err)
	}
	if _, err := w.a.Vault.Put(ctx, keptSubject, vault.Field{Name: "email", Category: "contact", Value: []byte("kept@example.org")}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.a.Checkpoints.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if w.tgt, err = target.OpenDir(filepath.Join(dir, "backups")); err != nil {
		t.Fatal(err)
	}
	var identity bytes.Buffer
	recipient, err := backup.GenerateIdentity(&identity)
	if err != nil {
		t.Fatal(err)
	}
	if w.ids, err = age.ParseIdentities(&identity); err != nil {
		t.Fatal(err)
	}
	if w.recips, err = backup.ParseRecipients([]string{recipient}); err != nil {
		t.Fatal(err)
	}
	return w
}

// eraseDemoCustomer erases the demo customer through a request, as the
// portal's erasure does: vault, ledger, shop, and the journal.
func (w *world) eraseDemoCustomer(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	staffCtx := audit.WithActor(ctx, audit.Staff("stf_test"))
	hash, _ := w.a.Vault.BlindIndex(ctx, "email", erasedEmail)
	req, err := w.a.Requests.File(staffCtx, dsr.NewRequest{Kind: dsr.KindErasure, Regime: dsr.GDPR, SubjectID: app.DemoCustomer,
		Email: erasedEmail, EmailHash: hash, Categories: []string{"financial"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.a.Requests.ProveIdentity(staffCtx, hash, req.ID, dsr.Proof{Points: []dsr.DataPoint{
		{Name: "iban_last4", Value: "2051"}, {Name: "birth_date", Value: "1990-04-01"}}}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []func(context.Context, string) (dsr.Request, error){w.a.Requests.Verify, w.a.Requests.Start} {
		if _, err := step(staffCtx, req.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.a.Fulfil.Erase(ctx, req.ID); err != nil {
		t.Fatal(err)
	}
	if n := w.shopRows(t, app.DemoCustomer); n != 0 {
		t.Fatalf("the live shop still holds %d rows of the erased customer", n)
	}
}

func (w *world) shopRows(t *testing.T, id string) int {
	t.Helper()
	shop, err := sql.Open("sqlite", w.shopFile)
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close()
	var n int
	if err := shop.QueryRow(`SELECT count(*) FROM customers WHERE id = ?`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// putShopRowBack restores the company's own database from its own (older)
// backup: the erased customer's row is back there too.
func (w *world) putShopRowBack(t *testing.T) {
	t.Helper()
	shop, err := sql.Open("sqlite", w.shopFile)
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close()
	if _, err := shop.Exec(`INSERT INTO customers VALUES (?, ?, ?)`, app.DemoCustomer, erasedEmail, shopName); err != nil {
		t.Fatal(err)
	}
}

// questions are decisions whose answers must survive a restore: the kept
// customer's and a device's, for each purpose.
func questions() []consent.Question {
	var qs []consent.Question
	for _, p := range []string{"analytics", "marketing"} {
		qs = append(qs, consent.Question{Subject: keptSubject, Purpose: p, Jurisdiction: "DE"},
			consent.Question{Device: "dev-recovery-1", Purpose: p, Jurisdiction: "DE"})
	}
	return qs
}

func decide(t *testing.T, d *consent.Decider) []string {
	t.Helper()
	var out []string
	for _, q := range questions() {
		a, err := d.Decide(&q, false)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s%s/%s: %v %s", q.Subject, q.Device, q.Purpose, a.Allowed, a.Reason))
	}
	return out
}

// TestRestoreAcrossStoresForgetsTheErased is the round trip: a
// backup taken on one engine restores into the other; decisions answer as
// before, every receipt and the audit chain verify, and a customer erased
// after the backup stays erased: vault unreadable, ledger silent, the
// connected system's row (back from the company's own older backup) erased
// again, and no known value anywhere in the restored store.
func TestRestoreAcrossStoresForgetsTheErased(t *testing.T) {
	for _, c := range []struct{ from, to db.Dialect }{{db.SQLite, db.SQLite}, {db.SQLite, db.Postgres}, {db.Postgres, db.SQLite}} {
		t.Run(string(c.from)+"_to_"+string(c.to), func(t *testing.T) {
			ctx := audit.WithActor(context.Background(), audit.System())
			w := newWorld(t, c.from)
			before := decide(t, w.a.Consent.Decider())
			m, err := w.a.Recovery.Create(ctx, w.tgt, w.recips)
			if err != nil {
				t.Fatal(err)
			}
			w.eraseDemoCustomer(t)
			w.putShopRowBack(t)

			into := dbtest.Open(t, c.to)
			restored, err := recovery.Restore(ctx, into, recovery.RestoreOptions{From: w.tgt, Trusted: []ed25519.PublicKey{w.a.Recovery.PublicKey()},
				Identities: w.ids, Journal: w.a.Journal})
			if err != nil {
				t.Fatal(err)
			}
			if restored.Manifest.ID != m.ID || len(restored.Pending) != 1 || restored.Pending[0].Subject != app.DemoCustomer {
				t.Fatalf("restored %s with %d pending erasures, want %s and the demo customer's", restored.Manifest.ID, len(restored.Pending), m.ID)
			}
			// Before the replay, the backup brought the customer back.
			if hits := dbtest.RawHits(t, into, app.DemoCustomer); hits == 0 {
				t.Fatal("the backup does not hold the customer erased after it: the test proves nothing")
			}
			deps, log, closeDeps, err := app.ReplayDeps(ctx, w.a.Config, into, slog.New(slog.DiscardHandler), true)
			if err != nil {
				t.Fatal(err)
			}
			result, err := recovery.Finish(ctx, restored, deps, log, false)
			closeDeps()
			if err != nil {
				t.Fatalf("finish: %v (%+v)", err, result)
			}

			for _, value := range []string{erasedEmail, erasedIBAN, shopName, "Musterstraße 1"} {
				if hits := dbtest.RawHits(t, into, value); hits != 0 {
					t.Errorf("the restored store holds %q %d times", value, hits)
				}
			}
			if n := w.shopRows(t, app.DemoCustomer); n != 0 {
				t.Errorf("the shop holds %d rows of the erased customer after the replay", n)
			}
			if n := w.shopRows(t, keptSubject); n != 1 {
				t.Errorf("the shop holds %d rows of the kept customer", n)
			}
			ring, err := app.LoadKeyring(w.a.Config)
			if err != nil {
				t.Fatal(err)
			}
			v, err := vault.Open(ctx, vault.Config{DB: into, Keyring: ring, Audit: log})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			if _, err := v.Get(ctx, app.DemoCustomer, "iban"); err == nil {
				t.Error("the erased customer's field reads after the restore")
			}
			if rec, err := v.Get(ctx, keptSubject, "email"); err != nil || string(rec.Value) != "kept@example.org" {
				t.Errorf("the kept customer's field: %q %v", rec.Value, err)
			}

			signer, err := receipt.NewSigner(mustKey(t, w.a.Config))
			if err != nil {
				t.Fatal(err)
			}
			ledger, err := consent.Open(ctx, consent.Config{DB: into, Signer: signer, FollowInterval: -1, Audit: log})
			if err != nil {
				t.Fatal(err)
			}
			defer ledger.Close()
			ethicstest.OpenPurposes(t, ledger)
			if after := decide(t, ledger.Decider()); strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Errorf("decisions changed:\nbefore %v\nafter  %v", before, after)
			}
			if holds, err := ledger.HoldsSubject(ctx, app.DemoCustomer); err != nil || holds {
				t.Errorf("the ledger still names the erased customer: %v %v", holds, err)
			}
			lr, err := consent.Verify(ctx, into, consent.VerifyOptions{ReceiptKeys: w.a.Signer.JWKS()})
			if err != nil || !lr.OK() {
				t.Fatalf("the restored ledger: %v %s", err, lr.Message())
			}
			ar, err := audit.Verify(ctx, into, audit.VerifyOptions{})
			if err != nil || !ar.OK() {
				t.Fatalf("the restored audit log: %v %s", err, ar.Message())
			}
			var action, details string
			if err := into.QueryRowContext(ctx, `SELECT action, details FROM audit_entries ORDER BY seq DESC LIMIT 1`).Scan(&action, &details); err != nil {
				t.Fatal(err)
			}
			if action != "backup.restored" || !strings.Contains(details, m.ID) || !strings.Contains(details, "checkpoint_root") {
				t.Errorf("the last audit entry is %s %s, want backup.restored naming the backup and its checkpoint", action, details)
			}
		})
	}
}

func mustKey(t *testing.T, cfg config.Config) ed25519.PrivateKey {
	t.Helper()
	key, err := app.LoadSigningKey(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// TestRestoreRefusesWithoutACurrentJournal: with no journal, or a copy
// of the journal older than the backup, the restore refuses before it
// loads anything; accepted, it restores and the audit log says so.
func TestRestoreRefusesWithoutACurrentJournal(t *testing.T) {
	ctx := audit.WithActor(context.Background(), audit.System())
	w := newWorld(t, db.SQLite)
	key, err := backup.LoadOrCreateSigningKey(w.a.Config.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	// A copy of the journal as it was before the backup.
	stale := t.TempDir()
	copyDir(t, erasure.DefaultDir(w.a.Config.DataDir), stale)
	if _, err := w.a.Recovery.Create(ctx, w.tgt, w.recips); err != nil {
		t.Fatal(err)
	}
	staleTarget, err := target.OpenDir(stale)
	if err != nil {
		t.Fatal(err)
	}
	trusted := []ed25519.PublicKey{w.a.Recovery.PublicKey()}
	for _, c := range []struct {
		name    string
		journal *erasure.Journal
		want    string
	}{
		{"no journal", nil, "no erasure journal is reachable"},
		{"an older copy", erasure.Open(staleTarget, key, erasure.Options{}), "older than the backup"},
	} {
		t.Run(c.name, func(t *testing.T) {
			into := dbtest.Open(t, db.SQLite)
			_, err := recovery.Restore(ctx, into, recovery.RestoreOptions{From: w.tgt, Trusted: trusted, Identities: w.ids, Journal: c.journal})
			if errs.CodeOf(err) != errs.CodeConflict || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--accept-missing-erasures") {
				t.Fatalf("restore: %v, want a refusal saying %q", err, c.want)
			}
			var n int
			if err := into.QueryRowContext(ctx, `SELECT count(*) FROM consent_events`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("a refused restore loaded %d events (%v)", n, err)
			}
			restored, err := recovery.Restore(ctx, into, recovery.RestoreOptions{From: w.tgt, Trusted: trusted, Identities: w.ids,
				Journal: c.journal, AcceptMissingErasures: true})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(restored.JournalProblem, c.want) {
				t.Fatalf("journal problem %q", restored.JournalProblem)
			}
			log, err := audit.New(audit.Config{DB: into})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := recovery.Finish(ctx, restored, erasure.Deps{}, log, true); err != nil {
				t.Fatal(err)
			}
			var details string
			if err := into.QueryRowContext(ctx, `SELECT details FROM audit_entries WHERE action = 'backup.restored'`).Scan(&details); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(details, `"accept_missing_erasures":true`) || !strings.Contains(details, "journal_problem") {
				t.Fatalf("backup.restored details: %s", details)
			}
		})
	}
}

// TestDrill restores the newest backup into a throwaway store, replays the
// erasure made since (without touching the shop), verifies, and records
// the run with its recovery time and the data's age.
func TestDrill(t *testing.T) {
	ctx := audit.WithActor(context.Background(), audit.System())
	w := newWorld(t, db.SQLite)
	if _, err := w.a.Recovery.Create(ctx, w.tgt, w.recips); err != nil {
		t.Fatal(err)
	}
	w.eraseDemoCustomer(t)
	w.putShopRowBack(t)
	rep, err := recovery.Drill(ctx, recovery.DrillOptions{From: w.tgt, Trusted: []ed25519.PublicKey{w.a.Recovery.PublicKey()}, Identities: w.ids,
		Journal: w.a.Journal, TempDir: t.TempDir(),
		Replay: func(ctx context.Context, store *db.DB) (erasure.Deps, audit.Recorder, func(), error) {
			return app.ReplayDeps(ctx, w.a.Config, store, slog.New(slog.DiscardHandler), true)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.RTO <= 0 || rep.RPO < 0 || rep.AuditEntries == 0 || rep.LedgerEvents == 0 || len(rep.Restored.Pending) != 1 {
		t.Fatalf("drill report: %+v", rep.Run)
	}
	if n := w.shopRows(t, app.DemoCustomer); n != 1 {
		t.Fatalf("a drill reached the connected system: %d rows left of the row put back", n)
	}
	if err := recovery.Record(ctx, w.a.DB, rep.Run); err != nil {
		t.Fatal(err)
	}
	last, ok, err := recovery.LastSuccess(ctx, w.a.DB, recovery.KindDrill)
	if err != nil || !ok || last.BackupID != rep.BackupID || last.RTO != rep.RTO.Truncate(time.Millisecond) {
		t.Fatalf("last drill: %+v %v %v", last, ok, err)
	}
	if _, ok, _ := recovery.LastSuccess(ctx, w.a.DB, recovery.KindBackup); !ok {
		t.Fatal("the backup run was not recorded")
	}
	// /metrics says when each last succeeded.
	resp, err := http.Get(w.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"steward_backup_last_success_timestamp_seconds", "steward_backup_drill_last_success_timestamp_seconds"} {
		m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(metrics)
		if m == nil {
			t.Fatalf("/metrics lacks %s", name)
		}
		if v, err := strconv.ParseFloat(string(m[1]), 64); err != nil || time.Since(time.Unix(int64(v), 0)) > time.Hour {
			t.Errorf("%s = %s, want the last success's time", name, m[1])
		}
	}
	// The backup signing key is published with the server's keys.
	resp, err = http.Get(w.srv.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(jwks, []byte(`"kid":"`+backup.KeyID(w.a.Recovery.PublicKey())+`"`)) {
		t.Fatalf("the JWKS lacks the backup signing key: %s", jwks)
	}
	// A drill with the wrong identity fails, and says where.
	other, _ := age.GenerateX25519Identity()
	bad, err := recovery.Drill(ctx, recovery.DrillOptions{From: w.tgt, Trusted: []ed25519.PublicKey{w.a.Recovery.PublicKey()},
		Identities: []age.Identity{other}, Journal: w.a.Journal, TempDir: t.TempDir()})
	if err == nil || bad.OK || bad.Message == "" {
		t.Fatalf("drill with another identity: %+v %v", bad.Run, err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), raw, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCheckContentsFindsAnEditedAuditLog: someone with the database edits
// an audit entry, then a backup is taken (signed and whole): checking its
// contents with the identity finds the edit, and a clean backup passes.
func TestCheckContentsFindsAnEditedAuditLog(t *testing.T) {
	ctx := audit.WithActor(context.Background(), audit.System())
	w := newWorld(t, db.SQLite)
	trusted := []ed25519.PublicKey{w.a.Recovery.PublicKey()}
	check := func(id string) (recovery.ContentReport, error) {
		m, plaintext, err := backup.Open(ctx, w.tgt, id, trusted, w.ids)
		if err != nil {
			t.Fatal(err)
		}
		defer plaintext.Close()
		return recovery.CheckContents(ctx, m, plaintext, trusted, t.TempDir())
	}
	clean, err := w.a.Recovery.Create(ctx, w.tgt, w.recips)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := check(clean.ID)
	if err != nil || rep.AuditEntries == 0 || rep.LedgerEvents == 0 || rep.JournalEntries == 0 || rep.Rows == 0 {
		t.Fatalf("a clean backup: %+v %v", rep, err)
	}
	for _, stmt := range []string{`DROP TRIGGER audit_entries_no_update`,
		`UPDATE audit_entries SET details = replace(details, '"', '''') WHERE seq = 2`} {
		if _, err := w.a.DB.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	edited, err := w.a.Recovery.Create(ctx, w.tgt, w.recips)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := check(edited.ID); err == nil || !strings.Contains(err.Error(), "audit log does not verify") {
		t.Fatalf("a backup of an edited audit log: %v", err)
	}
}
