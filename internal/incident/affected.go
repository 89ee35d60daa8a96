package incident

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// MethodKind is how an affected set is computed.
type MethodKind string

// The methods.
const (
	// MethodInventory: every subject with data of the chosen categories in
	// the chosen systems: the vault's fields (system "steward.vault") and
	// the connected systems' tables with columns of those categories.
	MethodInventory MethodKind = "inventory"
	// MethodAudit: every subject whose data an actor (a staff member or an
	// API key) accessed or revealed between From and To, by the audit log.
	MethodAudit MethodKind = "audit"
	// MethodUpload: a list of external ids the officer uploads, resolved
	// to Steward's subjects.
	MethodUpload MethodKind = "upload"
)

// VaultSystem is the data map's key of Steward's vault.
const VaultSystem = "steward.vault"

// UnknownJurisdiction counts the members whose jurisdiction Steward does
// not know (no consent recorded for them).
const UnknownJurisdiction = "unknown"

// AccessActions are the audit actions that read a subject's data: the
// audit method's evidence.
var AccessActions = []string{"vault.reveal", "vault.detokenize", "customer.view"}

// MaxUpload is the most external ids one upload takes.
const MaxUpload = 1_000_000

// Method is how to compute an affected set, with its parameters.
type Method struct {
	Kind MethodKind `json:"method"`
	// Categories and Systems narrow the inventory method (the incident's
	// own when empty; every system when the incident names none).
	Categories []string `json:"categories,omitempty"`
	Systems    []string `json:"systems,omitempty"`
	// Actor ("staff:ID" or "api_key:ID") and the window [From, To) are the
	// audit method's.
	Actor string    `json:"actor,omitempty"`
	From  time.Time `json:"from,omitzero"`
	To    time.Time `json:"to,omitzero"`
	// ExternalIDs are the upload method's; only their number and hash are
	// kept in the parameters.
	ExternalIDs []string `json:"external_ids,omitempty"`
}

// Set is one computation of the affected customers, frozen.
type Set struct {
	ID         string         `json:"id"`
	IncidentID string         `json:"incident_id"`
	Method     MethodKind     `json:"method"`
	Parameters map[string]any `json:"parameters"`
	// Members is how many subjects it found; MembersSHA256 the SHA-256 of
	// their sorted ids, one per line (each followed by "\n").
	Members       int    `json:"members"`
	MembersSHA256 string `json:"members_sha256"`
	// ByCategory counts the members with data of each category;
	// ByJurisdiction by their latest recorded jurisdiction ("unknown"
	// without one).
	ByCategory     map[string]int `json:"by_category"`
	ByJurisdiction map[string]int `json:"by_jurisdiction"`
	// Unresolved counts the identifiers that matched no subject (uploaded
	// ids Steward does not know, addresses no vault field holds).
	Unresolved int `json:"unresolved"`
	// Erased counts the members removed since, by erasure: the hash is of
	// the set as computed.
	Erased     int       `json:"erased"`
	ComputedBy string    `json:"computed_by"`
	ComputedAt time.Time `json:"computed_at"`
}

// check validates m against the incident, naming each field at fault.
func (m *Method) check(inc Incident) error {
	problems := map[string]string{}
	switch m.Kind {
	case MethodInventory:
		if len(m.Categories) == 0 {
			m.Categories = inc.Categories
		}
		if len(m.Systems) == 0 {
			m.Systems = inc.Systems
		}
		if len(m.Categories) == 0 {
			problems["categories"] = "choose the data categories the breach touched"
		}
		for _, c := range m.Categories {
			if !keyPattern.MatchString(c) {
				problems["categories"] = fmt.Sprintf("%q is not a category key", c)
			}
		}
	case MethodAudit:
		kind, id, _ := strings.Cut(m.Actor, ":")
		if (kind != audit.KindStaff && kind != audit.KindAPIKey) || id == "" {
			problems["actor"] = `must be "staff:ID" or "api_key:ID"`
		}
		if m.From.IsZero() || m.To.IsZero() || !m.From.Before(m.To) {
			problems["to"] = "from and to are required, from before to"
		}
	case MethodUpload:
		if len(m.ExternalIDs) == 0 {
			problems["external_ids"] = "upload at least one external id"
		}
		if len(m.ExternalIDs) > MaxUpload {
			problems["external_ids"] = fmt.Sprintf("at most %d", MaxUpload)
		}
		for _, id := range m.ExternalIDs {
			if id == "" || len(id) > 128 || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				problems["external_ids"] = "each id is one line of 1 to 128 bytes"
				break
			}
		}
	default:
		problems["method"] = "must be inventory, audit or upload"
	}
	return invalid("invalid affected set method", problems)
}

// parameters are what the set keeps of m: never an uploaded list.
func (m Method) parameters() map[string]any {
	p := map[string]any{}
	switch m.Kind {
	case MethodInventory:
		p["categories"], p["systems"] = sortedUnique(m.Categories), sortedUnique(m.Systems)
	case MethodAudit:
		p["actor"], p["from"], p["to"] = m.Actor, m.From.UTC().Format(time.RFC3339Nano), m.To.UTC().Format(time.RFC3339Nano)
		p["actions"] = AccessActions
	case MethodUpload:
		ids := sortedUnique(m.ExternalIDs)
		p["uploaded"], p["uploaded_sha256"] = len(ids), hashMembers(ids)
	}
	return p
}

// Compute computes the incident's affected customers by m and stores the
// set, frozen, audited (incident.affected) in the same transaction.
// Earlier sets are kept.
func (s *Service) Compute(ctx context.Context, incidentID string, m Method) (Set, error) {
	inc, err := s.Get(ctx, incidentID)
	if err != nil {
		return Set{}, err
	}
	if inc.Status == Draft || inc.Status == Closed {
		return Set{}, errs.New(errs.CodeConflict, "an incident %s has no affected set: open it first", inc.Status)
	}
	if err := m.check(inc); err != nil {
		return Set{}, err
	}
	var found *members
	switch m.Kind {
	case MethodInventory:
		found, err = s.fromInventory(ctx, m)
	case MethodAudit:
		found, err = s.fromAudit(ctx, m)
	case MethodUpload:
		found, err = s.fromUpload(ctx, m, inc.Categories)
	}
	if err != nil {
		return Set{}, err
	}
	ids := found.ids()
	set := Set{ID: newID("set_"), IncidentID: incidentID, Method: m.Kind, Parameters: m.parameters(), Members: len(ids),
		MembersSHA256: hashMembers(ids), ByCategory: found.countByCategory(), Unresolved: found.unresolved,
		ComputedBy: audit.ActorFrom(ctx).String(), ComputedAt: s.clock()}
	if set.ByJurisdiction, err = s.jurisdictions(ctx, ids); err != nil {
		return Set{}, err
	}
	entry := audit.Entry{Actor: audit.ActorFrom(ctx), Action: ActionAffected, Target: Target(incidentID),
		Details: audit.MustDetails(map[string]any{"set": set.ID, "method": string(m.Kind), "members": set.Members, "sha256": set.MembersSHA256})}
	_, err = s.audit.Do(ctx, entry, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO incident_affected_sets (id, incident_id, method, parameters, members, members_sha256,
			by_category, by_jurisdiction, unresolved, computed_by, computed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			set.ID, incidentID, string(set.Method), mustJSON(set.Parameters), set.Members, set.MembersSHA256, mustJSON(set.ByCategory),
			mustJSON(set.ByJurisdiction), set.Unresolved, set.ComputedBy, set.ComputedAt.UnixMicro()); err != nil {
			return fmt.Errorf("incident: store set: %w", err)
		}
		if err := s.insertMembers(ctx, tx, set.ID, ids); err != nil {
			return err
		}
		return s.addAction(ctx, tx, incidentID, ActAffected, fmt.Sprintf("%s: %d members (%s)", m.Kind, set.Members, set.ID))
	})
	if err != nil {
		return Set{}, db.Classify(err)
	}
	return set, nil
}

// listBatch is how many ids one statement binds, as one JSON array (a
// single parameter, whatever the number).
const listBatch = 20000

// idList is the subquery of the ids of a JSON array bound as the parameter
// n: json_each on SQLite, json_array_elements_text on PostgreSQL.
func (s *Service) idList(n int) string {
	if s.db.Dialect == db.Postgres {
		return fmt.Sprintf("SELECT json_array_elements_text($%d::json)", n)
	}
	return fmt.Sprintf("SELECT value FROM json_each($%d)", n)
}

func (s *Service) insertMembers(ctx context.Context, tx *sql.Tx, setID string, ids []string) error {
	query := `INSERT INTO incident_affected_members (set_id, subject_id) SELECT $1, ids.id FROM (` + s.idList(2) + `) AS ids(id)`
	if s.db.Dialect != db.Postgres {
		query = `INSERT INTO incident_affected_members (set_id, subject_id) SELECT $1, value FROM json_each($2)`
	}
	for start := 0; start < len(ids); start += listBatch {
		chunk := ids[start:min(start+listBatch, len(ids))]
		if _, err := tx.ExecContext(ctx, query, setID, mustJSON(chunk)); err != nil {
			return fmt.Errorf("incident: store members: %w", err)
		}
	}
	return nil
}

// hashMembers is the SHA-256 of sorted ids, each followed by "\n".
func hashMembers(sorted []string) string {
	h := sha256.New()
	for _, id := range sorted {
		h.Write([]byte(id))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fromInventory reads the vault's fields of the categories, in subject
// order, and each chosen connected system's identifiers.
func (s *Service) fromInventory(ctx context.Context, m Method) (*members, error) {
	found := &members{}
	all := len(m.Systems) == 0
	if all || slices.Contains(m.Systems, VaultSystem) {
		placeholders := make([]string, len(m.Categories))
		args := []any{s.now().UnixMicro()}
		for i, c := range m.Categories {
			args = append(args, c)
			placeholders[i] = fmt.Sprintf("$%d", i+2)
		}
		rows, err := s.db.QueryContext(ctx, `SELECT subject_id, category FROM vault_fields WHERE category IN (`+strings.Join(placeholders, ", ")+`)
			AND (expires_at IS NULL OR expires_at > $1) ORDER BY subject_id`, args...)
		if err != nil {
			return nil, db.Classify(fmt.Errorf("incident: read vault categories: %w", err))
		}
		defer rows.Close()
		var subject, category string
		for rows.Next() {
			if err := rows.Scan(&subject, &category); err != nil {
				return nil, fmt.Errorf("incident: read vault categories: %w", err)
			}
			found.add(subject, found.bit(category))
		}
		if err := rows.Err(); err != nil {
			return nil, db.Classify(fmt.Errorf("incident: read vault categories: %w", err))
		}
		rows.Close()
	}
	for _, ds := range s.cfg.Connectors {
		if !all && !slices.Contains(m.Systems, ds.Name) {
			continue
		}
		tables := ds.TablesWith(m.Categories)
		if len(tables) == 0 {
			continue
		}
		if err := s.fromSystem(ctx, ds, tables, m.Categories, found); err != nil {
			return nil, err
		}
	}
	found.finish()
	return found, nil
}

// fromSystem adds the subjects of ds's tables, in batches; rows found by
// email are resolved through the vault's lookup.
func (s *Service) fromSystem(ctx context.Context, ds *connector.Dataset, tables []*connector.Table, categories []string, found *members) error {
	conn, err := connector.Open(ctx, ds, s.cfg.Getenv)
	if err != nil {
		return errs.Wrap(errs.CodeUnavailable, err, "the connected system "+ds.Name+" cannot be reached")
	}
	defer conn.Close()
	for _, t := range tables {
		var mask uint64
		for _, c := range t.Columns {
			if slices.Contains(categories, c.Category) {
				mask |= found.bit(c.Category)
			}
		}
		err := conn.Identities(ctx, t.Name, s.cfg.Batch, func(kind connector.Kind, values []string) error {
			for _, v := range values {
				subjects := []string{v}
				if kind == connector.KindEmail {
					subjects = nil
					if s.cfg.Emails != nil {
						var err error
						if subjects, err = s.cfg.Emails.Find(ctx, "email", v); err != nil && !errs.Is(err, errs.CodeNotFound) {
							return err
						}
					}
					if len(subjects) == 0 {
						found.unresolved++
					}
				}
				for _, subject := range subjects {
					found.add(subject, mask)
				}
			}
			return nil
		})
		if err != nil {
			return errs.Wrap(errs.CodeUnavailable, err, "the connected system "+ds.Name+" could not be read")
		}
	}
	return nil
}

// fromAudit reads the access entries of the actor in the window and the
// categories of the fields they revealed.
func (s *Service) fromAudit(ctx context.Context, m Method) (*members, error) {
	found := &members{}
	kind, id, _ := strings.Cut(m.Actor, ":")
	rows, err := s.db.QueryContext(ctx, `SELECT target_id, details FROM audit_entries
		WHERE actor_kind = $1 AND actor_id = $2 AND at >= $3 AND at < $4 AND target_kind = $5 AND action IN ($6, $7, $8)`,
		kind, id, m.From.UnixMicro(), m.To.UnixMicro(), audit.KindSubject, AccessActions[0], AccessActions[1], AccessActions[2])
	if err != nil {
		return nil, db.Classify(fmt.Errorf("incident: read the audit log: %w", err))
	}
	defer rows.Close()
	fields := map[string][]string{} // subject → fields revealed
	for rows.Next() {
		var subject, details string
		if err := rows.Scan(&subject, &details); err != nil {
			return nil, fmt.Errorf("incident: read the audit log: %w", err)
		}
		var d struct {
			Fields []string `json:"fields"`
		}
		_ = json.Unmarshal([]byte(details), &d) // an entry without fields (a masked view) reveals none
		found.add(subject, 0)
		for _, f := range d.Fields {
			if !slices.Contains(fields[subject], f) {
				fields[subject] = append(fields[subject], f)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, db.Classify(fmt.Errorf("incident: read the audit log: %w", err))
	}
	rows.Close()
	found.finish()
	// The revealed fields' categories, as the vault files them now.
	err = s.chunks(ctx, found.ids(), `SELECT subject_id, name, category FROM vault_fields WHERE subject_id IN (%s)`, func(scan func(...any) error) error {
		var subject, name, category string
		if err := scan(&subject, &name, &category); err != nil {
			return err
		}
		if slices.Contains(fields[subject], name) {
			found.mark(subject, found.bit(category))
		}
		return nil
	})
	return found, err
}

// fromUpload resolves external ids to the subjects Steward knows (its
// ledger's subjects, with consent events or linked devices, and the
// vault's); the categories are those of their vault fields (among the
// incident's, when it names some).
func (s *Service) fromUpload(ctx context.Context, m Method, categories []string) (*members, error) {
	found := &members{}
	ids := sortedUnique(m.ExternalIDs)
	for _, query := range []string{`SELECT id FROM subjects WHERE id IN (%s)`, `SELECT subject_id FROM vault_keys WHERE subject_id IN (%s)`,
		`SELECT DISTINCT subject_id FROM consent_events WHERE subject_id IN (%s)`} {
		err := s.chunks(ctx, ids, query, func(scan func(...any) error) error {
			var id string
			if err := scan(&id); err != nil {
				return err
			}
			found.add(id, 0)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	found.finish()
	found.unresolved = len(ids) - len(found.entries)
	err := s.chunks(ctx, found.ids(), `SELECT subject_id, category FROM vault_fields WHERE subject_id IN (%s)`, func(scan func(...any) error) error {
		var subject, category string
		if err := scan(&subject, &category); err != nil {
			return err
		}
		if len(categories) == 0 || slices.Contains(categories, category) {
			found.mark(subject, found.bit(category))
		}
		return nil
	})
	return found, err
}

// jurisdictions counts ids by the jurisdiction of their latest consent
// event.
func (s *Service) jurisdictions(ctx context.Context, ids []string) (map[string]int, error) {
	type latest struct {
		seq          int64
		jurisdiction string
	}
	byID := map[string]latest{}
	err := s.chunks(ctx, ids, `SELECT subject_id, seq, jurisdiction FROM consent_events WHERE subject_id IN (%s)`, func(scan func(...any) error) error {
		var subject, jurisdiction string
		var seq int64
		if err := scan(&subject, &seq, &jurisdiction); err != nil {
			return err
		}
		if cur, ok := byID[subject]; !ok || seq > cur.seq {
			byID[subject] = latest{seq, jurisdiction}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, id := range ids {
		j := UnknownJurisdiction
		if l, ok := byID[id]; ok && l.jurisdiction != "" {
			j = strings.ToUpper(l.jurisdiction)
		}
		out[j]++
	}
	return out, nil
}

// chunks runs query (with %s for the list of ids) over ids in batches of
// listBatch, each bound as one JSON array, calling row for each row.
func (s *Service) chunks(ctx context.Context, ids []string, query string, row func(scan func(...any) error) error) error {
	query = fmt.Sprintf(query, s.idList(1))
	for start := 0; start < len(ids); start += listBatch {
		chunk := ids[start:min(start+listBatch, len(ids))]
		rows, err := s.db.QueryContext(ctx, query, mustJSON(chunk))
		if err != nil {
			return db.Classify(fmt.Errorf("incident: lookup: %w", err))
		}
		for rows.Next() {
			if err := row(rows.Scan); err != nil {
				rows.Close()
				return fmt.Errorf("incident: lookup: %w", err)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return db.Classify(fmt.Errorf("incident: lookup: %w", err))
		}
	}
	return nil
}

// Sets returns incident id's affected sets, newest first.
func (s *Service) Sets(ctx context.Context, id string) ([]Set, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	out, err := db.QueryAll(ctx, s.db, `SELECT `+setColumns+` FROM incident_affected_sets WHERE incident_id = $1 ORDER BY computed_at DESC, id DESC`,
		[]any{id}, scanSet)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("incident: sets: %w", err))
	}
	return out, nil
}

// LatestSet returns incident id's newest affected set; not found when none
// was computed.
func (s *Service) LatestSet(ctx context.Context, id string) (*Set, error) {
	set, err := scanSet(s.db.QueryRowContext(ctx, `SELECT `+setColumns+` FROM incident_affected_sets WHERE incident_id = $1
		ORDER BY computed_at DESC, id DESC LIMIT 1`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFound("affected set of incident", id)
	}
	if err != nil {
		return nil, db.Classify(fmt.Errorf("incident: latest set: %w", err))
	}
	return &set, nil
}

// Members returns a page of set setID's member subject ids, in order,
// after the cursor after ("" from the start): what the notices (a later
// part) walk.
func (s *Service) Members(ctx context.Context, setID, after string, limit int) ([]string, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	out, err := db.QueryAll(ctx, s.db, `SELECT subject_id FROM incident_affected_members WHERE set_id = $1 AND subject_id > $2
		ORDER BY subject_id LIMIT $3`, []any{setID, after, limit}, func(scan func(...any) error) (string, error) {
		var id string
		return id, scan(&id)
	})
	if err != nil {
		return nil, db.Classify(fmt.Errorf("incident: members: %w", err))
	}
	return out, nil
}

// Forget removes an erased subject from every stored affected set, and
// counts it in each set's Erased, and deletes their notices (notice.go):
// the erasure's "steward" step calls it (internal/fulfil). It returns how
// many sets held the subject; it is harmless to repeat.
func (s *Service) Forget(ctx context.Context, subject string) (int, error) {
	var n int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE incident_affected_sets SET erased = erased + 1
			WHERE id IN (SELECT set_id FROM incident_affected_members WHERE subject_id = $1)`, subject); err != nil {
			return fmt.Errorf("incident: forget: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM incident_affected_members WHERE subject_id = $1`, subject)
		if err != nil {
			return fmt.Errorf("incident: forget: %w", err)
		}
		n, _ = res.RowsAffected()
		return forgetNotices(ctx, tx, subject)
	})
	return int(n), db.Classify(err)
}

const setColumns = `id, incident_id, method, parameters, members, members_sha256, by_category, by_jurisdiction, unresolved, erased,
	computed_by, computed_at`

func scanSet(scan func(...any) error) (Set, error) {
	var set Set
	var method, params, byCategory, byJurisdiction string
	var at int64
	if err := scan(&set.ID, &set.IncidentID, &method, &params, &set.Members, &set.MembersSHA256, &byCategory, &byJurisdiction,
		&set.Unresolved, &set.Erased, &set.ComputedBy, &at); err != nil {
		return Set{}, err
	}
	set.Method, set.ComputedAt = MethodKind(method), time.UnixMicro(at).UTC()
	for _, part := range []struct {
		raw  string
		into any
	}{{params, &set.Parameters}, {byCategory, &set.ByCategory}, {byJurisdiction, &set.ByJurisdiction}} {
		if err := json.Unmarshal([]byte(part.raw), part.into); err != nil {
			return Set{}, fmt.Errorf("incident: set %s: %w", set.ID, err)
		}
	}
	return set, nil
}
