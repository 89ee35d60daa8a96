package transparency

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/inventory"
	"github.com/steward-dev/steward/internal/receipt"
)

// Document is the company's transparency page as published: what it
// states (Content), its figures, and which version it is. /transparency.json
// serves it signed; the HTML page shows the same document.
type Document struct {
	// Version numbers what the page states: it grows each time Content
	// changes (see /transparency/history).
	Version int `json:"version"`
	// GeneratedAt is when this copy was built.
	GeneratedAt time.Time `json:"generated_at"`
	// ContentHash is the SHA-256 (hex) of Content's JSON.
	ContentHash string `json:"content_hash"`
	Content
	Figures Figures `json:"figures"`
}

// Content is what the page states, all of it derived from what Steward
// enforces: the settings' company, the catalog's purposes, vendors and
// categories, the data map's systems, the vendor gate, the published
// incidents, and the period the figures cover (a new month makes a new
// version; figures refreshed within a period do not).
type Content struct {
	Company       Company    `json:"company"`
	Purposes      []Purpose  `json:"purposes"`
	Categories    []Category `json:"categories"`
	Vendors       []Vendor   `json:"vendors"`
	Rights        Rights     `json:"rights"`
	Incidents     []Incident `json:"incidents"`
	FiguresPeriod Period     `json:"figures_period"`
	// Cookies are the properties' cookie declarations, from their latest
	// tracker scans.
	Cookies []Cookies `json:"cookies"`
}

// Company is the controller and how to reach its privacy officer.
type Company struct {
	Name    string `json:"name"`
	Email   string `json:"privacy_email"`
	Phone   string `json:"phone,omitempty"`
	Address string `json:"address,omitempty"`
	URL     string `json:"url,omitempty"`
}

// Purpose is why data is used, on what legal basis, for how long.
type Purpose struct {
	Key          string            `json:"key"`
	Names        map[string]string `json:"name"`
	Descriptions map[string]string `json:"description"`
	LegalBasis   string            `json:"legal_basis"`
	Necessary    bool              `json:"necessary"`
	// RetentionDays is the purpose's own retention; 0 when none is set.
	RetentionDays int      `json:"retention_days"`
	Categories    []string `json:"categories"`
	Vendors       []string `json:"vendors"`
}

// Category is a kind of personal data held (in a system, or by a vendor),
// and where.
type Category struct {
	Key           string            `json:"key"`
	Names         map[string]string `json:"name"`
	Special       bool              `json:"special"`
	RetentionDays int               `json:"retention_days"`
	Places        []Place           `json:"held_in"`
	Vendors       []string          `json:"vendors"`
}

// Place is a system that holds data: its key, kind and the country where
// its data is stored ("" when not recorded).
type Place struct {
	System  string `json:"system"`
	Kind    string `json:"kind"`
	Country string `json:"country,omitempty"`
}

// Vendor is a third party that may receive data.
type Vendor struct {
	Key          string   `json:"key"`
	Name         string   `json:"name"`
	Country      string   `json:"country"`
	ThirdCountry bool     `json:"third_country"`
	Safeguard    string   `json:"safeguard,omitempty"`
	PrivacyURL   string   `json:"privacy_url,omitempty"`
	Purposes     []string `json:"purposes"`
	Categories   []string `json:"categories"`
	// AssessmentCurrent: a current passing security assessment covers what
	// the vendor receives; without one, Steward sends it nothing.
	AssessmentCurrent bool `json:"assessment_current"`
}

// Rights says where to use one's rights.
type Rights struct {
	PortalURL string   `json:"portal_url"`
	Kinds     []string `json:"kinds"`
}

// Incident is a published account of a breach.
type Incident struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	PublishedAt time.Time `json:"published_at"`
	URL         string    `json:"url"`
}

// Catalog is what the page reads of the consent catalog and its vendor
// gate (consent.Service).
type Catalog interface {
	Purposes() []consent.Purpose
	CatalogVersion() int64
	VendorAssessed(key string) bool
	AssessedFingerprint() uint64
}

// DataMap builds the data map (inventory.Service).
type DataMap interface {
	Map(ctx context.Context) (inventory.Map, error)
}

// PublisherConfig holds what a Publisher needs.
type PublisherConfig struct {
	DB        *db.DB
	Signer    *receipt.Signer
	Catalog   Catalog
	DataMap   DataMap
	Incidents Incidents
	// Cookies gives the properties' cookie declarations; nil leaves the
	// section empty.
	Cookies CookieSource
	Company Company
	// PublicURL is where Steward is reached; the portal is at /privacy.
	PublicURL string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	Log *slog.Logger
}

// Cache lifetimes: the stated content is rebuilt at most every minute (at
// once when the catalog or the vendor gate changes); the figures, whole
// months of aggregates, at most every hour.
const (
	contentTTL = time.Minute
	figuresTTL = time.Hour
)

// Publisher builds, versions, signs and caches the document.
type Publisher struct {
	cfg      PublisherConfig
	versions versions
	current  atomic.Pointer[Signed]
	mu       sync.Mutex // one rebuild at a time
	figures  Figures
	counted  time.Time
}

// Signed is a built document with its signed forms.
type Signed struct {
	Document Document
	// JWS is the document as a compact JWS (EdDSA) under the server's
	// receipt key, published in /.well-known/jwks.json.
	JWS string
	// Body is what /transparency.json serves: {"jws": ..., "document": ...},
	// the document being the JWS payload's exact bytes.
	Body []byte
	ETag string
	// builtAt, catalog and gate are when and from what the document was
	// built, to notice a change without waiting for the minute.
	builtAt time.Time
	catalog int64
	gate    uint64
}

// NewPublisher returns a Publisher over cfg.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	if cfg.DB == nil || cfg.Signer == nil || cfg.Catalog == nil || cfg.DataMap == nil || cfg.Incidents == nil {
		return nil, errors.New("transparency: NewPublisher needs DB, Signer, Catalog, DataMap and Incidents")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Publisher{cfg: cfg, versions: versions{db: cfg.DB}}, nil
}

// Current returns the document, from the cache while it is fresh.
func (p *Publisher) Current(ctx context.Context) (*Signed, error) {
	if s := p.current.Load(); s != nil && p.fresh(s) {
		return s, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.current.Load(); s != nil && p.fresh(s) {
		return s, nil
	}
	s, err := p.build(ctx)
	if err != nil {
		if old := p.current.Load(); old != nil {
			// A store hiccup serves the last signed copy, which says when
			// it was generated, rather than no page at all.
			p.cfg.Log.WarnContext(ctx, "transparency: rebuild failed, serving the last copy", "error", err)
			return old, nil
		}
		return nil, err
	}
	p.current.Store(s)
	return s, nil
}

func (p *Publisher) fresh(s *Signed) bool {
	return p.cfg.Now().Sub(s.builtAt) < contentTTL && s.catalog == p.cfg.Catalog.CatalogVersion() &&
		s.gate == p.cfg.Catalog.AssessedFingerprint()
}

// History lists the versions, the latest first.
func (p *Publisher) History(ctx context.Context) ([]Version, error) {
	return p.versions.list(ctx, 200)
}

// build makes a new document; p.mu is held.
func (p *Publisher) build(ctx context.Context) (*Signed, error) {
	now := p.cfg.Now().UTC()
	catalogVersion, gate := p.cfg.Catalog.CatalogVersion(), p.cfg.Catalog.AssessedFingerprint()
	content, err := p.content(ctx, now)
	if err != nil {
		return nil, err
	}
	if p.figures.Period != content.FiguresPeriod || now.Sub(p.counted) >= figuresTTL {
		if p.figures, err = countFigures(ctx, p.cfg.DB, content.FiguresPeriod); err != nil {
			return nil, err
		}
		p.counted = now
	}
	stated, err := json.Marshal(content)
	if err != nil {
		return nil, fmt.Errorf("transparency: encode content: %w", err)
	}
	sum := sha256.Sum256(stated)
	hash := hex.EncodeToString(sum[:])
	version, err := p.versions.record(ctx, hash, stated, now)
	if err != nil {
		return nil, err
	}
	doc := Document{Version: version.Number, GeneratedAt: now.Truncate(time.Second), ContentHash: hash, Content: content, Figures: p.figures}
	payload, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("transparency: encode document: %w", err)
	}
	jws := p.cfg.Signer.SignPayload(payload)
	body, err := json.Marshal(struct {
		JWS      string          `json:"jws"`
		Document json.RawMessage `json:"document"`
	}{jws, payload})
	if err != nil {
		return nil, fmt.Errorf("transparency: encode body: %w", err)
	}
	return &Signed{Document: doc, JWS: jws, Body: append(body, '\n'), ETag: `"` + hash[:16] + "-" + strconv.FormatInt(doc.GeneratedAt.Unix(), 36) + `"`,
		builtAt: now, catalog: catalogVersion, gate: gate}, nil
}

// content gathers what the page states from the sources.
func (p *Publisher) content(ctx context.Context, now time.Time) (Content, error) {
	m, err := p.cfg.DataMap.Map(ctx)
	if err != nil {
		return Content{}, fmt.Errorf("transparency: data map: %w", err)
	}
	published, err := p.cfg.Incidents.Published(ctx)
	if err != nil {
		return Content{}, fmt.Errorf("transparency: incidents: %w", err)
	}
	c := Content{Company: p.cfg.Company, Purposes: []Purpose{}, Categories: []Category{}, Vendors: []Vendor{}, Incidents: []Incident{},
		Rights: Rights{PortalURL: p.cfg.PublicURL + "/privacy"}, FiguresPeriod: PeriodOf(now)}
	for _, k := range dsr.Kinds {
		c.Rights.Kinds = append(c.Rights.Kinds, string(k))
	}
	described := map[string]consent.Purpose{}
	for _, pu := range p.cfg.Catalog.Purposes() {
		described[pu.Key] = pu
	}
	for _, pu := range m.Purposes {
		c.Purposes = append(c.Purposes, Purpose{Key: pu.Key, Names: pu.Names, Descriptions: described[pu.Key].Descriptions,
			LegalBasis: pu.LegalBasis, Necessary: pu.Necessary, RetentionDays: pu.RetentionDays,
			Categories: nonNil(pu.Categories), Vendors: nonNil(pu.Recipients)})
	}
	systems := map[string]inventory.System{}
	for _, s := range m.Systems {
		systems[s.Key] = s
	}
	for _, cat := range m.Categories {
		// The vocabulary names kinds of data nobody holds or receives;
		// the page lists what is held.
		if len(cat.Systems) == 0 && len(cat.Recipients) == 0 {
			continue
		}
		out := Category{Key: cat.Key, Names: cat.Names, Special: cat.Special, RetentionDays: cat.RetentionDays,
			Places: []Place{}, Vendors: nonNil(cat.Recipients)}
		for _, key := range cat.Systems {
			out.Places = append(out.Places, Place{System: key, Kind: string(systems[key].Kind), Country: systems[key].Facts.Location})
		}
		c.Categories = append(c.Categories, out)
	}
	for _, r := range m.Recipients {
		c.Vendors = append(c.Vendors, Vendor{Key: r.Key, Name: r.Name, Country: r.Country, ThirdCountry: r.ThirdCountry,
			Safeguard: r.Safeguard, PrivacyURL: r.PrivacyURL, Purposes: nonNil(r.Purposes), Categories: nonNil(r.Categories),
			AssessmentCurrent: p.cfg.Catalog.VendorAssessed(r.Key)})
	}
	for _, a := range published {
		text, _ := a.Text("en")
		c.Incidents = append(c.Incidents, Incident{ID: a.IncidentID, Title: text.Title, PublishedAt: a.FirstPublishedAt.UTC(),
			URL: p.cfg.PublicURL + "/transparency/incidents/" + url.PathEscape(a.IncidentID)})
	}
	slices.SortFunc(c.Incidents, func(a, b Incident) int {
		return cmp.Or(b.PublishedAt.Compare(a.PublishedAt), cmp.Compare(a.ID, b.ID))
	})
	if c.Cookies, err = p.cookies(ctx); err != nil {
		return Content{}, err
	}
	return c, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
