// Consent receipts: the signed record of each appended event, issued once.

package consent

import (
	"crypto/sha256"
	"fmt"

	"github.com/steward-dev/steward/internal/receipt"
)

// sign returns the signed consent receipt of an event being appended. It
// depends only on what the client sent (after ValidateEvents filled the
// defaults) and the catalog. Only Append calls it: a receipt is issued once,
// stored with its event and chained, and never signed again from a row,
// which someone with the database could have edited.
func (s *Service) sign(e *Event) (string, error) {
	cat := s.catalog.load()
	r := &receipt.Receipt{
		Version:          receipt.Version,
		Jurisdiction:     e.Jurisdiction,
		ConsentTimestamp: e.At.Unix(),
		CollectionMethod: string(e.Source),
		ConsentReceiptID: receiptID(e),
		PIIPrincipalID:   principal(e),
		PIIControllers:   []receipt.Controller{s.ctrl},
		SPICat:           []string{},
		Steward: receipt.Ledger{
			EventID: e.ID, Property: e.Property, Purpose: e.Purpose, Vendor: e.Vendor,
			Action: string(e.Action), Source: string(e.Source), NoticeVersion: e.NoticeVersion, GPC: e.GPC,
			GPPString: e.GPPString, Channel: string(e.Channel),
		},
	}
	service := receipt.Service{Service: e.Property}
	if p, ok := cat.properties[e.Property]; ok {
		service.Service = p.Name
		r.PolicyURL = p.PolicyURL
	}
	purpose := receipt.Purpose{Purpose: e.Purpose, PurposeCategory: []string{e.Purpose}, PIICategory: []string{},
		ConsentType: "EXPLICIT", Termination: "until withdrawn in the privacy center or the consent banner"}
	if p, ok := cat.purposes[e.Purpose]; ok {
		purpose.Purpose = pickText(p.Names, e.Purpose)
		if p.Communication() {
			purpose.Termination = "until withdrawn in the preference centre, by the unsubscribe link of any message, or in the privacy center"
		}
		purpose.PrimaryPurpose = p.Necessary
		if p.LegalBasis != BasisConsent {
			purpose.ConsentType = "IMPLICIT"
		}
	}
	if v, ok := cat.vendors[e.Vendor]; ok {
		purpose.ThirdPartyDisclosure = true
		purpose.ThirdPartyName = v.Name
		purpose.PIICategory = append(purpose.PIICategory, v.DataCategories...)
	}
	service.Purposes = []receipt.Purpose{purpose}
	r.Services = []receipt.Service{service}
	return s.signer.Sign(r)
}

// receiptID derives a stable UUID-shaped id from the event's identity, so a
// retried request gets the same receipt.
func receiptID(e *Event) string {
	sum := sha256.Sum256([]byte(e.Property + "\x00" + e.ID))
	sum[6] = sum[6]&0x0f | 0x80 // version 8: custom
	sum[8] = sum[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}

func principal(e *Event) string {
	if e.Subject != "" {
		return "subject:" + e.Subject
	}
	return "device:" + e.Device
}

func pickText(texts map[string]string, fallback string) string {
	if t, ok := texts["en"]; ok {
		return t
	}
	best := ""
	for lang, t := range texts {
		if best == "" || lang < best {
			best, fallback = lang, t
		}
	}
	return fallback
}
