package api

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/erasure"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/reveal"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// fieldView is a vault field as the API shows it: metadata and a masked
// value, never the plaintext.
type fieldView struct {
	vault.FieldInfo
	Masked string `json:"masked,omitempty"`
}

// mask keeps the last characters of a value that is long enough, as on a
// bank card: "••••••••3000".
func mask(value []byte) string {
	s := []rune(string(value))
	keep := 0
	if len(s) >= 8 {
		keep = 4
	}
	return strings.Repeat("•", min(len(s)-keep, 12)) + string(s[len(s)-keep:])
}

// actor is who the audit log names for a request: the API key the web
// layer authenticated.
func actor(r *http.Request) audit.Actor { return audit.ActorFrom(r.Context()) }

// HandleListFields lists a subject's vault fields without values.
func (d *Deps) HandleListFields() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fields, err := d.Vault.List(r.Context(), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, list[vault.FieldInfo]{Items: fields})
	})
}

// signInField is the vault field a customer signs in to the portal with.
const signInField = "email"

// HandlePutField stores a field's value, encrypted under the subject's key.
// The vault records the write in its transaction (503 when the audit log
// cannot be written). Changing the sign-in address first tells the
// previous one (BeforeSignInChange).
func (d *Deps) HandlePutField() http.Handler {
	type request struct {
		Category  string      `json:"category"`
		Value     string      `json:"value"`
		ExpiresAt *httpx.Time `json:"expires_at"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[request](w, r, 128<<10)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		f := vault.Field{Name: r.PathValue("name"), Category: in.Category, Value: []byte(in.Value)}
		if in.ExpiresAt != nil {
			f.ExpiresAt = in.ExpiresAt.Time
		}
		if f.Name == signInField && d.BeforeSignInChange != nil {
			// Tell the previous address before the change can be used to
			// sign in as the customer; no notice, no change.
			if err := d.Vault.Validate(r.PathValue("id"), f); err != nil {
				d.fail(w, r, err)
				return
			}
			if err := d.BeforeSignInChange(r.Context(), r.PathValue("id"), in.Value); err != nil {
				d.fail(w, r, failClosed(err, "the previous sign-in address cannot be told of the change, so it is not made"))
				return
			}
		}
		info, err := d.Vault.Put(r.Context(), r.PathValue("id"), f)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, fieldView{FieldInfo: info, Masked: mask(f.Value)})
	})
}

// HandleGetField returns a field's metadata and masked value. Reading the
// value to mask it is no disclosure, and is not recorded as an access.
func (d *Deps) HandleGetField() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, err := d.Vault.Get(r.Context(), r.PathValue("id"), r.PathValue("name"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, fieldView{FieldInfo: rec.FieldInfo, Masked: mask(rec.Value)})
	})
}

// HandleDeleteField deletes a field and its tokens. The vault records the
// deletion in its transaction: if the audit log cannot be written, nothing
// is deleted (503).
func (d *Deps) HandleDeleteField() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") == signInField && d.BeforeSignInChange != nil {
			// Deleting the address and then setting another is a change
			// too: the address is told at the deletion.
			if _, err := d.Vault.Get(r.Context(), r.PathValue("id"), signInField); err != nil {
				d.fail(w, r, err)
				return
			}
			if err := d.BeforeSignInChange(r.Context(), r.PathValue("id"), ""); err != nil {
				d.fail(w, r, failClosed(err, "the sign-in address cannot be told of its deletion, so it is not deleted"))
				return
			}
		}
		if err := d.Vault.Delete(r.Context(), r.PathValue("id"), r.PathValue("name")); err != nil {
			d.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// HandleEraseSubject crypto-shreds a subject's vault data. The audit entry
// commits with the erasure, or neither happens.
func (d *Deps) HandleEraseSubject() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		subject := r.PathValue("id")
		if !vault.ValidSubject(subject) {
			d.fail(w, r, errs.Invalid("id", "must be 1 to 128 letters, digits or ._:@+=-"))
			return
		}
		var res vault.ErasureResult
		_, err := d.Audit.Do(r.Context(), audit.Entry{Actor: actor(r), Action: "vault.erase", Target: audit.Subject(subject)},
			func(ctx context.Context, tx *sql.Tx) error {
				var err error
				res, err = d.Vault.EraseSubjectTx(ctx, tx, subject)
				return err
			})
		if err != nil {
			d.fail(w, r, failClosed(err, "the audit log cannot be written, so nothing is erased"))
			return
		}
		if d.Erasures != nil {
			// The erasure stands; without its journal entry a restored backup
			// would bring the data back, so the caller is told to call again
			// (erasing twice is harmless, and the retry writes the entry).
			entry := erasure.Entry{Subject: subject, At: res.At, Source: erasure.SourceAPI,
				Vault: &erasure.VaultErased{Fields: res.Fields, Tokens: res.Tokens, KeyDestroyed: true, AlreadyErased: res.AlreadyErased}}
			if err := d.Erasures.RecordErasure(r.Context(), entry); err != nil {
				d.fail(w, r, errs.Wrap(errs.CodeUnavailable, err, "the subject is erased, but the erasure journal cannot be written: call again to record it"))
				return
			}
		}
		httpx.Encode(w, http.StatusOK, res)
	})
}

// statedPurpose is what every disclosure states: why, and the ticket that
// asked for it.
type statedPurpose struct {
	Purpose string `json:"purpose"`
	Ticket  string `json:"ticket"`
}

// emailLike finds an email address in free text: the audit log records
// purposes and tickets, and must not hold personal data.
var emailLike = regexp.MustCompile(`[^\s@]+@[^\s@]+\.[^\s@]+`)

func (p statedPurpose) Valid(context.Context) map[string]string {
	problems := map[string]string{}
	for field, text := range map[string]string{"purpose": p.Purpose, "ticket": p.Ticket} {
		if emailLike.MatchString(text) {
			problems[field] = "must not hold personal data such as an email address: the audit log keeps it"
		}
	}
	if n := len(strings.TrimSpace(p.Purpose)); (n < 5 || n > 500) && problems["purpose"] == "" {
		problems["purpose"] = "say why you need the data (5 to 500 characters)"
	}
	if n := len(strings.TrimSpace(p.Ticket)); (n < 1 || n > 100) && problems["ticket"] == "" {
		problems["ticket"] = "give the ticket or case reference (up to 100 characters)"
	}
	return problems
}

// revealed is a plaintext answer, with the audit entry that recorded it.
type revealed struct {
	Subject  string `json:"subject"`
	Field    string `json:"field"`
	Value    string `json:"value"`
	AuditSeq int64  `json:"audit_seq"`
}

// HandleRevealField returns a field's plaintext to a reveal key with a
// stated purpose and ticket. The audit entry is written first: if it
// cannot be written, nothing is revealed (503).
func (d *Deps) HandleRevealField() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[statedPurpose](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		subject, name := r.PathValue("id"), r.PathValue("name")
		// Read first (sealed, erased, missing: no entry for what cannot
		// happen); the value leaves the process only after the entry is
		// written.
		rec, err := d.Vault.Get(r.Context(), subject, name)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		stored, err := recordDisclosure(r, d, "vault.reveal", subject, name, in)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.Encode(w, http.StatusOK, revealed{Subject: subject, Field: name, Value: string(rec.Value), AuditSeq: stored.Seq})
	})
}

// HandleTokenizeField returns an opaque token that other systems can store
// instead of the value.
func (d *Deps) HandleTokenizeField() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, err := d.Vault.Tokenize(r.Context(), r.PathValue("id"), r.PathValue("name"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.Encode(w, http.StatusOK, map[string]string{"token": token})
	})
}

// HandleDetokenize returns the value behind a token, audited first like a
// reveal. The token travels in the body, never in a URL.
func (d *Deps) HandleDetokenize() http.Handler {
	type request struct {
		Token string `json:"token"`
		statedPurpose
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[request](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		if problems := in.statedPurpose.Valid(r.Context()); len(problems) > 0 {
			d.fail(w, r, errs.Fields(problems))
			return
		}
		// Resolve the token's subject first, to name it in the audit entry;
		// the value is handed out only after the entry is written.
		rec, err := d.Vault.Detokenize(r.Context(), in.Token)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		stored, err := recordDisclosure(r, d, "vault.detokenize", rec.Subject, rec.Name, in.statedPurpose)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.Encode(w, http.StatusOK, revealed{Subject: rec.Subject, Field: rec.Name, Value: string(rec.Value), AuditSeq: stored.Seq})
	})
}

// recordDisclosure writes the audit entry of a disclosure before it
// happens, under the key's reveal limit (429 past it, with an alert). A
// purpose or ticket that itself holds personal data (an email address) is
// refused as invalid input; a log that cannot be written refuses the
// disclosure (fail closed).
func recordDisclosure(r *http.Request, d *Deps, action, subject, field string, why statedPurpose) (audit.Stored, error) {
	details, err := audit.NewDetails(map[string]any{"fields": []string{field},
		"purpose": strings.TrimSpace(why.Purpose), "ticket": strings.TrimSpace(why.Ticket)})
	if err != nil {
		return audit.Stored{}, err
	}
	stored, err := d.Reveals.Record(r.Context(), audit.Entry{Actor: actor(r), Action: action, Target: audit.Subject(subject), Details: details})
	if errors.Is(err, reveal.ErrTooMany) {
		return audit.Stored{}, &errs.Error{Code: errs.CodeForbidden, Message: err.Error(), Err: httpx.ErrTooManyRequests}
	}
	if err != nil {
		return audit.Stored{}, failClosed(err, "the audit log cannot be written, so nothing is revealed")
	}
	return stored, nil
}

// failClosed turns a failure to write the audit log into 503, unless it is
// the caller's invalid input.
func failClosed(err error, message string) error {
	if errs.Is(err, errs.CodeInvalid) {
		return err
	}
	return errs.Wrap(errs.CodeUnavailable, err, message)
}

// HandleAccesses lists who accessed a subject's data, newest first: the
// audit entries that name the subject.
func (d *Deps) HandleAccesses() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		before := int64(0)
		if v := r.URL.Query().Get("before"); v != "" {
			var err error
			if before, err = strconv.ParseInt(v, 10, 64); err != nil || before < 0 {
				d.fail(w, r, errs.Invalid("before", "must be a sequence number"))
				return
			}
		}
		page, err := d.Audit.Accesses(r.Context(), r.PathValue("id"), before, 100)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		out := accessPage{Items: make([]access, len(page.Entries)), Next: page.Next}
		for i, e := range page.Entries {
			out.Items[i] = access{Seq: e.Seq, At: e.At, Actor: e.Actor.String(), Action: e.Action, Details: e.Details}
		}
		httpx.Encode(w, http.StatusOK, out)
	})
}

// access is one audit entry about a subject, as the API shows it.
type access struct {
	Seq     int64         `json:"seq"`
	At      time.Time     `json:"at"`
	Actor   string        `json:"actor"`
	Action  string        `json:"action"`
	Details audit.Details `json:"details"`
}

type accessPage struct {
	Items []access `json:"items"`
	Next  int64    `json:"next"`
}
