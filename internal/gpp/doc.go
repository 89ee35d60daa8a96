// Package gpp encodes and decodes IAB Global Privacy Platform (GPP) strings.
//
// A GPP string is a header and one string per section, joined by "~":
//
//	DBABLA~CAAAAAAAAABA.QA
//	header  usnat (section 7): core segment "." GPC sub-section
//
// The header holds a type (3), the GPP version (1) and the ids of the
// sections in ascending order as a Fibonacci-coded range. The sections this
// package decodes into typed values are the EU TCF v2 section (id 2,
// "tcfeuv2", through internal/tcf), the MSPA US National section (id 7,
// "usnat", versions 1 and 2) and the state sections of California (8,
// "usca"), Virginia (9, "usva"), Colorado (10, "usco"), Utah (11, "usut")
// and Connecticut (12, "usct"). Any other section is kept as its raw string,
// so Decode never fails on a section it does not know.
//
// Decode reads what IAB's reference library (iabgpp-es) reads from strings
// seen in real pages, not only what the specification writes:
//   - segments with or without padding bits, and with trailing "=";
//   - headers with or without the trailing zero characters ("DBABM" and
//     "DBABMA" both list section 2);
//   - usnat core segments by their length, as iabgpp-es does: 60 or 66
//     bits (version 1, unpadded or padded) in the version 1 layout (12
//     sensitive data categories, 2 known child categories), any other
//     length in the version 2 layout (16 and 3), whatever the version field
//     says; the lists then get the length of the version field;
//   - sub-sections after the ones a section defines are ignored;
//   - a bare TCF v2 TC string (no header) is read as a tcfeuv2 section.
//
// Encode writes what iabgpp-es writes: bit strings padded with zeros to a
// whole number of bytes and then of base64url characters, the usnat version
// 1 or 2 layout that the Version field names, and the GPC sub-section only
// when GpcSegmentIncluded is set. It refuses values the specification does
// not define (a 2-bit field above 2, MspaCoveredTransaction 0). A section
// that still carries the raw string it was decoded from, and whose fields
// still say what that string says, is copied unchanged: a decoded GPP string
// encodes to itself, section by section, and TC strings of older TCF policy
// versions (which internal/tcf does not write) pass through.
//
// Usage:
//
//	s, err := gpp.Decode("DBABLA~CAAAAAAAAABA.QA")
//	if err != nil {
//		return err // e.g. "gpp: usnat.SensitiveDataProcessing: truncated at bit 36"
//	}
//	nat := s.Section(gpp.IDUSNat).USNat
//	nat.SaleOptOutNotice, nat.SaleOptOut = 1, 1       // notice given, opted out
//	nat.SharingOptOutNotice, nat.SharingOptOut = 1, 1 // notice given, opted out
//	nat.Gpc = true                                    // the GPC sub-section is included
//	out, err := gpp.Encode(s) // "DBABLA~CFAUAAAAAABA.YA"
//
// Errors are *errs.Error values of code invalid whose Fields name the part
// at fault: "header.SectionIds", "usca.SaleOptOut",
// "sections[1].usnat.KnownChildSensitiveDataConsents".
//
// The JSON form (DecodeCommand, EncodeCommand) lists the sections with their
// id, name, raw string and decoded fields; the US sections use the field
// names of the GPP specification (UpperCamelCase, as the __gpp API returns
// them), the tcfeuv2 section the form of "steward tcf decode".
package gpp
