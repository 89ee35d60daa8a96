package incident_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/incident"
)

func sha(ids ...string) string {
	h := sha256.New()
	for _, id := range ids {
		h.Write([]byte(id + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func members(t *testing.T, f *fixture, setID string) []string {
	t.Helper()
	out, err := f.svc.Members(context.Background(), setID, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestInsiderCase: staff member S revealed fields of a known set of
// customers between T1 and T2; around it, S acted before T1 and at T2,
// another staff member and an API key with S's id revealed others in the
// window, and S wrote (not read) another's field. The computed set is the
// known set exactly, counted by the revealed fields' categories and the
// customers' latest jurisdiction.
func TestInsiderCase(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store, false)
		for _, c := range []string{"c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10", "c11"} {
			f.put(t, c, "email", "contact")
			f.put(t, c, "iban", "financial")
		}
		f.consentFrom(t, 1, "c1", "DE")
		f.consentFrom(t, 2, "c2", "DE")
		f.consentFrom(t, 3, "c2", "us-ca") // the latest counts
		f.consentFrom(t, 4, "c8", "FR")
		t1, t2 := start.Add(24*time.Hour), start.Add(48*time.Hour)
		s, other, key := audit.Staff("st_S"), audit.Staff("st_O"), audit.APIKey("st_S")
		record := func(at time.Time, actor audit.Actor, action, subject string, fields ...string) {
			t.Helper()
			f.clock.Set(at)
			details := map[string]any{"purpose": "support", "ticket": "T-1"}
			if fields != nil {
				details["fields"] = fields
			}
			if action == "customer.view" {
				details = map[string]any{"masked": true}
			}
			if _, err := f.log.Append(context.Background(), audit.Entry{Actor: actor, Action: action, Target: audit.Subject(subject),
				Details: audit.MustDetails(details)}); err != nil {
				t.Fatal(err)
			}
		}
		record(t1.Add(-time.Second), s, "vault.reveal", "c6", "iban") // before the window
		record(t1, s, "vault.reveal", "c1", "iban")                   // the window's first instant counts
		record(t1.Add(time.Hour), s, "vault.reveal", "c2", "iban")
		record(t1.Add(2*time.Hour), s, "vault.reveal", "c3", "iban")
		record(t1.Add(2*time.Hour), s, "vault.reveal", "c3", "iban") // twice: once in the set
		record(t1.Add(3*time.Hour), s, "vault.reveal", "c4", "email")
		record(t1.Add(4*time.Hour), s, "vault.detokenize", "c5", "email")
		record(t1.Add(5*time.Hour), s, "customer.view", "c11")
		record(t1.Add(5*time.Hour), other, "vault.reveal", "c8", "iban") // someone else
		record(t1.Add(5*time.Hour), key, "vault.reveal", "c9", "iban")   // a key with S's id
		record(t1.Add(6*time.Hour), s, "vault.put", "c10")               // a write, not a read
		record(t2, s, "vault.reveal", "c7", "iban")                      // the window ends before T2

		f.clock.Set(t2.Add(time.Hour))
		inc := f.open(t, "financial")
		set, err := f.svc.Compute(f.ctx, inc.ID, incident.Method{Kind: incident.MethodAudit, Actor: "staff:st_S", From: t1, To: t2})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"c1", "c11", "c2", "c3", "c4", "c5"}
		if got := members(t, f, set.ID); !slices.Equal(got, want) {
			t.Fatalf("members %v, want %v", got, want)
		}
		if set.Members != len(want) || set.MembersSHA256 != sha(want...) {
			t.Fatalf("set %d members, hash %s", set.Members, set.MembersSHA256)
		}
		if wantCat := map[string]int{"financial": 3, "contact": 2}; !maps.Equal(set.ByCategory, wantCat) {
			t.Errorf("by category %v, want %v", set.ByCategory, wantCat)
		}
		if wantJ := map[string]int{"DE": 1, "US-CA": 1, "unknown": 4}; !maps.Equal(set.ByJurisdiction, wantJ) {
			t.Errorf("by jurisdiction %v, want %v", set.ByJurisdiction, wantJ)
		}
		if set.Parameters["actor"] != "staff:st_S" || set.Method != incident.MethodAudit {
			t.Errorf("parameters %v", set.Parameters)
		}

		// The API key's own accesses are a set of their own.
		byKey, err := f.svc.Compute(f.ctx, inc.ID, incident.Method{Kind: incident.MethodAudit, Actor: "api_key:st_S", From: t1, To: t2})
		if err != nil {
			t.Fatal(err)
		}
		if got := members(t, f, byKey.ID); !slices.Equal(got, []string{"c9"}) {
			t.Fatalf("key's set %v", got)
		}
		sets, err := f.svc.Sets(f.ctx, inc.ID)
		if err != nil || len(sets) != 2 {
			t.Fatalf("%d sets kept, %v", len(sets), err)
		}

		for name, m := range map[string]incident.Method{
			"no actor":       {Kind: incident.MethodAudit, From: t1, To: t2},
			"customer actor": {Kind: incident.MethodAudit, Actor: "subject:c1", From: t1, To: t2},
			"empty window":   {Kind: incident.MethodAudit, Actor: "staff:st_S", From: t2, To: t1},
			"no method":      {},
		} {
			if _, err := f.svc.Compute(f.ctx, inc.ID, m); !errs.Is(err, errs.CodeInvalid) {
				t.Errorf("%s: got %v, want invalid", name, err)
			}
		}
	})
}

// TestInventoryMethod: the vault's subjects with fields of the chosen
// categories, and a connected PostgreSQL system's, in batches smaller than
// the table; its rows found by email resolve through the vault's lookup.
func TestInventoryMethod(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		shopURL := dbtest.PostgresURL(t)
		shop, err := sql.Open("pgx", shopURL)
		if err != nil {
			t.Fatal(err)
		}
		defer shop.Close()
		for _, stmt := range []string{
			`CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id TEXT NOT NULL, card_last4 TEXT)`,
			`INSERT INTO orders VALUES (1, 'x1', '4242'), (2, 'x2', '1111'), (3, 'x1', '4242'), (4, 'b', '0005'), (5, 'x3', '9999')`,
			`CREATE TABLE tickets (id INTEGER PRIMARY KEY, email TEXT NOT NULL, body TEXT)`,
			`INSERT INTO tickets VALUES (1, 'Ada@example.org', 'hi'), (2, 'nobody@example.org', 'hello')`,
			`CREATE TABLE visits (id INTEGER PRIMARY KEY, customer_id TEXT NOT NULL, ip TEXT)`,
			`INSERT INTO visits VALUES (1, 'x9', '192.0.2.1')`,
		} {
			if _, err := shop.Exec(stmt); err != nil {
				t.Fatal(err)
			}
		}
		ds, err := connector.Parse("shop.yaml", []byte(`connector: shop
engine: postgres
dsn_env: SHOP_DB
tables:
  - name: orders
    identifier: {column: customer_id, kind: external_id}
    erase: delete_row
    columns:
      - {name: card_last4, category: financial}
  - name: tickets
    identifier: {column: email, kind: email}
    erase: delete_row
    columns:
      - {name: body, category: health}
  - name: visits
    identifier: {column: customer_id, kind: external_id}
    erase: delete_row
    columns:
      - {name: ip, category: device}
`))
		if err != nil {
			t.Fatal(err)
		}
		f := newFixture(t, store, false, func(c *incident.Config) {
			c.Connectors = []*connector.Dataset{ds}
			c.Getenv = func(k string) string { return map[string]string{"SHOP_DB": shopURL}[k] }
			c.Batch = 2
		})
		f.put(t, "a", "email", "contact")
		f.put(t, "b", "iban", "financial")
		f.put(t, "c", "diagnosis", "health")
		f.put(t, "d", "home", "location")
		if _, err := f.vault.Put(audit.WithActor(context.Background(), audit.System()), "a",
			vaultField("email", "contact", "ada@example.org")); err != nil {
			t.Fatal(err)
		}
		inc := f.open(t, "financial", "health")

		set, err := f.svc.Compute(f.ctx, inc.ID, incident.Method{Kind: incident.MethodInventory})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"a", "b", "c", "x1", "x2", "x3"}
		if got := members(t, f, set.ID); !slices.Equal(got, want) {
			t.Fatalf("members %v, want %v", got, want)
		}
		if set.Unresolved != 1 || set.MembersSHA256 != sha(want...) {
			t.Errorf("unresolved %d, hash %s", set.Unresolved, set.MembersSHA256)
		}
		if wantCat := map[string]int{"financial": 4, "health": 2}; !maps.Equal(set.ByCategory, wantCat) {
			t.Errorf("by category %v, want %v", set.ByCategory, wantCat)
		}

		vaultOnly, err := f.svc.Compute(f.ctx, inc.ID, incident.Method{Kind: incident.MethodInventory, Systems: []string{incident.VaultSystem}})
		if err != nil {
			t.Fatal(err)
		}
		if got := members(t, f, vaultOnly.ID); !slices.Equal(got, []string{"b", "c"}) {
			t.Fatalf("vault only: %v", got)
		}
		if _, err := f.svc.Compute(f.ctx, inc.ID, incident.Method{Kind: incident.MethodInventory, Categories: []string{"Bad Key"}}); !errs.Is(err, errs.CodeInvalid) {
			t.Fatalf("bad category: %v", err)
		}
	})
}

// TestUploadAndErasure: uploaded external ids resolve to the subjects
// Steward knows (the rest are counted, never kept); an erasure removes the
// subject from every stored set and counts it there.
func TestUploadAndErasure(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store, false)
		f.put(t, "a", "iban", "financial")
		f.put(t, "b", "email", "contact")
		f.consentFrom(t, 1, "e", "US-TX") // known to the ledger only
		inc := f.open(t)
		upload := []string{"b", "a", "zz-unknown", "a", "e"}
		set, err := f.svc.Compute(f.ctx, inc.ID, incident.Method{Kind: incident.MethodUpload, ExternalIDs: upload})
		if err != nil {
			t.Fatal(err)
		}
		if got := members(t, f, set.ID); !slices.Equal(got, []string{"a", "b", "e"}) || set.Unresolved != 1 {
			t.Fatalf("members %v, unresolved %d", got, set.Unresolved)
		}
		if params := strings.Join(slices.Collect(maps.Keys(set.Parameters)), ","); strings.Contains(params, "external_ids") || set.Parameters["uploaded"] != 4 {
			t.Fatalf("parameters %v", set.Parameters)
		}
		if wantCat := map[string]int{"financial": 1, "contact": 1}; !maps.Equal(set.ByCategory, wantCat) {
			t.Errorf("by category %v", set.ByCategory)
		}
		again, err := f.svc.Compute(f.ctx, inc.ID, incident.Method{Kind: incident.MethodUpload, ExternalIDs: []string{"a"}})
		if err != nil {
			t.Fatal(err)
		}

		n, err := f.svc.Forget(context.Background(), "a")
		if err != nil || n != 2 {
			t.Fatalf("forget: %d sets, %v", n, err)
		}
		if got := members(t, f, set.ID); !slices.Equal(got, []string{"b", "e"}) {
			t.Fatalf("after erasure %v", got)
		}
		sets, _ := f.svc.Sets(f.ctx, inc.ID)
		for _, s := range sets {
			if s.Erased != 1 {
				t.Errorf("set %s counts %d erased", s.ID, s.Erased)
			}
		}
		if n, _ := f.svc.Forget(context.Background(), "a"); n != 0 {
			t.Fatalf("forgot again: %d", n)
		}
		if dbtest.RawHits(t, store, "zz-unknown") != 0 {
			t.Fatal("an uploaded id that matched nobody is stored")
		}
		_ = again
	})
}
