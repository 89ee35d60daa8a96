package receipt_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"testing"

	"github.com/steward-dev/steward/internal/receipt"
)

// full is a receipt with every field set, the optional ones included.
func full() *receipt.Receipt {
	return &receipt.Receipt{
		Version: receipt.Version, Jurisdiction: "DE", ConsentTimestamp: 1764000000, CollectionMethod: "banner",
		ConsentReceiptID: "0f8e7c1a-0000-4000-8000-000000000001", Language: "de", PIIPrincipalID: "device:dev-1",
		PIIControllers: []receipt.Controller{{PIIController: "Example Shop GmbH", OnBehalf: true, Contact: "Data Protection Officer",
			Address: "Hauptstraße 1, 10115 Berlin", Email: "privacy@shop.example", Phone: "+49 30 123456", PIIControllerURL: "https://shop.example"}},
		PolicyURL: "https://shop.example/privacy", Sensitive: true, SPICat: []string{"health"},
		Services: []receipt.Service{{Service: "Shop", Purposes: []receipt.Purpose{
			{Purpose: "Analytics", PurposeCategory: []string{"analytics"}, ConsentType: "EXPLICIT", PIICategory: []string{"online identifiers", "usage"},
				PrimaryPurpose: true, Termination: "until withdrawn", ThirdPartyDisclosure: true, ThirdPartyName: "Metrics & Co <EU>"},
			{Purpose: "Ads", ConsentType: "IMPLICIT"},
		}}},
		Steward: receipt.Ledger{EventID: "e-1", Property: "shop", Purpose: "analytics", Vendor: "metrics-co", Action: "grant",
			Source: "banner", NoticeVersion: "v1", GPC: true, GPPString: "DBABMA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA",
			Channel: "email"},
	}
}

func TestAppendJSONIsJSONMarshal(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *receipt.Receipt
	}{
		{"sample", sample()},
		{"every field", full()},
		{"zero", &receipt.Receipt{}},
		{"empty lists", &receipt.Receipt{PIIControllers: []receipt.Controller{}, Services: []receipt.Service{{Purposes: []receipt.Purpose{}}}, SPICat: []string{}}},
		{"escapes", &receipt.Receipt{Jurisdiction: "a\"b\\c\n\t\x01<>&\u2028\u2029é\xff", ConsentTimestamp: -5,
			Steward: receipt.Ledger{EventID: "</script>", Vendor: "x", GPPString: "\x7f", Channel: "<sms>"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.r)
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.r.AppendJSON([]byte("prefix")); !bytes.Equal(got, append([]byte("prefix"), want...)) {
				t.Errorf("AppendJSON:\n got %s\nwant prefix%s", got, want)
			}
		})
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("DE", "device:d-1", "Example <Shop>", "e-1", "analytics", "", int64(1764000000), true)
	f.Add("\x00\u2028", "subject:\xffé", "\"\\", "id\n", "p&q", "~gpp", int64(-1), false)
	f.Fuzz(func(t *testing.T, jurisdiction, principal, controller, eventID, purpose, extra string, at int64, flag bool) {
		r := full()
		r.Jurisdiction, r.PIIPrincipalID, r.ConsentTimestamp, r.Sensitive = jurisdiction, principal, at, flag
		r.PIIControllers[0].PIIController, r.PIIControllers[0].PIIControllerURL = controller, extra
		r.Services[0].Purposes[0].Purpose, r.Services[0].Purposes[0].ThirdPartyName = purpose, extra
		r.Services[0].Purposes[1].PIICategory = []string{extra, purpose}
		r.Language = extra
		r.Steward.EventID, r.Steward.Vendor, r.Steward.GPPString, r.Steward.GPC = eventID, extra, extra, flag
		r.Steward.Channel = extra
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON:\n got %s\nwant %s", got, want)
		}
	})
}

// TestSignedPayloadIsJSONMarshal checks that what Sign signs is what
// json.Marshal writes, so receipts signed before the hand-written encoder
// and after it are of one format.
func TestSignedPayloadIsJSONMarshal(t *testing.T) {
	s := newSigner(t)
	r := full()
	jws, err := s.Sign(r)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := receipt.VerifyPayload(jws, s.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(r)
	if !bytes.Equal(payload, want) {
		t.Errorf("signed payload:\n got %s\nwant %s", payload, want)
	}
	if again, _ := s.Sign(r); again != jws {
		t.Error("signing the same receipt twice gave two receipts")
	}
}

func BenchmarkSign(b *testing.B) {
	key, err := receipt.LoadOrCreateKey(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	s, err := receipt.NewSigner(key)
	if err != nil {
		b.Fatal(err)
	}
	r := full()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(r); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSignSumIsSignAndItsHash(t *testing.T) {
	s := newSigner(t)
	want, err := s.Sign(full())
	if err != nil {
		t.Fatal(err)
	}
	jws, sum := s.SignSum(full())
	if jws != want {
		t.Errorf("SignSum's receipt differs from Sign's:\n%s\n%s", jws, want)
	}
	if sum != sha256.Sum256([]byte(want)) {
		t.Error("SignSum's sum is not the SHA-256 of the receipt")
	}
}
