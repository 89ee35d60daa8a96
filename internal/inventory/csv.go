package inventory

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// csvHeader names the columns of the record as CSV: one row per
// processing activity, then one per system (section "system").
var csvHeader = []string{"section", "key", "name", "legal_basis", "subject_categories", "data_categories", "special_categories",
	"recipients", "third_country_transfers", "retention_days", "systems", "owner", "location", "security_measures",
	"controller", "generated_at"}

// WriteCSV writes r as CSV (RFC 4180, CRLF line ends): one row per
// activity and one per system, lists joined with "; ". A cell that a
// spreadsheet would read as a formula is defused (Cell).
func WriteCSV(w io.Writer, r ROPA) error {
	out := csv.NewWriter(w)
	out.UseCRLF = true
	generated := r.GeneratedAt.UTC().Format(time.RFC3339)
	rows := [][]string{csvHeader}
	for _, a := range r.Activities {
		var cats, special, recipients, transfers []string
		retention := []string{}
		for _, c := range a.DataCategories {
			cats = append(cats, c.Key)
			if c.Special {
				special = append(special, c.Key)
			}
			if c.RetentionDays > 0 {
				retention = append(retention, c.Key+"="+strconv.Itoa(c.RetentionDays))
			}
		}
		if a.RetentionDays > 0 {
			retention = append([]string{"purpose=" + strconv.Itoa(a.RetentionDays)}, retention...)
		}
		for _, rc := range a.Recipients {
			recipients = append(recipients, rc.Name+" ("+rc.Country+")")
		}
		for _, t := range a.Transfers {
			safeguard := t.Safeguard
			if safeguard == "" {
				safeguard = "none recorded"
			}
			transfers = append(transfers, t.Recipient+" "+t.Country+": "+safeguard)
		}
		rows = append(rows, []string{"activity", a.Purpose, a.Names["en"], a.LegalBasis, join(a.SubjectCategories), join(cats), join(special),
			join(recipients), join(transfers), join(retention), join(a.Systems), "", "", "", r.Controller.Name, generated})
	}
	for _, s := range r.Systems {
		rows = append(rows, []string{"system", s.Key, string(s.Kind), "", "", join(s.Categories), "", "", "", "", "",
			s.Owner, s.Location, s.SecurityMeasures, r.Controller.Name, generated})
	}
	for _, row := range rows {
		for i := range row {
			row[i] = Cell(row[i])
		}
		if err := out.Write(row); err != nil {
			return fmt.Errorf("write record of processing: %w", err)
		}
	}
	out.Flush()
	if err := out.Error(); err != nil {
		return fmt.Errorf("write record of processing: %w", err)
	}
	return nil
}

func join(items []string) string { return strings.Join(items, "; ") }

// Cell makes a value safe for a spreadsheet: a cell that begins with =,
// +, -, @, a tab or a carriage return is read as a formula by Excel,
// LibreOffice and Sheets (CSV injection), so it is prefixed with a quote.
// Officers' free text (an owner, security measures) reaches the record.
func Cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
