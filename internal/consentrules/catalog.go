package consentrules

import (
	"fmt"
	"math"
)

// AlwaysOpen is the OpenUntil of a purpose that needs no assessment.
const AlwaysOpen = math.MaxInt64

// RulesDocument is the decision-relevant part of the catalog, as
// GET /v1/consent/rules sends it to a local Decider: no texts, no
// personal data. Times are Unix microseconds.
type RulesDocument struct {
	// Fingerprint changes whenever the catalog or the assessments do; the
	// decision stream's messages carry the current one.
	Fingerprint string `json:"fingerprint"`
	// Seq is the ledger's sequence number when the document was read.
	Seq int64 `json:"seq"`
	// CurrentNotice is the ordinal of the latest material published notice.
	CurrentNotice int             `json:"current_notice"`
	DefaultRules  PropertyRules   `json:"default_rules"`
	Properties    []PropertyRules `json:"properties"`
	Purposes      []PurposeRules  `json:"purposes"`
	Vendors       []VendorRules   `json:"vendors"`
}

// PropertyRules are a property's jurisdiction rules.
type PropertyRules struct {
	Key                 string   `json:"key,omitempty"`
	OptIn               []string `json:"opt_in"`
	OptOut              []string `json:"opt_out"`
	Default             Regime   `json:"default"`
	DefaultJurisdiction string   `json:"default_jurisdiction,omitempty"`
}

// PurposeRules is what decisions need of a purpose.
type PurposeRules struct {
	Key           string     `json:"key"`
	LegalBasis    LegalBasis `json:"legal_basis"`
	Necessary     bool       `json:"necessary"`
	SaleOrSharing bool       `json:"sale_or_sharing"`
	Communication bool       `json:"communication"`
	Channels      []string   `json:"channels"`
	// Vendors are the vendors declared for the purpose.
	Vendors []string `json:"vendors"`
	// OpenUntil is when data stops being usable for the purpose (its
	// ethics assessment ends): 0 when it is not now, AlwaysOpen when it
	// needs no assessment.
	OpenUntil int64 `json:"open_until"`
}

// VendorRules is what decisions need of a vendor.
type VendorRules struct {
	Key string `json:"key"`
	// OpenUntil is when the vendor's security assessment ends: 0 when it
	// may receive nothing now.
	OpenUntil int64 `json:"open_until"`
}

// Catalog is a compiled catalog: what Decide reads.
type Catalog struct {
	Purposes      map[string]*PurposeEntry
	Vendors       map[string]*VendorEntry
	Properties    map[string]*PropertyEntry
	Default       Regimes
	CurrentNotice uint16
	// PurposeOpen and VendorOpen are the gates: by index number, until
	// when (Unix microseconds) a purpose may be used, a vendor receive
	// data. The server keeps its own gates and passes them to Decide.
	PurposeOpen, VendorOpen []int64
}

// PurposeEntry is a compiled purpose.
type PurposeEntry struct {
	ID       uint16
	Rule     PurposeRule
	declared []uint64          // bit set of the index numbers of vendors declared for it
	channels [NumChannels]bool // by ChannelIndex
}

// Declares reports whether vendor (an index number) is declared for the purpose.
func (p *PurposeEntry) Declares(vendor uint16) bool {
	w := int(vendor / 64)
	return w < len(p.declared) && p.declared[w]&(1<<(vendor%64)) != 0
}

// SendsBy reports whether a communication topic is sent by channel.
func (p *PurposeEntry) SendsBy(channel string) bool {
	i := ChannelIndex(channel)
	return i >= 0 && p.channels[i]
}

// VendorEntry is a compiled vendor.
type VendorEntry struct{ ID uint16 }

// PropertyEntry is a compiled property.
type PropertyEntry struct {
	Regimes             Regimes
	DefaultJurisdiction string
}

// Compile turns the document into a Catalog whose purposes and vendors
// carry x's numbers.
func (d *RulesDocument) Compile(x *Index) *Catalog {
	purposeKeys := make([]string, len(d.Purposes))
	for i, p := range d.Purposes {
		purposeKeys[i] = p.Key
	}
	vendorKeys := make([]string, len(d.Vendors))
	for i, v := range d.Vendors {
		vendorKeys[i] = v.Key
	}
	purposeIDs, vendorIDs := x.CatalogIDs(purposeKeys, vendorKeys)
	c := &Catalog{
		Purposes:      make(map[string]*PurposeEntry, len(d.Purposes)),
		Vendors:       make(map[string]*VendorEntry, len(d.Vendors)),
		Properties:    make(map[string]*PropertyEntry, len(d.Properties)),
		Default:       Compile(d.DefaultRules.OptIn, d.DefaultRules.OptOut, d.DefaultRules.Default),
		CurrentNotice: uint16(d.CurrentNotice),
	}
	for _, v := range d.Vendors {
		id := vendorIDs[v.Key]
		c.Vendors[v.Key] = &VendorEntry{ID: id}
		c.VendorOpen = setOpen(c.VendorOpen, id, v.OpenUntil)
	}
	for _, p := range d.Purposes {
		e := &PurposeEntry{ID: purposeIDs[p.Key], Rule: PurposeRule{LegalBasis: p.LegalBasis, Necessary: p.Necessary,
			SaleOrSharing: p.SaleOrSharing, Communication: p.Communication}}
		for _, ch := range p.Channels {
			if i := ChannelIndex(ch); i >= 0 {
				e.channels[i] = true
			}
		}
		for _, key := range p.Vendors {
			v, ok := c.Vendors[key]
			if !ok {
				continue
			}
			for len(e.declared) <= int(v.ID/64) {
				e.declared = append(e.declared, 0)
			}
			e.declared[v.ID/64] |= 1 << (v.ID % 64)
		}
		c.Purposes[p.Key] = e
		c.PurposeOpen = setOpen(c.PurposeOpen, e.ID, p.OpenUntil)
	}
	for _, p := range d.Properties {
		c.Properties[p.Key] = &PropertyEntry{Regimes: Compile(p.OptIn, p.OptOut, p.Default), DefaultJurisdiction: p.DefaultJurisdiction}
	}
	return c
}

func setOpen(list []int64, id uint16, until int64) []int64 {
	if until == 0 {
		return list
	}
	for int(id) >= len(list) {
		list = append(list, 0)
	}
	list[id] = until
	return list
}

// Question asks whether a subject's or device's data may be used for a
// purpose, optionally by a vendor and by a channel; see consent.Question.
type Question struct {
	Subject, Device, Purpose, Channel, Vendor, Jurisdiction, Property string
	GPC                                                               bool
}

// FieldError is a question's fault, naming the field.
type FieldError struct {
	Field, Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

func open(gate []int64, id uint16, nowMicros int64) bool {
	return int(id) < len(gate) && nowMicros < gate[id]
}

// Decide answers one question from a catalog, its gates (purposeOpen and
// vendorOpen, by index number; see Catalog) and an index, at nowMicros.
// gpcHeader is the Sec-GPC signal of the request that carries the
// question. A question at fault is a *FieldError. It does not allocate
// for valid input.
//
// For a communication topic, the question names the channel the company
// means to use, and the later of the subject's choice of the topic by
// every channel and by that channel decides (LatestChoice); a question
// naming no channel asks about every channel the topic declares, and is
// allowed only if each is (the first refused channel answers).
func Decide(cat *Catalog, purposeOpen, vendorOpen []int64, x *Index, q *Question, gpcHeader bool, nowMicros int64) (Answer, error) {
	return decide(cat, purposeOpen, vendorOpen, x, q, false, false, Key{}, gpcHeader, nowMicros)
}

// DecideKey is Decide for the identity whose key in x is key (a subject's
// when subject, else a device's), for a caller who holds the key already
// and so saves hashing the id; q names neither subject nor device.
func DecideKey(cat *Catalog, purposeOpen, vendorOpen []int64, x *Index, q *Question, subject bool, key Key, gpcHeader bool, nowMicros int64) (Answer, error) {
	return decide(cat, purposeOpen, vendorOpen, x, q, true, subject, key, gpcHeader, nowMicros)
}

// decide is Decide (keyed false) and DecideKey (keyed true).
func decide(cat *Catalog, purposeOpen, vendorOpen []int64, x *Index, q *Question, keyed, isSubject bool, key Key, gpcHeader bool, nowMicros int64) (Answer, error) {
	p, ok := cat.Purposes[q.Purpose]
	if !ok {
		return Answer{}, invalid("purpose", "unknown purpose %q", q.Purpose)
	}
	switch {
	case keyed && (q.Subject != "" || q.Device != ""):
		return Answer{}, invalid("subject", "give the identity by its ref or by subject or device, not both")
	case !keyed && (q.Subject == "") == (q.Device == ""):
		return Answer{}, invalid("subject", "give exactly one of subject and device")
	}
	if q.Channel != "" && !p.SendsBy(q.Channel) {
		return Answer{}, invalid("channel", "purpose %q is not sent by channel %q", q.Purpose, q.Channel)
	}
	purposeAssessed := open(purposeOpen, p.ID, nowMicros)
	var vendor uint16
	vendorDeclared, vendorAssessed := false, false
	if q.Vendor != "" {
		v, ok := cat.Vendors[q.Vendor]
		if !ok {
			return Answer{}, invalid("vendor", "unknown vendor %q", q.Vendor)
		}
		vendor = v.ID
		vendorDeclared = p.Declares(v.ID)
		vendorAssessed = open(vendorOpen, v.ID, nowMicros)
	}
	regimes := &cat.Default
	jurisdiction := q.Jurisdiction
	if q.Property != "" {
		prop, ok := cat.Properties[q.Property]
		if !ok {
			return Answer{}, invalid("property", "unknown property %q", q.Property)
		}
		regimes = &prop.Regimes
		if jurisdiction == "" {
			jurisdiction = prop.DefaultJurisdiction
		}
	}
	if jurisdiction != "" && !ValidJurisdiction(jurisdiction) {
		return Answer{}, invalid("jurisdiction", "%q is not a country (DE) or subdivision (US-CA) code", jurisdiction)
	}
	regime := regimes.Regime(jurisdiction)
	gpc := gpcHeader || q.GPC
	vendorGiven := q.Vendor != ""
	if !keyed {
		key, isSubject = x.keyOf(subjectOrDevice(q.Subject, q.Device)), q.Subject != ""
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	ident := x.identOf(isSubject, key)
	if q.Channel == "" && p.Rule.Communication {
		// Asked about no channel, the question is whether the subject
		// may be written to by every channel the topic declares: the
		// first channel refused answers, else the first allowed.
		var first Answer
		for i, declared := range p.channels {
			if !declared {
				continue
			}
			s, found, h := x.latest(ident, p.ID, vendor, uint16(i+1))
			a := Rule(&p.Rule, vendorGiven, vendorDeclared, vendorAssessed, purposeAssessed, regime, gpc, s, found, h, cat.CurrentNotice)
			if first.Reason == "" || first.Allowed && !a.Allowed {
				first = a
			}
		}
		if first.Reason != "" {
			return first, nil
		}
	}
	s, found, h := x.latest(ident, p.ID, vendor, ChannelCode(q.Channel))
	return Rule(&p.Rule, vendorGiven, vendorDeclared, vendorAssessed, purposeAssessed, regime, gpc, s, found, h, cat.CurrentNotice), nil
}
