package transparency

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/scanner"
)

// CookieSource gives each property's cookie declaration from its latest
// tracker scan (internal/scanner), for the properties scanned at least once.
type CookieSource func(ctx context.Context) ([]scanner.Declaration, error)

// Cookies is a property's cookie declaration: what its latest scan found
// its pages set or store, by the purpose it serves. What the scan could not
// classify yet is listed without a purpose, not left out.
type Cookies struct {
	Property string       `json:"property"`
	Items    []CookieItem `json:"items"`
}

// CookieItem is one cookie or storage key.
type CookieItem struct {
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Domain     string `json:"domain"`
	ThirdParty bool   `json:"third_party"`
	// Lifetime is a cookie's, in seconds; negative for a session cookie.
	Lifetime int64 `json:"lifetime"`
	// Purpose is the purpose's key; "" while unclassified.
	Purpose string `json:"purpose"`
}

// cookiesOf turns the scanner's declarations into the page's section, in
// a stable order: a rescan that finds the same makes no new version.
func cookiesOf(declarations []scanner.Declaration) []Cookies {
	out := make([]Cookies, 0, len(declarations))
	for _, d := range declarations {
		c := Cookies{Property: d.Property, Items: []CookieItem{}}
		add := func(purpose string, items []scanner.DeclaredItem) {
			for _, it := range items {
				c.Items = append(c.Items, CookieItem{Kind: string(it.Kind), Name: it.Name, Domain: it.Domain,
					ThirdParty: it.ThirdParty, Lifetime: it.Lifetime, Purpose: purpose})
			}
		}
		for _, p := range d.Purposes {
			add(p.Key, p.Items)
		}
		add("", d.Unclassified)
		slices.SortFunc(c.Items, func(a, b CookieItem) int {
			return strings.Compare(a.Purpose+"\x00"+a.Kind+"\x00"+a.Name+"\x00"+a.Domain, b.Purpose+"\x00"+b.Kind+"\x00"+b.Name+"\x00"+b.Domain)
		})
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Cookies) int { return strings.Compare(a.Property, b.Property) })
	return out
}

// cookies reads the declarations, none without a source.
func (p *Publisher) cookies(ctx context.Context) ([]Cookies, error) {
	if p.cfg.Cookies == nil {
		return []Cookies{}, nil
	}
	declarations, err := p.cfg.Cookies(ctx)
	if err != nil {
		return nil, fmt.Errorf("transparency: cookie declarations: %w", err)
	}
	return cookiesOf(declarations), nil
}

// cookieView is a property's declaration as the page shows it.
type cookieView struct {
	Property, Caption string
	Rows              []cookieRow
}

type cookieRow struct{ Name, Type, Domain, Lifetime, Purpose string }

// cookieViews says the declarations in lang, with the words of the
// portal's cookie list (portal.cookies.*).
func (h *Handler) cookieViews(d Document, lang string, purposeName map[string]string) []cookieView {
	p := h.catalog.Printer(lang)
	out := make([]cookieView, 0, len(d.Cookies))
	for _, c := range d.Cookies {
		v := cookieView{Property: c.Property, Caption: h.say(lang, "cookies_property", "property", c.Property)}
		for _, it := range c.Items {
			party := p.T("portal.cookies.first_party")
			if it.ThirdParty {
				party = p.T("portal.cookies.third_party")
			}
			purpose := p.T("portal.cookies.unclassified")
			if it.Purpose != "" {
				purpose = cmpOr(purposeName[it.Purpose], it.Purpose)
			}
			v.Rows = append(v.Rows, cookieRow{Name: it.Name, Type: p.T("portal.cookies.kind_"+it.Kind) + " (" + party + ")", Domain: it.Domain,
				Lifetime: scanner.DeclaredItem{Kind: scanner.Kind(it.Kind), Lifetime: it.Lifetime}.LifetimeText(p), Purpose: purpose})
		}
		out = append(out, v)
	}
	return out
}
