package connector

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestExternalIDsMatchExactly replays ids that differ from the subject's
// only in case or trailing space, which MySQL and MariaDB compare as equal
// under their default (case-insensitive, PAD SPACE) collations: only the
// exact id is found, exported and erased, on every engine, and the check
// warns of the collation on MySQL.
func TestExternalIDsMatchExactly(t *testing.T) {
	const schema = `CREATE TABLE ${p}members (
  id INTEGER NOT NULL PRIMARY KEY,
  ext VARCHAR(40) ${ci} NOT NULL,
  name VARCHAR(100)
);
CREATE INDEX ${p}members_ext ON ${p}members (ext);
INSERT INTO ${p}members (id, ext, name) VALUES (1, 'Alice', 'the real Alice');
INSERT INTO ${p}members (id, ext, name) VALUES (2, 'alice', 'another customer');
INSERT INTO ${p}members (id, ext, name) VALUES (3, 'ALICE', 'a third');
INSERT INTO ${p}members (id, ext, name) VALUES (4, 'Alice ', 'a fourth');
`
	const dataset = "connector: exact\nengine: sqlite\ndsn_env: DB\ntables:\n" +
		"  - name: members\n    identifier: {column: ext, kind: external_id}\n    erase: delete_row\n" +
		"    columns: [{name: name, category: contact}]\n"
	alice := Identifiers{ExternalIDs: []string{"Alice"}}
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			td := newTestDB(t, engine)
			ci := ""
			if engine == MySQL {
				ci = "CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
			}
			td.exec(t, schema, map[string]string{"ci": ci})
			c := td.open(t, td.dataset(t, dataset))
			ctx := context.Background()

			rec := newRecorder()
			if err := c.Access(ctx, alice, rec); err != nil {
				t.Fatal(err)
			}
			if got := rec.rows[td.prefix+"members"]; !slices.Equal(got, []string{"the real Alice"}) {
				t.Fatalf("access found %q, want only the real Alice", got)
			}
			report, err := c.Erase(ctx, alice, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := steps(td.prefix, report); !slices.Equal(got, []string{"members delete_row 1"}) {
				t.Fatalf("erasure %v, want one row", got)
			}
			if got := td.value(t, "SELECT COUNT(*) FROM ${p}members WHERE id IN (2, 3, 4)"); got != "3" {
				t.Fatalf("%s of the other customers' rows are left, want 3", got)
			}
			if got := td.value(t, "SELECT COUNT(*) FROM ${p}members WHERE id = 1"); got != "0" {
				t.Fatalf("the real Alice's row is still there")
			}

			mismatches, err := c.Check(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var warnings []string
			for _, m := range mismatches {
				if !m.Warning {
					t.Errorf("mismatch %s", m)
				}
				warnings = append(warnings, m.String())
			}
			wantWarning := engine == MySQL
			if got := len(warnings) == 1 && strings.Contains(warnings[0], "utf8mb4_general_ci ignores case"); got != wantWarning {
				t.Fatalf("check warnings %q, want a collation warning: %v", warnings, wantWarning)
			}
		})
	}
}
