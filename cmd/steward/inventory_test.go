package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/receipt"
)

// TestInventoryROPACommand: `steward inventory ropa` prints the record of
// processing from the store's catalog and the dataset files, as JSON or
// as CSV, on both engines; another format is one line on stderr and a
// non-zero exit, with nothing on stdout.
func TestInventoryROPACommand(t *testing.T) {
	t.Parallel()
	connectors := t.TempDir()
	shop, err := os.ReadFile("../../internal/connector/testdata/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(connectors, "shop.yaml"), shop, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			dir := t.TempDir()
			// A migrated store, as the command's own migration would leave
			// it: what is tested here is the command, not migrating.
			url := "sqlite:" + dir + "/steward.db"
			if dialect == db.Postgres {
				url = dbtest.MigratedPostgresURL(t)
			} else {
				dbtest.CopySQLiteTemplate(t, dir+"/steward.db")
			}
			cli := func(args ...string) (string, string, error) {
				var out, errOut bytes.Buffer
				args = append(args, "--data-dir", dir, "--database", url, "--connectors", connectors, "--controller-name", "Example Shop GmbH")
				err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
				return out.String(), errOut.String(), err
			}
			// The first run migrates the store; the catalog has no purposes yet.
			out, _, err := cli("inventory", "ropa")
			if err != nil {
				t.Fatal(err)
			}
			var record struct {
				Controller struct{ Name string }
				Activities []struct {
					Purpose   string
					Transfers []struct{ Recipient, Country, Safeguard string }
				}
				Systems []struct{ Key string }
			}
			if err := json.Unmarshal([]byte(out), &record); err != nil || record.Controller.Name != "Example Shop GmbH" || len(record.Activities) != 0 ||
				len(record.Systems) != 4 || record.Systems[3].Key != "shop" {
				t.Fatalf("empty record = %+v, %v\n%s", record, err, out)
			}
			seedCatalog(t, url)
			if out, _, err = cli("inventory", "ropa", "--format", "json"); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(out), &record); err != nil || len(record.Activities) != 1 || len(record.Activities[0].Transfers) != 1 ||
				record.Activities[0].Transfers[0].Safeguard != "scc" {
				t.Fatalf("record = %+v, %v", record, err)
			}
			out, _, err = cli("inventory", "ropa", "--format", "csv")
			if err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil || len(rows) != 1+1+4 {
				t.Fatalf("CSV = %d rows, %v\n%s", len(rows), err, out)
			}
			billing := rows[slices.IndexFunc(rows, func(r []string) bool { return r[1] == "billing" })]
			if billing[3] != "legal_obligation" || billing[8] != "bank-us US: scc" || !strings.Contains(billing[10], "shop") {
				t.Errorf("billing row = %q", billing)
			}

			out, errOut, err := cli("inventory", "ropa", "--format", "xml")
			if err == nil || !strings.Contains(err.Error(), "--format") || out != "" || strings.Contains(errOut, "\n\n") {
				t.Errorf("--format xml: %q %q %v", out, errOut, err)
			}
			if _, _, err := cli("inventory"); !errors.Is(err, errUsage) {
				t.Errorf("inventory without a command: %v", err)
			}
		})
	}
}

// seedCatalog adds a purpose and a vendor outside the EEA to the catalog
// of the store at url, as the API would.
func seedCatalog(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	store, err := db.Open(ctx, url, "")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	signer, err := receipt.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := consent.Open(ctx, consent.Config{DB: store, Signer: signer, FollowInterval: -1, Audit: log})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	ethicstest.OpenPurposes(t, svc)
	if _, err := svc.PutPurpose(ctx, consent.Purpose{Key: "billing", Names: map[string]string{"en": "Billing"},
		LegalBasis: consent.BasisLegalObligation, RetentionDays: 3653}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutVendor(ctx, consent.Vendor{Key: "bank-us", Name: "Bank US", Purposes: []string{"billing"},
		DataCategories: []string{"financial", "contact"}, Country: "US", TransferSafeguard: consent.SafeguardSCC}, true); err != nil {
		t.Fatal(err)
	}
}
