package inventory_test

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/inventory"
)

var fixedNow = time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)

// TestROPA: the record names the controller and, per purpose, its legal
// basis, the subjects, the data with its retention (the longer of the
// category's and the purpose's), the recipients, and the transfers outside
// the EEA with their safeguard.
func TestROPA(t *testing.T) {
	m := inventory.Build(inventory.Inputs{Categories: vocabulary(), Purposes: purposes(), Vendors: vendors(),
		Datasets: []*connector.Dataset{shopDataset()},
		Facts:    map[string]inventory.Facts{"shop": {Owner: "Web team", SecurityMeasures: "TLS; disk encryption"}}})
	r := inventory.BuildROPA(m, inventory.Controller{Name: "Example Shop GmbH", Email: "privacy@shop.example"}, fixedNow)
	if r.Controller.Name != "Example Shop GmbH" || !r.GeneratedAt.Equal(fixedNow) || len(r.Activities) != 2 {
		t.Fatalf("record = %+v", r)
	}
	cases := []struct {
		purpose, basis string
		subjects       []string
		retention      map[string]int
		recipients     []string
		transfers      []inventory.Transfer
	}{
		{"billing", "legal_obligation", []string{"customers"}, map[string]int{"contact": 3653, "financial": 3653},
			[]string{"bank-de", "cloud-ch"}, []inventory.Transfer{{Recipient: "cloud-ch", Country: "CH", Safeguard: "adequacy"}}},
		{"marketing", "consent", []string{"customers", "visitors"}, map[string]int{"contact": 365, "identifier": 0, "device": 0},
			[]string{"mailer-us", "nowhere"}, []inventory.Transfer{{Recipient: "mailer-us", Country: "US", Safeguard: ""}}},
	}
	for i, want := range cases {
		t.Run(want.purpose, func(t *testing.T) {
			a := r.Activities[i]
			retention := map[string]int{}
			for _, c := range a.DataCategories {
				retention[c.Key] = c.RetentionDays
			}
			var recipients []string
			for _, rc := range a.Recipients {
				recipients = append(recipients, rc.Key)
			}
			if a.Purpose != want.purpose || a.LegalBasis != want.basis || !slices.Equal(a.SubjectCategories, want.subjects) ||
				!equalMaps(retention, want.retention) || !slices.Equal(recipients, want.recipients) || !slices.Equal(a.Transfers, want.transfers) {
				t.Errorf("activity = %+v\nretention %v recipients %v", a, retention, recipients)
			}
		})
	}
	shop := find(t, r.Systems, func(s inventory.SystemRecord) string { return s.Key }, "shop")
	if shop.Owner != "Web team" || shop.SecurityMeasures != "TLS; disk encryption" {
		t.Errorf("shop in the record = %+v", shop)
	}
}

func equalMaps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestWriteCSV: the record as RFC 4180 CSV that a spreadsheet reads back
// as written, every formula-looking cell defused.
func TestWriteCSV(t *testing.T) {
	m := inventory.Build(inventory.Inputs{Categories: vocabulary(), Purposes: purposes(), Vendors: vendors(),
		Datasets: []*connector.Dataset{shopDataset()},
		Facts: map[string]inventory.Facts{"shop": {Owner: "=HYPERLINK(\"http://evil.example\",\"x\")", Description: "line one\nline two",
			SecurityMeasures: "@SUM(1+1), \"quoted\""}}})
	r := inventory.BuildROPA(m, inventory.Controller{Name: "+Shop"}, fixedNow)
	var buf bytes.Buffer
	if err := inventory.WriteCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\r\n") {
		t.Errorf("lines do not end in CRLF")
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if len(rows) != 1+2+4 || rows[0][0] != "section" {
		t.Fatalf("rows = %d, header %q; want a header, 2 activities and 4 systems", len(rows), rows[0])
	}
	for _, row := range rows {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %q starts like a formula", cell)
			}
		}
	}
	shop := rows[slices.IndexFunc(rows, func(row []string) bool { return row[1] == "shop" })]
	if shop[11] != "'=HYPERLINK(\"http://evil.example\",\"x\")" || shop[13] != "'@SUM(1+1), \"quoted\"" || shop[14] != "'+Shop" {
		t.Errorf("shop row = %q", shop)
	}
	billing := rows[1]
	if billing[1] != "billing" || billing[8] != "cloud-ch CH: adequacy" || billing[9] != "purpose=3653; contact=3653; financial=3653" {
		t.Errorf("billing row = %q", billing)
	}
	if marketing := rows[2]; marketing[8] != "mailer-us US: none recorded" {
		t.Errorf("marketing transfers = %q", marketing[8])
	}
}

func TestCell(t *testing.T) {
	for in, want := range map[string]string{"": "", "=1+1": "'=1+1", "+49 30": "'+49 30", "-x": "'-x", "@a": "'@a", "\tx": "'\tx",
		"\rx": "'\rx", "plain": "plain", "a=b": "a=b"} {
		if got := inventory.Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}
