package scanner

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/errs"
)

// Purpose is what a scan knows of one of the catalog's purposes.
type Purpose struct {
	Key string
	// Necessary purposes are always on (the banner's rule: the flag, or a
	// contract or legal-obligation basis).
	Necessary bool
	// Cookies are the purpose's declared name patterns ('*' wildcard).
	Cookies      []string
	Names        map[string]string
	Descriptions map[string]string
}

// Assignment is an officer's classification of a tracker: the kind and
// name (a cookie or storage key, or a host) and the purpose and vendor it
// belongs to.
type Assignment struct {
	Kind    Kind
	Name    string
	Purpose string
	Vendor  string
}

// ConsentCookie is the banner's consent cookie of the property.
type ConsentCookie struct {
	Name   string // "stw_consent" by default
	Domain string // "" for host-only
	// NoticeVersion is the current notice's version, which a stored choice
	// must name to hold after a material change.
	NoticeVersion string
}

// Target is what one scan visits and judges against.
type Target struct {
	Property string
	// Domains are the property's declared domains ("shop.example",
	// "*.shop.example"): the crawl never leaves them.
	Domains []string
	// Start are the URLs to begin with; the sitemap is read from the first.
	Start    []string
	Purposes []Purpose
	Cookie   ConsentCookie
	// StewardHosts are Steward's own hosts (banner.js, the consent API):
	// never trackers.
	StewardHosts []string
	Assignments  []Assignment
}

// Catalog is what TargetFor reads; *consent.Service is one.
type Catalog interface {
	Property(key string) (consent.Property, error)
	Properties() []consent.Property
	Purposes() []consent.Purpose
	Vendors() []consent.Vendor
	CurrentNotice() (consent.Notice, bool)
}

// TargetFor builds the target of a property from the catalog: its domains,
// its purposes, its banner's cookie. Without urls the scan starts at
// https:// of each declared domain that is not a wildcard. publicURL is
// where browsers reach Steward ("" when unknown).
func TargetFor(cat Catalog, property string, urls []string, publicURL string) (Target, error) {
	t, err := buildTarget(cat, property, urls, publicURL)
	if err != nil {
		return t, err
	}
	return t, t.Validate()
}

// buildTarget is TargetFor without the validation.
func buildTarget(cat Catalog, property string, urls []string, publicURL string) (Target, error) {
	p, err := cat.Property(property)
	if err != nil {
		return Target{}, err
	}
	t := Target{Property: p.Key, Domains: p.Domains, Start: urls,
		Cookie: ConsentCookie{Name: p.Banner.CookieName, Domain: p.Banner.CookieDomain}}
	if t.Cookie.Name == "" {
		t.Cookie.Name = "stw_consent"
	}
	if n, ok := cat.CurrentNotice(); ok {
		t.Cookie.NoticeVersion = n.Version
	}
	for _, pu := range cat.Purposes() {
		t.Purposes = append(t.Purposes, Purpose{Key: pu.Key,
			Necessary: pu.Necessary || pu.LegalBasis == consent.BasisContract || pu.LegalBasis == consent.BasisLegalObligation,
			Cookies:   pu.Cookies, Names: pu.Names, Descriptions: pu.Descriptions})
	}
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" {
		t.StewardHosts = []string{strings.ToLower(u.Hostname())}
	}
	if len(t.Start) == 0 {
		for _, d := range p.Domains {
			if !strings.HasPrefix(d, "*.") {
				t.Start = append(t.Start, "https://"+d+"/")
			}
		}
	}
	return t, nil
}

// Validate checks that the target has somewhere to start and that every
// start URL lies within the declared domains.
func (t Target) Validate() error {
	problems := errs.Problems{}
	if len(t.Domains) == 0 {
		problems.Add("property", "scan_no_domains")
	}
	if len(t.Start) == 0 {
		problems.Add("url", "scan_no_start")
	}
	for _, s := range t.Start {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || !t.FirstParty(u.Hostname()) {
			problems.Add("url", "scan_url_outside")
		}
	}
	if len(problems) > 0 {
		return errs.FieldsKeyed(problems)
	}
	return nil
}

// FirstParty reports whether host lies within the declared domains: equal
// to one, or below one ("*.shop.example" and "shop.example" both cover
// "www.shop.example").
func (t Target) FirstParty(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(host), "."), ".")
	if host == "" {
		return false
	}
	for _, d := range t.Domains {
		d = strings.TrimPrefix(strings.ToLower(d), "*.")
		if host == d || (net.ParseIP(d) == nil && strings.HasSuffix(host, "."+d)) {
			return true
		}
	}
	return false
}

func (t Target) steward(host string) bool {
	for _, h := range t.StewardHosts {
		if strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// States are the consent states a scan visits: no choice, reject, accept,
// and each optional purpose alone.
func (t Target) States() []State {
	states := []State{{Kind: StateNone}, {Kind: StateReject}, {Kind: StateAccept}}
	for _, p := range t.Purposes {
		if !p.Necessary {
			states = append(states, State{Kind: StateOnly, Purpose: p.Key})
		}
	}
	return states
}

// purpose returns the purpose with key, if declared.
func (t Target) purpose(key string) (Purpose, bool) {
	for _, p := range t.Purposes {
		if p.Key == key {
			return p, true
		}
	}
	return Purpose{}, false
}

// cookieValue is the banner's stored choice for state s (the format of
// internal/web/banner/assets/banner.md): notice version, time in seconds
// (base 36), device id, "i" (given under opt-in, which holds under either
// regime), and key:1/key:0 for every optional purpose. It is "" for
// StateNone, which has no cookie.
func (t Target) cookieValue(s State, now time.Time, device string) string {
	if s.Kind == StateNone {
		return ""
	}
	var choices []string
	for _, p := range t.Purposes {
		if p.Necessary {
			continue
		}
		on := "0"
		if s.Grants(p.Key) {
			on = "1"
		}
		choices = append(choices, p.Key+":"+on)
	}
	return strings.Join([]string{encodeURIComponent(t.Cookie.NoticeVersion), strconv.FormatInt(now.Unix(), 36), device, "i",
		strings.Join(choices, "/")}, "|")
}

// String names the target for messages.
func (t Target) String() string { return fmt.Sprintf("property %s", t.Property) }

// encodeURIComponent escapes s as JavaScript's function of that name does,
// which the banner reverses with decodeURIComponent.
func encodeURIComponent(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
