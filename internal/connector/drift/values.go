package drift

import (
	"net/netip"
	"strings"
	"time"
)

// ValueKind is what a sampled value was recognised as.
type ValueKind string

// The kinds of value a sample is checked for, each with the category it
// suggests.
const (
	ValueEmail     ValueKind = "email"
	ValuePhone     ValueKind = "phone"
	ValueIBAN      ValueKind = "iban"
	ValueIP        ValueKind = "ip"
	ValueBirthDate ValueKind = "birth_date"
)

var valueChecks = []struct {
	kind     ValueKind
	category string
	is       func(v string, now time.Time) bool
}{
	{ValueEmail, Contact, func(v string, _ time.Time) bool { return IsEmail(v) }},
	{ValueIBAN, Financial, func(v string, _ time.Time) bool { return IsIBAN(v) }},
	{ValuePhone, Contact, func(v string, _ time.Time) bool { return IsPhone(v) }},
	{ValueIP, Identifier, func(v string, _ time.Time) bool { return IsIP(v) }},
	{ValueBirthDate, Demographic, IsBirthDate},
}

// MinRatio is the share of a column's sampled values that must be of one
// kind for the column to be reported: a column of emails with a few
// typos is still a column of emails, a free-text column that now and then
// holds one is not reported by its values.
const MinRatio = 0.8

// ValueMatch is what a sample showed: the kind most of its values are,
// the category that suggests, and the share of values of that kind.
type ValueMatch struct {
	Kind     ValueKind
	Category string
	Ratio    float64
}

// ClassifyValues returns the kind most of values are, when at least
// MinRatio of the non-blank ones are; ok is false otherwise. It keeps
// nothing of the values.
func ClassifyValues(values []string, now time.Time) (ValueMatch, bool) {
	var best ValueMatch
	total := 0
	counts := make([]int, len(valueChecks))
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		total++
		for i, c := range valueChecks {
			if c.is(v, now) {
				counts[i]++
				break // one kind per value, in the order of valueChecks
			}
		}
	}
	if total == 0 {
		return ValueMatch{}, false
	}
	for i, c := range valueChecks {
		if r := float64(counts[i]) / float64(total); r > best.Ratio {
			best = ValueMatch{Kind: c.kind, Category: c.category, Ratio: r}
		}
	}
	return best, best.Ratio >= MinRatio
}

// IsEmail reports whether v is an email address as people type them:
// one @, a local part of at most 64 characters without spaces, and a
// domain of dot-separated labels (letters, digits, hyphens) ending in a
// top-level domain of letters.
func IsEmail(v string) bool {
	local, domain, ok := strings.Cut(v, "@")
	if !ok || local == "" || len(local) > 64 || len(v) > 254 || strings.ContainsAny(local, " \t\"(),:;<>[\\]@") {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r > 127) {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	if len(tld) < 2 {
		return false
	}
	for _, r := range tld {
		if r >= '0' && r <= '9' {
			return false
		}
	}
	return true
}

// IsPhone reports whether v is an international phone number, E.164 as
// people write it: "+" or "00", then 7 to 15 digits, the first not 0,
// grouped by spaces, hyphens, dots or parentheses. A national number
// without its country code is not recognised: too many order numbers look
// like one.
func IsPhone(v string) bool {
	var digits strings.Builder
	rest, ok := strings.CutPrefix(v, "+")
	if !ok {
		if rest, ok = strings.CutPrefix(v, "00"); !ok {
			return false
		}
	}
	for _, r := range rest {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return false
		}
	}
	d := digits.String()
	return len(d) >= 7 && len(d) <= 15 && d[0] != '0'
}

// IsIBAN reports whether v is an IBAN whose check digits are right
// (ISO 13616: the number, rearranged and read as digits, is 1 modulo 97),
// spaces allowed.
func IsIBAN(v string) bool {
	s := strings.ToUpper(strings.ReplaceAll(v, " ", ""))
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	for i, r := range s {
		switch {
		case i < 2 && (r < 'A' || r > 'Z'):
			return false
		case i >= 2 && i < 4 && (r < '0' || r > '9'):
			return false
		case !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'):
			return false
		}
	}
	rem := 0
	for _, r := range s[4:] + s[:4] {
		if r >= 'A' {
			n := int(r-'A') + 10
			rem = (rem*100 + n) % 97
		} else {
			rem = (rem*10 + int(r-'0')) % 97
		}
	}
	return rem == 1
}

// IsIP reports whether v is an IPv4 or IPv6 address. IPv4 needs its four
// dotted parts, so that a version number such as 2.1 is not one.
func IsIP(v string) bool {
	addr, err := netip.ParseAddr(v)
	if err != nil {
		return false
	}
	return addr.Is6() || strings.Count(v, ".") == 3
}

// birthLayouts are the date layouts a birth date is looked for in.
var birthLayouts = []string{"2006-01-02", "02.01.2006", "2.1.2006", "02/01/2006", "01/02/2006", "2006/01/02"}

// IsBirthDate reports whether v is a date (without a time) that could be
// an adult's date of birth: between 120 and 14 years before now. Dates of
// orders and sign-ups are recent, so they are not taken for birth dates.
func IsBirthDate(v string, now time.Time) bool {
	for _, layout := range birthLayouts {
		d, err := time.Parse(layout, v)
		if err != nil {
			continue
		}
		return d.After(now.AddDate(-120, 0, 0)) && d.Before(now.AddDate(-14, 0, 0))
	}
	return false
}
