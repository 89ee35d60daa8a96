package scanner

import "strings"

// classifier judges what a scan found against the target's declarations
// and the Open Cookie Database.
type classifier struct {
	t        Target
	ocd      *CookieDB
	assigned map[string]Assignment // by assignmentKey
	// necessaryKey is the first necessary purpose, for what is necessary
	// by nature (the banner's own cookie, the site's own scripts).
	necessaryKey string
}

func newClassifier(t Target, ocd *CookieDB) *classifier {
	c := &classifier{t: t, ocd: ocd, assigned: map[string]Assignment{}}
	for _, a := range t.Assignments {
		c.assigned[assignmentKey(a.Kind, a.Name)] = a
	}
	for _, p := range t.Purposes {
		if p.Necessary {
			c.necessaryKey = p.Key
			break
		}
	}
	return c
}

// assignmentKey: cookies and storage keys by kind and name; hosts by host,
// whatever was loaded from them (requests, scripts, iframes).
func assignmentKey(k Kind, name string) string {
	switch k {
	case KindRequest, KindScript, KindIframe:
		return "host|" + strings.ToLower(name)
	}
	return string(k) + "|" + name
}

// hostKind reports whether items of kind k are named by a host.
func hostKind(k Kind) bool { return k == KindRequest || k == KindScript || k == KindIframe }

// categoryPurposes maps the Open Cookie Database's categories to the
// purpose keys a catalog commonly uses for them.
var categoryPurposes = map[string][]string{
	"Analytics":       {"analytics", "statistics", "measurement", "performance"},
	"Marketing":       {"marketing", "advertising", "ads", "targeting"},
	"Personalization": {"personalization", "personalisation", "preferences", "functional"},
}

// necessaryCategories are the database's categories of what a site needs
// to work.
func necessaryCategory(c string) bool {
	return c == "Functional" || c == "Security" || c == "Necessary"
}

func (c *classifier) classify(it Item) Classification {
	// Steward's own: the consent cookie, the banner's storage, its host.
	if (it.Kind == KindCookie && it.Name == c.t.Cookie.Name) ||
		((it.Kind == KindLocalStorage || it.Kind == KindSessionStorage) && strings.HasPrefix(it.Name, c.t.Cookie.Name+".")) ||
		(hostKind(it.Kind) && c.t.steward(it.Name)) {
		return Classification{Purpose: c.necessaryKey, Platform: "Steward", Category: "Necessary", Source: SourceSteward}
	}
	if hostKind(it.Kind) && !it.ThirdParty {
		return Classification{Purpose: c.necessaryKey, Source: SourceFirstParty}
	}
	if a, ok := c.assigned[assignmentKey(it.Kind, it.Name)]; ok {
		return Classification{Purpose: a.Purpose, Vendor: a.Vendor, Source: SourceAssigned}
	}
	if !hostKind(it.Kind) {
		for _, p := range c.t.Purposes {
			for _, pattern := range p.Cookies {
				if wildcardMatch(pattern, it.Name) {
					class := Classification{Purpose: p.Key, Source: SourceDeclared}
					if e, ok := c.ocd.Lookup(it.Name); ok {
						class.Platform, class.Category, class.Description, class.Retention = e.Platform, e.Category, e.Description, e.Retention
					}
					return class
				}
			}
		}
	}
	var e OCDEntry
	var found bool
	if hostKind(it.Kind) {
		e, found = c.ocd.LookupHost(it.Name)
	} else if e, found = c.ocd.Lookup(it.Name); !found && it.Kind == KindCookie && it.ThirdParty {
		e, found = c.ocd.LookupHost(it.Domain)
	}
	if found {
		class := Classification{Platform: e.Platform, Category: e.Category, Description: e.Description, Retention: e.Retention, Source: SourceOCD}
		if necessaryCategory(e.Category) {
			class.Purpose = c.necessaryKey
		}
		for _, key := range categoryPurposes[e.Category] {
			if _, ok := c.t.purpose(key); ok {
				class.Purpose = key
				break
			}
		}
		return class
	}
	return Classification{Source: SourceUnclassified}
}

// necessary reports whether a classified item may appear whatever the
// visitor chose.
func (c *classifier) necessary(class Classification) bool {
	switch class.Source {
	case SourceSteward, SourceFirstParty:
		return true
	case SourceUnclassified:
		return false
	}
	if class.Purpose == "" {
		return class.Source == SourceOCD && necessaryCategory(class.Category)
	}
	p, ok := c.t.purpose(class.Purpose)
	return ok && p.Necessary
}

// judge says why item may not appear in state, or "" when it may.
// withoutConsent holds the keys of what appeared when everything was
// refused: an item of unknown purpose that appears only once one purpose
// is granted is that purpose's doing.
func (c *classifier) judge(it Item, s State, withoutConsent map[string]bool) string {
	if c.necessary(it.Class) {
		return ""
	}
	switch s.Kind {
	case StateAccept:
		return ""
	case StateNone:
		return ViolationBeforeConsent
	case StateReject:
		return ViolationRefused
	}
	if it.Class.Purpose != "" {
		if s.Grants(it.Class.Purpose) {
			return ""
		}
		return ViolationRefused
	}
	if withoutConsent[it.Key()] {
		return ViolationRefused
	}
	return ""
}

// wildcardMatch matches name against pattern, in which '*' stands for any
// run of characters and every other character for itself (the banner's
// rule for a purpose's cookie patterns).
func wildcardMatch(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(name, part)
		if i < 0 {
			return false
		}
		name = name[i+len(part):]
	}
	return strings.HasSuffix(name, last)
}
