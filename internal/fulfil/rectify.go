package fulfil

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/connector"
	"github.com/steward-dev/steward/internal/connector/httpsystem"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/vault"
)

// VaultTarget is the prefix of a vault field's target in a proposal:
// "vault:phone". A connected system's column is "SYSTEM:TABLE.COLUMN".
const VaultTarget = "vault"

// Correctable is a field the customer may propose a new value for.
type Correctable struct {
	// Target names the field in a proposal: "vault:phone",
	// "shop:customers.phone".
	Target string `json:"target"`
	// System is the connector's name; empty for a vault field.
	System string `json:"system,omitempty"`
	// Name is the vault field's name or the column's "table.column".
	Name     string `json:"name"`
	Category string `json:"category,omitempty"`
	// Auto says the value is applied without an officer's approval.
	Auto bool `json:"auto"`
}

// Correctables lists the fields the company lets customers correct: the
// vault fields of Config.VaultFields, then the columns marked correctable
// in the dataset files, in file order, then the correctable fields of the
// HTTP systems ("helpdesk:contacts.phone").
func (f *Fulfiller) Correctables() []Correctable {
	var out []Correctable
	names := make([]string, 0, len(f.VaultFields))
	for name := range f.VaultFields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		out = append(out, Correctable{Target: VaultTarget + ":" + name, Name: name, Auto: f.VaultFields[name]})
	}
	for _, ds := range f.Connectors {
		for _, t := range ds.Tables {
			for _, c := range t.Columns {
				if c.Correctable {
					out = append(out, Correctable{Target: ds.Name + ":" + t.Name + "." + c.Name, System: ds.Name,
						Name: t.Name + "." + c.Name, Category: c.Category, Auto: c.AutoCorrect})
				}
			}
		}
	}
	for _, ds := range f.HTTP {
		if !ds.Supports(httpsystem.Correction) {
			continue
		}
		for _, c := range ds.Correctable {
			out = append(out, Correctable{Target: ds.Name + ":" + c.Field, System: ds.Name, Name: c.Field, Category: c.Category, Auto: c.AutoCorrect})
		}
	}
	return out
}

// CheckProposal checks that every target of a proposal is correctable and
// reports whether all of them apply without approval. A target that is not
// correctable is refused (code invalid), its field ("proposal.TARGET")
// named: the customer asserts values, never which fields are open.
func (f *Fulfiller) CheckProposal(proposal map[string]string) (auto bool, err error) {
	open := map[string]bool{}
	for _, c := range f.Correctables() {
		open[c.Target] = c.Auto
	}
	problems := map[string]string{}
	auto = len(proposal) > 0
	for target := range proposal {
		a, ok := open[target]
		if !ok {
			problems["proposal."+target] = "is not a field you can correct here; describe the change in your own words instead"
			continue
		}
		auto = auto && a
	}
	if len(problems) > 0 {
		return false, errs.Fields(problems)
	}
	return auto, nil
}

// FileRectification files a customer's rectification with its proposal
// (checked by CheckProposal; AutoApprove set from it). When every field
// applies without approval and the requester is a known subject signed in
// through the portal (their email proven by the sign-in code, the subject
// found by it, not typed), the request is verified and started at once and
// start is true: the caller enqueues Work(req). Otherwise it waits for
// staff as any request does.
func (f *Fulfiller) FileRectification(ctx context.Context, in dsr.NewRequest) (req dsr.Request, start bool, err error) {
	if in.Kind != dsr.KindRectification {
		return dsr.Request{}, false, errs.Invalid("kind", "must be rectification")
	}
	auto, err := f.CheckProposal(in.Proposal)
	if err != nil {
		return dsr.Request{}, false, err
	}
	if err := f.checkVaultFields(ctx, in.SubjectID, in.Proposal); err != nil {
		return dsr.Request{}, false, err
	}
	in.AutoApprove = auto
	if req, err = f.Requests.File(ctx, in); err != nil {
		return req, false, err
	}
	if !auto || req.SubjectID == "" {
		return req, false, nil
	}
	sys := audit.WithActor(ctx, audit.System())
	if _, err := f.Requests.Verify(sys, req.ID); err != nil {
		return req, false, err
	}
	if req, err = f.Requests.Start(sys, req.ID); err != nil {
		return req, false, err
	}
	return req, true, nil
}

// checkVaultFields refuses a proposal for a vault field the requester does
// not have: a correction never creates a field, and a requester not known
// as a subject has none.
func (f *Fulfiller) checkVaultFields(ctx context.Context, subject string, proposal map[string]string) error {
	var have []vault.FieldInfo
	listed := false
	problems := map[string]string{}
	for target := range proposal {
		system, name, _ := strings.Cut(target, ":")
		if system != VaultTarget {
			continue
		}
		if subject != "" && !listed {
			var err error
			if have, err = f.Vault.List(ctx, subject); err != nil && errs.CodeOf(err) != errs.CodeNotFound {
				return err
			}
			listed = true
		}
		if !slices.ContainsFunc(have, func(fi vault.FieldInfo) bool { return fi.Name == name }) {
			problems["proposal."+target] = "we hold no such field for you, so there is nothing to correct"
		}
	}
	if len(problems) > 0 {
		return errs.Fields(problems)
	}
	return nil
}

// Rectified is what a finished rectification tells the recipients
// (subject.rectified): ids and field names, never a value.
type Rectified struct {
	SubjectID string
	RequestID string
	// Fields are the targets changed ("vault:phone"), sorted.
	Fields []string
	// Vendors are the keys of the vendors that received the subject's data.
	Vendors []string
}

// Rectify applies an approved proposal: the vault fields, then each
// connected database in its own transaction (connector.Conn.Correct), then
// each HTTP system by a signed correction call (httpsystem.Service.Correct:
// the job snoozes until the system calls back; a system that refuses or
// fails is called anew on the retry), then the recipients are told (OnRectified, in the transaction that records
// the step). Finished steps are recorded and skipped on a retry, so that a
// system that failed is retried without applying the others again; it
// leaves the request waiting on it. When every step is done the request
// completes. A proposal not approved is refused (code conflict): staff
// approve it first (dsr.Service.ApproveProposal) unless every field
// corrects itself.
func (f *Fulfiller) Rectify(ctx context.Context, requestID string) (Report, error) {
	ctx = audit.WithActor(ctx, audit.System())
	req, err := f.Requests.Get(ctx, requestID)
	if err != nil {
		return Report{}, err
	}
	switch {
	case req.Kind != dsr.KindRectification:
		return Report{}, errs.New(errs.CodeConflict, "request %s is a %s request, not a rectification", req.ID, req.Kind)
	case req.State != dsr.StateInProgress:
		return Report{}, errs.New(errs.CodeConflict, "request %s is %s, not in progress", req.ID, req.State)
	case len(req.Proposed) == 0:
		return Report{}, errs.New(errs.CodeConflict, "request %s proposes no new value: staff carry it out by hand", req.ID)
	case req.ProposalApprovedAt == nil:
		return Report{}, errs.New(errs.CodeConflict, "request %s: its proposal needs an officer's approval first", req.ID)
	}
	proposal, err := f.Requests.Proposal(ctx, req.ID)
	if err != nil {
		return Report{}, err
	}
	if len(proposal) == 0 {
		return Report{}, errs.New(errs.CodeConflict, "request %s: its proposed values were erased", req.ID)
	}
	// The company may have closed a field since the filing.
	if _, err := f.CheckProposal(proposal); err != nil {
		return Report{}, err
	}
	vaultValues, systems := splitProposal(proposal)
	if len(vaultValues) > 0 && req.SubjectID == "" {
		return Report{}, errs.New(errs.CodeConflict, "request %s: attach the subject before its protected fields can be corrected", req.ID)
	}
	done, step, err := f.resumable(ctx, req.ID)
	if err != nil {
		return Report{}, err
	}
	if len(vaultValues) > 0 {
		if err := step("vault", func() (any, error) {
			names := make([]string, 0, len(vaultValues))
			for name := range vaultValues {
				names = append(names, name)
			}
			slices.Sort(names)
			for _, name := range names {
				if _, err := f.Vault.Correct(ctx, req.SubjectID, name, []byte(vaultValues[name])); err != nil {
					return nil, fmt.Errorf("correct vault field %s: %w", name, err)
				}
			}
			return map[string]any{"fields": names}, nil
		}); err != nil {
			return Report{}, err
		}
	}
	ids, err := f.identifiers(ctx, req)
	if err != nil {
		return Report{}, err
	}
	for _, ds := range f.Connectors {
		changes := systems[ds.Name]
		if len(changes) == 0 {
			continue
		}
		if err := step("system:"+ds.Name, func() (any, error) {
			c, err := connector.Open(ctx, ds, f.Getenv)
			if err != nil {
				return nil, f.waitingOn(ctx, req, ds.Name, err)
			}
			defer c.Close()
			report, err := c.Correct(ctx, ids, changes)
			if errs.CodeOf(err) == errs.CodeInvalid {
				return nil, err // a value the column cannot hold: staff decide, no retry helps
			}
			if err != nil {
				return nil, f.waitingOn(ctx, req, ds.Name, err)
			}
			return report, nil
		}); err != nil {
			return Report{}, err
		}
	}
	for _, ds := range f.HTTP {
		changes := httpChanges(proposal, ds.Name)
		if len(changes) == 0 {
			continue
		}
		if err := step("system:"+ds.Name, func() (any, error) {
			call, err := f.httpPoll(ctx, req, ds, func() (httpsystem.Call, error) {
				if f.Hooks == nil {
					return httpsystem.Call{}, errs.New(errs.CodeUnavailable, "HTTP systems are not configured")
				}
				return f.Hooks.Correct(ctx, ds, req.ID, ids, changes)
			})
			if err != nil {
				return nil, err
			}
			return correctionSummary(call.Report), nil
		}); err != nil {
			return Report{}, err
		}
	}
	if !done["recipients"] {
		var vendors []string
		if f.Recipients != nil && req.SubjectID != "" {
			if vendors, err = f.Recipients.Recipients(ctx, req.SubjectID); err != nil {
				return Report{}, err
			}
		}
		fields := slices.Sorted(func(yield func(string) bool) {
			for k := range proposal {
				if !yield(k) {
					return
				}
			}
		})
		r := Rectified{SubjectID: req.SubjectID, RequestID: req.ID, Fields: fields, Vendors: vendors}
		// The message and the step commit together: told exactly once.
		err := f.DB.Tx(ctx, func(tx *sql.Tx) error {
			recorded, err := f.insertStep(ctx, tx, req.ID, "recipients", map[string]any{"fields": fields, "vendors": vendors})
			if err != nil || !recorded {
				return err
			}
			return f.rectified(ctx, tx, r)
		})
		if err != nil {
			return Report{}, err
		}
	}
	return f.finish(ctx, req.ID, "rectification-report")
}

// splitProposal sorts a proposal's values into the vault's (by field
// name) and each system's changes (by connector name).
func splitProposal(proposal map[string]string) (vaultValues map[string]string, systems map[string][]connector.Change) {
	vaultValues, systems = map[string]string{}, map[string][]connector.Change{}
	targets := make([]string, 0, len(proposal))
	for t := range proposal {
		targets = append(targets, t)
	}
	slices.Sort(targets)
	for _, target := range targets {
		system, name, _ := strings.Cut(target, ":")
		if system == VaultTarget {
			vaultValues[name] = proposal[target]
			continue
		}
		table, column, _ := strings.Cut(name, ".")
		systems[system] = append(systems[system], connector.Change{Table: table, Column: column, Value: proposal[target]})
	}
	return vaultValues, systems
}

// httpChanges are a proposal's new values for the HTTP system named
// system, sorted by field.
func httpChanges(proposal map[string]string, system string) []httpsystem.Change {
	var out []httpsystem.Change
	for target, value := range proposal {
		if name, field, _ := strings.Cut(target, ":"); name == system {
			out = append(out, httpsystem.Change{Field: field, Value: value})
		}
	}
	slices.SortFunc(out, func(a, b httpsystem.Change) int { return strings.Compare(a.Field, b.Field) })
	return out
}

// correctionSummary is the recorded step of an HTTP system's correction:
// how many fields it corrected and how many it does not hold, and its
// report (field names and counts, never a value).
func correctionSummary(report *httpsystem.ErasureReport) map[string]any {
	corrected, notHeld := 0, 0
	var steps []httpsystem.ErasureStep
	if report != nil {
		steps = report.Steps
	}
	for _, s := range steps {
		if s.Action == httpsystem.ActionCorrected {
			corrected++
		} else {
			notHeld++
		}
	}
	return map[string]any{"corrected": corrected, "not_held": notHeld, "fields": steps}
}

// execer is a transaction or the store.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// recordStep records a finished step of a request's work.
func (f *Fulfiller) recordStep(ctx context.Context, q execer, requestID, name string, report any) error {
	_, err := f.insertStep(ctx, q, requestID, name, report)
	return err
}

// insertStep records a finished step and reports whether this call
// recorded it (false: it was recorded already).
func (f *Fulfiller) insertStep(ctx context.Context, q execer, requestID, name string, report any) (bool, error) {
	raw, _ := json.Marshal(report)
	res, err := q.ExecContext(ctx, `INSERT INTO dsr_erasure_steps (request_id, step, report, done_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (request_id, step) DO NOTHING`, requestID, name, string(raw), f.Now().UnixMicro())
	if err != nil {
		return false, db.Classify(fmt.Errorf("record step %s: %w", name, err))
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
