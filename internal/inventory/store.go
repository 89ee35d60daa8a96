package inventory

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// Limits of the facts an officer writes.
const (
	maxOwner       = 200
	maxDescription = 4000
	maxMeasures    = 8000
)

var countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)

// normalise trims f and upper-cases its country.
func (f Facts) normalise() Facts {
	f.Owner, f.Description, f.SecurityMeasures = strings.TrimSpace(f.Owner), strings.TrimSpace(f.Description), strings.TrimSpace(f.SecurityMeasures)
	f.Location = strings.ToUpper(strings.TrimSpace(f.Location))
	return f
}

// Validate returns the problems of f by field, or nil.
func (f Facts) Validate() errs.Problems {
	problems := errs.Problems{}
	if utf8.RuneCountInString(f.Owner) > maxOwner || strings.ContainsAny(f.Owner, "\r\n") {
		problems.Add("owner", "one_line_at_most", "max", maxOwner)
	}
	if f.Location != "" && !countryPattern.MatchString(f.Location) {
		problems.Add("location", "country_code_or_empty")
	}
	if utf8.RuneCountInString(f.Description) > maxDescription {
		problems.Add("description", "too_long", "max", maxDescription)
	}
	if utf8.RuneCountInString(f.SecurityMeasures) > maxMeasures {
		problems.Add("security_measures", "too_long", "max", maxMeasures)
	}
	for field, text := range map[string]string{"owner": f.Owner, "description": f.Description, "security_measures": f.SecurityMeasures} {
		if !utf8.ValidString(text) || strings.ContainsRune(text, 0) {
			problems.Add(field, "must_be_text")
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return problems
}

const factColumns = `system_key, owner, location, description, security_measures, updated_at, updated_by`

// readFacts returns every system's facts, by system key.
func readFacts(ctx context.Context, q db.Querier) (map[string]Facts, error) {
	type row struct {
		key string
		Facts
	}
	rows, err := db.QueryAll(ctx, q, `SELECT `+factColumns+` FROM inventory_systems ORDER BY system_key`, nil,
		func(scan func(...any) error) (row, error) {
			var r row
			var updated int64
			if err := scan(&r.key, &r.Owner, &r.Location, &r.Description, &r.SecurityMeasures, &updated, &r.UpdatedBy); err != nil {
				return r, err
			}
			at := time.UnixMicro(updated).UTC()
			r.UpdatedAt = &at
			return r, nil
		})
	if err != nil {
		return nil, fmt.Errorf("read system facts: %w", err)
	}
	out := make(map[string]Facts, len(rows))
	for _, r := range rows {
		out[r.key] = r.Facts
	}
	return out, nil
}

// writeFacts upserts a system's facts and audits the change in the same
// transaction: the entry names the system and the fields that changed,
// never their text (an owner may be a person's name).
func writeFacts(ctx context.Context, log audit.Recorder, key string, f Facts, changed []string) error {
	details, err := audit.NewDetails(map[string]any{"changed": changed})
	if err != nil {
		return err
	}
	actor := audit.ActorFrom(ctx)
	_, err = log.Do(ctx, audit.Entry{Actor: actor, Action: "inventory.system.update", Target: audit.Target{Kind: "system", ID: key}, Details: details},
		func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO inventory_systems (`+factColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (system_key) DO UPDATE SET owner = excluded.owner, location = excluded.location,
				description = excluded.description, security_measures = excluded.security_measures,
				updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
				key, f.Owner, f.Location, f.Description, f.SecurityMeasures, f.UpdatedAt.UnixMicro(), f.UpdatedBy)
			return err
		})
	if err != nil {
		return fmt.Errorf("write facts of system %s: %w", key, err)
	}
	return nil
}
