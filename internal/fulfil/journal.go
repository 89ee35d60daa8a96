package fulfil

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/erasure"
	"github.com/steward-dev/steward/internal/errs"
)

// journalStep is the erasure's last step: its record in the erasure
// journal.
//
// Every other step has committed when it runs, so the erasure stands
// whatever happens to the journal. When the journal cannot be written the
// step fails like a system that is down: the request waits on "erasure
// journal", the job retries, and only this step runs again (the others are
// recorded). The request completes only once the journal holds the entry,
// so a completed erasure is one a restore will replay. A retry after a
// write whose step record was lost writes a second entry for the same
// erasure, which Replay does not mind.
const journalStep = "journal"

// journalWaitingOn is what a request waits on while the journal cannot be
// written.
const journalWaitingOn = "erasure journal"

// journal writes the request's erasure to the journal, from the reports
// of its steps: counts and system names, never a value.
func (f *Fulfiller) journal(ctx context.Context, req dsr.Request) (any, error) {
	entry, err := f.journalEntry(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := f.Journal.RecordErasure(ctx, entry); err != nil {
		if _, werr := f.Requests.SetWaitingOn(ctx, req.ID, journalWaitingOn); werr != nil {
			return nil, werr
		}
		return nil, errs.Wrap(errs.CodeUnavailable, err, "the erasure journal cannot be written (the erasure itself is done)")
	}
	// finish clears what the request waited on.
	return map[string]any{"recorded_at": f.Now().UTC()}, nil
}

// journalEntry is the journal's entry for a request's erasure, read from
// the reports of its finished steps.
func (f *Fulfiller) journalEntry(ctx context.Context, req dsr.Request) (erasure.Entry, error) {
	report, err := f.Report(ctx, req.ID)
	if err != nil {
		return erasure.Entry{}, err
	}
	e := erasure.Entry{Subject: req.SubjectID, RequestID: req.ID, Source: erasure.SourceRequest, At: f.Now().UTC()}
	sql := map[string]bool{}
	for _, ds := range f.Connectors {
		sql[ds.Name] = true
	}
	for _, s := range report.Steps {
		switch name, isSystem := strings.CutPrefix(s.Step, "system:"); {
		case s.Step == "vault":
			var v struct {
				Fields        int  `json:"fields"`
				Tokens        int  `json:"tokens"`
				AlreadyErased bool `json:"already_erased"`
			}
			if err := json.Unmarshal(s.Report, &v); err != nil {
				return e, fmt.Errorf("read the vault step's report: %w", err)
			}
			// The key is gone either way: destroyed now, or before.
			e.Vault = &erasure.VaultErased{Fields: v.Fields, Tokens: v.Tokens, KeyDestroyed: true, AlreadyErased: v.AlreadyErased}
			e.At = s.DoneAt
		case s.Step == "ledger":
			var l erasure.LedgerErased
			if err := json.Unmarshal(s.Report, &l); err != nil {
				return e, fmt.Errorf("read the ledger step's report: %w", err)
			}
			e.Ledger = &l
		case isSystem && sql[name]:
			var r connector.Report
			if err := json.Unmarshal(s.Report, &r); err != nil {
				return e, fmt.Errorf("read system %s's report: %w", name, err)
			}
			e.Systems = append(e.Systems, erasure.SystemErased{Name: name, Kind: "sql", Rows: erasure.ChangedRows(&r)})
		case isSystem:
			// What an HTTP system answers is its own; only its name is kept.
			e.Systems = append(e.Systems, erasure.SystemErased{Name: name, Kind: "http"})
		}
	}
	return e, nil
}
