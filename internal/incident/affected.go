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

// members is a computed set before it is stored: sorted subject ids and,
// for each, the categories found for it.
type members struct {
	ids        []string
	categories map[string][]string
	unresolved int
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
	var found members
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
	set := Set{ID: newID("set_"), IncidentID: incidentID, Method: m.Kind, Parameters: m.parameters(), Members: len(found.ids),
		MembersSHA256: hashMembers(found.ids), ByCategory: map[string]int{}, Unresolved: found.unresolved,
		ComputedBy: audit.ActorFrom(ctx).String(), ComputedAt: s.clock()}
	for _, id := range found.ids {
		for _, c := range found.categories[id] {
			set.ByCategory[c]++
		}
	}
	if set.ByJurisdiction, err = s.jurisdictions(ctx, found.ids); err != nil {
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
		if err := insertMembers(ctx, tx, set.ID, found.ids); err != nil {
			return err
		}
		return s.addAction(ctx, tx, incidentID, ActAffected, fmt.Sprintf("%s: %d members (%s)", m.Kind, set.Members, set.ID))
	})
	if err != nil {
		return Set{}, db.Classify(err)
	}
	return set, nil
}

// memberBatch is how many members one INSERT writes.
const memberBatch = 500

func insertMembers(ctx context.Context, tx *sql.Tx, setID string, ids []string) error {
	var b strings.Builder
	args := make([]any, 0, 2*memberBatch)
	for start := 0; start < len(ids); start += memberBatch {
		chunk := ids[start:min(start+memberBatch, len(ids))]
		b.Reset()
		args = args[:0]
		b.WriteString(`INSERT INTO incident_affected_members (set_id, subject_id) VALUES `)
		for i, id := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "($%d, $%d)", 2*i+1, 2*i+2)
			args = append(args, setID, id)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
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
func (s *Service) fromInventory(ctx context.Context, m Method) (members, error) {
	found := members{categories: map[string][]string{}}
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
			return found, db.Classify(fmt.Errorf("incident: read vault categories: %w", err))
		}
		defer rows.Close()
		var subject, category string
		for rows.Next() {
			if err := rows.Scan(&subject, &category); err != nil {
				return found, fmt.Errorf("incident: read vault categories: %w", err)
			}
			if n := len(found.ids); n == 0 || found.ids[n-1] != subject {
				found.ids = append(found.ids, subject)
			}
			if cs := found.categories[subject]; !slices.Contains(cs, category) {
				found.categories[subject] = append(cs, category)
			}
		}
		if err := rows.Err(); err != nil {
			return found, db.Classify(fmt.Errorf("incident: read vault categories: %w", err))
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
		if err := s.fromSystem(ctx, ds, tables, m.Categories, &found); err != nil {
			return found, err
		}
	}
	slices.Sort(found.ids)
	found.ids = slices.Compact(found.ids)
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
		var cats []string
		for _, c := range t.Columns {
			if slices.Contains(categories, c.Category) && !slices.Contains(cats, c.Category) {
				cats = append(cats, c.Category)
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
					found.ids = append(found.ids, subject)
					for _, c := range cats {
						if cs := found.categories[subject]; !slices.Contains(cs, c) {
							found.categories[subject] = append(cs, c)
						}
					}
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
func (s *Service) fromAudit(ctx context.Context, m Method) (members, error) {
	found := members{categories: map[string][]string{}}
	kind, id, _ := strings.Cut(m.Actor, ":")
	rows, err := s.db.QueryContext(ctx, `SELECT target_id, details FROM audit_entries
		WHERE actor_kind = $1 AND actor_id = $2 AND at >= $3 AND at < $4 AND target_kind = $5 AND action IN ($6, $7, $8)`,
		kind, id, m.From.UnixMicro(), m.To.UnixMicro(), audit.KindSubject, AccessActions[0], AccessActions[1], AccessActions[2])
	if err != nil {
		return found, db.Classify(fmt.Errorf("incident: read the audit log: %w", err))
	}
	defer rows.Close()
	fields := map[string][]string{} // subject → fields revealed
	for rows.Next() {
		var subject, details string
		if err := rows.Scan(&subject, &details); err != nil {
			return found, fmt.Errorf("incident: read the audit log: %w", err)
		}
		var d struct {
			Fields []string `json:"fields"`
		}
		_ = json.Unmarshal([]byte(details), &d) // an entry without fields (a masked view) reveals none
		if _, seen := fields[subject]; !seen {
			found.ids = append(found.ids, subject)
			fields[subject] = nil
		}
		for _, f := range d.Fields {
			if !slices.Contains(fields[subject], f) {
				fields[subject] = append(fields[subject], f)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return found, db.Classify(fmt.Errorf("incident: read the audit log: %w", err))
	}
	rows.Close()
	slices.Sort(found.ids)
	// The revealed fields' categories, as the vault files them now.
	err = s.chunks(ctx, found.ids, `SELECT subject_id, name, category FROM vault_fields WHERE subject_id IN (%s)`, func(scan func(...any) error) error {
		var subject, name, category string
		if err := scan(&subject, &name, &category); err != nil {
			return err
		}
		if slices.Contains(fields[subject], name) && !slices.Contains(found.categories[subject], category) {
			found.categories[subject] = append(found.categories[subject], category)
		}
		return nil
	})
	return found, err
}

// fromUpload resolves external ids to the subjects Steward knows (its
// ledger's subjects, with consent events or linked devices, and the
// vault's); the categories are those of their
// vault fields (among the incident's, when it names some).
func (s *Service) fromUpload(ctx context.Context, m Method, categories []string) (members, error) {
	found := members{categories: map[string][]string{}}
	ids := sortedUnique(m.ExternalIDs)
	known := map[string]bool{}
	for _, query := range []string{`SELECT id FROM subjects WHERE id IN (%s)`, `SELECT subject_id FROM vault_keys WHERE subject_id IN (%s)`,
		`SELECT DISTINCT subject_id FROM consent_events WHERE subject_id IN (%s)`} {
		err := s.chunks(ctx, ids, query, func(scan func(...any) error) error {
			var id string
			if err := scan(&id); err != nil {
				return err
			}
			known[id] = true
			return nil
		})
		if err != nil {
			return found, err
		}
	}
	for _, id := range ids {
		if known[id] {
			found.ids = append(found.ids, id)
		}
	}
	found.unresolved = len(ids) - len(found.ids)
	err := s.chunks(ctx, found.ids, `SELECT subject_id, category FROM vault_fields WHERE subject_id IN (%s)`, func(scan func(...any) error) error {
		var subject, category string
		if err := scan(&subject, &category); err != nil {
			return err
		}
		if (len(categories) == 0 || slices.Contains(categories, category)) && !slices.Contains(found.categories[subject], category) {
			found.categories[subject] = append(found.categories[subject], category)
		}
		return nil
	})
	return found, err
}

// jurisdictions counts ids by the jurisdiction of their latest consent
// event.
func (s *Service) jurisdictions(ctx context.Context, ids []string) (map[string]int, error) {
	latest := map[string]struct {
		seq          int64
		jurisdiction string
	}{}
	err := s.chunks(ctx, ids, `SELECT subject_id, seq, jurisdiction FROM consent_events WHERE subject_id IN (%s)`, func(scan func(...any) error) error {
		var subject, jurisdiction string
		var seq int64
		if err := scan(&subject, &seq, &jurisdiction); err != nil {
			return err
		}
		if cur, ok := latest[subject]; !ok || seq > cur.seq {
			latest[subject] = struct {
				seq          int64
				jurisdiction string
			}{seq, jurisdiction}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, id := range ids {
		j := UnknownJurisdiction
		if l, ok := latest[id]; ok && l.jurisdiction != "" {
			j = strings.ToUpper(l.jurisdiction)
		}
		out[j]++
	}
	return out, nil
}

// lookupBatch is how many ids one IN list holds.
const lookupBatch = 500

// chunks runs query (with %s for the placeholders) over ids in batches,
// calling row for each row.
func (s *Service) chunks(ctx context.Context, ids []string, query string, row func(scan func(...any) error) error) error {
	for start := 0; start < len(ids); start += lookupBatch {
		chunk := ids[start:min(start+lookupBatch, len(ids))]
		placeholders := make([]string, len(chunk))
		args := make([]any, len(chunk))
		for i, id := range chunk {
			placeholders[i], args[i] = fmt.Sprintf("$%d", i+1), id
		}
		rows, err := s.db.QueryContext(ctx, fmt.Sprintf(query, strings.Join(placeholders, ", ")), args...)
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
// counts it in each set's Erased: the erasure's "steward" step calls it
// (internal/fulfil). It returns how many sets held the subject; it is
// harmless to repeat.
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
		return nil
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
