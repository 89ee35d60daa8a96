package drift

import (
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// TestSnippet: the YAML the console shows parses, once added to the
// dataset file, and then declares the column (so the next scan closes the
// finding); a table new to the file gets a whole entry; a name no dataset
// file can hold is said to be so.
func TestSnippet(t *testing.T) {
	ds, err := connector.Parse("shop.yaml", []byte(strings.ReplaceAll(shopDataset, "${engine}", "sqlite")))
	if err != nil {
		t.Fatal(err)
	}
	ds.File = "/etc/steward/connectors/shop.yaml"
	f := newFixture(t, dbtest.Open(t, db.SQLite), []*connector.Dataset{ds}, nil, false)
	if jobs := f.svc.PeriodicJobs(); len(jobs) != 1 || jobs[0].Name != "drift.scan" || jobs[0].Interval != ScanEvery {
		t.Errorf("periodic jobs: %+v", jobs)
	}
	for _, tc := range []struct {
		finding    Finding
		inTable    bool
		declarable bool
	}{
		{Finding{System: "shop", Table: "customers", Column: "phone"}, true, true},
		{Finding{System: "shop", Table: "signups", Column: "telefon"}, false, true},
		{Finding{System: "shop", Table: "signups", Column: "E-Mail Adresse"}, false, false},
	} {
		s := f.svc.Snippet(tc.finding, Contact)
		if s.File != ds.File || s.InTable != tc.inTable || s.Declarable != tc.declarable {
			t.Errorf("%s: %+v", tc.finding.Column, s)
			continue
		}
		if !tc.declarable {
			continue
		}
		edited := strings.ReplaceAll(shopDataset, "${engine}", "sqlite")
		if tc.inTable {
			edited += s.YAML
		} else {
			edited += strings.ReplaceAll(s.YAML, "CUSTOMER_ID_COLUMN", "id")
		}
		parsed, err := connector.Parse("shop.yaml", []byte(edited))
		if err != nil {
			t.Errorf("%s: the file with the snippet does not parse: %v\n%s", tc.finding.Column, err, edited)
			continue
		}
		if !DeclaredColumns(parsed)[ColumnRef{tc.finding.Table, tc.finding.Column}] {
			t.Errorf("%s: the snippet does not declare the column", tc.finding.Column)
		}
	}
	if s := f.svc.Snippet(Finding{System: "gone", Table: "t", Column: "email"}, Contact); s.File != "" {
		t.Errorf("a system Steward does not load: %+v", s)
	}
	if jobs := (&Service{}).PeriodicJobs(); len(jobs) != 0 {
		t.Errorf("periodic jobs without systems: %+v", jobs)
	}
}
