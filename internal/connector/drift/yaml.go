package drift

import (
	"fmt"
	"regexp"
)

// plainName is a name a dataset file takes as it is (connector's sqlName).
var plainName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]{0,62}$`)

// Snippet is what to add to a system's dataset file so that it declares
// a finding's column as category: File names the file (empty when Steward
// no longer loads the system), InTable says whether the table is in the
// file already (then YAML is one entry of its columns; else a whole table,
// whose identifier the officer completes), and Declarable is false for a
// name a dataset file cannot hold (the column is then to be renamed, or
// the finding dismissed with that reason).
type Snippet struct {
	File       string
	InTable    bool
	Declarable bool
	YAML       string
}

// Snippet returns what the dataset file needs to declare f as category.
func (s *Service) Snippet(f Finding, category string) Snippet {
	out := Snippet{Declarable: plainName.MatchString(f.Table) && plainName.MatchString(f.Column)}
	column := fmt.Sprintf("{name: %s, category: %s, erase: null}", f.Column, category)
	ds := s.Dataset(f.System)
	if ds != nil {
		out.File = ds.File
		for _, t := range ds.Tables {
			if t.Name != f.Table {
				continue
			}
			out.InTable = true
			if t.Erase == "delete_row" {
				column = fmt.Sprintf("{name: %s, category: %s}", f.Column, category)
			}
		}
	}
	if out.InTable {
		out.YAML = "      - " + column + "\n"
	} else {
		out.YAML = fmt.Sprintf("  - name: %s\n    identifier: {column: CUSTOMER_ID_COLUMN, kind: external_id}\n    columns:\n      - %s\n", f.Table, column)
	}
	return out
}
