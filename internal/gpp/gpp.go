package gpp

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/tcf"
)

// Version is the GPP version this package reads and writes.
const Version = 1

// Section ids (Sections/Section Information.md of the specification) that
// this package decodes into typed values.
const (
	IDTCFEUv2 = 2
	IDUSNat   = 7
	IDUSCA    = 8
	IDUSVA    = 9
	IDUSCO    = 10
	IDUSUT    = 11
	IDUSCT    = 12
)

// headerType is the 6-bit type that opens every GPP header.
const headerType = 3

// maxSectionID bounds the section ids accepted: the specification assigns
// ids below 30; 65535 leaves room without letting a header name absurd ids.
const maxSectionID = 65535

// maxInputLen bounds the length of a GPP string accepted by Decode.
const maxInputLen = 1 << 20

// sectionNames are the client-side API prefixes of the sections the
// specification lists, for display; only some are decoded.
var sectionNames = map[int]string{
	1: "tcfeuv1", 2: "tcfeuv2", 5: "tcfcav1", 6: "uspv1", 7: "usnat", 8: "usca", 9: "usva",
	10: "usco", 11: "usut", 12: "usct", 13: "usfl", 14: "usmt", 15: "usor", 16: "ustx", 17: "usde",
	18: "usia", 19: "usne", 20: "usnh", 21: "usnj", 22: "ustn", 23: "usmn", 24: "usmd", 25: "usin",
	26: "usky", 27: "usri",
}

// SectionName returns the API prefix of section id ("usnat"), or "" when
// the specification names no such section.
func SectionName(id int) string { return sectionNames[id] }

// String is a decoded GPP string.
type String struct {
	// Version is the GPP version of the header; always 1.
	Version int `json:"version"`
	// Sections are in ascending id order, each id at most once.
	Sections []Section `json:"sections"`
}

// Section is one section of a GPP string. For the ids this package knows,
// exactly one typed field is set (the one its id names); other sections
// carry only Raw.
type Section struct {
	ID   int    `json:"id"`
	Name string `json:"name,omitempty"` // the API prefix, informative: the id decides
	// Raw is the section's text as found in the string. Encode copies it
	// unchanged when the typed field is nil, or when Raw still decodes to
	// exactly the typed field's value; otherwise it encodes the typed field.
	Raw     string        `json:"raw,omitempty"`
	TCFEUv2 *tcf.TCString `json:"tcfeuv2,omitempty"`
	USNat   *USNat        `json:"usnat,omitempty"`
	USCA    *USCA         `json:"usca,omitempty"`
	USVA    *USVA         `json:"usva,omitempty"`
	USCO    *USCO         `json:"usco,omitempty"`
	USUT    *USUT         `json:"usut,omitempty"`
	USCT    *USCT         `json:"usct,omitempty"`
}

// Section returns the section with id, or nil.
func (s *String) Section(id int) *Section {
	if s == nil {
		return nil
	}
	for i := range s.Sections {
		if s.Sections[i].ID == id {
			return &s.Sections[i]
		}
	}
	return nil
}

// SectionIDs returns the ids of the sections, in order.
func (s *String) SectionIDs() []int {
	ids := make([]int, len(s.Sections))
	for i, sec := range s.Sections {
		ids[i] = sec.ID
	}
	return ids
}

// MarshalJSON writes sections as an array, never null.
func (s String) MarshalJSON() ([]byte, error) {
	type plain String
	p := plain(s)
	if p.Sections == nil {
		p.Sections = []Section{}
	}
	return json.Marshal(p)
}

// typed returns the typed value a section carries and how many typed
// fields are set.
func (sec *Section) typed() (v any, n int) {
	for _, c := range []struct {
		set bool
		v   any
	}{
		{sec.TCFEUv2 != nil, sec.TCFEUv2}, {sec.USNat != nil, sec.USNat}, {sec.USCA != nil, sec.USCA},
		{sec.USVA != nil, sec.USVA}, {sec.USCO != nil, sec.USCO}, {sec.USUT != nil, sec.USUT},
		{sec.USCT != nil, sec.USCT},
	} {
		if c.set {
			v, n = c.v, n+1
		}
	}
	return v, n
}

// invalid returns an errs.CodeInvalid error naming the part at fault.
func invalid(path, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &errs.Error{Code: errs.CodeInvalid, Message: "gpp: " + path + ": " + msg, Fields: map[string]string{path: msg}}
}

// wrapInvalid prefixes path to the fields of an error of this package, or
// makes a field error of path wrapping another package's error. Messages
// stay single lines starting with "gpp: ".
func wrapInvalid(path string, err error) error {
	var e *errs.Error
	if errors.As(err, &e) && e.Code == errs.CodeInvalid {
		fields := make(map[string]string, len(e.Fields))
		for k, v := range e.Fields {
			fields[path+"."+k] = v
		}
		msg := strings.TrimPrefix(e.Message, "gpp: ")
		return &errs.Error{Code: errs.CodeInvalid, Message: "gpp: " + path + "." + msg, Fields: fields, Err: e.Err}
	}
	return &errs.Error{Code: errs.CodeInvalid, Message: "gpp: " + path, Fields: map[string]string{path: err.Error()}, Err: err}
}
