package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Field is a sensitive value (a bank account, a national id...) held in
// Steward's vault for a subject, encrypted under the subject's own key. The
// API never shows its plaintext outside RevealField and Detokenize.
type Field struct {
	Subject  string `json:"subject"`
	Name     string `json:"name"`
	Category string `json:"category"`
	// Size is the value's length in bytes.
	Size      int       `json:"size"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// ExpiresAt is when the vault deletes the value; zero for never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Masked is the value with all but its last characters hidden
	// ("••••••••3000"); only PutField and GetField fill it.
	Masked string `json:"masked,omitempty"`
}

// FieldInput stores a field's value.
type FieldInput struct {
	// Category is the kind of data ("financial", "contact"...), which
	// requests and breach reports select by.
	Category string `json:"category"`
	Value    string `json:"value"`
	// ExpiresAt, when set, is when the vault deletes the value.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// StatedPurpose is what every disclosure of plaintext states: why, in 5 to
// 500 characters, and the ticket or case that asked for it. Both go to the
// audit log, so neither may hold personal data such as an email address.
type StatedPurpose struct {
	Purpose string `json:"purpose"`
	Ticket  string `json:"ticket"`
}

// Revealed is a field's plaintext with the audit entry that recorded its
// disclosure.
type Revealed struct {
	Subject string `json:"subject"`
	Field   string `json:"field"`
	Value   string `json:"value"`
	// AuditSeq is the sequence number of the audit entry, written before
	// the value left Steward.
	AuditSeq int64 `json:"audit_seq"`
}

// ListFields lists a subject's vault fields, without values. It needs an
// admin key.
func (c *Client) ListFields(ctx context.Context, subject string) ([]Field, error) {
	if subject == "" {
		return nil, errEmpty("subject")
	}
	var out list[Field]
	err := c.do(ctx, http.MethodGet, path("/v1/subjects/", subject, "/fields"), nil, nil, &out, nil)
	return out.Items, err
}

// PutField stores a field's value, encrypted under the subject's key, and
// returns it masked. Changing the field "email", the customer's sign-in
// address, first tells the previous address. It needs an admin key.
func (c *Client) PutField(ctx context.Context, subject, name string, in FieldInput) (*Field, error) {
	if subject == "" || name == "" {
		return nil, errEmpty("subject and field name")
	}
	var out Field
	if err := c.do(ctx, http.MethodPut, path("/v1/subjects/", subject, "/fields/", name), nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetField returns a field's metadata and masked value. It needs an admin
// key.
func (c *Client) GetField(ctx context.Context, subject, name string) (*Field, error) {
	if subject == "" || name == "" {
		return nil, errEmpty("subject and field name")
	}
	var out Field
	if err := c.do(ctx, http.MethodGet, path("/v1/subjects/", subject, "/fields/", name), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteField deletes a field and its tokens. It needs an admin key.
func (c *Client) DeleteField(ctx context.Context, subject, name string) error {
	if subject == "" || name == "" {
		return errEmpty("subject and field name")
	}
	return c.do(ctx, http.MethodDelete, path("/v1/subjects/", subject, "/fields/", name), nil, nil, nil, nil)
}

// RevealField returns a field's plaintext. The disclosure is written to the
// audit log first (503 when it cannot be), and the customer sees it in the
// privacy portal. It needs a reveal key, which no admin key can make.
func (c *Client) RevealField(ctx context.Context, subject, name string, why StatedPurpose) (*Revealed, error) {
	if subject == "" || name == "" {
		return nil, errEmpty("subject and field name")
	}
	var out Revealed
	if err := c.do(ctx, http.MethodPost, path("/v1/subjects/", subject, "/fields/", name, "/reveal"), nil, why, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// TokenizeField returns an opaque token that other systems can store in
// place of the field's value. It needs an admin key.
func (c *Client) TokenizeField(ctx context.Context, subject, name string) (string, error) {
	if subject == "" || name == "" {
		return "", errEmpty("subject and field name")
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := c.do(ctx, http.MethodPost, path("/v1/subjects/", subject, "/fields/", name, "/token"), nil, nil, &out, nil); err != nil {
		return "", err
	}
	return out.Token, nil
}

// Detokenize returns the plaintext behind a token, audited first like
// RevealField. It needs a reveal key.
func (c *Client) Detokenize(ctx context.Context, token string, why StatedPurpose) (*Revealed, error) {
	if token == "" {
		return nil, errEmpty("token")
	}
	in := struct {
		Token string `json:"token"`
		StatedPurpose
	}{token, why}
	var out Revealed
	if err := c.do(ctx, http.MethodPost, "/v1/detokenize", nil, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// Access is an entry of the audit log about a subject: who did what to
// their data.
type Access struct {
	Seq int64     `json:"seq"`
	At  time.Time `json:"at"`
	// Actor is who acted, as "kind:id" ("api_key:key_…", "staff:…").
	Actor string `json:"actor"`
	// Action is what was done ("vault.reveal", "vault.put"...).
	Action string `json:"action"`
	// Details are the entry's details: the fields, the stated purpose and
	// ticket...; never plaintext.
	Details map[string]any `json:"details"`
}

// AccessPage is one page of a subject's accesses, newest first.
type AccessPage struct {
	Items []Access `json:"items"`
	// Next is the before of the following page; 0 on the last page.
	Next int64 `json:"next"`
}

// ListAccesses lists who accessed a subject's data, newest first, 100 at a
// time: before is the Next of the previous page (0 for the first). It
// needs an admin key.
func (c *Client) ListAccesses(ctx context.Context, subject string, before int64) (*AccessPage, error) {
	if subject == "" {
		return nil, errEmpty("subject")
	}
	q := url.Values{}
	if before != 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	var out AccessPage
	if err := c.do(ctx, http.MethodGet, path("/v1/subjects/", subject, "/accesses"), q, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// Erasure is the outcome of erasing a subject's vault data.
type Erasure struct {
	Subject string `json:"subject"`
	// At is when the subject was erased; for AlreadyErased, the first time.
	At time.Time `json:"at"`
	// Fields and Tokens count what was deleted with the subject's key.
	Fields int `json:"fields"`
	Tokens int `json:"tokens"`
	// AlreadyErased is set when the subject had been erased before.
	AlreadyErased bool `json:"already_erased"`
}

// EraseSubject crypto-shreds a subject's vault data: their key is
// destroyed, so every copy of what it sealed, backups included, becomes
// unreadable. Erasing again changes nothing. It needs an admin key.
func (c *Client) EraseSubject(ctx context.Context, subject string) (*Erasure, error) {
	if subject == "" {
		return nil, errEmpty("subject")
	}
	var out Erasure
	if err := c.do(ctx, http.MethodPost, path("/v1/subjects/", subject, "/erase"), nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// Restriction is a restriction of a subject's processing (GDPR Art. 18):
// while it is in force, decisions answer ReasonRestricted and disclosures
// are blocked.
type Restriction struct {
	Subject string `json:"subject"`
	// Purpose is the one purpose restricted; empty for every purpose.
	Purpose string `json:"purpose,omitempty"`
	// RequestID is the data subject request that asked for it, if any.
	RequestID string `json:"request_id,omitempty"`
	// Seq is the ledger sequence number of the restriction.
	Seq      int64     `json:"seq"`
	PlacedAt time.Time `json:"placed_at"`
}

// RestrictionInput places a restriction.
type RestrictionInput struct {
	// Purpose restricts one purpose; empty restricts every one.
	Purpose string `json:"purpose,omitempty"`
	// RequestID names the data subject request that asked for it.
	RequestID string `json:"request_id,omitempty"`
}

// PendingLift is a lift of a restriction that staff asked for and that
// waits until the customer has been told (GDPR Art. 18(3)): the
// restriction stays in force until then.
type PendingLift struct {
	ID      string `json:"id"`
	Subject string `json:"subject"`
	// Purpose is the purpose whose restriction is lifted; empty for every one.
	Purpose     string    `json:"purpose,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
	RequestedBy string    `json:"requested_by,omitempty"`
	// NoticeProblem says why the customer could not be told ("no_address",
	// "undeliverable"); the lift is then not applied.
	NoticeProblem string `json:"notice_problem,omitempty"`
}

// Restrictions are a subject's restrictions in force and the lifts that
// wait for the customer to be told.
type Restrictions struct {
	Restrictions []Restriction `json:"restrictions"`
	PendingLifts []PendingLift `json:"pending_lifts,omitempty"`
}

// ListRestrictions lists a subject's restrictions in force and pending
// lifts. It needs an admin key.
func (c *Client) ListRestrictions(ctx context.Context, subject string) (*Restrictions, error) {
	return c.restrictions(ctx, http.MethodGet, subject, nil, nil)
}

// PlaceRestriction restricts a subject's processing, for one purpose or
// all, and returns the restrictions then in force. Placing one already in
// force changes nothing. It needs an admin key.
func (c *Client) PlaceRestriction(ctx context.Context, subject string, in RestrictionInput) (*Restrictions, error) {
	return c.restrictions(ctx, http.MethodPost, subject, nil, in)
}

// LiftRestriction asks to lift a subject's restriction of purpose, or
// every one of theirs when purpose is empty; none in force is an *Error of
// status 404. The customer is told first (GDPR Art. 18(3)), so the lift
// comes back among PendingLifts and the restriction stays in force until
// the notice has gone out; without email configured the server refuses it
// (status 503). It needs an admin key.
func (c *Client) LiftRestriction(ctx context.Context, subject, purpose string) (*Restrictions, error) {
	q := url.Values{}
	if purpose != "" {
		q.Set("purpose", purpose)
	}
	return c.restrictions(ctx, http.MethodDelete, subject, q, nil)
}

func (c *Client) restrictions(ctx context.Context, method, subject string, q url.Values, in any) (*Restrictions, error) {
	if subject == "" {
		return nil, errEmpty("subject")
	}
	var out Restrictions
	if err := c.do(ctx, method, path("/v1/subjects/", subject, "/restrictions"), q, in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}
