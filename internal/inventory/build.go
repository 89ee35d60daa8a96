package inventory

import (
	"cmp"
	"slices"

	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/consent"
)

// Inputs are what the map is built from: a snapshot of the catalog, the
// connected systems' dataset files, the vault's fields (counts only) and
// the facts privacy officers wrote down, by system key.
type Inputs struct {
	Categories []consent.Category
	Purposes   []consent.Purpose
	Vendors    []consent.Vendor
	Datasets   []*connector.Dataset
	HTTP       []*httpsystem.Dataset
	Vault      []VaultField
	Facts      map[string]Facts
}

// The roles of Steward's own stores, said as the reason they hold data.
const (
	reasonVault    = "Sealed fields the company keeps with Steward, each under the customer's own key; erasure destroys the key."
	reasonLedger   = "Proof of each consent choice, with its time and notice version (GDPR Art. 7(1))."
	reasonArchives = "Copies gathered to answer access and portability requests (GDPR Art. 15 and 20), encrypted until downloaded, then deleted."
)

// ledgerCategories are what the consent ledger holds of a person: the
// company's and Steward's ids of customers and the banner's device ids.
var ledgerCategories = []string{"identifier", "device"}

// builder keeps the sets Build fills, keyed by category, purpose or
// vendor key.
type builder struct {
	in         Inputs
	catIndex   map[string]int // vocabulary order
	undeclared map[string]bool
	purIndex   map[string]int // catalog order
	// category → recipients and purposes, from the vendors.
	catRecipients map[string]set
	catPurposes   map[string]set
	catSystems    map[string]set
}

type set map[string]struct{}

func (s set) add(keys ...string) {
	for _, k := range keys {
		s[k] = struct{}{}
	}
}

func setOf(m map[string]set, key string) set {
	s, ok := m[key]
	if !ok {
		s = set{}
		m[key] = s
	}
	return s
}

// sorted returns s's keys in the order index gives (unknown keys last, by
// key).
func sorted(s set, index map[string]int) []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b string) int {
		ia, oka := index[a]
		ib, okb := index[b]
		switch {
		case oka && okb && ia != ib:
			return cmp.Compare(ia, ib)
		case oka != okb:
			if oka {
				return -1
			}
			return 1
		}
		return cmp.Compare(a, b)
	})
	return out
}

// Build makes the map from in. It reads nothing and writes nothing: the
// same inputs give the same map.
func Build(in Inputs) Map {
	b := &builder{in: in, catIndex: map[string]int{}, undeclared: map[string]bool{}, purIndex: map[string]int{},
		catRecipients: map[string]set{}, catPurposes: map[string]set{}, catSystems: map[string]set{}}
	vocabulary := slices.Clone(in.Categories)
	slices.SortStableFunc(vocabulary, func(a, b consent.Category) int {
		return cmp.Or(cmp.Compare(a.Position, b.Position), cmp.Compare(a.Key, b.Key))
	})
	inHouse := map[string]bool{}
	for i, c := range vocabulary {
		b.catIndex[c.Key] = i
		inHouse[c.Key] = c.InHouse
	}
	purposes := slices.Clone(in.Purposes)
	slices.SortStableFunc(purposes, func(a, b consent.Purpose) int {
		return cmp.Or(cmp.Compare(a.Position, b.Position), cmp.Compare(a.Key, b.Key))
	})
	for i, p := range purposes {
		b.purIndex[p.Key] = i
	}

	var m Map
	m.Recipients = b.recipients(inHouse)
	m.Systems = b.systems()
	for i := range m.Systems {
		sys := &m.Systems[i]
		purposes, recipients := set{}, set{}
		for _, c := range sys.Categories {
			setOf(b.catSystems, c).add(sys.Key)
			for p := range b.catPurposes[c] {
				purposes.add(p)
			}
			for r := range b.catRecipients[c] {
				recipients.add(r)
			}
		}
		sys.Purposes, sys.Recipients = sorted(purposes, b.purIndex), sorted(recipients, nil)
		sys.Facts = in.Facts[sys.Key]
	}
	m.Categories = b.categories(vocabulary)
	m.Purposes = b.purposes(purposes, m.Recipients)
	m.Gaps = gaps(m)
	return m
}

// recipients are the vendors, by key, with the categories they receive:
// an in-house category is withheld whatever they declare.
func (b *builder) recipients(inHouse map[string]bool) []Recipient {
	vendors := slices.Clone(b.in.Vendors)
	slices.SortFunc(vendors, func(a, b consent.Vendor) int { return cmp.Compare(a.Key, b.Key) })
	out := make([]Recipient, 0, len(vendors))
	for _, v := range vendors {
		r := Recipient{Key: v.Key, Name: v.Name, Country: v.Country, PrivacyURL: v.PrivacyURL, Safeguard: string(v.TransferSafeguard),
			ThirdCountry: v.Country != "" && !consent.InEEA(v.Country), Purposes: sorted(setFrom(v.Purposes), b.purIndex)}
		received, withheld := set{}, set{}
		for _, c := range v.DataCategories {
			b.use(c)
			if inHouse[c] {
				withheld.add(c)
				continue
			}
			received.add(c)
			setOf(b.catRecipients, c).add(v.Key)
			setOf(b.catPurposes, c).add(v.Purposes...)
		}
		r.Categories, r.Withheld = sorted(received, b.catIndex), sorted(withheld, b.catIndex)
		out = append(out, r)
	}
	return out
}

func setFrom(keys []string) set {
	s := set{}
	s.add(keys...)
	return s
}

// use notes a category a system or vendor names; one the vocabulary lacks
// is kept as undeclared rather than dropped.
func (b *builder) use(category string) {
	if _, ok := b.catIndex[category]; !ok {
		b.undeclared[category] = true
	}
}

// systems are Steward's own stores, then the databases and the HTTP
// systems, each by name.
func (b *builder) systems() []System {
	vault := System{Key: SystemVault, Kind: KindVault, Reasons: []string{reasonVault}, Fields: slices.Clone(b.in.Vault)}
	slices.SortFunc(vault.Fields, func(a, b VaultField) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Category, b.Category))
	})
	held := set{}
	for _, f := range vault.Fields {
		held.add(f.Category)
	}
	vault.Categories = b.categoriesOf(held)
	ledger := System{Key: SystemLedger, Kind: KindLedger, Reasons: []string{reasonLedger}, Categories: b.categoriesOf(setFrom(ledgerCategories))}
	out := []System{vault, ledger}

	datasets := slices.Clone(b.in.Datasets)
	slices.SortFunc(datasets, func(a, b *connector.Dataset) int { return cmp.Compare(a.Name, b.Name) })
	for _, ds := range datasets {
		sys := System{Key: ds.Name, Kind: KindDatabase, Engine: string(ds.Engine), Tables: make([]Table, 0, len(ds.Tables))}
		held, reasons := set{}, set{}
		for _, t := range ds.Tables {
			table := Table{Name: t.Name, Columns: make([]Column, 0, len(t.Columns))}
			for _, c := range t.Columns {
				erase := string(c.Erase)
				if t.Erase == connector.DeleteRow {
					erase = string(connector.DeleteRow)
				}
				table.Columns = append(table.Columns, Column{Name: c.Name, Category: c.Category, Erase: erase})
				held.add(c.Category)
				if c.LegalReason != "" {
					reasons.add(c.LegalReason)
				}
			}
			sys.Tables = append(sys.Tables, table)
		}
		sys.Categories, sys.Reasons = b.categoriesOf(held), sorted(reasons, nil)
		out = append(out, sys)
	}
	hooks := slices.Clone(b.in.HTTP)
	slices.SortFunc(hooks, func(a, b *httpsystem.Dataset) int { return cmp.Compare(a.Name, b.Name) })
	for _, ds := range hooks {
		held := setFrom(ds.Categories)
		for _, f := range ds.Correctable {
			held.add(f.Category)
		}
		sys := System{Key: ds.Name, Kind: KindHTTP, Tables: []Table{}, Categories: b.categoriesOf(held), Reasons: []string{}}
		if ds.LegalReason != "" {
			sys.Reasons = []string{ds.LegalReason}
		}
		out = append(out, sys)
	}
	// An access archive gathers what every other system holds of the
	// customer.
	gathered := set{}
	for _, sys := range out {
		gathered.add(sys.Categories...)
	}
	archives := System{Key: SystemArchives, Kind: KindArchives, Reasons: []string{reasonArchives}, Categories: b.categoriesOf(gathered)}
	out = slices.Insert(out, 2, archives)
	for i := range out {
		if out[i].Tables == nil {
			out[i].Tables = []Table{}
		}
	}
	return out
}

// categoriesOf returns held in vocabulary order, noting undeclared ones.
func (b *builder) categoriesOf(held set) []string {
	for c := range held {
		b.use(c)
	}
	return sorted(held, b.catIndex)
}

// categories are the vocabulary, then the undeclared categories systems
// or vendors use, by key.
func (b *builder) categories(vocabulary []consent.Category) []Category {
	out := make([]Category, 0, len(vocabulary)+len(b.undeclared))
	for _, c := range vocabulary {
		out = append(out, b.category(Category{Key: c.Key, Names: c.Names, Special: c.Special, InHouse: c.InHouse, RetentionDays: c.RetentionDays}))
	}
	for _, key := range sorted(setFromBools(b.undeclared), nil) {
		out = append(out, b.category(Category{Key: key, Names: map[string]string{"en": key}, Undeclared: true}))
	}
	return out
}

func (b *builder) category(c Category) Category {
	c.Systems = sorted(b.catSystems[c.Key], nil)
	c.Recipients = sorted(b.catRecipients[c.Key], nil)
	c.Purposes = sorted(b.catPurposes[c.Key], b.purIndex)
	return c
}

func setFromBools(m map[string]bool) set {
	s := set{}
	for k := range m {
		s.add(k)
	}
	return s
}

// purposes are the catalog's, in its order, with the categories their
// recipients receive for them and the systems holding those.
func (b *builder) purposes(purposes []consent.Purpose, recipients []Recipient) []Purpose {
	out := make([]Purpose, 0, len(purposes))
	for _, p := range purposes {
		cats, recs, systems := set{}, set{}, set{}
		for _, r := range recipients {
			if !slices.Contains(r.Purposes, p.Key) {
				continue
			}
			recs.add(r.Key)
			cats.add(r.Categories...)
		}
		for c := range cats {
			for s := range b.catSystems[c] {
				systems.add(s)
			}
		}
		out = append(out, Purpose{Key: p.Key, Names: p.Names, LegalBasis: string(p.LegalBasis), Necessary: p.Necessary,
			RetentionDays: p.RetentionDays, Categories: sorted(cats, b.catIndex), Recipients: sorted(recs, nil), Systems: sorted(systems, nil)})
	}
	return out
}

// gaps are what a privacy officer should add, systems first.
func gaps(m Map) []Gap {
	out := []Gap{}
	for _, s := range m.Systems {
		if s.Facts.Owner == "" {
			out = append(out, Gap{GapNoOwner, s.Key})
		}
		if s.Facts.SecurityMeasures == "" {
			out = append(out, Gap{GapNoMeasures, s.Key})
		}
	}
	for _, r := range m.Recipients {
		switch {
		case r.Country == "":
			out = append(out, Gap{GapNoCountry, r.Key})
		case r.ThirdCountry && r.Safeguard == "":
			out = append(out, Gap{GapNoSafeguard, r.Key})
		}
	}
	purposeRetention := map[string]int{}
	for _, p := range m.Purposes {
		purposeRetention[p.Key] = p.RetentionDays
	}
	for _, c := range m.Categories {
		if c.Undeclared {
			out = append(out, Gap{GapUndeclared, c.Key})
			continue
		}
		if len(c.Systems) == 0 || c.RetentionDays > 0 {
			continue
		}
		if !slices.ContainsFunc(c.Purposes, func(p string) bool { return purposeRetention[p] > 0 }) {
			out = append(out, Gap{GapNoRetention, c.Key})
		}
	}
	return out
}
