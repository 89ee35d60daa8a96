package scanner

import (
	"bytes"
	"cmp"
	"html/template"
	"maps"
	"slices"
	"time"

	"github.com/steward-dev/steward/internal/i18n"
)

// Declaration is a property's cookie declaration, generated from its
// latest scan: per purpose, the cookies and storage keys its pages set,
// for the company's policy page and the transparency page.
type Declaration struct {
	Property  string            `json:"property"`
	ScannedAt time.Time         `json:"scanned_at"`
	Purposes  []DeclaredPurpose `json:"purposes"`
	// Unclassified are what no declaration, assignment or database entry
	// explains yet: an officer assigns them, and they move to a purpose.
	Unclassified []DeclaredItem `json:"unclassified"`
}

// DeclaredPurpose is one purpose of the declaration.
type DeclaredPurpose struct {
	Key          string            `json:"key"`
	Necessary    bool              `json:"necessary"`
	Names        map[string]string `json:"name"`
	Descriptions map[string]string `json:"description"`
	Items        []DeclaredItem    `json:"items"`
}

// DeclaredItem is a cookie or storage key of the declaration.
type DeclaredItem struct {
	Kind       Kind   `json:"kind"`
	Name       string `json:"name"`
	Domain     string `json:"domain"`
	ThirdParty bool   `json:"third_party"`
	// Lifetime in seconds; -1 for the browser session, 0 for storage
	// (kept until deleted).
	Lifetime int64 `json:"lifetime"`
	// Provider is the platform (from the Open Cookie Database) or vendor.
	Provider string `json:"provider,omitempty"`
	// Description is the Open Cookie Database's, in English only.
	Description string `json:"description,omitempty"`
}

// Declare builds the declaration of target from trackers (a report's),
// classifying them again with target's current assignments: an officer's
// assignment made after the scan counts at once. Only what is stored in
// the browser is declared (cookies and storage keys); hosts are in the
// report.
func Declare(t Target, trackers []Tracker, scannedAt time.Time, ocd *CookieDB) Declaration {
	c := newClassifier(t, ocd)
	d := Declaration{Property: t.Property, ScannedAt: scannedAt, Purposes: []DeclaredPurpose{}, Unclassified: []DeclaredItem{}}
	byPurpose := map[string][]DeclaredItem{}
	for _, tr := range trackers {
		if hostKind(tr.Kind) {
			continue
		}
		class := c.classify(Item{Kind: tr.Kind, Name: tr.Name, Domain: tr.Domain, ThirdParty: tr.ThirdParty})
		item := DeclaredItem{Kind: tr.Kind, Name: tr.Name, Domain: tr.Domain, ThirdParty: tr.ThirdParty, Lifetime: tr.Lifetime,
			Provider: cmp.Or(class.Vendor, class.Platform), Description: class.Description}
		if tr.Kind != KindCookie {
			item.Lifetime = 0
		}
		if _, ok := t.purpose(class.Purpose); !ok {
			d.Unclassified = append(d.Unclassified, item)
			continue
		}
		byPurpose[class.Purpose] = append(byPurpose[class.Purpose], item)
	}
	for _, p := range t.Purposes {
		items := byPurpose[p.Key]
		if len(items) == 0 {
			continue
		}
		d.Purposes = append(d.Purposes, DeclaredPurpose{Key: p.Key, Necessary: p.Necessary, Names: p.Names, Descriptions: p.Descriptions, Items: items})
	}
	return d
}

var declarationHTML = template.Must(template.New("declaration").Parse(`<section class="steward-cookies" lang="{{.Lang}}">
<h2>{{.P.T "portal.cookies.title"}}</h2>
<p>{{.P.T "portal.cookies.intro" "date" .Date}}</p>
{{range .D.Purposes}}{{$purpose := .}}<h3>{{index $.Names .Key}}</h3>
{{with index $.Descriptions .Key}}<p>{{.}}</p>
{{end}}{{template "table" (call $.Table .Items)}}{{end}}{{if .D.Unclassified}}<h3>{{.P.T "portal.cookies.unclassified"}}</h3>
<p>{{.P.T "portal.cookies.unclassified_text"}}</p>
{{template "table" (call $.Table .D.Unclassified)}}{{end}}</section>
{{define "table"}}<table>
<thead><tr><th scope="col">{{.P.T "portal.cookies.name"}}</th><th scope="col">{{.P.T "portal.cookies.type"}}</th><th scope="col">{{.P.T "portal.cookies.provider"}}</th><th scope="col">{{.P.T "portal.cookies.lifetime"}}</th><th scope="col">{{.P.T "portal.cookies.description"}}</th></tr></thead>
<tbody>{{range .Rows}}<tr><td><code>{{.Name}}</code></td><td>{{.Type}}</td><td>{{.Provider}}</td><td>{{.Lifetime}}</td><td>{{.Description}}</td></tr>
{{end}}</tbody></table>
{{end}}`))

type declarationRow struct{ Name, Type, Provider, Lifetime, Description string }

// HTML renders the declaration in lang (one of the catalog's languages),
// as a snippet for a policy page: a section with a heading and a table
// per purpose. Purpose names and descriptions fall back to English, then
// to any language.
func (d Declaration) HTML(lang string) ([]byte, error) {
	p := i18n.Default().Printer(lang)
	names, descriptions := map[string]string{}, map[string]string{}
	for _, pu := range d.Purposes {
		names[pu.Key] = cmp.Or(inLang(pu.Names, p.Lang()), pu.Key)
		descriptions[pu.Key] = inLang(pu.Descriptions, p.Lang())
	}
	table := func(items []DeclaredItem) map[string]any {
		var rows []declarationRow
		for _, it := range items {
			provider := it.Provider
			if provider == "" {
				provider = it.Domain
			}
			party := p.T("portal.cookies.first_party")
			if it.ThirdParty {
				party = p.T("portal.cookies.third_party")
			}
			rows = append(rows, declarationRow{Name: it.Name, Type: p.T("portal.cookies.kind_"+string(it.Kind)) + " (" + party + ")",
				Provider: provider, Lifetime: it.LifetimeText(p), Description: it.Description})
		}
		return map[string]any{"P": p, "Rows": rows}
	}
	var b bytes.Buffer
	err := declarationHTML.Execute(&b, map[string]any{"Lang": p.Lang(), "P": p, "D": d, "Names": names, "Descriptions": descriptions,
		"Date": d.ScannedAt.Format("2006-01-02"), "Table": table})
	return b.Bytes(), err
}

func inLang(texts map[string]string, lang string) string {
	if t := texts[lang]; t != "" {
		return t
	}
	if t := texts[i18n.English]; t != "" {
		return t
	}
	keys := slices.Sorted(maps.Keys(texts))
	if len(keys) > 0 {
		return texts[keys[0]]
	}
	return ""
}

// LifetimeText says how long the item is kept, in p's language.
func (it DeclaredItem) LifetimeText(p *i18n.Printer) string {
	switch {
	case it.Kind != KindCookie:
		return p.T("portal.cookies.until_deleted")
	case it.Lifetime < 0:
		return p.T("portal.cookies.session")
	case it.Lifetime >= 86400:
		return p.T("portal.cookies.days", "n", (it.Lifetime+43200)/86400)
	case it.Lifetime >= 3600:
		return p.T("portal.cookies.hours", "n", (it.Lifetime+1800)/3600)
	}
	return p.T("portal.cookies.minutes", "n", max((it.Lifetime+30)/60, 1))
}
