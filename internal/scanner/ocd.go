package scanner

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"
)

// The Open Cookie Database (github.com/jkwakman/Open-Cookie-Database),
// Apache-2.0; ocd/SOURCE.md names the commit and says how to refresh it.
//
//go:embed ocd/open-cookie-database.csv
var ocdCSV []byte

// OCDEntry is one cookie or storage key of the Open Cookie Database.
type OCDEntry struct {
	Platform    string // the product that sets it, "Google Analytics"
	Category    string // Functional, Personalization, Analytics, Marketing, Security, Necessary
	Name        string // the name, or its prefix when Wildcard
	Domain      string // the host that sets it, when the database names one
	Description string // in English
	Retention   string // as the database words it, "2 years"
	Controller  string // the data controller, "Google"
	PrivacyURL  string
	Wildcard    bool
}

// CookieDB looks up cookies, storage keys and hosts in the Open Cookie
// Database.
type CookieDB struct {
	exact    map[string]OCDEntry
	prefixes []OCDEntry // wildcard entries, longest first
	hosts    map[string]OCDEntry
}

// OpenCookieDB parses the embedded database (a few milliseconds); keep
// the result, it is read-only and safe for concurrent use.
func OpenCookieDB() (*CookieDB, error) {
	return ParseCookieDB(bytes.NewReader(ocdCSV))
}

// ParseCookieDB reads the database's CSV (its header row first).
func ParseCookieDB(r io.Reader) (*CookieDB, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("open cookie database: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, want := range []string{"Platform", "Category", "Cookie / Data Key name", "Domain", "Description", "Retention period", "Data Controller", "User Privacy & GDPR Rights Portals", "Wildcard match"} {
		if _, ok := col[want]; !ok {
			return nil, fmt.Errorf("open cookie database: no column %q", want)
		}
	}
	db := &CookieDB{exact: map[string]OCDEntry{}, hosts: map[string]OCDEntry{}}
	byHost := map[string][]OCDEntry{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("open cookie database: %w", err)
		}
		e := OCDEntry{
			Platform: rec[col["Platform"]], Category: rec[col["Category"]], Name: strings.TrimSpace(rec[col["Cookie / Data Key name"]]),
			Domain: ocdHost(rec[col["Domain"]]), Description: rec[col["Description"]], Retention: rec[col["Retention period"]],
			Controller: rec[col["Data Controller"]], PrivacyURL: rec[col["User Privacy & GDPR Rights Portals"]],
			Wildcard: strings.TrimSpace(rec[col["Wildcard match"]]) == "1",
		}
		if e.Name == "" {
			continue
		}
		if e.Wildcard {
			db.prefixes = append(db.prefixes, e)
		} else if _, dup := db.exact[e.Name]; !dup {
			db.exact[e.Name] = e
		}
		if e.Domain != "" {
			byHost[e.Domain] = append(byHost[e.Domain], e)
		}
	}
	// A host stands for the platform most of its entries name (the first
	// of those entries), doubleclick.net for DoubleClick, not for one of
	// the Google products that also set a cookie there.
	for host, entries := range byHost {
		count := map[string]int{}
		best := entries[0]
		for _, e := range entries {
			count[e.Platform]++
			if count[e.Platform] > count[best.Platform] {
				best = e
			}
		}
		for _, e := range entries {
			if e.Platform == best.Platform {
				db.hosts[host] = e
				break
			}
		}
	}
	// Longest prefix first, so that _gat_gtag_ wins over _ga_.
	slices.SortStableFunc(db.prefixes, func(a, b OCDEntry) int { return len(b.Name) - len(a.Name) })
	return db, nil
}

// ocdHost makes the database's free-text domain ("cookiebot.com (3rd
// party)", ".doubleclick.net or google.com") a host name, or "".
func ocdHost(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s, _, _ = strings.Cut(s, " ")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "."), "www.")
	if s == "" || !strings.Contains(s, ".") || strings.ContainsAny(s, "/*()") {
		return ""
	}
	return s
}

// Lookup finds a cookie or storage key by name: exact, else the longest
// wildcard prefix.
func (db *CookieDB) Lookup(name string) (OCDEntry, bool) {
	if e, ok := db.exact[name]; ok {
		return e, true
	}
	for _, e := range db.prefixes {
		if strings.HasPrefix(name, e.Name) {
			return e, true
		}
	}
	return OCDEntry{}, false
}

// LookupHost finds the platform behind a host (or a parent domain of it).
func (db *CookieDB) LookupHost(host string) (OCDEntry, bool) {
	host = strings.TrimPrefix(strings.ToLower(host), "www.")
	for h := host; h != ""; {
		if e, ok := db.hosts[h]; ok {
			return e, true
		}
		_, rest, ok := strings.Cut(h, ".")
		if !ok || !strings.Contains(rest, ".") {
			break
		}
		h = rest
	}
	return OCDEntry{}, false
}

// Len is the number of entries.
func (db *CookieDB) Len() int { return len(db.exact) + len(db.prefixes) }
