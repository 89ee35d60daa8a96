package client

import (
	"context"
	"net/http"
	"time"
)

// LegalHold is a legal hold on a subject: while it is open (LiftedAt nil),
// Steward's retention keeps all of the subject's data, whatever its age.
type LegalHold struct {
	ID      string `json:"id"`
	Subject string `json:"subject_id"`
	// Reason says why the data must be kept: a case, a claim, an
	// authority's order.
	Reason string `json:"reason"`
	// PlacedBy and LiftedBy name who acted: "staff:ID" or "api_key:ID".
	PlacedBy string     `json:"placed_by"`
	PlacedAt time.Time  `json:"placed_at"`
	LiftedBy string     `json:"lifted_by,omitempty"`
	LiftedAt *time.Time `json:"lifted_at,omitempty"`
}

// LegalHoldInput places a legal hold.
type LegalHoldInput struct {
	// Reason is one line, 1 to 500 characters.
	Reason string `json:"reason"`
}

// LegalHolds are a subject's holds, newest first: the open one, if any,
// then those lifted.
type LegalHolds struct {
	Holds []LegalHold `json:"holds"`
}

// ListLegalHolds lists a subject's legal holds, open and lifted. It needs
// an admin key.
func (c *Client) ListLegalHolds(ctx context.Context, subject string) (*LegalHolds, error) {
	if subject == "" {
		return nil, errEmpty("subject")
	}
	var out LegalHolds
	if err := c.do(ctx, http.MethodGet, path("/v1/subjects/", subject, "/legal-hold"), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// PlaceLegalHold places a legal hold on a subject; an open one already is
// an *Error of status 409. It needs an admin key.
func (c *Client) PlaceLegalHold(ctx context.Context, subject string, in LegalHoldInput) (*LegalHold, error) {
	return c.hold(ctx, http.MethodPost, subject, in)
}

// LiftLegalHold lifts a subject's open legal hold and returns it; none
// open is an *Error of status 404. It needs an admin key.
func (c *Client) LiftLegalHold(ctx context.Context, subject string) (*LegalHold, error) {
	return c.hold(ctx, http.MethodDelete, subject, nil)
}

func (c *Client) hold(ctx context.Context, method, subject string, in any) (*LegalHold, error) {
	if subject == "" {
		return nil, errEmpty("subject")
	}
	var out LegalHold
	if err := c.do(ctx, method, path("/v1/subjects/", subject, "/legal-hold"), nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}
