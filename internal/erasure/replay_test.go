package erasure_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/erasure"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/export"
	"github.com/steward-dev/steward/internal/fulfil"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

// The synthetic customer. Nothing of theirs but the subject id may reach
// the journal.
const (
	subject = "sub-7f3a"
	email   = "ada.synthetic@example.org"
	name    = "Ada Synthetic"
	iban    = "DE89370400440532013000"
	note    = "leave it with the neighbour"
)

// shopYAML is the company's shop: customers and orders found by the
// subject id, a newsletter list found by email.
const shopYAML = `connector: shop
engine: sqlite
dsn_env: SHOP_DB
tables:
  - name: customers
    identifier: {column: id, kind: external_id}
    erase: delete_row
    columns:
      - {name: email, category: contact}
      - {name: name, category: contact}
  - name: orders
    identifier: {column: customer_id, kind: external_id}
    columns:
      - {name: total_cents, category: financial, erase: keep, legal_reason: "invoices are kept 10 years"}
      - {name: note, category: other, erase: mask}
  - name: newsletter
    identifier: {column: email, kind: email}
    erase: delete_row
    columns:
      - {name: email, category: contact}
`

// world is one Steward store with its services, and the shop's database:
// the same data in every world, as a backup restores it.
type world struct {
	store    *db.DB
	v        *vault.Vault
	consent  *consent.Service
	requests *dsr.Service
	f        *fulfil.Fulfiller
	shop     *sql.DB
	shopDS   *connector.Dataset
	env      map[string]string
}

func (w *world) getenv(k string) string { return w.env[k] }

func newWorld(t *testing.T, store *db.DB, ring *vault.Keyring, journal erasure.Recorder) *world {
	t.Helper()
	ctx := audit.WithActor(context.Background(), audit.Staff("stf_test"))
	v := vaulttest.Open(t, store, func(c *vault.Config) { c.Keyring = ring })
	log, _ := audit.New(audit.Config{DB: store})
	_, key, _ := ed25519.GenerateKey(nil)
	signer, _ := receipt.NewSigner(key)
	svc, err := consent.Open(ctx, consent.Config{DB: store, Signer: signer, FollowInterval: -1, Audit: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	ethicstest.OpenPurposes(t, svc)
	if _, err := svc.PutPurpose(ctx, consent.Purpose{Key: "analytics", Names: map[string]string{"en": "Analytics"}, LegalBasis: consent.BasisConsent}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutProperty(ctx, consent.Property{Key: "shop", Name: "Shop", Domains: []string{"shop.example"}, DefaultJurisdiction: "DE"}, true); err != nil {
		t.Fatal(err)
	}
	events := []consent.Event{{ID: "e1", Property: "shop", Subject: subject, Purpose: "analytics", Action: consent.ActionGrant, Source: consent.SourceAPI}}
	if err := svc.ValidateEvents(events, consent.Author{Kind: consent.AuthorRecordKey}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Append(ctx, events); err != nil {
		t.Fatal(err)
	}
	for field, value := range map[string]string{"iban": iban, "email": email} {
		category := map[string]string{"iban": "financial", "email": "contact"}[field]
		if _, err := v.Put(ctx, subject, vault.Field{Name: field, Category: category, Value: []byte(value)}); err != nil {
			t.Fatal(err)
		}
	}
	box, _ := v.SecretBox("dsr")
	requests, err := dsr.NewService(dsr.Config{DB: store, Secrets: box, Audit: log,
		MatchDataPoint: func(ctx context.Context, subject, name, value string) (bool, error) {
			value = strings.ReplaceAll(value, " ", "")
			return name == "iban" && value == iban || name == "iban_last4" && value == iban[len(iban)-4:], nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	exportBox, _ := v.SecretBox("export")
	exports, _ := export.NewStore(export.StoreConfig{DB: store, Secrets: exportBox, Subjects: v})

	shopFile := filepath.Join(t.TempDir(), "shop.db")
	shop, err := sql.Open("sqlite", shopFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shop.Close() })
	for _, stmt := range []string{
		`CREATE TABLE customers (id TEXT PRIMARY KEY, email TEXT, name TEXT)`,
		`CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id TEXT, total_cents INTEGER NOT NULL, note TEXT)`,
		`CREATE TABLE newsletter (email TEXT PRIMARY KEY)`,
	} {
		if _, err := shop.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	for _, row := range []struct {
		query string
		args  []any
	}{
		{`INSERT INTO customers VALUES ($1, $2, $3), ('sub-other', 'bob@example.org', 'Bob')`, []any{subject, email, name}},
		{`INSERT INTO orders VALUES (1, $1, 4200, $2), (2, $1, 990, NULL), (3, 'sub-other', 100, 'bob''s order')`, []any{subject, note}},
		{`INSERT INTO newsletter VALUES ($1), ('bob@example.org')`, []any{email}},
	} {
		if _, err := shop.Exec(row.query, row.args...); err != nil {
			t.Fatal(err)
		}
	}
	yamlFile := filepath.Join(t.TempDir(), "shop.yaml")
	os.WriteFile(yamlFile, []byte(shopYAML), 0o600)
	ds, err := connector.ParseFile(yamlFile)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{store: store, v: v, consent: svc, requests: requests, shop: shop, shopDS: ds, env: map[string]string{"SHOP_DB": shopFile}}
	w.f, err = fulfil.New(fulfil.Config{DB: store, Requests: requests, Consent: svc, Vault: v, Audit: log, Exports: exports,
		Connectors: []*connector.Dataset{ds}, Getenv: w.getenv, Company: "Example Shop", Journal: journal})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// fileErasure files, verifies and starts the customer's erasure request.
func (w *world) fileErasure(t *testing.T) dsr.Request {
	t.Helper()
	ctx := audit.WithActor(context.Background(), audit.Staff("stf_test"))
	hash, _ := w.v.BlindIndex(ctx, "email", email)
	r, err := w.requests.File(ctx, dsr.NewRequest{Kind: dsr.KindErasure, Regime: dsr.GDPR, SubjectID: subject, Email: email, EmailHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.requests.CheckWorkableFor(ctx, r.ID, []string{"financial"}); err != nil && !errors.Is(err, dsr.ErrIdentityNotReached) {
		t.Fatal(err)
	}
	if _, err := w.requests.ProveIdentity(ctx, hash, r.ID, dsr.Proof{Points: []dsr.DataPoint{{Name: "iban", Value: "DE89 3704 0044 0532 0130 00"},
		{Name: "iban_last4", Value: "3000"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.requests.Verify(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if r, err = w.requests.Start(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	return r
}

// held reports what of the customer the world still holds: readable vault
// fields, ledger events naming them, and shop rows found by their id or
// address (orders with their note).
func (w *world) held(t *testing.T) (fields, events int, shopRows int) {
	t.Helper()
	ctx := audit.WithActor(context.Background(), audit.Staff("stf_test"))
	for _, field := range []string{"iban", "email"} {
		if _, err := w.v.Get(ctx, subject, field); err == nil {
			fields++
		}
	}
	got, err := w.consent.Events(ctx, consent.EventFilter{Subject: subject, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	events = len(got)
	for _, q := range []struct {
		query string
		arg   string
	}{
		{`SELECT count(*) FROM customers WHERE id = $1`, subject},
		{`SELECT count(*) FROM orders WHERE customer_id = $1 AND note IS NOT NULL AND note = '` + note + `'`, subject},
		{`SELECT count(*) FROM newsletter WHERE email = $1`, email},
	} {
		var n int
		if err := w.shop.QueryRow(q.query, q.arg).Scan(&n); err != nil {
			t.Fatal(err)
		}
		shopRows += n
	}
	return fields, events, shopRows
}

// copyRows copies the rows of table that match where from one store to
// another of the same engine, as a restore would bring them back.
func copyRows(t *testing.T, from, to *db.DB, table, where string, args ...any) {
	t.Helper()
	ctx := context.Background()
	rows, err := from.QueryContext(ctx, `SELECT * FROM `+table+` WHERE `+where, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	columns, _ := rows.Columns()
	n := 0
	for rows.Next() {
		values := make([]any, len(columns))
		pointers := make([]any, len(columns))
		for i := range values {
			pointers[i] = &values[i]
		}
		if err := rows.Scan(pointers...); err != nil {
			t.Fatal(err)
		}
		marks := make([]string, len(columns))
		for i := range marks {
			marks[i] = fmt.Sprintf("$%d", i+1)
		}
		if _, err := to.ExecContext(ctx, `INSERT INTO `+table+` (`+strings.Join(columns, ", ")+`) VALUES (`+strings.Join(marks, ", ")+`)`, values...); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("no row of %s to copy", table)
	}
}

// Erase the customer in one store through fulfil, with the journal; the
// journal holds no personal data; a second store holding what a backup
// taken before the erasure holds (the same data, and the request as filed)
// forgets the customer when the journal is replayed over it, and a second
// replay changes nothing.
func TestReplayErasesARestoredStore(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := audit.WithActor(context.Background(), audit.System())
		ring, err := vault.ParseKeyring(vault.GenerateKey())
		if err != nil {
			t.Fatal(err)
		}
		journal, dir := journalAt(t, "", newKey(t), erasure.Options{})
		live := newWorld(t, store, ring, journal)
		restored := newWorld(t, dbtest.Open(t, store.Dialect), ring, nil)

		req := live.fileErasure(t)
		// The backup is taken now: it holds the request as filed (and the
		// key that seals its address), and everything of the customer.
		copyRows(t, live.store, restored.store, "vault_keys", "subject_id = $1", "~system.dsr")
		copyRows(t, live.store, restored.store, "dsr_requests", "id = $1", req.ID)
		backupAt := time.Now()

		if _, err := live.f.Erase(ctx, req.ID); err != nil {
			t.Fatal(err)
		}
		if f, e, s := live.held(t); f+e+s != 0 {
			t.Fatalf("the live store still holds fields %d, events %d, shop rows %d", f, e, s)
		}
		if got, _ := live.requests.Get(ctx, req.ID); got.State != dsr.StateCompleted {
			t.Fatalf("request after the erasure: %s", got.State)
		}

		// The journal: one entry, counts and names only.
		var raw []byte
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(path)
				raw = append(raw, b...)
			}
			return nil
		})
		for _, personal := range []string{email, name, iban, note, "ada", "Ada", "3000"} {
			if n := bytes.Count(raw, []byte(personal)); n != 0 {
				t.Errorf("the journal holds %q %d times", personal, n)
			}
		}
		entries, err := journal.Since(ctx, backupAt)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Fatalf("journal since the backup: %d entries, want 1", len(entries))
		}
		e := entries[0]
		if e.Subject != subject || e.RequestID != req.ID || e.Source != erasure.SourceRequest ||
			e.Vault == nil || e.Vault.Fields != 2 || !e.Vault.KeyDestroyed || e.Ledger == nil || e.Ledger.Events != 1 ||
			len(e.Systems) != 1 || e.Systems[0].Name != "shop" || e.Systems[0].Kind != "sql" || e.Systems[0].Rows != 3 {
			t.Fatalf("entry %s: subject %s request %s vault %+v ledger %+v systems %+v", e.Name, e.Subject, e.RequestID, e.Vault, e.Ledger, e.Systems)
		}

		// The restored store brought the customer back.
		if f, e, s := restored.held(t); f != 2 || e != 1 || s != 3 {
			t.Fatalf("the restored store holds fields %d, events %d, shop rows %d; want 2, 1, 3", f, e, s)
		}
		forgot := &forgetter{held: map[string]bool{subject: true}}
		deps := erasure.Deps{Vault: restored.v, Ledger: restored.consent, Requests: restored.requests, Incidents: forgot,
			Connectors: []*connector.Dataset{restored.shopDS}, Getenv: restored.getenv}
		res, err := erasure.Replay(ctx, entries, deps)
		if err != nil {
			t.Fatal(err)
		}
		if f, e, s := restored.held(t); f+e+s != 0 {
			t.Fatalf("after the replay the restored store holds fields %d, events %d, shop rows %d", f, e, s)
		}
		if holds, err := restored.consent.HoldsSubject(ctx, subject); err != nil || holds {
			t.Fatalf("the ledger still names the subject: %v %v", holds, err)
		}
		if _, err := restored.v.Get(ctx, subject, "iban"); !errors.Is(err, vault.ErrErased) && errs.CodeOf(err) != errs.CodeNotFound {
			t.Fatalf("reading the erased field: %v", err)
		}
		r := res.Entries[0]
		if len(res.Entries) != 1 || !r.KeyDestroyed || r.Ledger == nil || r.Ledger.Events != 1 || len(r.Systems) != 1 || r.Systems[0].Rows != 3 ||
			r.IncidentSets != 1 || len(r.Problems) != 0 {
			t.Fatalf("replay: %+v", res)
		}

		// Replaying again changes nothing, and says so.
		res, err = erasure.Replay(ctx, entries, deps)
		if err != nil {
			t.Fatal(err)
		}
		if r := res.Entries[0]; r.KeyDestroyed || r.Ledger != nil || r.Systems[0].Rows != 0 || r.IncidentSets != 0 {
			t.Fatalf("second replay: %+v", r)
		}
		if hits := dbtest.RawHits(t, restored.store, email); hits != 0 {
			t.Fatalf("the restored store holds the address in clear %d times", hits)
		}
	})
}

// While the journal cannot be written the erasure stands, the request
// waits on the journal and is not completed; the retry writes the entry
// and redoes nothing else.
func TestJournalOutageLeavesTheRequestWaiting(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := audit.WithActor(context.Background(), audit.System())
		ring, _ := vault.ParseKeyring(vault.GenerateKey())
		journal, dir := journalAt(t, "", newKey(t), erasure.Options{})
		blocker := filepath.Join(dir, "erasures")
		if err := os.WriteFile(blocker, []byte("not a directory"), 0o600); err != nil {
			t.Fatal(err)
		}
		live := newWorld(t, store, ring, journal)
		req := live.fileErasure(t)
		_, err := live.f.Erase(ctx, req.ID)
		if errs.CodeOf(err) != errs.CodeUnavailable {
			t.Fatalf("Erase with the journal down = %v, want unavailable", err)
		}
		if f, e, s := live.held(t); f+e+s != 0 {
			t.Fatalf("the erasure did not stand: fields %d, events %d, shop rows %d", f, e, s)
		}
		got, _ := live.requests.Get(ctx, req.ID)
		if got.State != dsr.StateInProgress || got.WaitingOn != "erasure journal" {
			t.Fatalf("request with the journal down: %s, waiting on %q", got.State, got.WaitingOn)
		}
		os.Remove(blocker)
		report, err := live.f.Erase(ctx, req.ID)
		if err != nil {
			t.Fatal(err)
		}
		steps := map[string]int{}
		for _, s := range report.Steps {
			steps[s.Step]++
		}
		if steps["journal"] != 1 || steps["vault"] != 1 || steps["system:shop"] != 1 {
			t.Fatalf("steps: %v", steps)
		}
		if got, _ := live.requests.Get(ctx, req.ID); got.State != dsr.StateCompleted || got.WaitingOn != "" {
			t.Fatalf("request after the retry: %s, waiting on %q", got.State, got.WaitingOn)
		}
		entries, err := journal.Since(ctx, time.Time{})
		if err != nil || len(entries) != 1 || entries[0].Vault == nil || entries[0].Vault.Fields != 2 {
			t.Fatalf("journal after the retry: %+v, %v", entries, err)
		}
	})
}

// What a replay cannot do it says, entry by entry: a request the restored
// store never held leaves only the subject id to find rows by; an HTTP
// system is left to staff; a system no longer configured is an error that
// names the entry. The rest is still done.
func TestReplayReportsWhatItCannotDo(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := audit.WithActor(context.Background(), audit.System())
		ring, _ := vault.ParseKeyring(vault.GenerateKey())
		restored := newWorld(t, store, ring, nil)
		journal, _ := journalAt(t, "", newKey(t), erasure.Options{})
		if err := journal.Append(ctx, erasure.Entry{Subject: subject, RequestID: "req_filedafterthebackup", Source: erasure.SourceRequest, At: time.Now(),
			Systems: []erasure.SystemErased{{Name: "shop", Kind: "sql", Rows: 3}, {Name: "crm", Kind: "http"}, {Name: "old-erp", Kind: "sql", Rows: 1}}}); err != nil {
			t.Fatal(err)
		}
		entries, err := journal.Since(ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := erasure.Replay(ctx, entries, erasure.Deps{Vault: restored.v, Ledger: restored.consent, Requests: restored.requests,
			Connectors: []*connector.Dataset{restored.shopDS}, Getenv: restored.getenv})
		if err == nil || !strings.Contains(err.Error(), entries[0].Name) || !strings.Contains(err.Error(), "old-erp") {
			t.Fatalf("Replay = %v, want the unconfigured system named with its entry", err)
		}
		r := res.Entries[0]
		want := []erasure.SystemReplayed{{Name: "shop", Rows: 2}, {Name: "crm", Skipped: r.Systems[1].Skipped}, {Name: "old-erp", Skipped: "not configured on this server"}}
		if len(r.Systems) != 3 || r.Systems[0] != want[0] || !strings.Contains(r.Systems[1].Skipped, "HTTP") || r.Systems[2] != want[2] {
			t.Fatalf("systems: %+v", r.Systems)
		}
		// Found by id: the customer row and the order's note; the newsletter
		// row is found by an address the restored store never knew.
		if _, _, rows := restored.held(t); rows != 1 {
			t.Fatalf("shop rows left: %d, want the newsletter's 1", rows)
		}
		// The entry recorded no vault or ledger erasure: none is made.
		if f, e, _ := restored.held(t); f != 2 || e != 1 {
			t.Fatalf("fields %d, events %d: the replay erased what the entry did not record", f, e)
		}
	})
}

// forgetter stands for the incident register in a replay: it holds the
// subjects in held, and forgets each once.
type forgetter struct{ held map[string]bool }

func (f *forgetter) Forget(_ context.Context, subject string) (int, error) {
	if !f.held[subject] {
		return 0, nil
	}
	delete(f.held, subject)
	return 1, nil
}
