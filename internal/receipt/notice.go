package receipt

import (
	"encoding/json"
	"fmt"
)

// NoticeVersion is the version of breach notices: the payload type Steward
// signs, besides consent receipts, with the same key and published in the
// same JWKS.
const NoticeVersion = "steward-breach-notice-v1"

// Notice is a personal data breach notice to one customer (GDPR Art. 34):
// what they read in the privacy portal, signed, so that they (or anyone
// they show it to) can check offline that the company said exactly this.
type Notice struct {
	Version    string `json:"version"`
	IncidentID string `json:"incidentId"`
	// SubjectID is Steward's id of the customer told.
	SubjectID string `json:"subjectId"`
	Language  string `json:"language"`
	// IssuedAt is when the notice was signed, Unix seconds.
	IssuedAt   int64  `json:"issuedAt"`
	Controller string `json:"controller"`
	Title      string `json:"title"`
	// Sections are the notice's parts in order: what happened, what it
	// means for you, what we did, what you can do, whom to contact.
	Sections []NoticeSection `json:"sections"`
}

// NoticeSection is one part of a notice: its heading in the notice's
// language and the officer's text.
type NoticeSection struct {
	Key     string `json:"key"`
	Heading string `json:"heading"`
	Text    string `json:"text"`
}

// SignNotice returns n as a compact JWS, under the receipts' key.
func (s *Signer) SignNotice(n *Notice) (string, error) {
	if n.Version != NoticeVersion {
		return "", fmt.Errorf("sign notice: version %q, want %q", n.Version, NoticeVersion)
	}
	payload, err := json.Marshal(n)
	if err != nil {
		return "", fmt.Errorf("encode notice: %w", err)
	}
	return s.SignPayload(payload), nil
}

// VerifyNotice checks a compact JWS breach notice against the keys of a
// JWKS document and returns its content. A changed byte anywhere fails.
func VerifyNotice(compact string, jwks []byte) (*Notice, error) {
	payload, err := VerifyPayload(compact, jwks)
	if err != nil {
		return nil, err
	}
	var n Notice
	if err := json.Unmarshal(payload, &n); err != nil {
		return nil, fmt.Errorf("%w: payload is not a notice: %v", ErrInvalid, err)
	}
	if n.Version != NoticeVersion {
		return nil, fmt.Errorf("%w: version %q, want %q", ErrInvalid, n.Version, NoticeVersion)
	}
	return &n, nil
}

// VerifyDocument checks a compact JWS that is either a consent receipt or a
// breach notice (told apart by the version its payload names) and returns
// a *Receipt or a *Notice.
func VerifyDocument(compact string, jwks []byte) (any, error) {
	payload, err := VerifyPayload(compact, jwks)
	if err != nil {
		return nil, err
	}
	var head struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(payload, &head); err != nil {
		return nil, fmt.Errorf("%w: payload is not JSON: %v", ErrInvalid, err)
	}
	switch head.Version {
	case NoticeVersion:
		return VerifyNotice(compact, jwks)
	default:
		return Verify(compact, jwks)
	}
}
