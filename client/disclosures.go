package client

import (
	"context"
	"net/http"
	"time"
)

// DisclosureState is where a disclosure stands.
type DisclosureState string

// The states of a disclosure.
const (
	// DisclosureAllowed: consent or necessity allows it; go ahead.
	DisclosureAllowed DisclosureState = "allowed"
	// DisclosureBlocked: it may not happen (BlockedReason says why).
	DisclosureBlocked DisclosureState = "blocked"
	// DisclosurePending: the customer is asked and has not answered yet.
	DisclosurePending  DisclosureState = "pending"
	DisclosureApproved DisclosureState = "approved"
	DisclosureDeclined DisclosureState = "declined"
	// DisclosureExpired: the customer did not answer by NeededBy.
	DisclosureExpired DisclosureState = "expired"
)

// The reasons a disclosure is blocked (Disclosure.BlockedReason), in the
// order the server checks them.
const (
	// DisclosureBlockedVendorNotDeclared: the vendor is not declared for
	// the purpose.
	DisclosureBlockedVendorNotDeclared = "vendor_not_declared"
	// DisclosureBlockedCategoryInHouse: a category is in-house data, never
	// disclosed, whatever the consent.
	DisclosureBlockedCategoryInHouse = "category_in_house"
	// DisclosureBlockedCategoryNotDeclared: a category is not declared for
	// the vendor, or outside its security assessment.
	DisclosureBlockedCategoryNotDeclared = "category_not_declared"
	// DisclosureBlockedTransferWithoutSafeguard: the vendor is outside the
	// EEA (for EU properties) and no transfer safeguard is recorded.
	DisclosureBlockedTransferWithoutSafeguard = "transfer_without_safeguard"
	// DisclosureBlockedVendorNotAssessed: the vendor has no current passing
	// security assessment.
	DisclosureBlockedVendorNotAssessed = "vendor_not_assessed"
	// DisclosureBlockedPurposeNotAssessed: the purpose has no approved
	// ethics assessment in force.
	DisclosureBlockedPurposeNotAssessed = "purpose_not_assessed"
	// DisclosureBlockedRestricted: the customer's processing is restricted.
	DisclosureBlockedRestricted = "restricted"
	// DisclosureBlockedObjected: the customer objected to the purpose.
	DisclosureBlockedObjected = "objected"
	// DisclosureBlockedDeclined: the customer declined or withdrew.
	DisclosureBlockedDeclined = "declined"
	// DisclosureBlockedGPC: Global Privacy Control, for a sale or sharing.
	DisclosureBlockedGPC = "gpc_opt_out"
)

// DisclosureBasis is what allows a disclosure.
type DisclosureBasis string

// The bases.
const (
	DisclosureBasisNecessary DisclosureBasis = "necessary"
	DisclosureBasisConsent   DisclosureBasis = "consent"
	DisclosureBasisApproval  DisclosureBasis = "customer_approval"
)

// Disclosure is a third party's access to a subject's data: allowed by
// consent, or waiting for the customer's approval in the privacy portal.
// A signed webhook reports the outcome of a pending one.
type Disclosure struct {
	ID         string   `json:"id"`
	Subject    string   `json:"subject"`
	Vendor     string   `json:"vendor"`
	Purpose    string   `json:"purpose"`
	Categories []string `json:"categories"`
	// Reason is what the customer is told the data is shared for.
	Reason string          `json:"reason"`
	State  DisclosureState `json:"state"`
	// Basis is what allows it, once allowed or approved.
	Basis DisclosureBasis `json:"basis,omitempty"`
	// BlockedReason says why a blocked disclosure may not happen: one of
	// the DisclosureBlocked… codes.
	BlockedReason string `json:"blocked_reason,omitempty"`
	// BlockedDetail says why in words.
	BlockedDetail string `json:"blocked_detail,omitempty"`
	// AskedBy is who asked, as "kind:id".
	AskedBy   string    `json:"asked_by"`
	CreatedAt time.Time `json:"created_at"`
	// NeededBy is when the customer's answer is needed; later, a pending
	// disclosure expires.
	NeededBy  time.Time  `json:"needed_by"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	// WentAheadAt is when the data was shared.
	WentAheadAt *time.Time `json:"went_ahead_at,omitempty"`
}

// DisclosureInput asks to share a subject's data with a vendor.
type DisclosureInput struct {
	Subject string `json:"subject"`
	Vendor  string `json:"vendor"`
	Purpose string `json:"purpose"`
	// Categories are the kinds of data to share ("contact"...).
	Categories []string `json:"categories"`
	// Reason is shown to the customer when they are asked.
	Reason string `json:"reason"`
	// NeededBy is when the answer is needed; the server's default when
	// zero.
	NeededBy time.Time `json:"needed_by,omitzero"`
}

// AskDisclosure asks whether a subject's data may be shared with a vendor.
// Consent decides at once (DisclosureAllowed or DisclosureBlocked), or the
// customer is asked (DisclosurePending): poll GetDisclosure or wait for
// the webhook. It needs a disclose or admin key.
func (c *Client) AskDisclosure(ctx context.Context, in DisclosureInput) (*Disclosure, error) {
	var out Disclosure
	if err := c.do(ctx, http.MethodPost, "/v1/disclosures", nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetDisclosure returns a disclosure. It needs a disclose or admin key.
func (c *Client) GetDisclosure(ctx context.Context, id string) (*Disclosure, error) {
	if id == "" {
		return nil, errEmpty("disclosure id")
	}
	var out Disclosure
	if err := c.do(ctx, http.MethodGet, path("/v1/disclosures/", id), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// VendorDisclosures lists the disclosures to a vendor. It needs an admin
// key.
func (c *Client) VendorDisclosures(ctx context.Context, vendor string) ([]Disclosure, error) {
	if vendor == "" {
		return nil, errEmpty("vendor key")
	}
	var out list[Disclosure]
	err := c.do(ctx, http.MethodGet, path("/v1/vendors/", vendor, "/disclosures"), nil, nil, &out, nil)
	return out.Items, err
}
