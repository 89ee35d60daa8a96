package receipt_test

import (
	"errors"
	"testing"

	"github.com/steward-dev/steward/internal/receipt"
)

func sampleNotice() *receipt.Notice {
	return &receipt.Notice{Version: receipt.NoticeVersion, IncidentID: "inc_1", SubjectID: "cust-1", Language: "de",
		IssuedAt: 1764000000, Controller: "Example Shop", Title: "Wichtige Mitteilung",
		Sections: []receipt.NoticeSection{{Key: "happened", Heading: "Was ist passiert", Text: "Ein Laptop wurde gestohlen."}}}
}

// TestNoticeSignVerify: a notice verifies under the receipts' JWKS, as a
// notice and as a document; every changed byte fails; a receipt is not a
// notice, nor a notice a receipt.
func TestNoticeSignVerify(t *testing.T) {
	s := newSigner(t)
	jws, err := s.SignNotice(sampleNotice())
	if err != nil {
		t.Fatal(err)
	}
	got, err := receipt.VerifyNotice(jws, s.JWKS())
	if err != nil || got.SubjectID != "cust-1" || got.Sections[0].Text != "Ein Laptop wurde gestohlen." {
		t.Fatalf("VerifyNotice = %+v, %v", got, err)
	}
	doc, err := receipt.VerifyDocument(jws, s.JWKS())
	if _, ok := doc.(*receipt.Notice); !ok || err != nil {
		t.Fatalf("VerifyDocument(notice) = %T, %v", doc, err)
	}
	for i := range len(jws) {
		b := []byte(jws)
		b[i] ^= 0x01
		if _, err := receipt.VerifyNotice(string(b), s.JWKS()); err == nil {
			t.Fatalf("byte %d changed: the notice still verifies", i)
		}
	}
	if _, err := receipt.Verify(jws, s.JWKS()); !errors.Is(err, receipt.ErrInvalid) {
		t.Errorf("a notice verified as a receipt: %v", err)
	}
	rc, _ := s.Sign(sample())
	if _, err := receipt.VerifyNotice(rc, s.JWKS()); !errors.Is(err, receipt.ErrInvalid) {
		t.Errorf("a receipt verified as a notice: %v", err)
	}
	if doc, err := receipt.VerifyDocument(rc, s.JWKS()); err != nil {
		t.Errorf("VerifyDocument(receipt) = %T, %v", doc, err)
	} else if _, ok := doc.(*receipt.Receipt); !ok {
		t.Errorf("VerifyDocument(receipt) = %T", doc)
	}
	bad := sampleNotice()
	bad.Version = "v0"
	if _, err := s.SignNotice(bad); err == nil {
		t.Error("a notice of another version was signed")
	}
}
