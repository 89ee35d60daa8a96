package erasure

import (
	"context"
	"errors"
	"fmt"

	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/vault"
)

// Deps are the parts of a restored store that Replay erases again. A nil
// part is skipped, and the result says so for every entry that needed it.
type Deps struct {
	// Vault crypto-shreds again (vault.Vault; works while sealed).
	Vault interface {
		ReapplyErasures(ctx context.Context, records []vault.Erasure) (int, error)
	}
	// Ledger pseudonymises again (consent.Service).
	Ledger Ledger
	// Incidents removes the subject again from the incidents' affected
	// sets and deletes their breach notices (incident.Service); nil skips
	// it.
	Incidents interface {
		Forget(ctx context.Context, subject string) (int, error)
	}
	// Requests gives the address a request was filed from, as the restored
	// store holds it (dsr.Service; reading it is audited there): connected
	// systems that find rows by email are reached through it.
	Requests interface {
		Contact(ctx context.Context, requestID string) (string, error)
	}
	// Connectors are the company's SQL systems, opened with Getenv, as
	// fulfil opens them.
	Connectors []*connector.Dataset
	Getenv     func(string) string
}

// Ledger is the consent ledger's part in a replay.
type Ledger interface {
	// HoldsSubject reports whether the ledger still names subject, so that
	// a replay does not add an erasure to the ledger's chain for a subject
	// it no longer names.
	HoldsSubject(ctx context.Context, subject string) (bool, error)
	Pseudonymise(ctx context.Context, subject string) (consent.Pseudonymised, error)
	ForgetRestrictions(ctx context.Context, subject string) (int, error)
}

// Result is what a replay did, entry by entry.
type Result struct {
	Entries []Replayed `json:"entries"`
}

// Replayed is what replaying one entry did. Counts are what changed now:
// zero when the restored store had already forgotten the subject.
type Replayed struct {
	Entry     string `json:"entry"` // the journal object's name
	Subject   string `json:"subject,omitempty"`
	RequestID string `json:"request,omitempty"`
	// KeyDestroyed is set when the restored vault still held the subject's
	// data key and lost it.
	KeyDestroyed bool          `json:"key_destroyed"`
	Ledger       *LedgerErased `json:"ledger,omitempty"`
	Restrictions int           `json:"restrictions,omitempty"`
	// IncidentSets counts the affected sets the subject was removed from.
	IncidentSets int              `json:"incident_sets,omitempty"`
	Systems      []SystemReplayed `json:"systems,omitempty"`
	// Problems say what could not be done; the replay's error joins them.
	Problems []string `json:"problems,omitempty"`
}

// SystemReplayed is one connected system's part of a replayed entry.
type SystemReplayed struct {
	Name string `json:"name"`
	Rows int64  `json:"rows"`
	// Skipped says why the system was not erased again, if it was not.
	Skipped string `json:"skipped,omitempty"`
}

// Replay erases again, on a store restored from a backup, every subject
// that entries (Journal.Since the backup's time) record: the connected
// systems first (through the request's record, as fulfil reaches them),
// then the incidents' affected sets and breach notices, the vault
// (crypto-shred, keeping the erasure's original time) and the ledger
// (pseudonymise, forget restrictions). Every step is idempotent:
// replaying twice changes nothing the second time. A failing entry does not
// stop the others; the error joins every failure, each naming its entry,
// and the result says what was done.
func Replay(ctx context.Context, entries []Entry, deps Deps) (Result, error) {
	if deps.Getenv == nil {
		deps.Getenv = func(string) string { return "" }
	}
	res := Result{Entries: []Replayed{}}
	var failures []error
	for _, e := range entries {
		if e.Kind != KindErasure {
			continue
		}
		r := replayOne(ctx, e, deps)
		for _, p := range r.Problems {
			failures = append(failures, fmt.Errorf("erasure journal: replay %s: %s", e.Name, p))
		}
		res.Entries = append(res.Entries, r)
	}
	return res, errors.Join(failures...)
}

func replayOne(ctx context.Context, e Entry, deps Deps) Replayed {
	r := Replayed{Entry: e.Name, Subject: e.Subject, RequestID: e.RequestID}
	problem := func(format string, args ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, args...)) }
	if len(e.Systems) > 0 {
		r.Systems = replaySystems(ctx, e, deps, problem)
	}
	if e.Subject == "" {
		return r
	}
	if deps.Incidents != nil {
		n, err := deps.Incidents.Forget(ctx, e.Subject)
		if err != nil {
			problem("incidents: %v", err)
		}
		r.IncidentSets = n
	}
	if e.Vault != nil {
		if deps.Vault == nil {
			problem("the vault is not given: not crypto-shredded again")
		} else if n, err := deps.Vault.ReapplyErasures(ctx, []vault.Erasure{{Subject: e.Subject, At: e.At}}); err != nil {
			problem("vault: %v", err)
		} else {
			r.KeyDestroyed = n > 0
		}
	}
	if e.Ledger != nil {
		if deps.Ledger == nil {
			problem("the ledger is not given: not pseudonymised again")
			return r
		}
		holds, err := deps.Ledger.HoldsSubject(ctx, e.Subject)
		if err != nil {
			problem("ledger: %v", err)
			return r
		}
		if holds {
			p, err := deps.Ledger.Pseudonymise(ctx, e.Subject)
			if err != nil {
				problem("ledger: %v", err)
				return r
			}
			r.Ledger = &LedgerErased{Events: p.Events, Devices: p.Devices}
		}
		if r.Restrictions, err = deps.Ledger.ForgetRestrictions(ctx, e.Subject); err != nil {
			problem("ledger restrictions: %v", err)
		}
	}
	return r
}

// replaySystems erases the subject again from each SQL system the entry
// names, identified as fulfil identifies them: the subject id as external
// id, and the address the request was filed from, when the restored store
// still holds the request.
func replaySystems(ctx context.Context, e Entry, deps Deps, problem func(string, ...any)) []SystemReplayed {
	out := make([]SystemReplayed, 0, len(e.Systems))
	var ids connector.Identifiers
	if e.Subject != "" {
		ids.ExternalIDs = []string{e.Subject}
	}
	identified := true
	if e.RequestID != "" {
		switch {
		case deps.Requests == nil:
			problem("requests are not given: the systems are not erased again")
			identified = false
		default:
			email, err := deps.Requests.Contact(ctx, e.RequestID)
			switch {
			case errs.CodeOf(err) == errs.CodeNotFound:
				// Filed after the backup: the restored store never knew the
				// address, and the systems were erased by its id or not at all.
			case err != nil:
				problem("read request %s's address: %v", e.RequestID, err)
				identified = false
			case email != "":
				ids.Emails = []string{email}
			}
		}
	}
	for _, s := range e.Systems {
		sr := SystemReplayed{Name: s.Name}
		ds := datasetNamed(deps.Connectors, s.Name)
		switch {
		case !identified:
			sr.Skipped = "the requester could not be identified"
		case s.Kind != "sql":
			sr.Skipped = "an HTTP system: ask it again by hand (steward cannot tell whether it restored its data)"
		case ds == nil:
			sr.Skipped = "not configured on this server"
			problem("system %s is not configured: not erased again", s.Name)
		case len(ids.ExternalIDs) == 0 && len(ids.Emails) == 0:
			sr.Skipped = "no identifier of the subject is left"
		default:
			n, err := eraseIn(ctx, ds, ids, deps.Getenv)
			if err != nil {
				sr.Skipped = "failed"
				problem("system %s: %v", s.Name, err)
			}
			sr.Rows = n
		}
		out = append(out, sr)
	}
	return out
}

func datasetNamed(sets []*connector.Dataset, name string) *connector.Dataset {
	for _, ds := range sets {
		if ds.Name == name {
			return ds
		}
	}
	return nil
}

// eraseIn runs the connector's erasure in one system and counts the rows
// it changed (rows kept for a legal reason do not count).
func eraseIn(ctx context.Context, ds *connector.Dataset, ids connector.Identifiers, getenv func(string) string) (int64, error) {
	c, err := connector.Open(ctx, ds, getenv)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	report, err := c.Erase(ctx, ids, false)
	if err != nil {
		return 0, err
	}
	return ChangedRows(report), nil
}

// ChangedRows counts the rows a connector's erasure changed, leaving out
// those kept for a legal reason.
func ChangedRows(r *connector.Report) int64 {
	if r == nil {
		return 0
	}
	var n int64
	for _, s := range r.Steps {
		if s.Action != connector.Keep {
			n += s.Rows
		}
	}
	return n
}
