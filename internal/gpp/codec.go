package gpp

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/tcf"
)

// Decode parses a GPP string. Sections whose ids this package does not
// decode are kept as raw strings; a typed section that cannot be read is an
// error naming the section and field.
func Decode(s string) (*String, error) {
	if s == "" {
		return nil, invalid("string", "empty")
	}
	if len(s) > maxInputLen {
		return nil, invalid("string", "too long (%d bytes, limit %d)", len(s), maxInputLen)
	}
	if i := unprintable(s); i >= 0 {
		return nil, invalid("string", "byte 0x%02x at %d is not printable ASCII", s[i], i+1)
	}
	head, body, _ := strings.Cut(s, "~")
	if s[0] == 'C' && !strings.Contains(s, "~") {
		// A bare TCF v2 TC string, which iabgpp-es also reads as a GPP
		// string holding only the tcfeuv2 section.
		sec := Section{ID: IDTCFEUv2, Name: SectionName(IDTCFEUv2), Raw: s}
		if err := decodeSection(&sec); err != nil {
			return nil, err
		}
		return &String{Version: Version, Sections: []Section{sec}}, nil
	}
	texts := strings.Count(s, "~") // section texts after the header
	ids, err := decodeHeader(head, texts)
	if err != nil {
		return nil, err
	}
	if len(ids) != texts {
		return nil, invalid("header.SectionIds", "lists %d sections, the string has %d", len(ids), texts)
	}
	out := &String{Version: Version, Sections: make([]Section, len(ids))}
	for i, id := range ids {
		var text string
		text, body, _ = strings.Cut(body, "~")
		sec := &out.Sections[i]
		sec.ID, sec.Name, sec.Raw = id, SectionName(id), text
		if text == "" {
			return nil, invalid(sectionPath(id), "section %d of the string is empty", i+1)
		}
		if err := decodeSection(sec); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sectionPath names a section in errors: its API prefix, or "section N".
func sectionPath(id int) string {
	if name := SectionName(id); name != "" {
		return name
	}
	return fmt.Sprintf("section %d", id)
}

// decodeHeader reads the header and its section ids. It stops expanding
// ranges past limit ids (the number of section texts), so a short header
// cannot make it list millions.
func decodeHeader(head string, limit int) ([]int, error) {
	if head == "" {
		return nil, invalid("header", "empty")
	}
	r, bad := newBitReader(head)
	if bad != 0 {
		return nil, invalid("header", "not base64url (bad character at %d)", bad)
	}
	typ, ok := r.read(6)
	if !ok {
		return nil, invalid("header.Type", "truncated at bit 0")
	}
	if typ != headerType {
		return nil, invalid("header.Type", "type %d is not %d (a GPP header starts with \"D\")", typ, headerType)
	}
	ver, ok := r.read(6)
	if !ok {
		return nil, invalid("header.Version", "truncated at bit 6")
	}
	if ver != Version {
		return nil, invalid("header.Version", "version %d is not supported (want %d)", ver, Version)
	}
	count, ok := r.read(12)
	if !ok {
		return nil, invalid("header.SectionIds", "truncated at bit 12")
	}
	ids := make([]int, 0, min(count, limit))
	last := 0
	for i := 1; i <= count; i++ {
		isGroup, ok := r.read(1)
		if !ok {
			return nil, invalid("header.SectionIds", "entry %d truncated at bit %d", i, r.pos)
		}
		start, err := readOffset(&r, i, last)
		if err != nil {
			return nil, err
		}
		end := start
		if isGroup == 1 {
			if end, err = readOffset(&r, i, start); err != nil {
				return nil, err
			}
		}
		for id := start; id <= end; id++ {
			if len(ids) == limit {
				return nil, invalid("header.SectionIds", "lists more sections than the string's %d", limit)
			}
			ids = append(ids, id)
		}
		last = end
	}
	return ids, nil
}

// readOffset reads a Fibonacci-coded offset and adds it to base.
func readOffset(r *bitReader, entry, base int) (int, error) {
	pos := r.pos
	v, ok, tooLong := r.readFibonacci()
	switch {
	case tooLong:
		return 0, invalid("header.SectionIds", "entry %d: Fibonacci code at bit %d is too long", entry, pos)
	case !ok:
		return 0, invalid("header.SectionIds", "entry %d truncated at bit %d", entry, r.pos)
	case base+v > maxSectionID:
		return 0, invalid("header.SectionIds", "entry %d: section id %d out of range (1-%d)", entry, base+v, maxSectionID)
	}
	return base + v, nil
}

// decodeSection fills the typed field of sec from sec.Raw, for the ids this
// package decodes.
func decodeSection(sec *Section) error {
	name := sectionPath(sec.ID)
	var v usSection
	switch sec.ID {
	case IDTCFEUv2:
		tc, err := tcf.Decode(sec.Raw)
		if err != nil {
			return wrapInvalid(name, err)
		}
		sec.TCFEUv2 = tc
		return nil
	case IDUSNat:
		sec.USNat = &USNat{}
		v = sec.USNat
	case IDUSCA:
		sec.USCA = &USCA{}
		v = sec.USCA
	case IDUSVA:
		sec.USVA = &USVA{}
		v = sec.USVA
	case IDUSCO:
		sec.USCO = &USCO{}
		v = sec.USCO
	case IDUSUT:
		sec.USUT = &USUT{}
		v = sec.USUT
	case IDUSCT:
		sec.USCT = &USCT{}
		v = sec.USCT
	default:
		return nil
	}
	return decodeUS(name, sec.Raw, v)
}

// decodable reports whether this package decodes sections with id.
func decodable(id int) bool {
	switch id {
	case IDTCFEUv2, IDUSNat, IDUSCA, IDUSVA, IDUSCO, IDUSUT, IDUSCT:
		return true
	}
	return false
}

// Encode validates s and returns its GPP string: the header, then each
// section in ascending id order. Section i of s is named "sections[i]" in
// errors.
func Encode(s *String) (string, error) {
	if s == nil {
		return "", invalid("string", "nil")
	}
	if s.Version != Version {
		return "", invalid("version", "version %d is not supported (want %d)", s.Version, Version)
	}
	order := make([]int, len(s.Sections)) // indexes into s.Sections, by id
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return s.Sections[a].ID - s.Sections[b].ID })
	parts := make([]string, 0, len(s.Sections)+1)
	var header bitWriter
	header.write(headerType, 6)
	header.write(Version, 6)
	ids := make([]int, 0, len(order))
	for n, i := range order {
		sec := &s.Sections[i]
		path := func() string { return fmt.Sprintf("sections[%d]", i) }
		if sec.ID < 1 || sec.ID > maxSectionID {
			return "", invalid(path()+".id", "section id %d out of range (1-%d)", sec.ID, maxSectionID)
		}
		if n > 0 && s.Sections[order[n-1]].ID == sec.ID {
			return "", invalid(path()+".id", "section id %d appears twice", sec.ID)
		}
		text, err := encodeSection(sec)
		if err != nil {
			return "", wrapInvalid(path(), err)
		}
		ids = append(ids, sec.ID)
		parts = append(parts, text)
	}
	writeRange(&header, ids)
	return strings.Join(append([]string{header.String()}, parts...), "~"), nil
}

// writeRange writes sorted unique ids as a Fibonacci range: a 12-bit count
// of entries, then per entry a group flag and the offset from the previous
// id to the entry's first id, and for a group the offset to its last id.
func writeRange(w *bitWriter, ids []int) {
	type group struct{ start, end int }
	var groups []group
	for _, id := range ids {
		if n := len(groups); n > 0 && groups[n-1].end+1 == id {
			groups[n-1].end = id
			continue
		}
		groups = append(groups, group{id, id})
	}
	w.write(len(groups), 12)
	last := 0
	for _, g := range groups {
		w.writeBit(g.end > g.start)
		w.writeFibonacci(g.start - last)
		if g.end > g.start {
			w.writeFibonacci(g.end - g.start)
		}
		last = g.end
	}
}

// encodeSection returns the text of one section: Raw when the typed value
// is absent or still what Raw says, else the typed value encoded.
func encodeSection(sec *Section) (string, error) {
	typed, n := sec.typed()
	if name := SectionName(sec.ID); sec.Name != "" && sec.Name != name {
		return "", invalid("name", "%q does not name section %d (want %q)", sec.Name, sec.ID, name)
	}
	if n > 1 {
		return "", errors.New("more than one typed section value is set")
	}
	if typed == nil {
		if sec.Raw == "" {
			return "", invalid("raw", "section %d has neither raw text nor decoded fields", sec.ID)
		}
		if strings.Contains(sec.Raw, "~") {
			return "", invalid("raw", "contains \"~\", the section separator")
		}
		if i := unprintable(sec.Raw); i >= 0 {
			return "", invalid("raw", "byte 0x%02x at %d is not printable ASCII", sec.Raw[i], i+1)
		}
		if decodable(sec.ID) {
			check := Section{ID: sec.ID, Raw: sec.Raw}
			if err := decodeSection(&check); err != nil {
				return "", err
			}
		}
		return sec.Raw, nil
	}
	if !decodable(sec.ID) || !typedFits(sec) {
		return "", invalid("id", "section %d (%s) cannot carry the decoded fields set", sec.ID, sectionPath(sec.ID))
	}
	if sec.Raw != "" && !strings.Contains(sec.Raw, "~") && unprintable(sec.Raw) < 0 {
		check := Section{ID: sec.ID, Raw: sec.Raw}
		if decodeSection(&check) == nil && sameValue(sec, &check) {
			return sec.Raw, nil
		}
	}
	if sec.TCFEUv2 != nil {
		text, err := tcf.Encode(sec.TCFEUv2)
		if err != nil {
			return "", wrapInvalid("tcfeuv2", err)
		}
		return text, nil
	}
	v := typed.(usSection)
	if err := validateUS(v); err != nil {
		return "", wrapInvalid(SectionName(sec.ID), err)
	}
	return encodeUS(v), nil
}

// typedFits reports whether the typed field set is the one sec.ID names.
func typedFits(sec *Section) bool {
	switch sec.ID {
	case IDTCFEUv2:
		return sec.TCFEUv2 != nil
	case IDUSNat:
		return sec.USNat != nil
	case IDUSCA:
		return sec.USCA != nil
	case IDUSVA:
		return sec.USVA != nil
	case IDUSCO:
		return sec.USCO != nil
	case IDUSUT:
		return sec.USUT != nil
	case IDUSCT:
		return sec.USCT != nil
	}
	return false
}

// sameValue reports whether two sections of the same id carry the same
// decoded value.
func sameValue(a, b *Section) bool {
	if a.TCFEUv2 != nil {
		// Compare the JSON forms: they normalise time zones and nil sets.
		ja, errA := json.Marshal(a.TCFEUv2)
		jb, errB := json.Marshal(b.TCFEUv2)
		return errA == nil && errB == nil && string(ja) == string(jb)
	}
	va, _ := a.typed()
	vb, _ := b.typed()
	return reflect.DeepEqual(va, vb)
}

// unprintable returns the index of the first byte of s outside printable
// ASCII ("!" to "~"), or -1. GPP strings travel in URLs and HTTP headers:
// the specification keeps them web safe.
func unprintable(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] < '!' || s[i] > '~' {
			return i
		}
	}
	return -1
}
