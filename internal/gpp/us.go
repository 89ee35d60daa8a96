package gpp

import (
	"fmt"
	"strings"
)

// The US sections (MSPA US National and the states) share one shape: a core
// segment of a 6-bit Version and 2-bit fields, alone or in fixed lists, and
// for most of them an optional GPC sub-section after a ".". The 2-bit values
// mean 0 not applicable, 1 yes (notice given, opted out, no consent for the
// sensitive data lists), 2 no (no notice, did not opt out, consent); see the
// field descriptions of each section's specification. MspaCoveredTransaction
// is 1 (yes) or 2 (no), never 0.

// GPC is the GPC sub-section of a US section.
type GPC struct {
	// GpcSegmentIncluded says the sub-section is present; Encode writes it
	// only then, and refuses Gpc true without it.
	GpcSegmentIncluded bool `json:"GpcSegmentIncluded"`
	// Gpc is the Global Privacy Control signal the user agent sent.
	Gpc bool `json:"Gpc"`
}

// USNat is the MSPA US National section (id 7). Version 1 has 12
// SensitiveDataProcessing and 2 KnownChildSensitiveDataConsents entries,
// version 2 has 16 and 3.
type USNat struct {
	Version                             int   `json:"Version"`
	SharingNotice                       int   `json:"SharingNotice"`
	SaleOptOutNotice                    int   `json:"SaleOptOutNotice"`
	SharingOptOutNotice                 int   `json:"SharingOptOutNotice"`
	TargetedAdvertisingOptOutNotice     int   `json:"TargetedAdvertisingOptOutNotice"`
	SensitiveDataProcessingOptOutNotice int   `json:"SensitiveDataProcessingOptOutNotice"`
	SensitiveDataLimitUseNotice         int   `json:"SensitiveDataLimitUseNotice"`
	SaleOptOut                          int   `json:"SaleOptOut"`
	SharingOptOut                       int   `json:"SharingOptOut"`
	TargetedAdvertisingOptOut           int   `json:"TargetedAdvertisingOptOut"`
	SensitiveDataProcessing             []int `json:"SensitiveDataProcessing"`
	KnownChildSensitiveDataConsents     []int `json:"KnownChildSensitiveDataConsents"`
	PersonalDataConsents                int   `json:"PersonalDataConsents"`
	MspaCoveredTransaction              int   `json:"MspaCoveredTransaction"`
	MspaOptOutOptionMode                int   `json:"MspaOptOutOptionMode"`
	MspaServiceProviderMode             int   `json:"MspaServiceProviderMode"`
	GPC
}

// USCA is the California section (id 8, version 1).
type USCA struct {
	Version                         int   `json:"Version"`
	SaleOptOutNotice                int   `json:"SaleOptOutNotice"`
	SharingOptOutNotice             int   `json:"SharingOptOutNotice"`
	SensitiveDataLimitUseNotice     int   `json:"SensitiveDataLimitUseNotice"`
	SaleOptOut                      int   `json:"SaleOptOut"`
	SharingOptOut                   int   `json:"SharingOptOut"`
	SensitiveDataProcessing         []int `json:"SensitiveDataProcessing"`         // 9 entries
	KnownChildSensitiveDataConsents []int `json:"KnownChildSensitiveDataConsents"` // 2 entries
	PersonalDataConsents            int   `json:"PersonalDataConsents"`
	MspaCoveredTransaction          int   `json:"MspaCoveredTransaction"`
	MspaOptOutOptionMode            int   `json:"MspaOptOutOptionMode"`
	MspaServiceProviderMode         int   `json:"MspaServiceProviderMode"`
	GPC
}

// USVA is the Virginia section (id 9, version 1); it has no GPC sub-section.
type USVA struct {
	Version                         int   `json:"Version"`
	SharingNotice                   int   `json:"SharingNotice"`
	SaleOptOutNotice                int   `json:"SaleOptOutNotice"`
	TargetedAdvertisingOptOutNotice int   `json:"TargetedAdvertisingOptOutNotice"`
	SaleOptOut                      int   `json:"SaleOptOut"`
	TargetedAdvertisingOptOut       int   `json:"TargetedAdvertisingOptOut"`
	SensitiveDataProcessing         []int `json:"SensitiveDataProcessing"` // 8 entries
	KnownChildSensitiveDataConsents int   `json:"KnownChildSensitiveDataConsents"`
	MspaCoveredTransaction          int   `json:"MspaCoveredTransaction"`
	MspaOptOutOptionMode            int   `json:"MspaOptOutOptionMode"`
	MspaServiceProviderMode         int   `json:"MspaServiceProviderMode"`
}

// USCO is the Colorado section (id 10, version 1).
type USCO struct {
	Version                         int   `json:"Version"`
	SharingNotice                   int   `json:"SharingNotice"`
	SaleOptOutNotice                int   `json:"SaleOptOutNotice"`
	TargetedAdvertisingOptOutNotice int   `json:"TargetedAdvertisingOptOutNotice"`
	SaleOptOut                      int   `json:"SaleOptOut"`
	TargetedAdvertisingOptOut       int   `json:"TargetedAdvertisingOptOut"`
	SensitiveDataProcessing         []int `json:"SensitiveDataProcessing"` // 7 entries
	KnownChildSensitiveDataConsents int   `json:"KnownChildSensitiveDataConsents"`
	MspaCoveredTransaction          int   `json:"MspaCoveredTransaction"`
	MspaOptOutOptionMode            int   `json:"MspaOptOutOptionMode"`
	MspaServiceProviderMode         int   `json:"MspaServiceProviderMode"`
	GPC
}

// USUT is the Utah section (id 11, version 1); it has no GPC sub-section.
type USUT struct {
	Version                             int   `json:"Version"`
	SharingNotice                       int   `json:"SharingNotice"`
	SaleOptOutNotice                    int   `json:"SaleOptOutNotice"`
	TargetedAdvertisingOptOutNotice     int   `json:"TargetedAdvertisingOptOutNotice"`
	SensitiveDataProcessingOptOutNotice int   `json:"SensitiveDataProcessingOptOutNotice"`
	SaleOptOut                          int   `json:"SaleOptOut"`
	TargetedAdvertisingOptOut           int   `json:"TargetedAdvertisingOptOut"`
	SensitiveDataProcessing             []int `json:"SensitiveDataProcessing"` // 8 entries
	KnownChildSensitiveDataConsents     int   `json:"KnownChildSensitiveDataConsents"`
	MspaCoveredTransaction              int   `json:"MspaCoveredTransaction"`
	MspaOptOutOptionMode                int   `json:"MspaOptOutOptionMode"`
	MspaServiceProviderMode             int   `json:"MspaServiceProviderMode"`
}

// USCT is the Connecticut section (id 12, version 1).
type USCT struct {
	Version                         int   `json:"Version"`
	SharingNotice                   int   `json:"SharingNotice"`
	SaleOptOutNotice                int   `json:"SaleOptOutNotice"`
	TargetedAdvertisingOptOutNotice int   `json:"TargetedAdvertisingOptOutNotice"`
	SaleOptOut                      int   `json:"SaleOptOut"`
	TargetedAdvertisingOptOut       int   `json:"TargetedAdvertisingOptOut"`
	SensitiveDataProcessing         []int `json:"SensitiveDataProcessing"`         // 8 entries
	KnownChildSensitiveDataConsents []int `json:"KnownChildSensitiveDataConsents"` // 3 entries
	MspaCoveredTransaction          int   `json:"MspaCoveredTransaction"`
	MspaOptOutOptionMode            int   `json:"MspaOptOutOptionMode"`
	MspaServiceProviderMode         int   `json:"MspaServiceProviderMode"`
	GPC
}

// field describes one field of a core segment after Version: a 2-bit
// integer (num) or a list of n 2-bit integers (list).
type field struct {
	name string
	num  *int
	list *[]int
	n    int
	min  int // smallest value Encode accepts
}

func num(name string, p *int) field { return field{name: name, num: p} }

func list(name string, p *[]int, n int) field { return field{name: name, list: p, n: n} }

// maxFields is the most fields a US core segment has after Version.
const maxFields = 15

// fieldList holds a section's fields in an array, so that listing them
// costs no allocation (a slice returned through the interface would).
type fieldList struct {
	f [maxFields]field
	n int
}

func newFieldList(fields ...field) fieldList {
	var l fieldList
	l.n = copy(l.f[:], fields)
	return l
}

func (l *fieldList) all() []field { return l.f[:l.n] }

// mspa returns the three MSPA fields that close every US core segment.
func mspa(covered, optOutMode, serviceProviderMode *int) [3]field {
	return [3]field{
		{name: "MspaCoveredTransaction", num: covered, min: 1},
		num("MspaOptOutOptionMode", optOutMode),
		num("MspaServiceProviderMode", serviceProviderMode),
	}
}

// usSection is what the shared codec needs of a US section.
type usSection interface {
	version() *int
	// fields lists the core fields after Version in their order, for the
	// layout (the version whose field list applies).
	fields(layout int) fieldList
	// gpc returns the GPC sub-section, or nil for sections without one.
	gpc() *GPC
	// versions names the versions Encode and Decode accept ("1 or 2").
	versions() (lowest, highest int)
}

func (v *USNat) version() *int                   { return &v.Version }
func (v *USNat) gpc() *GPC                       { return &v.GPC }
func (v *USNat) versions() (lowest, highest int) { return 1, 2 }

// fitLists pads or cuts the lists to the lengths of v.Version, after a
// decode in the other version's layout.
func (v *USNat) fitLists() {
	sensitive, child := 16, 3
	if v.Version == 1 {
		sensitive, child = 12, 2
	}
	v.SensitiveDataProcessing = resize(v.SensitiveDataProcessing, sensitive)
	v.KnownChildSensitiveDataConsents = resize(v.KnownChildSensitiveDataConsents, child)
}

func resize(l []int, n int) []int {
	for len(l) < n {
		l = append(l, 0)
	}
	return l[:n]
}

func (v *USNat) fields(layout int) fieldList {
	sensitive, child := 16, 3
	if layout == 1 {
		sensitive, child = 12, 2
	}
	m := mspa(&v.MspaCoveredTransaction, &v.MspaOptOutOptionMode, &v.MspaServiceProviderMode)
	return newFieldList(
		num("SharingNotice", &v.SharingNotice),
		num("SaleOptOutNotice", &v.SaleOptOutNotice),
		num("SharingOptOutNotice", &v.SharingOptOutNotice),
		num("TargetedAdvertisingOptOutNotice", &v.TargetedAdvertisingOptOutNotice),
		num("SensitiveDataProcessingOptOutNotice", &v.SensitiveDataProcessingOptOutNotice),
		num("SensitiveDataLimitUseNotice", &v.SensitiveDataLimitUseNotice),
		num("SaleOptOut", &v.SaleOptOut),
		num("SharingOptOut", &v.SharingOptOut),
		num("TargetedAdvertisingOptOut", &v.TargetedAdvertisingOptOut),
		list("SensitiveDataProcessing", &v.SensitiveDataProcessing, sensitive),
		list("KnownChildSensitiveDataConsents", &v.KnownChildSensitiveDataConsents, child),
		num("PersonalDataConsents", &v.PersonalDataConsents),
		m[0], m[1], m[2],
	)
}

func (v *USCA) version() *int                   { return &v.Version }
func (v *USCA) gpc() *GPC                       { return &v.GPC }
func (v *USCA) versions() (lowest, highest int) { return 1, 1 }
func (v *USCA) fields(int) fieldList {
	m := mspa(&v.MspaCoveredTransaction, &v.MspaOptOutOptionMode, &v.MspaServiceProviderMode)
	return newFieldList(
		num("SaleOptOutNotice", &v.SaleOptOutNotice),
		num("SharingOptOutNotice", &v.SharingOptOutNotice),
		num("SensitiveDataLimitUseNotice", &v.SensitiveDataLimitUseNotice),
		num("SaleOptOut", &v.SaleOptOut),
		num("SharingOptOut", &v.SharingOptOut),
		list("SensitiveDataProcessing", &v.SensitiveDataProcessing, 9),
		list("KnownChildSensitiveDataConsents", &v.KnownChildSensitiveDataConsents, 2),
		num("PersonalDataConsents", &v.PersonalDataConsents),
		m[0], m[1], m[2],
	)
}

func (v *USVA) version() *int                   { return &v.Version }
func (v *USVA) gpc() *GPC                       { return nil }
func (v *USVA) versions() (lowest, highest int) { return 1, 1 }
func (v *USVA) fields(int) fieldList {
	m := mspa(&v.MspaCoveredTransaction, &v.MspaOptOutOptionMode, &v.MspaServiceProviderMode)
	return newFieldList(
		num("SharingNotice", &v.SharingNotice),
		num("SaleOptOutNotice", &v.SaleOptOutNotice),
		num("TargetedAdvertisingOptOutNotice", &v.TargetedAdvertisingOptOutNotice),
		num("SaleOptOut", &v.SaleOptOut),
		num("TargetedAdvertisingOptOut", &v.TargetedAdvertisingOptOut),
		list("SensitiveDataProcessing", &v.SensitiveDataProcessing, 8),
		num("KnownChildSensitiveDataConsents", &v.KnownChildSensitiveDataConsents),
		m[0], m[1], m[2],
	)
}

func (v *USCO) version() *int                   { return &v.Version }
func (v *USCO) gpc() *GPC                       { return &v.GPC }
func (v *USCO) versions() (lowest, highest int) { return 1, 1 }
func (v *USCO) fields(int) fieldList {
	m := mspa(&v.MspaCoveredTransaction, &v.MspaOptOutOptionMode, &v.MspaServiceProviderMode)
	return newFieldList(
		num("SharingNotice", &v.SharingNotice),
		num("SaleOptOutNotice", &v.SaleOptOutNotice),
		num("TargetedAdvertisingOptOutNotice", &v.TargetedAdvertisingOptOutNotice),
		num("SaleOptOut", &v.SaleOptOut),
		num("TargetedAdvertisingOptOut", &v.TargetedAdvertisingOptOut),
		list("SensitiveDataProcessing", &v.SensitiveDataProcessing, 7),
		num("KnownChildSensitiveDataConsents", &v.KnownChildSensitiveDataConsents),
		m[0], m[1], m[2],
	)
}

func (v *USUT) version() *int                   { return &v.Version }
func (v *USUT) gpc() *GPC                       { return nil }
func (v *USUT) versions() (lowest, highest int) { return 1, 1 }
func (v *USUT) fields(int) fieldList {
	m := mspa(&v.MspaCoveredTransaction, &v.MspaOptOutOptionMode, &v.MspaServiceProviderMode)
	return newFieldList(
		num("SharingNotice", &v.SharingNotice),
		num("SaleOptOutNotice", &v.SaleOptOutNotice),
		num("TargetedAdvertisingOptOutNotice", &v.TargetedAdvertisingOptOutNotice),
		num("SensitiveDataProcessingOptOutNotice", &v.SensitiveDataProcessingOptOutNotice),
		num("SaleOptOut", &v.SaleOptOut),
		num("TargetedAdvertisingOptOut", &v.TargetedAdvertisingOptOut),
		list("SensitiveDataProcessing", &v.SensitiveDataProcessing, 8),
		num("KnownChildSensitiveDataConsents", &v.KnownChildSensitiveDataConsents),
		m[0], m[1], m[2],
	)
}

func (v *USCT) version() *int                   { return &v.Version }
func (v *USCT) gpc() *GPC                       { return &v.GPC }
func (v *USCT) versions() (lowest, highest int) { return 1, 1 }
func (v *USCT) fields(int) fieldList {
	m := mspa(&v.MspaCoveredTransaction, &v.MspaOptOutOptionMode, &v.MspaServiceProviderMode)
	return newFieldList(
		num("SharingNotice", &v.SharingNotice),
		num("SaleOptOutNotice", &v.SaleOptOutNotice),
		num("TargetedAdvertisingOptOutNotice", &v.TargetedAdvertisingOptOutNotice),
		num("SaleOptOut", &v.SaleOptOut),
		num("TargetedAdvertisingOptOut", &v.TargetedAdvertisingOptOut),
		list("SensitiveDataProcessing", &v.SensitiveDataProcessing, 8),
		list("KnownChildSensitiveDataConsents", &v.KnownChildSensitiveDataConsents, 3),
		m[0], m[1], m[2],
	)
}

// Interface guards.
var (
	_ usSection = (*USNat)(nil)
	_ usSection = (*USCA)(nil)
	_ usSection = (*USVA)(nil)
	_ usSection = (*USCO)(nil)
	_ usSection = (*USUT)(nil)
	_ usSection = (*USCT)(nil)
)

// gpcSubsectionType is the SubsectionType of a GPC sub-section.
const gpcSubsectionType = 1

// decodeUS decodes the text of a US section into v; name prefixes errors.
func decodeUS(name, text string, v usSection) error {
	core, rest, hasSub := strings.Cut(text, ".")
	if core == "" {
		return invalid(name, "core segment is empty")
	}
	r, bad := newBitReader(core)
	if bad != 0 {
		return invalid(name, "core segment is not base64url (bad character at %d)", bad)
	}
	ver, ok := r.read(6)
	if !ok {
		return invalid(name+".Version", "truncated at bit 0")
	}
	lowest, highest := v.versions()
	if ver < lowest || ver > highest {
		return invalid(name+".Version", "version %d is not supported (%s)", ver, versionRange(lowest, highest))
	}
	*v.version() = ver
	layout := ver
	nat, isNat := v.(*USNat)
	if isNat {
		// iabgpp-es picks the usnat layout by length, not by version:
		// cores of 60 or 66 bits (version 1 without and with padding) are
		// read in the version 1 layout, any other in the version 2 layout,
		// and the version then decides how many list entries are shown.
		// Strings in the wild disagree with their version field both ways.
		layout = 2
		if r.size == 60 || r.size == 66 {
			layout = 1
		}
	}
	fields := v.fields(layout)
	for _, f := range fields.all() {
		if f.list == nil {
			x, ok := r.read(2)
			if !ok {
				return invalid(name+"."+f.name, "truncated at bit %d", r.pos)
			}
			*f.num = x
			continue
		}
		l := make([]int, f.n)
		for i := range l {
			x, ok := r.read(2)
			if !ok {
				return invalid(name+"."+f.name, "truncated at bit %d", r.pos)
			}
			l[i] = x
		}
		*f.list = l
	}
	if isNat && layout != ver {
		nat.fitLists()
	}
	g := v.gpc()
	if g == nil || !hasSub {
		return nil // sub-sections a section does not define are ignored, as iabgpp-es does
	}
	sub, _, _ := strings.Cut(rest, ".")
	if sub == "" {
		return invalid(name+".GpcSegmentIncluded", "gpc sub-section is empty")
	}
	r, bad = newBitReader(sub)
	if bad != 0 {
		return invalid(name+".GpcSegmentIncluded", "gpc sub-section is not base64url (bad character at %d)", bad)
	}
	typ, ok := r.read(2)
	if !ok {
		return invalid(name+".GpcSegmentIncluded", "gpc sub-section truncated at bit 0")
	}
	if typ != gpcSubsectionType {
		return invalid(name+".GpcSegmentIncluded", "sub-section type %d is not %d (GPC)", typ, gpcSubsectionType)
	}
	gpc, ok := r.read(1)
	if !ok {
		return invalid(name+".Gpc", "truncated at bit 2")
	}
	g.GpcSegmentIncluded, g.Gpc = true, gpc == 1
	return nil
}

func versionRange(lowest, highest int) string {
	if lowest == highest {
		return fmt.Sprintf("want %d", lowest)
	}
	return fmt.Sprintf("want %d to %d", lowest, highest)
}

// validateUS reports the first value of v that Encode cannot write.
func validateUS(v usSection) error {
	ver := *v.version()
	lowest, highest := v.versions()
	if ver < lowest || ver > highest {
		return invalid("Version", "version %d is not supported (%s)", ver, versionRange(lowest, highest))
	}
	fields := v.fields(ver)
	for _, f := range fields.all() {
		if f.list == nil {
			if err := checkValue(f.name, *f.num, f.min); err != nil {
				return err
			}
			continue
		}
		if len(*f.list) != f.n {
			return invalid(f.name, "has %d entries, version %d has %d", len(*f.list), ver, f.n)
		}
		for i, x := range *f.list {
			if x < 0 || x > 2 {
				return checkValue(fmt.Sprintf("%s[%d]", f.name, i), x, 0)
			}
		}
	}
	if g := v.gpc(); g != nil && g.Gpc && !g.GpcSegmentIncluded {
		return invalid("Gpc", "is true but GpcSegmentIncluded is false: the signal would be lost")
	}
	return nil
}

func checkValue(name string, x, min int) error {
	if x < min || x > 2 {
		return invalid(name, "value %d out of range (%d-2)", x, min)
	}
	return nil
}

// encodeUS writes a validated US section.
func encodeUS(v usSection) string {
	var w bitWriter
	ver := *v.version()
	w.write(ver, 6)
	fields := v.fields(ver)
	for _, f := range fields.all() {
		if f.list == nil {
			w.write(*f.num, 2)
			continue
		}
		for _, x := range *f.list {
			w.write(x, 2)
		}
	}
	s := w.String()
	if g := v.gpc(); g != nil && g.GpcSegmentIncluded {
		var gw bitWriter
		gw.write(gpcSubsectionType, 2)
		gw.writeBit(g.Gpc)
		s += "." + gw.String()
	}
	return s
}
