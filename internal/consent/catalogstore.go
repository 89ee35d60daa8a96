// The catalog store: validated writes of properties, purposes, vendors,
// notices and jurisdiction rules, each audited, and reloading the in-memory
// catalog (catalog.go) after them.

package consent

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

var (
	domainPattern  = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	versionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)
)

func checkText(problems errs.Problems, field, value string, min, max int) {
	n := utf8.RuneCountInString(value)
	switch {
	case !utf8.ValidString(value):
		problems.Add(field, "invalid_utf8")
	case n < min:
		problems.Add(field, "required")
	case n > max:
		problems.Add(field, "too_long", "max", max)
	}
}

// checkLine is checkText for a one-line field: a name that ends up in a
// mail header, a subject, a receipt or a CSV row, where a line break could
// add a header or forge a line. It is refused where it is entered.
func checkLine(problems errs.Problems, field, value string, min, max int) {
	checkText(problems, field, value, min, max)
	if !problems.Has(field) && !oneLine(value) {
		problems.Add(field, "one_line")
	}
}

// oneLine reports whether v holds no line break (CR, LF, NEL, U+2028,
// U+2029) or other control character.
func oneLine(v string) bool {
	return !strings.ContainsFunc(v, func(r rune) bool {
		return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
	})
}

func checkURL(problems errs.Problems, field, value string) {
	if value == "" {
		return
	}
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(value) > 2048 {
		problems.Add(field, "http_url")
	}
}

// checkTexts checks a text per language; line, for names, keeps each text
// to one line (checkLine).
func checkTexts(problems errs.Problems, field string, texts map[string]string, required bool, max int, line bool) {
	if required && len(texts) == 0 {
		problems.Add(field, "text_in_a_language")
	}
	if len(texts) > 50 {
		problems.Add(field, "at_most_languages", "max", 50)
	}
	for lang, text := range texts {
		if !langPattern.MatchString(lang) {
			problems.Add(field+"."+lang, "language_tag")
			continue
		}
		if line {
			checkLine(problems, field+"."+lang, text, 1, max)
		} else {
			checkText(problems, field+"."+lang, text, 1, max)
		}
	}
}

func (p *Property) validate(cat *catalog) errs.Problems {
	problems := errs.Problems{}
	if !ValidKey(p.Key) {
		problems.Add("key", "catalog_key")
	}
	checkLine(problems, "name", p.Name, 1, 200)
	if len(p.Domains) > 100 {
		problems.Add("domains", "at_most_domains", "max", 100)
	}
	for i, d := range p.Domains {
		if len(d) > 253 || !domainPattern.MatchString(d) {
			problems.Add(fmt.Sprintf("domains[%d]", i), "domain_name")
		}
	}
	maps.Copy(problems, p.JurisdictionRules.Validate("jurisdiction_rules"))
	if p.DefaultJurisdiction != "" && !ValidJurisdiction(p.DefaultJurisdiction) {
		problems.Add("default_jurisdiction", "jurisdiction_code")
	}
	checkURL(problems, "policy_url", p.PolicyURL)
	p.Banner.validate(problems, cat.purposes)
	return problems
}

func (p *Purpose) validate() errs.Problems {
	problems := errs.Problems{}
	if !ValidKey(p.Key) {
		problems.Add("key", "catalog_key")
	}
	checkTexts(problems, "name", p.Names, true, 200, true)
	checkTexts(problems, "description", p.Descriptions, false, 4000, false)
	if !p.LegalBasis.Valid() {
		problems.Add("legal_basis", "legal_basis")
	}
	if p.Necessary && p.SaleOrSharing {
		problems.Add("sale_or_sharing", "necessary_not_sale")
	}
	if p.Position < 0 || p.Position > 10000 {
		problems.Add("position", "between", "min", 0, "max", 10000)
	}
	validCookiePatterns(problems, p.Cookies)
	checkRetention(problems, p.RetentionDays)
	p.validateKind(problems)
	return problems
}

// validateKind checks a communication topic's channels and frequency, and
// that a processing purpose names neither.
func (p *Purpose) validateKind(problems errs.Problems) {
	switch p.Kind {
	case KindProcessing:
		if len(p.Channels) > 0 {
			problems.Add("channels", "communication_only")
		}
		if p.Frequency != "" {
			problems.Add("frequency", "communication_only")
		}
		return
	case KindCommunication:
	default:
		problems.Add("kind", "purpose_kind")
		return
	}
	if p.Necessary {
		problems.Add("necessary", "communication_not_necessary")
	}
	if p.LegalBasis.Valid() && p.LegalBasis != BasisConsent {
		problems.Add("legal_basis", "communication_consent")
	}
	if len(p.Channels) == 0 {
		problems.Add("channels", "communication_channels")
	}
	for i, ch := range p.Channels {
		switch {
		case channelIndex(ch) < 0:
			problems.Add(fmt.Sprintf("channels[%d]", i), "channel")
		case slices.Contains(p.Channels[:i], ch):
			problems.Add(fmt.Sprintf("channels[%d]", i), "channel_twice")
		}
	}
	if !slices.Contains(Frequencies, p.Frequency) {
		problems.Add("frequency", "frequency")
	}
}

// maxRetentionDays is the longest retention a category or purpose may set:
// 100 years.
const maxRetentionDays = 36525

func checkRetention(problems errs.Problems, days int) {
	if days < 0 || days > maxRetentionDays {
		problems.Add("retention_days", "retention_days", "max", maxRetentionDays)
	}
}

func (v *Vendor) validate(cat *catalog) errs.Problems {
	problems := errs.Problems{}
	if !ValidKey(v.Key) {
		problems.Add("key", "catalog_key")
	}
	checkLine(problems, "name", v.Name, 1, 200)
	if len(v.Purposes) == 0 {
		problems.Add("purposes", "name_a_purpose")
	}
	for i, p := range v.Purposes {
		if _, ok := cat.purposes[p]; !ok {
			problems.Add(fmt.Sprintf("purposes[%d]", i), "unknown_purpose", "purpose", strconv.Quote(p))
		}
	}
	for i, c := range v.DataCategories {
		if _, ok := cat.categories[c]; !ok {
			problems.Add(fmt.Sprintf("data_categories[%d]", i), "unknown_data_category", "category", strconv.Quote(c))
		}
	}
	if !v.TransferSafeguard.Valid() {
		problems.Add("transfer_safeguard", "transfer_safeguard")
	}
	if v.Country != "" && !countryPattern.MatchString(v.Country) {
		problems.Add("country", "country_code")
	}
	checkURL(problems, "privacy_url", v.PrivacyURL)
	return problems
}

func (c *Category) validate() errs.Problems {
	problems := errs.Problems{}
	if !ValidKey(c.Key) {
		problems.Add("key", "catalog_key")
	}
	checkTexts(problems, "name", c.Names, true, 200, true)
	if _, ok := c.Names["en"]; !ok && !problems.Has("name") {
		problems.Add("name", "english_name")
	}
	checkTexts(problems, "description", c.Descriptions, false, 4000, false)
	checkRetention(problems, c.RetentionDays)
	if c.Position < 0 || c.Position > 10000 {
		problems.Add("position", "between", "min", 0, "max", 10000)
	}
	return problems
}

func (n *Notice) validate() errs.Problems {
	problems := errs.Problems{}
	if !versionPattern.MatchString(n.Version) {
		problems.Add("version", "notice_version")
	}
	checkTexts(problems, "text", n.Texts, true, 200000, false)
	return problems
}

// contentHash fingerprints what a published notice says.
func (n *Notice) contentHash() string {
	sum := sha256.Sum256([]byte(mustJSON(struct {
		Version  string            `json:"version"`
		Texts    map[string]string `json:"text"`
		Material bool              `json:"material"`
	}{n.Version, n.Texts, n.Material})))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// writeCatalog runs fn in a transaction that also bumps the catalog version
// and records the change in the audit log (action "catalog.KIND.VERB" on
// target KIND:KEY), then reloads the in-memory catalog. If the entry cannot
// be written, nothing changes.
func (s *Service) writeCatalog(ctx context.Context, kind, verb, key string, fn func(tx *sql.Tx, now int64) error) error {
	now := micros(s.now())
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := fn(tx, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE catalog_head SET version = version + 1 WHERE id = 1`); err != nil {
			return err
		}
		if err := s.notifyFollowers(ctx, tx, readCatalogHead); err != nil {
			return err
		}
		if s.audit == nil {
			return nil
		}
		_, err := s.audit.AppendTx(ctx, tx, audit.Entry{Actor: audit.ActorFrom(ctx), Action: audit.PrefixCatalog + kind + "." + verb,
			Target: audit.Target{Kind: kind, ID: key}})
		if _, coded := errs.As(err); err != nil && !coded {
			// Fail closed, and say it is the audit log: a 503 to retry
			// later, not a 500 that reads as a bug.
			return errs.Wrap(errs.CodeUnavailable, err, "the audit log cannot be written, so the catalog is not changed")
		}
		return err
	})
	if err != nil {
		if db.IsUniqueViolation(err) {
			return errs.Wrap(errs.CodeConflict, err, "already exists")
		}
		return db.Classify(err)
	}
	return s.ReloadCatalog(ctx)
}

// ReloadCatalog reads the catalog from the store.
func (s *Service) ReloadCatalog(ctx context.Context) error {
	c, err := readCatalog(ctx, s.db, s.index)
	if err != nil {
		return db.Classify(fmt.Errorf("load catalog: %w", err))
	}
	s.catalog.store(c)
	s.rebuildGate()
	s.rebuildPurposeGate()
	// A catalog change and the approval that follows it (a vendor added to
	// a purpose, then approved) reach a replica together: the purposes'
	// approvals are read again with every new catalog.
	if err := s.RefreshAssessedPurposes(ctx); err != nil {
		s.log.Warn("refresh assessed purposes", "err", err)
	}
	return nil
}

func exists(ctx context.Context, tx *sql.Tx, query, key string) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, query, key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// PutProperty creates (create=true) or replaces a property.
func (s *Service) PutProperty(ctx context.Context, p Property, create bool) (Property, error) {
	p.Domains = nonNil(p.Domains)
	if p.JurisdictionRules.OptIn == nil && p.JurisdictionRules.OptOut == nil && p.JurisdictionRules.Default == "" {
		p.JurisdictionRules = DefaultRules()
	}
	p.JurisdictionRules.OptIn, p.JurisdictionRules.OptOut = nonNil(p.JurisdictionRules.OptIn), nonNil(p.JurisdictionRules.OptOut)
	p.Banner = p.Banner.withDefaults()
	if problems := p.validate(s.catalog.load()); len(problems) > 0 {
		return p, errs.FieldsKeyed(problems)
	}
	err := s.writeCatalog(ctx, "property", verb(create), p.Key, func(tx *sql.Tx, now int64) error {
		if create {
			_, err := tx.ExecContext(ctx, `INSERT INTO properties (`+propertyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
				p.Key, p.Name, mustJSON(p.Domains), mustJSON(p.JurisdictionRules), p.DefaultJurisdiction, p.PolicyURL, mustJSON(p.Banner), now)
			if db.IsUniqueViolation(err) {
				return errs.New(errs.CodeConflict, "property %q already exists", p.Key)
			}
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE properties SET name = $2, domains = $3, jurisdiction_rules = $4,
			default_jurisdiction = $5, policy_url = $6, settings = $7, updated_at = $8 WHERE key = $1`,
			p.Key, p.Name, mustJSON(p.Domains), mustJSON(p.JurisdictionRules), p.DefaultJurisdiction, p.PolicyURL, mustJSON(p.Banner), now)
		return mustAffect(res, err, "property", p.Key)
	})
	if err != nil {
		return p, err
	}
	return s.Property(p.Key)
}

// verb names a catalog write in the audit log.
func verb(create bool) string {
	if create {
		return "create"
	}
	return "update"
}

func mustAffect(res sql.Result, err error, kind, key string) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return errs.NotFound(kind, key)
	}
	return nil
}

// Property returns a property from the catalog.
func (s *Service) Property(key string) (Property, error) {
	p, ok := s.catalog.load().properties[key]
	if !ok {
		return Property{}, errs.NotFound("property", key)
	}
	return p.Property, nil
}

// Properties lists the properties.
func (s *Service) Properties() []Property {
	return sortedValues(s.catalog.load().properties, func(p *propertyEntry) Property { return p.Property }, func(p Property) string { return p.Key })
}

// PutPurpose creates (create=true) or replaces a purpose.
func (s *Service) PutPurpose(ctx context.Context, p Purpose, create bool) (Purpose, error) {
	p.Names, p.Descriptions, p.Cookies, p.Channels = nonNilMap(p.Names), nonNilMap(p.Descriptions), nonNil(p.Cookies), nonNil(p.Channels)
	if p.Kind == "" {
		p.Kind = KindProcessing
	}
	if problems := p.validate(); len(problems) > 0 {
		return p, errs.FieldsKeyed(problems)
	}
	err := s.writeCatalog(ctx, "purpose", verb(create), p.Key, func(tx *sql.Tx, now int64) error {
		if create {
			_, err := tx.ExecContext(ctx, `INSERT INTO purposes (`+purposeColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
				p.Key, mustJSON(p.Names), mustJSON(p.Descriptions), string(p.LegalBasis), p.Necessary, p.SaleOrSharing, p.Position,
				mustJSON(settingsOf(&p)), p.RetentionDays, now)
			if db.IsUniqueViolation(err) {
				return errs.New(errs.CodeConflict, "purpose %q already exists", p.Key)
			}
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE purposes SET names = $2, descriptions = $3, legal_basis = $4, necessary = $5,
			sale_or_sharing = $6, position = $7, settings = $8, retention_days = $9, updated_at = $10 WHERE key = $1`,
			p.Key, mustJSON(p.Names), mustJSON(p.Descriptions), string(p.LegalBasis), p.Necessary, p.SaleOrSharing, p.Position,
			mustJSON(settingsOf(&p)), p.RetentionDays, now)
		return mustAffect(res, err, "purpose", p.Key)
	})
	if err != nil {
		return p, err
	}
	return s.Purpose(p.Key)
}

// Purpose returns a purpose from the catalog.
func (s *Service) Purpose(key string) (Purpose, error) {
	p, ok := s.catalog.load().purposes[key]
	if !ok {
		return Purpose{}, errs.NotFound("purpose", key)
	}
	return p.Purpose, nil
}

// Purposes lists the purposes by position, then key.
func (s *Service) Purposes() []Purpose {
	list := sortedValues(s.catalog.load().purposes, func(p *purposeEntry) Purpose { return p.Purpose }, func(p Purpose) string { return p.Key })
	stableByPosition(list)
	return list
}

// PutVendor creates (create=true) or replaces a vendor.
func (s *Service) PutVendor(ctx context.Context, v Vendor, create bool) (Vendor, error) {
	v.Purposes, v.DataCategories = nonNil(v.Purposes), nonNil(v.DataCategories)
	if problems := v.validate(s.catalog.load()); len(problems) > 0 {
		return v, errs.FieldsKeyed(problems)
	}
	err := s.writeCatalog(ctx, "vendor", verb(create), v.Key, func(tx *sql.Tx, now int64) error {
		if create {
			_, err := tx.ExecContext(ctx, `INSERT INTO vendors (`+vendorColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
				v.Key, v.Name, mustJSON(v.Purposes), mustJSON(v.DataCategories), v.Country, v.PrivacyURL, string(v.TransferSafeguard), now)
			if db.IsUniqueViolation(err) {
				return errs.New(errs.CodeConflict, "vendor %q already exists", v.Key)
			}
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE vendors SET name = $2, purposes = $3, data_categories = $4, country = $5,
			privacy_url = $6, transfer_safeguard = $7, updated_at = $8 WHERE key = $1`,
			v.Key, v.Name, mustJSON(v.Purposes), mustJSON(v.DataCategories), v.Country, v.PrivacyURL, string(v.TransferSafeguard), now)
		return mustAffect(res, err, "vendor", v.Key)
	})
	if err != nil {
		return v, err
	}
	return s.Vendor(v.Key)
}

// Vendor returns a vendor from the catalog.
func (s *Service) Vendor(key string) (Vendor, error) {
	v, ok := s.catalog.load().vendors[key]
	if !ok {
		return Vendor{}, errs.NotFound("vendor", key)
	}
	return v.Vendor, nil
}

// Vendors lists the vendors.
func (s *Service) Vendors() []Vendor {
	return sortedValues(s.catalog.load().vendors, func(v *vendorEntry) Vendor { return v.Vendor }, func(v Vendor) string { return v.Key })
}

// PutCategory creates (create=true) or replaces a data category.
func (s *Service) PutCategory(ctx context.Context, c Category, create bool) (Category, error) {
	c.Names, c.Descriptions = nonNilMap(c.Names), nonNilMap(c.Descriptions)
	if problems := c.validate(); len(problems) > 0 {
		return c, errs.FieldsKeyed(problems)
	}
	err := s.writeCatalog(ctx, "category", verb(create), c.Key, func(tx *sql.Tx, now int64) error {
		if create {
			_, err := tx.ExecContext(ctx, `INSERT INTO data_categories (`+categoryColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
				c.Key, mustJSON(c.Names), mustJSON(c.Descriptions), c.Special, c.InHouse, c.RetentionDays, c.Position, now)
			if db.IsUniqueViolation(err) {
				return errs.New(errs.CodeConflict, "data category %q already exists", c.Key)
			}
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE data_categories SET names = $2, descriptions = $3, special = $4, in_house = $5,
			retention_days = $6, position = $7, updated_at = $8 WHERE key = $1`,
			c.Key, mustJSON(c.Names), mustJSON(c.Descriptions), c.Special, c.InHouse, c.RetentionDays, c.Position, now)
		return mustAffect(res, err, "category", c.Key)
	})
	if err != nil {
		return c, err
	}
	return s.Category(c.Key)
}

// Category returns a data category from the catalog.
func (s *Service) Category(key string) (Category, error) {
	c, ok := s.catalog.load().categories[key]
	if !ok {
		return Category{}, errs.NotFound("category", key)
	}
	return *c, nil
}

// Categories lists the data categories by position, then key.
func (s *Service) Categories() []Category {
	list := sortedValues(s.catalog.load().categories, func(c *Category) Category { return *c }, func(c Category) string { return c.Key })
	slices.SortStableFunc(list, func(a, b Category) int { return a.Position - b.Position })
	return list
}

// PutNotice creates (create=true) or replaces a draft notice, publishing it
// when publish is set. A published notice cannot be changed.
func (s *Service) PutNotice(ctx context.Context, n Notice, create, publish bool) (Notice, error) {
	n.Texts = nonNilMap(n.Texts)
	if problems := n.validate(); len(problems) > 0 {
		return n, errs.FieldsKeyed(problems)
	}
	n.ContentHash = n.contentHash()
	err := s.writeCatalog(ctx, "notice", verb(create), n.Version, func(tx *sql.Tx, now int64) error {
		if create {
			_, err := tx.ExecContext(ctx, `INSERT INTO notices (version, texts, material, content_hash, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $5)`, n.Version, mustJSON(n.Texts), n.Material, n.ContentHash, now)
			if db.IsUniqueViolation(err) {
				return errs.New(errs.CodeConflict, "notice %q already exists", n.Version)
			}
			if err != nil {
				return err
			}
		} else {
			res, err := tx.ExecContext(ctx, `UPDATE notices SET texts = $2, material = $3, content_hash = $4, updated_at = $5
				WHERE version = $1 AND published_at IS NULL`, n.Version, mustJSON(n.Texts), n.Material, n.ContentHash, now)
			if err := mustAffect(res, err, "notice", n.Version); err != nil {
				if errs.Is(err, errs.CodeNotFound) {
					return noticeMissingOrPublished(ctx, tx, n.Version)
				}
				return err
			}
		}
		if publish {
			return publishNotice(ctx, tx, n.Version, now)
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	return s.Notice(ctx, n.Version)
}

// PublishNotice publishes a draft notice. Publishing again is refused.
func (s *Service) PublishNotice(ctx context.Context, version string) (Notice, error) {
	err := s.writeCatalog(ctx, "notice", "publish", version, func(tx *sql.Tx, now int64) error {
		return publishNotice(ctx, tx, version, now)
	})
	if err != nil {
		return Notice{}, err
	}
	return s.Notice(ctx, version)
}

// ErrNoticeChanged is the conflict of PublishReviewedNotice when the draft
// no longer says what was reviewed.
var ErrNoticeChanged = errs.New(errs.CodeConflict, "the draft changed since it was reviewed; review it again")

// PublishReviewedNotice publishes a draft only if its content hash is still
// contentHash, the one its reviewer saw: a change made to the draft after
// the review (in another tab, by a colleague) is never published unseen.
// The check and the publication are one statement, so no change can slip
// in between. Otherwise it answers ErrNoticeChanged.
func (s *Service) PublishReviewedNotice(ctx context.Context, version, contentHash string) (Notice, error) {
	err := s.writeCatalog(ctx, "notice", "publish", version, func(tx *sql.Tx, now int64) error {
		res, err := tx.ExecContext(ctx, `UPDATE notices SET published_at = $2, updated_at = $2,
			ordinal = (SELECT coalesce(max(ordinal), 0) + 1 FROM notices)
			WHERE version = $1 AND published_at IS NULL AND content_hash = $3`, version, now, contentHash)
		if err := mustAffect(res, err, "notice", version); err != nil {
			if !errs.Is(err, errs.CodeNotFound) {
				return err
			}
			draft, err := exists(ctx, tx, `SELECT 1 FROM notices WHERE version = $1 AND published_at IS NULL`, version)
			if err != nil {
				return err
			}
			if draft {
				return ErrNoticeChanged
			}
			return noticeMissingOrPublished(ctx, tx, version)
		}
		return nil
	})
	if err != nil {
		return Notice{}, err
	}
	return s.Notice(ctx, version)
}

func publishNotice(ctx context.Context, tx *sql.Tx, version string, now int64) error {
	res, err := tx.ExecContext(ctx, `UPDATE notices SET published_at = $2, updated_at = $2,
		ordinal = (SELECT coalesce(max(ordinal), 0) + 1 FROM notices)
		WHERE version = $1 AND published_at IS NULL`, version, now)
	if err := mustAffect(res, err, "notice", version); err != nil {
		if errs.Is(err, errs.CodeNotFound) {
			return noticeMissingOrPublished(ctx, tx, version)
		}
		return err
	}
	return nil
}

func noticeMissingOrPublished(ctx context.Context, tx *sql.Tx, version string) error {
	found, err := exists(ctx, tx, `SELECT 1 FROM notices WHERE version = $1`, version)
	if err != nil {
		return err
	}
	if found {
		return errs.New(errs.CodeConflict, "notice %q is published and can no longer change; publish a new version", version)
	}
	return errs.NotFound("notice", version)
}

// Notice returns a notice, draft or published.
func (s *Service) Notice(ctx context.Context, version string) (Notice, error) {
	list, err := db.QueryAll(ctx, s.db, `SELECT `+noticeColumns+` FROM notices WHERE version = $1`, []any{version}, scanNotice)
	if err != nil {
		return Notice{}, db.Classify(err)
	}
	if len(list) == 0 {
		return Notice{}, errs.NotFound("notice", version)
	}
	return list[0], nil
}

// Notices lists every notice, published ones first in publication order.
func (s *Service) Notices(ctx context.Context) ([]Notice, error) {
	list, err := listNotices(ctx, s.db)
	return list, db.Classify(err)
}

// CurrentNotice returns the latest published notice, if any.
func (s *Service) CurrentNotice() (Notice, bool) {
	n := s.catalog.load().latestNotice
	if n == nil {
		return Notice{}, false
	}
	return *n, true
}
