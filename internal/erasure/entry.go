package erasure

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/vault"
)

// Kinds of entry.
const (
	// KindErasure records that a subject was erased.
	KindErasure = "erasure"
	// KindMark records nothing erased: a writer marks the journal as
	// current (before a backup is taken, for example), so that Head tells
	// a restore the journal is at least as new as the backup even when no
	// one was erased since.
	KindMark = "mark"
)

// Sources of an erasure: who asked for it.
const (
	// SourceRequest is a data subject request carried out (fulfil).
	SourceRequest = "request"
	// SourceAPI is an administrator's erasure of a subject's vault data
	// through the API.
	SourceAPI = "api"
	// SourceRetention is the retention run pseudonymising a dormant
	// subject's ledger entries.
	SourceRetention = "retention"
)

// Recorder records erasures in the journal. The services that erase take
// one as an optional dependency (nil: no journal); *Journal is one.
type Recorder interface {
	RecordErasure(ctx context.Context, e Entry) error
}

// Entry is one record of the journal. The caller fills the first group of
// fields; Append fills the second.
type Entry struct {
	Kind string `json:"kind"` // KindErasure when empty at Append
	// Subject is Steward's id of the erased subject; empty only for a
	// request that named no subject (then RequestID is set).
	Subject string `json:"subject,omitempty"`
	// At is when the erasure committed (for marks: when written).
	At     time.Time `json:"at"`
	Source string    `json:"source,omitempty"`
	// RequestID is the data subject request that asked for the erasure;
	// Replay reaches the connected systems through it.
	RequestID string         `json:"request,omitempty"`
	Vault     *VaultErased   `json:"vault,omitempty"`
	Ledger    *LedgerErased  `json:"ledger,omitempty"`
	Systems   []SystemErased `json:"systems,omitempty"`
	Label     string         `json:"label,omitempty"` // marks only: a backup id, say

	Writer  string    `json:"writer"`
	Seq     int64     `json:"seq"` // 1 for a writer's first entry
	Written time.Time `json:"written"`
	Prev    string    `json:"prev,omitempty"` // the hash of the writer's previous entry
	Key     string    `json:"key"`            // the signing key's id (KeyID)
	Name    string    `json:"-"`              // the object's name on the target
	Hash    string    `json:"-"`              // hex SHA-256 of the signed bytes
	object  []byte    // the whole stored object, for Export
}

// VaultErased is what the vault lost: the subject's data key, and the
// fields and tokens deleted with it.
type VaultErased struct {
	Fields        int  `json:"fields"`
	Tokens        int  `json:"tokens"`
	KeyDestroyed  bool `json:"key_destroyed"`
	AlreadyErased bool `json:"already_erased,omitempty"`
}

// LedgerErased is what the consent ledger lost: the events now under a
// pseudonym, and the device links removed.
type LedgerErased struct {
	Events  int `json:"events"`
	Devices int `json:"devices"`
}

// SystemErased is one connected system's part: its name (as configured)
// and how many rows changed.
type SystemErased struct {
	Name string `json:"name"`
	// Kind is "sql" for a connector reached by Steward, "http" for a
	// system called over HTTP.
	Kind string `json:"kind"`
	Rows int64  `json:"rows"`
}

// validID reports whether s is an identifier that cannot carry free text:
// 1 to 128 letters, digits or ._:-.
func validID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:-", r)) {
			return false
		}
	}
	return true
}

// check refuses an entry that could carry anything but ids and counts.
func (e *Entry) check() error {
	problems := map[string]string{}
	if e.At.IsZero() {
		problems["at"] = "missing"
	}
	switch e.Kind {
	case KindErasure:
		if e.Subject == "" && e.RequestID == "" {
			problems["subject"] = "a subject or a request is needed"
		}
		if e.Subject != "" && !vault.ValidSubject(e.Subject) {
			problems["subject"] = "must be 1 to 128 letters, digits or ._:@+=-"
		}
		if e.RequestID != "" && !validID(e.RequestID) {
			problems["request"] = "must be 1 to 128 letters, digits or ._:-"
		}
		switch e.Source {
		case SourceRequest, SourceAPI, SourceRetention:
		default:
			problems["source"] = "must be request, api or retention"
		}
		if e.Label != "" {
			problems["label"] = "only marks have a label"
		}
		for i, s := range e.Systems {
			if !validID(s.Name) {
				problems[fmt.Sprintf("systems[%d].name", i)] = "must be 1 to 128 letters, digits or ._:-"
			}
			if s.Kind != "sql" && s.Kind != "http" {
				problems[fmt.Sprintf("systems[%d].kind", i)] = "must be sql or http"
			}
		}
	case KindMark:
		if e.Subject != "" || e.RequestID != "" || e.Vault != nil || e.Ledger != nil || len(e.Systems) > 0 || e.Source != "" {
			problems["kind"] = "a mark records no erasure"
		}
		if e.Label != "" && !validID(e.Label) {
			problems["label"] = "must be 1 to 128 letters, digits or ._:-"
		}
	default:
		problems["kind"] = "must be erasure or mark"
	}
	if len(problems) > 0 {
		return errs.Fields(problems)
	}
	return nil
}
