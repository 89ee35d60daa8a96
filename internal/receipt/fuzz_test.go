package receipt_test

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/receipt"
)

// fuzzSigner signs with a fixed key, so that the receipts of the committed
// corpus keep verifying from one run to the next.
func fuzzSigner(tb testing.TB, seedByte byte) *receipt.Signer {
	tb.Helper()
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = seedByte + byte(i)
	}
	s, err := receipt.NewSigner(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// FuzzVerify checks Verify on a fuzzed compact JWS and a fuzzed JWKS
// (both come from whoever runs "steward receipt verify"): it never panics;
// every refusal but an unreadable JWKS wraps ErrInvalid; anything accepted
// is a receipt of the current version; and against the signer's own JWKS
// nothing is accepted but what the signer signed, which signs again to the
// same receipt.
func FuzzVerify(f *testing.F) {
	signer, other := fuzzSigner(f, 1), fuzzSigner(f, 2)
	signedBy := map[string]*receipt.Receipt{}
	for i, r := range []*receipt.Receipt{sample(), func() *receipt.Receipt {
		r := sample()
		r.Steward.Vendor, r.Steward.GPC, r.Language, r.Sensitive = "ads-co", true, "de", true
		r.SPICat = []string{"health"}
		return r
	}()} {
		for _, s := range []*receipt.Signer{signer, other} {
			compact, err := s.Sign(r)
			if err != nil {
				f.Fatal(err)
			}
			if s == signer {
				signedBy[compact] = r
			}
			f.Add(compact, signer.JWKS())
			if i == 0 {
				f.Add(compact, other.JWKS())
				f.Add(compact+"A", signer.JWKS())
				f.Add(strings.Replace(compact, ".", "..", 1), signer.JWKS())
			}
		}
	}
	for _, jwks := range []string{``, `{}`, `{"keys":[]}`, `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA"}]}`, `[`} {
		for compact := range signedBy {
			f.Add(compact, []byte(jwks))
			break
		}
	}
	f.Add("eyJhbGciOiJub25lIn0.eyJ2ZXJzaW9uIjoiS0ktQ1ItdjEuMS4wIn0.", signer.JWKS())
	f.Add("", signer.JWKS())
	f.Fuzz(func(t *testing.T, compact string, jwks []byte) {
		r, err := receipt.Verify(compact, jwks)
		if err != nil {
			if r != nil {
				t.Fatal("Verify returned a receipt and an error")
			}
			if !errors.Is(err, receipt.ErrInvalid) && !strings.HasPrefix(err.Error(), "read JWKS: ") {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if r.Version != receipt.Version {
			t.Fatalf("accepted a receipt of version %q", r.Version)
		}
		if string(jwks) != string(signer.JWKS()) {
			return // a key set of the fuzzer's: it may hold any key
		}
		var want *receipt.Receipt
		for c, w := range signedBy {
			// The last character of the signature may differ in bits that
			// base64 does not carry.
			if c[:len(c)-1] == compact[:len(compact)-1] {
				want = w
			}
		}
		if want == nil {
			t.Fatalf("accepted %q, which the signer never signed", compact)
		}
		got, _ := json.Marshal(r)
		wantJSON, _ := json.Marshal(want)
		if !reflect.DeepEqual(got, wantJSON) {
			t.Fatalf("receipt came back as %s, signed as %s", got, wantJSON)
		}
	})
}
