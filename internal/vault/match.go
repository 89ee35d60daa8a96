package vault

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"
	"unicode"

	"github.com/steward-dev/steward/internal/errs"
)

// DataPoint names a field a requester may prove their identity with, and
// how much of it they type: Last > 0 is its last Last characters (the last
// four of an IBAN), 0 the whole value (a date of birth, a postcode).
type DataPoint struct {
	Field string `json:"field"`
	Last  int    `json:"last,omitempty"`
}

// NormaliseDataPoint is how a data point is compared: lower case, without
// spaces and the separators people type differently ("-", ".", "/").
func NormaliseDataPoint(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r), r == '-', r == '.', r == '/':
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}

// MatchDataPoint reports whether typed matches subject's field dp, both
// normalised, compared in constant time on their SHA-256 digests (so that
// neither the content nor the length of the stored value shows in the
// time taken). A missing, expired or erased field matches nothing. The
// value is never returned nor logged.
func (v *Vault) MatchDataPoint(ctx context.Context, subject string, dp DataPoint, typed string) (bool, error) {
	rec, err := v.Get(ctx, subject, dp.Field)
	held := ""
	switch {
	case err == nil:
		held = NormaliseDataPoint(string(rec.Value))
		clear(rec.Value)
		if dp.Last > 0 {
			r := []rune(held)
			if len(r) < dp.Last {
				held = ""
			} else {
				held = string(r[len(r)-dp.Last:])
			}
		}
	case errs.CodeOf(err) == errs.CodeNotFound || errors.Is(err, ErrErased):
	default:
		return false, err
	}
	want := sha256.Sum256([]byte(held))
	got := sha256.Sum256([]byte(NormaliseDataPoint(typed)))
	eq := subtle.ConstantTimeCompare(want[:], got[:]) == 1
	return eq && held != "", nil
}
