package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strings"

	"github.com/steward-dev/steward/internal/errs"
)

// Details is the JSON object of facts recorded with an entry: which field
// was revealed, the stated purpose, a request id, a key version. It is
// immutable and can only be built by NewDetails (or MustDetails), which
// refuse the usual ways personal data slips into a log:
//
//   - a key that names a value or a secret ("value", "plaintext", "secret",
//     "password", "email", "phone", "iban"...; compared without case and
//     without _ - . and spaces), at any depth;
//   - a string that looks like an email address.
//
// The audit log outlives erasure: a subject's vault record is
// crypto-shredded, but the log keeps saying who read it and when. Record
// what was accessed (the field's name, the subject's id), never the value.
//
// The zero Details is the empty object {}.
type Details struct {
	json string // compact, object keys sorted; "" means {} unless stored is set
	// stored marks text read back from the store: it is hashed byte for
	// byte, so it is never re-encoded or defaulted (a tampered value must
	// show as a hash mismatch, not be normalised away).
	stored bool
}

// MaxDetailsBytes bounds the encoded details of one entry.
const MaxDetailsBytes = 8 << 10

// forbiddenKeys are detail keys that would hold personal data or secrets,
// normalised (see normaliseKey).
var forbiddenKeys = map[string]bool{
	"value": true, "values": true, "newvalue": true, "oldvalue": true, "rawvalue": true, "raw": true,
	"plaintext": true, "cleartext": true, "decrypted": true, "content": true, "body": true,
	"secret": true, "password": true, "passphrase": true, "pin": true, "otp": true, "totp": true,
	"email": true, "emailaddress": true, "mail": true, "phone": true, "phonenumber": true, "mobile": true,
	"address": true, "postaladdress": true, "street": true,
	"iban": true, "accountnumber": true, "bankaccount": true, "cardnumber": true, "pan": true,
	"ssn": true, "nationalid": true, "taxid": true, "passport": true,
	"dob": true, "birthdate": true, "dateofbirth": true,
	"fullname": true, "firstname": true, "lastname": true, "surname": true,
}

// forbiddenParts are fragments that make any key containing them forbidden.
var forbiddenParts = []string{"plaintext", "cleartext", "password", "passphrase", "secret"}

var emailLike = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

func normaliseKey(k string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', '.', ' ':
			return -1
		}
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, k)
}

// NewDetails encodes fields as a details object. Values may be strings,
// booleans, numbers, nil, and slices and maps of those (anything that
// encoding/json turns into such). It returns an invalid-input error naming
// the first offending key path when a key or value looks like personal data
// or a secret, and when the encoding exceeds MaxDetailsBytes.
func NewDetails(fields map[string]any) (Details, error) {
	if len(fields) == 0 {
		return Details{}, nil
	}
	raw, err := json.Marshal(fields)
	if err != nil {
		return Details{}, errs.Invalid("details", "cannot encode: %v", err)
	}
	return parseDetails(raw)
}

// MustDetails is NewDetails for literals in code; it panics on error.
func MustDetails(fields map[string]any) Details {
	d, err := NewDetails(fields)
	if err != nil {
		panic(err)
	}
	return d
}

// ParseDetails checks JSON text (an object) as NewDetails does and returns it
// as Details, encoded compactly with sorted keys and numbers as written.
func ParseDetails(raw []byte) (Details, error) { return parseDetails(raw) }

func parseDetails(raw []byte) (Details, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return Details{}, errs.Invalid("details", "not JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Details{}, errs.Invalid("details", "text after the JSON object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return Details{}, errs.Invalid("details", "must be a JSON object")
	}
	if len(obj) == 0 {
		return Details{}, nil
	}
	if err := checkValue("details", obj); err != nil {
		return Details{}, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		return Details{}, errs.Invalid("details", "cannot encode: %v", err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(out) > MaxDetailsBytes {
		return Details{}, errs.Invalid("details", "at most %d bytes encoded, got %d", MaxDetailsBytes, len(out))
	}
	return Details{json: string(out)}, nil
}

func checkValue(path string, v any) error {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := path + "." + k
			if k == "" {
				return errs.Invalid(path, "keys must not be empty")
			}
			n := normaliseKey(k)
			if forbiddenKeys[n] || containsAny(n, forbiddenParts) {
				return errs.Invalid(p, "the audit log must not hold values or secrets: record what was accessed (a field name, a subject id), not its content")
			}
			if err := checkValue(p, v[k]); err != nil {
				return err
			}
		}
	case []any:
		for i, item := range v {
			if err := checkValue(fmt.Sprintf("%s[%d]", path, i), item); err != nil {
				return err
			}
		}
	case string:
		if emailLike.MatchString(strings.TrimSpace(v)) {
			return errs.Invalid(path, "looks like an email address: record the subject or staff id instead")
		}
	case json.Number:
		if f, err := v.Float64(); err != nil || math.IsInf(f, 0) {
			return errs.Invalid(path, "number out of range")
		}
	}
	return nil
}

func containsAny(s string, parts []string) bool {
	for _, p := range parts {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

var (
	_ json.Marshaler = Details{}
	_ fmt.Stringer   = Details{}
)

// String returns the JSON text, as hashed: "{}" when empty.
func (d Details) String() string {
	if d.json == "" && !d.stored {
		return "{}"
	}
	return d.json
}

// IsZero reports whether the details are the empty object.
func (d Details) IsZero() bool { return d.String() == "{}" }

// MarshalJSON returns the JSON object.
func (d Details) MarshalJSON() ([]byte, error) { return []byte(d.String()), nil }

// Map decodes the details into a map, numbers as json.Number.
func (d Details) Map() map[string]any {
	out := map[string]any{}
	dec := json.NewDecoder(strings.NewReader(d.String()))
	dec.UseNumber()
	_ = dec.Decode(&out) // d was checked when it was made
	return out
}

// storedDetails wraps JSON text read back from the store as is.
func storedDetails(text string) Details { return Details{json: text, stored: true} }
