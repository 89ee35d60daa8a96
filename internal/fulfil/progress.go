package fulfil

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/dsr"
	"github.com/steward-dev/steward/internal/jobs"
)

// jobWords are the job states as the console's request page says them.
var jobWords = map[jobs.State]string{
	jobs.StateAvailable: "queued", jobs.StateScheduled: "queued", jobs.StatePending: "queued",
	jobs.StateRunning: "running", jobs.StateRetryable: "retrying after an error (see Jobs)",
	jobs.StateCompleted: "done", jobs.StateDiscarded: "failed (see Jobs)", jobs.StateCancelled: "stopped",
}

// JobLister lists jobs (*jobs.Runner).
type JobLister interface {
	List(ctx context.Context, f jobs.Filter) (jobs.Page, error)
}

// Progress tells the console how the work of a request stands:
// the state of its job, and for an erasure or a rectification each place
// it reaches (the vault, the consent ledger, each connected system, the
// recipients told of a correction) queued, running, done with its counts,
// or waiting on that system. It reads what the fulfil
// package records (its erasure steps, the request's waiting-on note, the
// job) and holds no personal data.
func (f *Fulfiller) Progress(ctx context.Context, jl JobLister, req dsr.Request) (*dsr.Progress, error) {
	work := Work(req)
	if work == nil || (req.State != dsr.StateInProgress && req.State != dsr.StateCompleted) {
		return nil, nil // staff do this kind by hand, or the work has not started
	}
	p := &dsr.Progress{Done: req.State == dsr.StateCompleted}
	var running bool
	if jl != nil {
		list, err := jl.List(ctx, jobs.Filter{Kinds: []string{work.Kind()}, Limit: 500})
		if err != nil {
			return nil, err
		}
		for _, job := range list.Jobs { // newest first: the latest job of the request
			var args struct {
				RequestID string `json:"request_id"`
			}
			if json.Unmarshal(job.Args, &args) == nil && args.RequestID == req.ID {
				p.Job, running = jobWords[job.State], job.State == jobs.StateRunning
				break
			}
		}
	}
	if p.Done {
		// The job completes the request as its last act: what is left of
		// it is bookkeeping.
		p.Job = "done"
	}
	var places []string
	switch req.Kind {
	case dsr.KindErasure:
		if req.SubjectID != "" {
			places = append(places, "vault", "ledger")
		}
		for _, ds := range f.Connectors {
			places = append(places, "system:"+ds.Name)
		}
		for _, ds := range f.HTTP {
			places = append(places, "system:"+ds.Name)
		}
	case dsr.KindRectification:
		// The places the proposal's fields are in, in the job's order:
		// the vault, the databases, the HTTP systems, then the recipients.
		systems := map[string]bool{}
		for _, target := range req.Proposed {
			system, _, _ := strings.Cut(target, ":")
			systems[system] = true
		}
		if systems[VaultTarget] {
			places = append(places, "vault")
		}
		for _, ds := range f.Connectors {
			if systems[ds.Name] {
				places = append(places, "system:"+ds.Name)
			}
		}
		for _, ds := range f.HTTP {
			if systems[ds.Name] {
				places = append(places, "system:"+ds.Name)
			}
		}
		places = append(places, "recipients")
	default:
		return p, nil
	}
	report, err := f.Report(ctx, req.ID)
	if err != nil {
		return nil, err
	}
	done := map[string]StepDone{}
	for _, s := range report.Steps {
		done[s.Step] = s
		if !slices.Contains(places, s.Step) {
			places = append(places, s.Step) // a system no longer configured
		}
	}
	current := true // the first place not done is the one being worked
	for _, place := range places {
		step := dsr.ProgressStep{Name: strings.TrimPrefix(place, "system:"), State: "queued"}
		if s, ok := done[place]; ok {
			step.State, step.Counts, step.At = "done", counts(s.Report), s.DoneAt
		} else if current {
			current = false
			switch {
			case req.WaitingOn != "" && strings.Contains(req.WaitingOn, step.Name):
				step.State = "waiting"
			case running:
				step.State = "running"
			}
		}
		p.Steps = append(p.Steps, step)
	}
	return p, nil
}

// counts summarises a step's report: its numbers and flags, by name
// ("fields 3, tokens 2"); nested objects are named by path. Reports hold
// counts and names of tables, never values.
func counts(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	var parts []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				name := k
				if prefix != "" {
					name = prefix + "." + k
				}
				walk(name, x[k])
			}
		case float64:
			parts = append(parts, fmt.Sprintf("%s %v", strings.ReplaceAll(prefix, "_", " "), x))
		case bool:
			if x {
				parts = append(parts, strings.ReplaceAll(prefix, "_", " "))
			}
		case string:
			if prefix == "kept" { // an HTTP system that keeps the data says why
				parts = append(parts, "kept: "+x)
			}
		}
	}
	walk("", v)
	if len(parts) > 12 {
		parts = append(parts[:12], "…")
	}
	return strings.Join(parts, ", ")
}
