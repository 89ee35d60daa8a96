package fulfil_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/export"
	"github.com/steward-dev/steward/internal/fulfil"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

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
`

type fixture struct {
	f       *fulfil.Fulfiller
	v       *vault.Vault
	svc     *consent.Service
	req     *dsr.Service
	shop    *sql.DB
	shopDSN string
	env     map[string]string
	log     *audit.Log
}

func newFixture(t *testing.T, store *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	v := vaulttest.Open(t, store)
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
	events := []consent.Event{{ID: "e1", Property: "shop", Subject: "1001", Purpose: "analytics", Action: consent.ActionGrant, Source: consent.SourceAPI}}
	if err := svc.ValidateEvents(events, consent.Author{Kind: consent.AuthorRecordKey}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Append(ctx, events); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Put(ctx, "1001", vault.Field{Name: "iban", Category: "financial", Value: []byte("DE89370400440532013000")}); err != nil {
		t.Fatal(err)
	}
	box, _ := v.SecretBox("dsr")
	requests, err := dsr.NewService(dsr.Config{DB: store, Secrets: box, Audit: log,
		MatchDataPoint: func(ctx context.Context, subject, name, value string) (bool, error) {
			points := map[string]vault.DataPoint{"iban": {Field: "iban"}, "iban_last4": {Field: "iban", Last: 4}}
			dp, ok := points[name]
			return ok && must(v.MatchDataPoint(ctx, subject, dp, value)), nil
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
		`INSERT INTO customers VALUES ('1001', 'ada.shop@example.org', 'Ada Lovelace'), ('1002', 'bob@example.org', 'Bob')`,
		`INSERT INTO orders VALUES (1, '1001', 4200, 'leave at the door'), (2, '1001', 990, NULL), (3, '1002', 100, 'bob''s order')`,
	} {
		if _, err := shop.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	yamlFile := filepath.Join(t.TempDir(), "shop.yaml")
	os.WriteFile(yamlFile, []byte(shopYAML), 0o600)
	ds, err := connector.ParseFile(yamlFile)
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{log: log, v: v, svc: svc, req: requests, shop: shop, shopDSN: shopFile, env: map[string]string{"SHOP_DB": shopFile}}
	fx.f, err = fulfil.New(fulfil.Config{DB: store, Requests: requests, Consent: svc, Vault: v, Audit: log, Exports: exports,
		Connectors: []*connector.Dataset{ds}, Getenv: func(k string) string { return fx.env[k] }, Company: "Example Shop"})
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

func (fx *fixture) file(t *testing.T, kind dsr.Kind) dsr.Request {
	t.Helper()
	ctx := audit.WithActor(context.Background(), audit.Staff("stf_test"))
	hash, _ := fx.v.BlindIndex(ctx, "email", "ada.shop@example.org")
	r, err := fx.req.File(ctx, dsr.NewRequest{Kind: kind, Regime: dsr.GDPR, SubjectID: "1001", Email: "ada.shop@example.org", EmailHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	fx.prove(t, r.ID)
	if _, err := fx.req.Verify(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if r, err = fx.req.Start(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	return r
}

// prove gives the second proof the subject's financial data calls for.
func (fx *fixture) prove(t *testing.T, id string) {
	t.Helper()
	ctx := audit.WithActor(context.Background(), audit.Staff("stf_test"))
	if err := fx.req.CheckWorkableFor(ctx, id, []string{"financial"}); err != nil && !errors.Is(err, dsr.ErrIdentityNotReached) {
		t.Fatal(err)
	}
	hash, _ := fx.v.BlindIndex(ctx, "email", "ada.shop@example.org")
	if _, err := fx.req.ProveIdentity(ctx, hash, id, dsr.Proof{Points: []dsr.DataPoint{{Name: "iban", Value: "DE89 3704 0044 0532 0130 00"},
		{Name: "iban_last4", Value: "3000"}}}); err != nil {
		t.Fatal(err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// An export of sensitive data is refused before the requester reached the
// second proof, even when staff verified and started it (as support's
// filing through the API does, which names no categories); after it, it
// runs.
func TestExportRefusedBeforeSecondProof(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := audit.WithActor(context.Background(), audit.Staff("stf_test"))
		fx := newFixture(t, store)
		hash, _ := fx.v.BlindIndex(ctx, "email", "ada.shop@example.org")
		r, err := fx.req.File(ctx, dsr.NewRequest{Kind: dsr.KindExport, Regime: dsr.GDPR, SubjectID: "1001", Email: "ada.shop@example.org", EmailHash: hash})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fx.req.Verify(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.req.Start(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.f.Export(ctx, r.ID); !errors.Is(err, dsr.ErrIdentityNotReached) {
			t.Fatalf("Export before the second proof = %v, want ErrIdentityNotReached", err)
		}
		if got, _ := fx.req.Get(ctx, r.ID); got.State != dsr.StateInProgress || got.ResultRef != "" {
			t.Fatalf("request after the refused export: %+v", got)
		}
		if idn, _ := fx.req.Identity(ctx, r.ID); idn.Required.Points != 2 || idn.Satisfied() {
			t.Fatalf("identity after the refused export: %+v", idn)
		}
		fx.prove(t, r.ID)
		if _, err := fx.f.Export(ctx, r.ID); err != nil {
			t.Fatalf("Export after the second proof: %v", err)
		}
	})
}

// TestExport: the archive holds the consents with receipts, the protected
// fields, and the subject's rows of the connected system (no one else's);
// the request completes with it.
func TestExport(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		fx := newFixture(t, store)
		r := fx.file(t, dsr.KindExport)
		info, err := fx.f.Export(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		done, _ := fx.req.Get(ctx, r.ID)
		if done.State != dsr.StateCompleted || done.ResultRef != info.ID {
			t.Fatalf("request after export: %+v", done)
		}
		plain, err := fx.f.Exports.Open(ctx, info.ID)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(plain)
		z, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			t.Fatal(err)
		}
		files := map[string]string{}
		for _, f := range z.File {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			files[f.Name] = string(b)
		}
		for name, want := range map[string]string{
			"consents.json":              `"receipt": "ey`,
			"protected-data.json":        "DE89370400440532013000",
			"systems/shop/customers.csv": "ada.shop@example.org",
			"systems/shop/orders.csv":    "leave at the door",
			"about.json":                 "Analytics",
			"README.txt":                 "Article 15",
			"requests.json":              r.ID,
			"accesses.json":              "dsr.export_fields",
			"manifest.json":              "sha256",
		} {
			if !strings.Contains(files[name], want) {
				t.Errorf("%s lacks %q:\n%.500s", name, want, files[name])
			}
		}
		for name, body := range files {
			if strings.Contains(body, "bob") {
				t.Errorf("%s holds another customer's data", name)
			}
		}
	})
}

// TestErase: a system that is down leaves the request waiting on it with
// the finished steps recorded; once it is back, the retry finishes: the
// vault field is unreadable, the ledger names a pseudonym, the rows are
// gone or masked, and the report holds counts only.
func TestErase(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		fx := newFixture(t, store)
		r := fx.file(t, dsr.KindErasure)

		fx.env["SHOP_DB"] = filepath.Join(t.TempDir(), "missing", "shop.db")
		if _, err := fx.f.Erase(ctx, r.ID); errs.CodeOf(err) != errs.CodeUnavailable {
			t.Fatalf("erase with the system down: %v", err)
		}
		waiting, _ := fx.req.Get(ctx, r.ID)
		if waiting.WaitingOn != "system shop" || waiting.State != dsr.StateInProgress {
			t.Fatalf("request while the system is down: %+v", waiting)
		}
		partial, _ := fx.f.Report(ctx, r.ID)
		if len(partial.Steps) != 3 { // vault, ledger, steward
			t.Fatalf("steps done before the system failed: %+v", partial.Steps)
		}

		fx.env["SHOP_DB"] = fx.shopDSN
		report, err := fx.f.Erase(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(report.Steps) != 4 {
			t.Fatalf("report: %+v", report)
		}
		raw, _ := json.Marshal(report)
		if strings.Contains(string(raw), "ada") || strings.Contains(string(raw), "DE89") || strings.Contains(string(raw), "door") {
			t.Fatalf("the report holds personal data: %s", raw)
		}
		done, _ := fx.req.Get(ctx, r.ID)
		if done.State != dsr.StateCompleted || done.WaitingOn != "" {
			t.Fatalf("request after erasure: %+v", done)
		}
		if _, err := fx.v.Get(ctx, "1001", "iban"); err == nil {
			t.Fatal("the vault field is still readable")
		}
		events, _ := fx.svc.Events(ctx, consent.EventFilter{})
		if len(events) != 1 || events[0].Subject == "1001" || !strings.HasPrefix(events[0].Subject, "prs_") {
			t.Fatalf("ledger after erasure: %+v", events)
		}
		var customers, notes int
		fx.shop.QueryRow(`SELECT count(*) FROM customers WHERE id = '1001'`).Scan(&customers)
		fx.shop.QueryRow(`SELECT count(*) FROM orders WHERE customer_id = '1001' AND note = 'leave at the door'`).Scan(&notes)
		var bob int
		fx.shop.QueryRow(`SELECT count(*) FROM orders WHERE note = 'bob''s order'`).Scan(&bob)
		if customers != 0 || notes != 0 || bob != 1 {
			t.Fatalf("shop after erasure: customers %d, notes %d, bob %d", customers, notes, bob)
		}
	})
}
