package incident

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// AccountLanguages are the languages a public account is written in;
// English is required, another left empty is shown in English with a note.
var AccountLanguages = []string{"en", "de", "fr", "es"}

// AccountText is a public account in one language: officers' words about
// the breach, never about a person.
type AccountText struct {
	Title    string `json:"title"`
	Happened string `json:"happened"`
	Done     string `json:"done"`
	// Outcome is what the post-incident review concluded and changed.
	Outcome string `json:"outcome"`
}

func (t AccountText) empty() bool {
	return strings.TrimSpace(t.Title+t.Happened+t.Done+t.Outcome) == ""
}

func (t AccountText) trimmed() AccountText {
	return AccountText{Title: strings.TrimSpace(t.Title), Happened: strings.TrimSpace(t.Happened), Done: strings.TrimSpace(t.Done),
		Outcome: strings.TrimSpace(t.Outcome)}
}

// AccountInput is what an officer publishes: the texts by language.
type AccountInput struct {
	Texts map[string]AccountText `json:"texts"`
}

// Account is one published version of an incident's public account: the
// texts and the counts of the affected set it was published from, frozen.
type Account struct {
	IncidentID string                 `json:"incident_id"`
	Version    int                    `json:"version"`
	Texts      map[string]AccountText `json:"texts"`
	// SetID is the affected set the counts come from; Affected its members,
	// ByCategory and ByJurisdiction its counts, when published.
	SetID          string         `json:"set_id"`
	Affected       int            `json:"affected"`
	ByCategory     map[string]int `json:"by_category"`
	ByJurisdiction map[string]int `json:"by_jurisdiction"`
	PublishedBy    string         `json:"published_by"`
	PublishedAt    time.Time      `json:"published_at"`
	WithdrawnBy    string         `json:"withdrawn_by,omitempty"`
	WithdrawnAt    *time.Time     `json:"withdrawn_at,omitempty"`
	// FirstPublishedAt is when the incident's first version was published.
	FirstPublishedAt time.Time `json:"first_published_at"`
}

// Text returns the account in lang, or in English with fallback set when
// it was not written in lang.
func (a Account) Text(lang string) (text AccountText, fallback bool) {
	if t, ok := a.Texts[lang]; ok && !t.empty() {
		return t, false
	}
	return a.Texts["en"], lang != "en"
}

// Lengths of a public account's texts, in characters.
const (
	MaxAccountTitle = 200
	MaxAccountText  = 5000
)

func (in AccountInput) check() (map[string]AccountText, error) {
	problems := errs.Problems{}
	texts := map[string]AccountText{}
	for lang := range in.Texts {
		if !slices.Contains(AccountLanguages, lang) {
			problems.Add("texts."+lang, "account_language", "languages", strings.Join(AccountLanguages, ", "))
		}
	}
	for _, lang := range AccountLanguages {
		t := in.Texts[lang].trimmed()
		if lang != "en" && t.empty() {
			continue // shown in English, with a note
		}
		field := "texts." + lang + "."
		checkText(problems, field+"title", t.Title, MaxAccountTitle, true, true)
		checkText(problems, field+"happened", t.Happened, MaxAccountText, true, false)
		checkText(problems, field+"done", t.Done, MaxAccountText, true, false)
		checkText(problems, field+"outcome", t.Outcome, MaxAccountText, false, false)
		texts[lang] = t
	}
	if len(problems) > 0 {
		return nil, errs.FieldsKeyed(problems)
	}
	return texts, nil
}

// PreviewAccount returns the account Publish would publish for incident
// id now, without publishing it: the texts checked, the counts of the
// latest affected set.
func (s *Service) PreviewAccount(ctx context.Context, id string, in AccountInput) (Account, error) {
	texts, err := in.check()
	if err != nil {
		return Account{}, err
	}
	var a Account
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		inc, err := get(ctx, tx, id)
		if err != nil {
			return err
		}
		a, err = s.nextAccount(ctx, tx, inc, texts)
		return err
	})
	return a, db.Classify(err)
}

// nextAccount builds the next version of inc's account from texts and the
// latest affected set.
func (s *Service) nextAccount(ctx context.Context, tx *sql.Tx, inc Incident, texts map[string]AccountText) (Account, error) {
	if inc.Status == Draft {
		return Account{}, errs.New(errs.CodeConflict, "a suspected incident is confirmed before an account of it is published").Keyed("publish_draft")
	}
	set, err := latestSet(ctx, tx, inc.ID)
	if errs.Is(err, errs.CodeNotFound) {
		return Account{}, errs.New(errs.CodeConflict, "compute who was affected before publishing: the account gives the counts").Keyed("publish_needs_set")
	}
	if err != nil {
		return Account{}, err
	}
	now := s.clock()
	a := Account{IncidentID: inc.ID, Version: 1, Texts: texts, SetID: set.ID, Affected: set.Members,
		ByCategory: nonNil(set.ByCategory), ByJurisdiction: nonNil(set.ByJurisdiction),
		PublishedBy: audit.ActorFrom(ctx).String(), PublishedAt: now, FirstPublishedAt: now}
	var last sql.NullInt64
	var first sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(version), MIN(published_at) FROM incident_accounts WHERE incident_id = $1`, inc.ID).
		Scan(&last, &first); err != nil {
		return Account{}, fmt.Errorf("incident: account versions: %w", err)
	}
	if last.Valid {
		a.Version = int(last.Int64) + 1
		a.FirstPublishedAt = time.UnixMicro(first.Int64).UTC()
	}
	return a, nil
}

func nonNil(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return maps.Clone(m)
}

// Publish publishes a new version of incident id's public account, by the
// actor in ctx, audited (incident.publish, with the version and counts)
// and on the timeline. Earlier versions are kept; a withdrawn account is
// published again.
func (s *Service) Publish(ctx context.Context, id string, in AccountInput) (Account, error) {
	texts, err := in.check()
	if err != nil {
		return Account{}, err
	}
	var a Account
	err = s.change(ctx, id, ActionPublish, func(ctx context.Context, tx *sql.Tx, cur *Incident) (map[string]any, error) {
		var err error
		if a, err = s.nextAccount(ctx, tx, *cur, texts); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO incident_accounts (incident_id, version, texts, set_id, affected, by_category, by_jurisdiction,
			published_by, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			a.IncidentID, a.Version, mustJSON(a.Texts), a.SetID, a.Affected, mustJSON(a.ByCategory), mustJSON(a.ByJurisdiction),
			a.PublishedBy, a.PublishedAt.UnixMicro()); err != nil {
			return nil, fmt.Errorf("incident: publish account: %w", err)
		}
		return map[string]any{"version": a.Version, "set": a.SetID, "affected": a.Affected, "languages": slices.Sorted(maps.Keys(a.Texts))},
			s.addAction(ctx, tx, id, ActPublished, fmt.Sprintf("version %d", a.Version))
	})
	return a, err
}

// Withdraw takes incident id's public account off the transparency pages,
// by the actor in ctx, audited (incident.withdraw) and on the timeline. Its
// versions are kept; publishing again shows it again.
func (s *Service) Withdraw(ctx context.Context, id string) (Account, error) {
	var a Account
	err := s.change(ctx, id, ActionWithdraw, func(ctx context.Context, tx *sql.Tx, cur *Incident) (map[string]any, error) {
		accounts, err := accountsOf(ctx, tx, `WHERE incident_id = $1`, []any{id})
		if err != nil {
			return nil, err
		}
		if len(accounts) == 0 || accounts[0].WithdrawnAt != nil {
			return nil, errs.New(errs.CodeConflict, "no account of this incident is published").Keyed("account_not_published")
		}
		a = accounts[0]
		now := s.clock()
		a.WithdrawnBy, a.WithdrawnAt = audit.ActorFrom(ctx).String(), &now
		if _, err := tx.ExecContext(ctx, `UPDATE incident_accounts SET withdrawn_by = $3, withdrawn_at = $4 WHERE incident_id = $1 AND version = $2`,
			id, a.Version, a.WithdrawnBy, now.UnixMicro()); err != nil {
			return nil, fmt.Errorf("incident: withdraw account: %w", err)
		}
		return map[string]any{"version": a.Version}, s.addAction(ctx, tx, id, ActWithdrawn, fmt.Sprintf("version %d", a.Version))
	})
	return a, err
}

// Accounts returns every version of incident id's public account, newest
// first.
func (s *Service) Accounts(ctx context.Context, id string) ([]Account, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	out, err := accountsOf(ctx, s.db, `WHERE incident_id = $1`, []any{id})
	return out, db.Classify(err)
}

// latestVersion narrows accounts to each incident's latest version.
const latestVersion = `version = (SELECT MAX(version) FROM incident_accounts b WHERE b.incident_id = incident_accounts.incident_id)`

// Published returns the public accounts shown on the transparency pages:
// each incident's latest version, unless withdrawn, the latest published
// first.
func (s *Service) Published(ctx context.Context) ([]Account, error) {
	out, err := accountsOf(ctx, s.db, `WHERE `+latestVersion+` AND withdrawn_at IS NULL`, nil)
	return out, db.Classify(err)
}

// PublishedAccount returns incident id's public account as the
// transparency pages show it; not found when none is published (or it was
// withdrawn), whether or not the incident exists.
func (s *Service) PublishedAccount(ctx context.Context, id string) (Account, error) {
	out, err := accountsOf(ctx, s.db, `WHERE incident_id = $1 AND `+latestVersion+` AND withdrawn_at IS NULL`, []any{id})
	if err != nil {
		return Account{}, db.Classify(err)
	}
	if len(out) == 0 {
		return Account{}, errs.NotFound("published incident", id)
	}
	return out[0], nil
}

func accountsOf(ctx context.Context, q db.Querier, where string, args []any) ([]Account, error) {
	out, err := db.QueryAll(ctx, q, `SELECT incident_id, version, texts, set_id, affected, by_category, by_jurisdiction, published_by, published_at,
		withdrawn_by, withdrawn_at, (SELECT MIN(published_at) FROM incident_accounts f WHERE f.incident_id = incident_accounts.incident_id)
		FROM incident_accounts `+where+` ORDER BY published_at DESC, incident_id, version DESC`, args,
		func(scan func(...any) error) (Account, error) {
			var a Account
			var texts, byCategory, byJurisdiction string
			var published, first int64
			var withdrawn sql.NullInt64
			if err := scan(&a.IncidentID, &a.Version, &texts, &a.SetID, &a.Affected, &byCategory, &byJurisdiction, &a.PublishedBy, &published,
				&a.WithdrawnBy, &withdrawn, &first); err != nil {
				return Account{}, err
			}
			for _, f := range []struct {
				raw  string
				into any
			}{{texts, &a.Texts}, {byCategory, &a.ByCategory}, {byJurisdiction, &a.ByJurisdiction}} {
				if err := json.Unmarshal([]byte(f.raw), f.into); err != nil {
					return Account{}, fmt.Errorf("incident %s: stored account: %w", a.IncidentID, err)
				}
			}
			a.PublishedAt, a.FirstPublishedAt, a.WithdrawnAt = time.UnixMicro(published).UTC(), time.UnixMicro(first).UTC(), db.OptTime(withdrawn)
			return a, nil
		})
	if err != nil {
		return nil, fmt.Errorf("incident: accounts: %w", err)
	}
	return out, nil
}

func unmarshalList(raw string, into *[]string) error {
	if err := json.Unmarshal([]byte(raw), into); err != nil {
		return err
	}
	if *into == nil {
		*into = []string{}
	}
	return nil
}

// regexpEmail matches what looks like an email address.
func regexpEmail() *regexp.Regexp { return regexp.MustCompile(`[^\s@]+@[^\s@]+\.[^\s@]+`) }

// latestSet is LatestSet in a transaction.
func latestSet(ctx context.Context, q db.Querier, id string) (Set, error) {
	set, err := scanSet(q.QueryRowContext(ctx, `SELECT `+setColumns+` FROM incident_affected_sets WHERE incident_id = $1
		ORDER BY computed_at DESC, id DESC LIMIT 1`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return Set{}, errs.NotFound("affected set of incident", id)
	}
	if err != nil {
		return Set{}, fmt.Errorf("incident: latest set: %w", err)
	}
	return set, nil
}
