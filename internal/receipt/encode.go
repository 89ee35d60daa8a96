// The receipt's JSON, written by hand: a receipt is signed for every consent
// event, and encoding/json's reflection was a fifth of signing one.

package receipt

import (
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends r encoded exactly as json.Marshal encodes it (the
// tests hold the two byte for byte equal, fuzzed), so that receipts keep
// one format whichever wrote them.
func (r *Receipt) AppendJSON(b []byte) []byte {
	b = append(b, `{"version":`...)
	b = appendString(b, r.Version)
	b = append(b, `,"jurisdiction":`...)
	b = appendString(b, r.Jurisdiction)
	b = append(b, `,"consentTimestamp":`...)
	b = strconv.AppendInt(b, r.ConsentTimestamp, 10)
	b = append(b, `,"collectionMethod":`...)
	b = appendString(b, r.CollectionMethod)
	b = append(b, `,"consentReceiptID":`...)
	b = appendString(b, r.ConsentReceiptID)
	if r.Language != "" {
		b = append(b, `,"language":`...)
		b = appendString(b, r.Language)
	}
	b = append(b, `,"piiPrincipalId":`...)
	b = appendString(b, r.PIIPrincipalID)
	b = append(b, `,"piiControllers":`...)
	if r.PIIControllers == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.PIIControllers {
			if i > 0 {
				b = append(b, ',')
			}
			b = r.PIIControllers[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	b = append(b, `,"policyUrl":`...)
	b = appendString(b, r.PolicyURL)
	b = append(b, `,"services":`...)
	if r.Services == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Services {
			if i > 0 {
				b = append(b, ',')
			}
			b = r.Services[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	b = append(b, `,"sensitive":`...)
	b = strconv.AppendBool(b, r.Sensitive)
	b = append(b, `,"spiCat":`...)
	b = appendStrings(b, r.SPICat)
	b = append(b, `,"steward":`...)
	b = r.Steward.appendJSON(b)
	return append(b, '}')
}

func (c *Controller) appendJSON(b []byte) []byte {
	b = append(b, `{"piiController":`...)
	b = appendString(b, c.PIIController)
	b = append(b, `,"onBehalf":`...)
	b = strconv.AppendBool(b, c.OnBehalf)
	b = append(b, `,"contact":`...)
	b = appendString(b, c.Contact)
	b = append(b, `,"address":`...)
	b = appendString(b, c.Address)
	b = append(b, `,"email":`...)
	b = appendString(b, c.Email)
	b = append(b, `,"phone":`...)
	b = appendString(b, c.Phone)
	if c.PIIControllerURL != "" {
		b = append(b, `,"piiControllerUrl":`...)
		b = appendString(b, c.PIIControllerURL)
	}
	return append(b, '}')
}

func (s *Service) appendJSON(b []byte) []byte {
	b = append(b, `{"service":`...)
	b = appendString(b, s.Service)
	b = append(b, `,"purposes":`...)
	if s.Purposes == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range s.Purposes {
			if i > 0 {
				b = append(b, ',')
			}
			b = s.Purposes[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func (p *Purpose) appendJSON(b []byte) []byte {
	b = append(b, `{"purpose":`...)
	b = appendString(b, p.Purpose)
	b = append(b, `,"purposeCategory":`...)
	b = appendStrings(b, p.PurposeCategory)
	b = append(b, `,"consentType":`...)
	b = appendString(b, p.ConsentType)
	b = append(b, `,"piiCategory":`...)
	b = appendStrings(b, p.PIICategory)
	b = append(b, `,"primaryPurpose":`...)
	b = strconv.AppendBool(b, p.PrimaryPurpose)
	b = append(b, `,"termination":`...)
	b = appendString(b, p.Termination)
	b = append(b, `,"thirdPartyDisclosure":`...)
	b = strconv.AppendBool(b, p.ThirdPartyDisclosure)
	if p.ThirdPartyName != "" {
		b = append(b, `,"thirdPartyName":`...)
		b = appendString(b, p.ThirdPartyName)
	}
	return append(b, '}')
}

func (l *Ledger) appendJSON(b []byte) []byte {
	b = append(b, `{"eventId":`...)
	b = appendString(b, l.EventID)
	b = append(b, `,"property":`...)
	b = appendString(b, l.Property)
	b = append(b, `,"purpose":`...)
	b = appendString(b, l.Purpose)
	if l.Vendor != "" {
		b = append(b, `,"vendor":`...)
		b = appendString(b, l.Vendor)
	}
	b = append(b, `,"action":`...)
	b = appendString(b, l.Action)
	b = append(b, `,"source":`...)
	b = appendString(b, l.Source)
	b = append(b, `,"noticeVersion":`...)
	b = appendString(b, l.NoticeVersion)
	b = append(b, `,"gpc":`...)
	b = strconv.AppendBool(b, l.GPC)
	if l.GPPString != "" {
		b = append(b, `,"gppString":`...)
		b = appendString(b, l.GPPString)
	}
	if l.Channel != "" {
		b = append(b, `,"channel":`...)
		b = appendString(b, l.Channel)
	}
	return append(b, '}')
}

// appendStrings appends a string slice as json.Marshal does: null for nil.
func appendStrings(b []byte, list []string) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendString appends s as a JSON string, escaped as json.Marshal
// escapes it: quote and backslash; control characters (\b, \f, \n, \r and
// \t by their short escapes); the HTML characters <, > and &; U+2028 and
// U+2029; and each byte of invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
