// Consent receipts: the signed record of each appended event, issued once.

package consent

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/steward-dev/steward/internal/receipt"
)

// sign returns the signed consent receipt of an event being appended. It
// depends only on what the client sent (after ValidateEvents filled the
// defaults) and the catalog. Only Append calls it: a receipt is issued once,
// stored with its event and chained, and never signed again from a row,
// which someone with the database could have edited.
//
// It returns the receipt and its SHA-256, which the chain covers. The
// receipt and its lists are built on the stack: this runs for every event.
func (s *Service) sign(e *Event, principalID string) (jws string, sum [sha256.Size]byte) {
	cat := s.catalog.load()
	controllers := [1]receipt.Controller{s.ctrl}
	r := &receipt.Receipt{
		Version:          receipt.Version,
		Jurisdiction:     e.Jurisdiction,
		ConsentTimestamp: e.At.Unix(),
		CollectionMethod: string(e.Source),
		ConsentReceiptID: receiptID(e),
		PIIPrincipalID:   principalID,
		PIIControllers:   controllers[:],
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
	var categories [8]string
	purpose := receipt.Purpose{Purpose: e.Purpose, PurposeCategory: []string{e.Purpose}, PIICategory: categories[:0],
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
	purposes := [1]receipt.Purpose{purpose}
	service.Purposes = purposes[:]
	services := [1]receipt.Service{service}
	r.Services = services[:]
	return s.signer.SignSum(r)
}

// receiptID derives a stable UUID-shaped id from the event's identity, so a
// retried request gets the same receipt.
func receiptID(e *Event) string {
	var in [160]byte // on the stack for ids of usual length; longer ones spill to the heap
	sum := sha256.Sum256(append(append(append(in[:0], e.Property...), 0), e.ID...))
	sum[6] = sum[6]&0x0f | 0x80 // version 8: custom
	sum[8] = sum[8]&0x3f | 0x80
	var id [36]byte
	hex.Encode(id[0:8], sum[0:4])
	id[8] = '-'
	hex.Encode(id[9:13], sum[4:6])
	id[13] = '-'
	hex.Encode(id[14:18], sum[6:8])
	id[18] = '-'
	hex.Encode(id[19:23], sum[8:10])
	id[23] = '-'
	hex.Encode(id[24:36], sum[10:16])
	return string(id[:])
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
