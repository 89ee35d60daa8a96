package retention_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/retention"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

// Synthetic customers: Ada is held from the start, Bob is not.
const (
	ada = "cust-ada-4711"
	bob = "cust-bob-4712"
)

var day0 = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)

func at(days int, d time.Duration) time.Time { return day0.AddDate(0, 0, days).Add(d) }

type fixture struct {
	svc        *retention.Service
	clock      *clock
	vault      *vault.Vault
	log        *audit.Log
	store      *db.DB
	shop, crm  *external
	secretText []string // every personal value of the fixture
}

// newFixture: Steward's store, a vault with Ada's and Bob's IBANs
// (financial: 30 days), a PostgreSQL shop whose sessions are kept 30 days
// and a MariaDB CRM whose sessions are kept 30 days but serve billing,
// which the catalog keeps 45 days: the longer need wins.
func newFixture(t *testing.T, store *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{clock: &clock{t: day0}, store: store}
	f.vault = vaulttest.Open(t, store, func(c *vault.Config) { c.Now = f.clock.Now })
	t.Cleanup(func() { f.vault.Close() })
	var err error
	if f.log, err = audit.New(audit.Config{DB: store}); err != nil {
		t.Fatal(err)
	}
	for subject, iban := range map[string]string{ada: "DE89 3704 0044 0532 0130 00", bob: "FR76 3000 6000 0112 3456 7890 189"} {
		if _, err := f.vault.Put(ctx, subject, vault.Field{Name: "iban", Category: "financial", Value: []byte(iban)}); err != nil {
			t.Fatal(err)
		}
		f.secretText = append(f.secretText, iban, subject)
	}
	f.shop, f.crm = openExternal(t, connector.Postgres), openExternal(t, connector.MySQL)
	ts := map[*external]string{f.shop: "TIMESTAMPTZ", f.crm: "DATETIME"}
	for _, x := range []*external{f.shop, f.crm} {
		x.exec(t, `CREATE TABLE ${p}sessions (id INTEGER PRIMARY KEY, customer_id VARCHAR(64), ip VARCHAR(64), created_at `+ts[x]+` NOT NULL)`,
			`INSERT INTO ${p}sessions VALUES (1, '`+ada+`', '198.51.100.7', '2026-01-01 10:00:00'), (2, '`+bob+`', '198.51.100.8', '2026-01-01 10:00:00'),
			(3, '`+bob+`', '198.51.100.9', '2026-01-01 10:00:00'), (4, NULL, '198.51.100.10', '2026-01-01 10:00:00')`)
	}
	f.secretText = append(f.secretText, "198.51.100.")
	env := map[string]string{"SHOP_DB": f.shop.dsn, "CRM_DB": f.crm.dsn}
	f.svc, err = retention.New(retention.Config{DB: store, Audit: f.log, Vault: f.vault, Now: f.clock.Now,
		Catalog:    catalog{categories: map[string]int{"financial": 30}, purposes: map[string]int{"billing": 45}},
		Connectors: []*connector.Dataset{f.shop.dataset(t, "shop", "30d", ""), f.crm.dataset(t, "crm", "30d", "billing")},
		Getenv:     func(k string) string { return env[k] }, Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// counts renders a report's counts: "system/table/category action rows".
func counts(r retention.Report) string {
	var out []string
	for _, l := range r.Lines {
		table := l.Table
		if i := strings.Index(table, "_sessions"); i >= 0 {
			table = "sessions" // MariaDB's prefix
		}
		out = append(out, l.System+"/"+table+"/"+l.Category+" "+l.Action+" "+itoa(l.Rows))
	}
	return strings.Join(out, ", ")
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func (f *fixture) run(t *testing.T, dry bool) retention.Report {
	t.Helper()
	r, err := f.svc.Run(audit.WithActor(context.Background(), audit.System()), dry)
	if err != nil {
		t.Fatalf("run (dry %v): %v", dry, err)
	}
	return r
}

// TestRunOnTheRightDay: vault fields and rows of a connected PostgreSQL and
// MariaDB table go on the day their retention ends and not the day before;
// the purpose's longer retention wins; a legal hold keeps the held
// customer's data until it is lifted; a dry run reports what the run then
// does and changes nothing; no report and no audit entry holds personal
// data. On both engines of Steward's own store.
func TestRunOnTheRightDay(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		staff := audit.WithActor(context.Background(), audit.Staff("stf_dpo"))
		if _, err := f.svc.PlaceHold(staff, ada, "Claim 2026-17 before the labour court"); err != nil {
			t.Fatal(err)
		}
		nothing := "shop/sessions/device delete 0, crm/sessions/device delete 0"

		// Day 30, an hour before the IBANs' and the shop's 30 days end.
		f.clock.Set(at(30, -time.Hour))
		if got := counts(f.run(t, false)); got != nothing {
			t.Fatalf("the day before: %s", got)
		}
		if f.shop.count(t, "1=1") != 4 || f.crm.count(t, "1=1") != 4 {
			t.Fatal("rows went before their day")
		}

		// Day 30, an hour after: Bob's IBAN and his shop sessions (and the
		// session of nobody) go; Ada is held; the CRM keeps 45 days.
		f.clock.Set(at(30, time.Hour))
		want := "vault//financial purge 1, shop/sessions/device delete 3, crm/sessions/device delete 0"
		dry := f.run(t, true)
		if got := counts(dry); got != want {
			t.Fatalf("dry run: %s, want %s", got, want)
		}
		if f.shop.count(t, "1=1") != 4 {
			t.Fatal("the dry run deleted rows")
		}
		if _, err := f.vault.Get(context.Background(), bob, "iban"); err != nil {
			t.Fatalf("the dry run destroyed a field: %v", err)
		}
		if got := counts(f.run(t, false)); got != want {
			t.Fatalf("run: %s, the dry run said %s", got, want)
		}
		if _, err := f.vault.Get(context.Background(), bob, "iban"); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("Bob's IBAN after its retention: %v", err)
		}
		if _, err := f.vault.Get(context.Background(), ada, "iban"); err != nil {
			t.Fatalf("Ada's held IBAN: %v", err)
		}
		if f.shop.count(t, "customer_id = '"+ada+"'") != 1 || f.shop.count(t, "1=1") != 1 {
			t.Fatal("the shop kept other rows than the held customer's")
		}

		// Day 45: the CRM's billing retention ends; Ada still held.
		f.clock.Set(at(45, -time.Hour))
		if got := counts(f.run(t, false)); got != nothing {
			t.Fatalf("the day before the CRM's: %s", got)
		}
		f.clock.Set(at(45, time.Hour))
		if got, want := counts(f.run(t, false)), "shop/sessions/device delete 0, crm/sessions/device delete 3"; got != want {
			t.Fatalf("the CRM's day: %s, want %s", got, want)
		}

		// The hold lifted: Ada's data goes at the next run.
		if _, err := f.svc.LiftHold(staff, ada); err != nil {
			t.Fatal(err)
		}
		if got, want := counts(f.run(t, false)), "vault//financial purge 1, shop/sessions/device delete 1, crm/sessions/device delete 1"; got != want {
			t.Fatalf("after the hold: %s, want %s", got, want)
		}

		// No personal data in the reports or the audit log's entries.
		runs, err := f.svc.Runs(context.Background(), time.Time{}, 0)
		if err != nil || len(runs) != 6 {
			t.Fatalf("runs = %d, %v; want 6", len(runs), err)
		}
		body, _ := json.Marshal(runs)
		page, err := f.log.Search(context.Background(), audit.Query{Action: retention.ActionRun, Limit: 100})
		if err != nil || len(page.Entries) != 6 {
			t.Fatalf("audit entries of runs: %d, %v", len(page.Entries), err)
		}
		entries, _ := json.Marshal(page.Entries)
		for _, secret := range f.secretText {
			if strings.Contains(string(body), secret) || strings.Contains(string(entries), secret) {
				t.Errorf("a report or an audit entry holds %q", secret)
			}
		}
		dryRuns, unheld := 0, 0
		for _, r := range runs {
			if r.DryRun {
				dryRuns++
			}
			if r.Held == 0 {
				unheld++
			}
		}
		if dryRuns != 1 || unheld != 1 {
			t.Errorf("%d dry runs and %d runs without a hold, want 1 and 1", dryRuns, unheld)
		}
	})
}
