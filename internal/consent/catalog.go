package consent

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/steward-dev/steward/internal/consentrules"
	"github.com/steward-dev/steward/internal/db"
)

type propertyEntry struct {
	Property
	rules compiledRules
}

// purposeEntry is a purpose with the index's number for it (the gates'
// key); what decisions read of it is in catalog.rules.
type purposeEntry struct {
	Purpose
	id uint16
}

type vendorEntry struct {
	Vendor
	id       uint16
	purposes map[string]struct{}
}

// catalog is an immutable snapshot of properties, purposes, vendors and
// published notices. Writers replace the whole snapshot.
type catalog struct {
	version       int64
	properties    map[string]*propertyEntry
	purposes      map[string]*purposeEntry
	vendors       map[string]*vendorEntry
	categories    map[string]*Category
	forms         map[string]map[string]*Form // by property, then id
	notices       map[string]*Notice          // published only
	currentNotice uint16                      // ordinal of the latest material published notice
	latestNotice  *Notice
	defaultRules  compiledRules
	// rules is what decisions read (consentrules.Decide), with the gates
	// of the purposes and vendors kept apart (purposeGate, vendorGate).
	rules *consentrules.Catalog
}

type catalogHolder struct{ p atomic.Pointer[catalog] }

func (h *catalogHolder) load() *catalog { return h.p.Load() }

// store publishes c unless a newer catalog (a higher version) is in place
// already: the follower's reload that read before a write committed must
// not undo the reload of the write, which would hide what was just written.
func (h *catalogHolder) store(c *catalog) {
	for {
		cur := h.p.Load()
		if cur != nil && cur.version > c.version {
			return
		}
		if h.p.CompareAndSwap(cur, c) {
			return
		}
	}
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("consent: marshal %T: %v", v, err)) // only plain data types are marshalled
	}
	return string(b)
}

func readCatalog(ctx context.Context, q db.Querier, x *Index) (*catalog, error) {
	c := &catalog{
		properties:   map[string]*propertyEntry{},
		purposes:     map[string]*purposeEntry{},
		vendors:      map[string]*vendorEntry{},
		categories:   map[string]*Category{},
		notices:      map[string]*Notice{},
		forms:        map[string]map[string]*Form{},
		defaultRules: DefaultRules().compile(),
	}
	if err := q.QueryRowContext(ctx, `SELECT version FROM catalog_head WHERE id = 1`).Scan(&c.version); err != nil {
		return nil, fmt.Errorf("read catalog version: %w", err)
	}
	props, err := listProperties(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, p := range props {
		c.properties[p.Key] = &propertyEntry{Property: p, rules: p.JurisdictionRules.compile()}
	}
	purposes, err := listPurposes(ctx, q)
	if err != nil {
		return nil, err
	}
	vendors, err := listVendors(ctx, q)
	if err != nil {
		return nil, err
	}
	purposeKeys := make([]string, len(purposes))
	for i, p := range purposes {
		purposeKeys[i] = p.Key
	}
	vendorKeys := make([]string, len(vendors))
	for i, v := range vendors {
		vendorKeys[i] = v.Key
	}
	purposeIDs, vendorIDs := x.CatalogIDs(purposeKeys, vendorKeys)
	for _, p := range purposes {
		c.purposes[p.Key] = &purposeEntry{Purpose: p, id: purposeIDs[p.Key]}
	}
	for _, v := range vendors {
		e := &vendorEntry{Vendor: v, id: vendorIDs[v.Key], purposes: map[string]struct{}{}}
		c.vendors[v.Key] = e
		for _, key := range v.Purposes {
			e.purposes[key] = struct{}{}
		}
	}
	categories, err := listCategories(ctx, q)
	if err != nil {
		return nil, err
	}
	for i := range categories {
		c.categories[categories[i].Key] = &categories[i]
	}
	forms, err := listForms(ctx, q)
	if err != nil {
		return nil, err
	}
	for i := range forms {
		f := &forms[i]
		if c.forms[f.Property] == nil {
			c.forms[f.Property] = map[string]*Form{}
		}
		c.forms[f.Property][f.ID] = f
	}
	notices, err := listNotices(ctx, q)
	if err != nil {
		return nil, err
	}
	for i := range notices {
		n := &notices[i]
		if n.PublishedAt == nil {
			continue
		}
		c.notices[n.Version] = n
		if n.Material && uint16(n.Ordinal) > c.currentNotice {
			c.currentNotice = uint16(n.Ordinal)
		}
		if c.latestNotice == nil || n.Ordinal > c.latestNotice.Ordinal {
			c.latestNotice = n
		}
	}
	doc := c.rulesDocument()
	c.rules = doc.Compile(x.Index)
	return c, nil
}

// rulesDocument is the decision-relevant part of the catalog, without the
// gates (OpenUntil 0).
func (c *catalog) rulesDocument() consentrules.RulesDocument {
	def := DefaultRules()
	doc := consentrules.RulesDocument{
		CurrentNotice: int(c.currentNotice),
		DefaultRules:  consentrules.PropertyRules{OptIn: def.OptIn, OptOut: def.OptOut, Default: def.Default},
	}
	for _, key := range sortedKeys(c.properties) {
		p := c.properties[key]
		r := p.JurisdictionRules
		doc.Properties = append(doc.Properties, consentrules.PropertyRules{Key: key, OptIn: nonNil(r.OptIn), OptOut: nonNil(r.OptOut),
			Default: r.Default, DefaultJurisdiction: p.DefaultJurisdiction})
	}
	for _, key := range sortedKeys(c.purposes) {
		p := c.purposes[key]
		channels := make([]string, len(p.Channels))
		for i, ch := range p.Channels {
			channels[i] = string(ch)
		}
		vendors, _ := c.purposeScope(key)
		doc.Purposes = append(doc.Purposes, consentrules.PurposeRules{Key: key, LegalBasis: consentrules.LegalBasis(p.LegalBasis),
			Necessary: p.Necessary, SaleOrSharing: p.SaleOrSharing, Communication: p.Kind == KindCommunication,
			Channels: channels, Vendors: vendors})
	}
	for _, key := range sortedKeys(c.vendors) {
		doc.Vendors = append(doc.Vendors, consentrules.VendorRules{Key: key})
	}
	return doc
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

const propertyColumns = `key, name, domains, jurisdiction_rules, default_jurisdiction, policy_url, settings, created_at, updated_at`

func scanProperty(scan func(...any) error) (Property, error) {
	var p Property
	var domains, rules, settings string
	var created, updated int64
	if err := scan(&p.Key, &p.Name, &domains, &rules, &p.DefaultJurisdiction, &p.PolicyURL, &settings, &created, &updated); err != nil {
		return p, err
	}
	if err := json.Unmarshal([]byte(settings), &p.Banner); err != nil {
		return p, fmt.Errorf("property %s: banner settings: %w", p.Key, err)
	}
	p.Banner = p.Banner.withDefaults()
	if err := json.Unmarshal([]byte(domains), &p.Domains); err != nil {
		return p, fmt.Errorf("property %s: domains: %w", p.Key, err)
	}
	if err := json.Unmarshal([]byte(rules), &p.JurisdictionRules); err != nil {
		return p, fmt.Errorf("property %s: jurisdiction rules: %w", p.Key, err)
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return p, nil
}

func listProperties(ctx context.Context, q db.Querier) ([]Property, error) {
	return db.QueryAll(ctx, q, `SELECT `+propertyColumns+` FROM properties ORDER BY key`, nil, scanProperty)
}

const purposeColumns = `key, names, descriptions, legal_basis, necessary, sale_or_sharing, position, settings, retention_days, created_at, updated_at`

// purposeSettings is what the settings column of a purpose holds; a
// purpose written before kinds existed holds no kind and is a processing
// purpose.
type purposeSettings struct {
	Cookies   []string    `json:"cookies"`
	Kind      PurposeKind `json:"kind,omitempty"`
	Channels  []Channel   `json:"channels,omitempty"`
	Frequency Frequency   `json:"frequency,omitempty"`
}

func settingsOf(p *Purpose) purposeSettings {
	return purposeSettings{Cookies: p.Cookies, Kind: p.Kind, Channels: p.Channels, Frequency: p.Frequency}
}

func scanPurpose(scan func(...any) error) (Purpose, error) {
	var p Purpose
	var names, descriptions, settings string
	var created, updated int64
	if err := scan(&p.Key, &names, &descriptions, &p.LegalBasis, &p.Necessary, &p.SaleOrSharing, &p.Position, &settings, &p.RetentionDays, &created, &updated); err != nil {
		return p, err
	}
	var ps purposeSettings
	if err := json.Unmarshal([]byte(settings), &ps); err != nil {
		return p, fmt.Errorf("purpose %s: settings: %w", p.Key, err)
	}
	p.Cookies = nonNil(ps.Cookies)
	p.Kind, p.Channels, p.Frequency = ps.Kind, nonNil(ps.Channels), ps.Frequency
	if p.Kind == "" {
		p.Kind = KindProcessing
	}
	if err := json.Unmarshal([]byte(names), &p.Names); err != nil {
		return p, fmt.Errorf("purpose %s: names: %w", p.Key, err)
	}
	if err := json.Unmarshal([]byte(descriptions), &p.Descriptions); err != nil {
		return p, fmt.Errorf("purpose %s: descriptions: %w", p.Key, err)
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return p, nil
}

func listPurposes(ctx context.Context, q db.Querier) ([]Purpose, error) {
	return db.QueryAll(ctx, q, `SELECT `+purposeColumns+` FROM purposes ORDER BY position, key`, nil, scanPurpose)
}

const vendorColumns = `key, name, purposes, data_categories, country, privacy_url, transfer_safeguard, created_at, updated_at`

func scanVendor(scan func(...any) error) (Vendor, error) {
	var v Vendor
	var purposes, categories string
	var created, updated int64
	if err := scan(&v.Key, &v.Name, &purposes, &categories, &v.Country, &v.PrivacyURL, &v.TransferSafeguard, &created, &updated); err != nil {
		return v, err
	}
	if err := json.Unmarshal([]byte(purposes), &v.Purposes); err != nil {
		return v, fmt.Errorf("vendor %s: purposes: %w", v.Key, err)
	}
	if err := json.Unmarshal([]byte(categories), &v.DataCategories); err != nil {
		return v, fmt.Errorf("vendor %s: data categories: %w", v.Key, err)
	}
	v.CreatedAt, v.UpdatedAt = fromMicros(created), fromMicros(updated)
	return v, nil
}

func listVendors(ctx context.Context, q db.Querier) ([]Vendor, error) {
	return db.QueryAll(ctx, q, `SELECT `+vendorColumns+` FROM vendors ORDER BY key`, nil, scanVendor)
}

const categoryColumns = `key, names, descriptions, special, in_house, retention_days, position, created_at, updated_at`

func scanCategory(scan func(...any) error) (Category, error) {
	var c Category
	var names, descriptions string
	var created, updated int64
	if err := scan(&c.Key, &names, &descriptions, &c.Special, &c.InHouse, &c.RetentionDays, &c.Position, &created, &updated); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(names), &c.Names); err != nil {
		return c, fmt.Errorf("category %s: names: %w", c.Key, err)
	}
	if err := json.Unmarshal([]byte(descriptions), &c.Descriptions); err != nil {
		return c, fmt.Errorf("category %s: descriptions: %w", c.Key, err)
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, nil
}

func listCategories(ctx context.Context, q db.Querier) ([]Category, error) {
	return db.QueryAll(ctx, q, `SELECT `+categoryColumns+` FROM data_categories ORDER BY position, key`, nil, scanCategory)
}

const noticeColumns = `version, texts, material, content_hash, published_at, ordinal, created_at, updated_at`

func scanNotice(scan func(...any) error) (Notice, error) {
	var n Notice
	var texts string
	var published, ordinal sql.NullInt64
	var created, updated int64
	if err := scan(&n.Version, &texts, &n.Material, &n.ContentHash, &published, &ordinal, &created, &updated); err != nil {
		return n, err
	}
	if err := json.Unmarshal([]byte(texts), &n.Texts); err != nil {
		return n, fmt.Errorf("notice %s: texts: %w", n.Version, err)
	}
	if published.Valid {
		t := fromMicros(published.Int64)
		n.PublishedAt = &t
	}
	n.Ordinal = int(ordinal.Int64)
	n.CreatedAt, n.UpdatedAt = fromMicros(created), fromMicros(updated)
	return n, nil
}

func listNotices(ctx context.Context, q db.Querier) ([]Notice, error) {
	notices, err := db.QueryAll(ctx, q, `SELECT `+noticeColumns+` FROM notices`, nil, scanNotice)
	if err != nil {
		return nil, err
	}
	// Published in publication order, then drafts by version.
	sort.Slice(notices, func(i, j int) bool {
		a, b := notices[i], notices[j]
		if (a.Ordinal == 0) != (b.Ordinal == 0) {
			return a.Ordinal != 0
		}
		if a.Ordinal != b.Ordinal {
			return a.Ordinal < b.Ordinal
		}
		return a.Version < b.Version
	})
	return notices, nil
}
