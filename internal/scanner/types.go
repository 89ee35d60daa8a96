package scanner

import (
	"strings"
	"time"
)

// Kind is what was found.
type Kind string

// The kinds of what a scan records.
const (
	KindCookie         Kind = "cookie"
	KindLocalStorage   Kind = "local_storage"
	KindSessionStorage Kind = "session_storage"
	KindRequest        Kind = "request" // a request to a third-party host
	KindScript         Kind = "script"  // a script that ran, by origin
	KindIframe         Kind = "iframe"  // a frame that loaded, by origin
)

// kindOrder lists every kind, in report order.
var kindOrder = []Kind{KindCookie, KindLocalStorage, KindSessionStorage, KindRequest, KindScript, KindIframe}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, known := range kindOrder {
		if k == known {
			return true
		}
	}
	return false
}

// StateKind is the visitor's choice a page is loaded under.
type StateKind string

// The consent states.
const (
	StateNone   StateKind = "none"   // no choice yet: the banner is showing
	StateReject StateKind = "reject" // "Reject all"
	StateAccept StateKind = "accept" // "Accept all"
	StateOnly   StateKind = "only"   // one purpose granted, the others refused
)

// State is one consent state of a scan.
type State struct {
	Kind    StateKind `json:"kind"`
	Purpose string    `json:"purpose,omitempty"` // for StateOnly
}

// String is "none", "reject", "accept" or "only:PURPOSE".
func (s State) String() string {
	if s.Kind == StateOnly {
		return "only:" + s.Purpose
	}
	return string(s.Kind)
}

// ParseState reads State.String's form back.
func ParseState(s string) (State, bool) {
	if p, ok := strings.CutPrefix(s, "only:"); ok && p != "" {
		return State{Kind: StateOnly, Purpose: p}, true
	}
	switch k := StateKind(s); k {
	case StateNone, StateReject, StateAccept:
		return State{Kind: k}, true
	}
	return State{}, false
}

// Grants reports whether purpose (not necessary) is granted in s.
func (s State) Grants(purpose string) bool {
	switch s.Kind {
	case StateAccept:
		return true
	case StateOnly:
		return purpose == s.Purpose
	}
	return false
}

// Classification says what something found is for.
type Classification struct {
	// Purpose is the property's purpose key, "" when unknown.
	Purpose string `json:"purpose,omitempty"`
	// Vendor is the catalog's vendor key, when an officer assigned one.
	Vendor string `json:"vendor,omitempty"`
	// Platform, Category, Description and Retention come from the Open
	// Cookie Database when it knows the name or host.
	Platform    string `json:"platform,omitempty"`
	Category    string `json:"category,omitempty"`
	Description string `json:"description,omitempty"`
	Retention   string `json:"retention,omitempty"`
	// Source says who classified it: SourceSteward, SourceDeclared,
	// SourceAssigned, SourceOCD, or SourceUnclassified.
	Source string `json:"source"`
}

// The sources of a classification.
const (
	SourceSteward      = "steward"      // the banner's own cookie, storage and host
	SourceFirstParty   = "first_party"  // the site's own scripts, frames and hosts
	SourceDeclared     = "declared"     // a purpose's cookie patterns
	SourceAssigned     = "assigned"     // an officer's assignment
	SourceOCD          = "ocd"          // the Open Cookie Database
	SourceUnclassified = "unclassified" // for an officer to assign
)

// Item is one thing found on a page in one state. It never holds a
// cookie's or storage entry's value.
type Item struct {
	Kind Kind `json:"kind"`
	// Name is the cookie's name, the storage key, or the host (requests) or
	// origin (scripts, iframes).
	Name string `json:"name"`
	// Domain is the cookie's domain, or the storage's origin.
	Domain     string `json:"domain,omitempty"`
	ThirdParty bool   `json:"third_party"`
	// Lifetime of a cookie in seconds; -1 for a session cookie.
	Lifetime int64          `json:"lifetime,omitempty"`
	Class    Classification `json:"class"`
	// Violation says why the item should not be there, "" when it may.
	Violation string `json:"violation,omitempty"`
}

// Key identifies an item across pages and states.
func (i Item) Key() string { return string(i.Kind) + "|" + i.Name + "|" + i.Domain }

// Why an item is a violation.
const (
	ViolationBeforeConsent = "before_consent"  // no purpose granted, and not necessary
	ViolationRefused       = "purpose_refused" // its purpose was refused
)

// PageResult is what one page showed in one state.
type PageResult struct {
	URL   string `json:"url"`
	State string `json:"state"`
	Items []Item `json:"items"`
	// Untagged lists third-party scripts that ran without a
	// data-steward-purpose attribute, by src.
	Untagged []string `json:"untagged,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// Violation is an item that appeared when it should not have.
type Violation struct {
	State  string `json:"state"`
	Page   string `json:"page"`
	Kind   Kind   `json:"kind"`
	Name   string `json:"name"`
	Domain string `json:"domain,omitempty"`
	// Purpose is the item's purpose, "" when unclassified.
	Purpose string `json:"purpose,omitempty"`
	Reason  string `json:"reason"`
}

// Tracker is one distinct item of a scan, over every page and state.
type Tracker struct {
	Kind       Kind           `json:"kind"`
	Name       string         `json:"name"`
	Domain     string         `json:"domain,omitempty"`
	ThirdParty bool           `json:"third_party"`
	Lifetime   int64          `json:"lifetime,omitempty"`
	Class      Classification `json:"class"`
	// States lists the states it appeared in.
	States []string `json:"states"`
	// Suggested is the purpose whose grant alone made it appear, when it
	// is unclassified: a hint for the officer.
	Suggested string `json:"suggested,omitempty"`
	Pages     int    `json:"pages"`
}

// TagSuggestion is a script that ran without a data-steward-purpose tag,
// and the tag it should carry.
type TagSuggestion struct {
	Src string `json:"src"`
	// Purpose is the suggested purpose; "" when the script's host is
	// unclassified (assign it, then scan again).
	Purpose string `json:"purpose,omitempty"`
	// Tag is the script element to put in its place.
	Tag   string   `json:"tag"`
	Pages []string `json:"pages"`
}

// Report is the result of one scan.
type Report struct {
	Property   string    `json:"property"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Pages      []string  `json:"pages"`
	States     []string  `json:"states"`
	// Truncated is set when the page or time limit cut the scan short.
	Truncated   bool            `json:"truncated,omitempty"`
	Results     []PageResult    `json:"results"`
	Violations  []Violation     `json:"violations"`
	Trackers    []Tracker       `json:"trackers"`
	Suggestions []TagSuggestion `json:"suggestions"`
}

// Unclassified counts the trackers nobody classified.
func (r *Report) Unclassified() int {
	n := 0
	for _, t := range r.Trackers {
		if t.Class.Source == SourceUnclassified {
			n++
		}
	}
	return n
}
