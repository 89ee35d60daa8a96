package transparency

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/db"
)

// Version is one version of the page: what it stated changed then.
type Version struct {
	Number      int       `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	ContentHash string    `json:"content_hash"`
	Changes     []Change  `json:"changes"`
}

// Change is one difference from the version before: an item of a section
// added, removed or changed (Key names the item; a section without items,
// such as the company, has none).
type Change struct {
	Section string `json:"section"`
	Kind    string `json:"kind"`
	Key     string `json:"key,omitempty"`
}

// The kinds of change.
const (
	ChangeAdded   = "added"
	ChangeRemoved = "removed"
	ChangeChanged = "changed"
)

// versions keeps the versions in transparency_versions.
type versions struct{ db *db.DB }

// record returns the version whose content is content: the latest when its
// hash is the latest's, else a new one numbered after it, with its changes
// against the latest. Two replicas adding the same content together both
// end up with the one row the first wrote.
func (v versions) record(ctx context.Context, hash string, content []byte, now time.Time) (Version, error) {
	for attempt := 0; ; attempt++ {
		out, err := v.add(ctx, hash, content, now)
		// A lost race for the next number: read again, once.
		if err == nil || attempt > 0 || !db.IsUniqueViolation(err) {
			return out, err
		}
	}
}

func (v versions) add(ctx context.Context, hash string, content []byte, now time.Time) (Version, error) {
	// Most rebuilds change nothing: answer those with a read, without
	// taking the store's write lock.
	if latest, err := v.latestIf(ctx, hash); err != nil || latest.Number > 0 {
		return latest, err
	}
	var out Version
	err := v.db.Tx(ctx, func(tx *sql.Tx) error {
		var (
			latest           Version
			latestContent    string
			changes, created = "", int64(0)
		)
		err := tx.QueryRowContext(ctx, `SELECT version, created_at, content_hash, content, changes FROM transparency_versions
			ORDER BY version DESC LIMIT 1`).Scan(&latest.Number, &created, &latest.ContentHash, &latestContent, &changes)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("latest version: %w", err)
		case latest.ContentHash == hash:
			latest.CreatedAt = time.UnixMicro(created).UTC()
			if err := json.Unmarshal([]byte(changes), &latest.Changes); err != nil {
				return fmt.Errorf("version %d changes: %w", latest.Number, err)
			}
			out = latest
			return nil
		}
		var diff []Change
		if latest.Number > 0 {
			if diff, err = changesBetween([]byte(latestContent), content); err != nil {
				return fmt.Errorf("version %d: %w", latest.Number, err)
			}
		}
		if diff == nil {
			diff = []Change{}
		}
		encoded, err := json.Marshal(diff)
		if err != nil {
			return fmt.Errorf("encode changes: %w", err)
		}
		out = Version{Number: latest.Number + 1, CreatedAt: now.UTC().Truncate(time.Microsecond), ContentHash: hash, Changes: diff}
		if _, err := tx.ExecContext(ctx, `INSERT INTO transparency_versions (version, created_at, content_hash, content, changes)
			VALUES ($1, $2, $3, $4, $5)`, out.Number, now.UnixMicro(), hash, string(content), string(encoded)); err != nil {
			return fmt.Errorf("add version %d: %w", out.Number, err)
		}
		return nil
	})
	if err != nil {
		return Version{}, fmt.Errorf("transparency version: %w", db.Classify(err))
	}
	return out, nil
}

// latestIf returns the latest version when its hash is hash, else a zero
// Version.
func (v versions) latestIf(ctx context.Context, hash string) (Version, error) {
	var latest Version
	var created int64
	var changes string
	err := v.db.QueryRowContext(ctx, `SELECT version, created_at, content_hash, changes FROM transparency_versions
		ORDER BY version DESC LIMIT 1`).Scan(&latest.Number, &created, &latest.ContentHash, &changes)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Version{}, nil
	case err != nil:
		return Version{}, fmt.Errorf("transparency version: %w", db.Classify(err))
	case latest.ContentHash != hash:
		return Version{}, nil
	}
	latest.CreatedAt = time.UnixMicro(created).UTC()
	if err := json.Unmarshal([]byte(changes), &latest.Changes); err != nil {
		return Version{}, fmt.Errorf("transparency version %d changes: %w", latest.Number, err)
	}
	return latest, nil
}

// list returns the versions, the latest first.
func (v versions) list(ctx context.Context, limit int) ([]Version, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT version, created_at, content_hash, changes FROM transparency_versions
		ORDER BY version DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("transparency versions: %w", err)
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		var ver Version
		var created int64
		var changes string
		if err := rows.Scan(&ver.Number, &created, &ver.ContentHash, &changes); err != nil {
			return nil, fmt.Errorf("transparency versions: %w", err)
		}
		ver.CreatedAt = time.UnixMicro(created).UTC()
		if err := json.Unmarshal([]byte(changes), &ver.Changes); err != nil {
			return nil, fmt.Errorf("transparency version %d changes: %w", ver.Number, err)
		}
		out = append(out, ver)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("transparency versions: %w", err)
	}
	return out, nil
}

// changesBetween lists, section by section, what differs between two
// contents (each the JSON of a Content).
func changesBetween(before, after []byte) ([]Change, error) {
	var a, b map[string]json.RawMessage
	if err := json.Unmarshal(before, &a); err != nil {
		return nil, fmt.Errorf("read earlier content: %w", err)
	}
	if err := json.Unmarshal(after, &b); err != nil {
		return nil, fmt.Errorf("read content: %w", err)
	}
	var out []Change
	for _, section := range sections {
		if bytes.Equal(a[section.name], b[section.name]) {
			continue
		}
		if section.key == "" {
			out = append(out, Change{Section: section.name, Kind: ChangeChanged})
			continue
		}
		old, err := itemsByKey(a[section.name], section.key)
		if err != nil {
			return nil, err
		}
		cur, err := itemsByKey(b[section.name], section.key)
		if err != nil {
			return nil, err
		}
		for _, k := range cur.order {
			switch prev, ok := old.items[k]; {
			case !ok:
				out = append(out, Change{Section: section.name, Kind: ChangeAdded, Key: k})
			case !bytes.Equal(prev, cur.items[k]):
				out = append(out, Change{Section: section.name, Kind: ChangeChanged, Key: k})
			}
		}
		for _, k := range old.order {
			if _, ok := cur.items[k]; !ok {
				out = append(out, Change{Section: section.name, Kind: ChangeRemoved, Key: k})
			}
		}
	}
	return out, nil
}

// sections are the parts of a Content compared, in page order, with the
// field that names an item of a list ("" for a section that is one item).
var sections = []struct{ name, key string }{
	{"company", ""}, {"purposes", "key"}, {"categories", "key"}, {"vendors", "key"}, {"rights", ""},
	{"incidents", "id"}, {"figures_period", ""}, {"cookies", "property"},
}

// keyed are a list's items by key, with the keys in list order.
type keyed struct {
	items map[string]json.RawMessage
	order []string
}

func itemsByKey(list json.RawMessage, key string) (keyed, error) {
	out := keyed{items: map[string]json.RawMessage{}}
	if len(list) == 0 || string(list) == "null" {
		return out, nil
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(list, &items); err != nil {
		return keyed{}, fmt.Errorf("read list: %w", err)
	}
	for _, item := range items {
		var k string
		if err := json.Unmarshal(item[key], &k); err != nil {
			return keyed{}, fmt.Errorf("read item %s: %w", key, err)
		}
		whole, err := json.Marshal(item)
		if err != nil {
			return keyed{}, fmt.Errorf("item %s: %w", k, err)
		}
		out.items[k] = whole
		out.order = append(out.order, k)
	}
	return out, nil
}
