package fulfil

import (
	"encoding/json"
	"strings"
)

// Place is what an erasure did in one place, as the customer is shown it:
// counts, never values.
type Place struct {
	// Kind is "vault" (protected data), "ledger" (consent records),
	// "steward" (the privacy center's own records) or "system" (a
	// connected system, named by System).
	Kind   string
	System string
	// Erased counts the records erased, deleted, anonymised or put under a
	// pseudonym; Kept those kept, for KeptReason (the system's words).
	Erased, Kept int64
	KeptReason   string
}

// Places sums each step of the report up for the customer, in the order
// the steps were done.
func (r Report) Places() []Place {
	out := make([]Place, 0, len(r.Steps))
	for _, s := range r.Steps {
		p := Place{Kind: s.Step}
		if name, ok := strings.CutPrefix(s.Step, "system:"); ok {
			p.Kind, p.System = "system", name
		}
		switch p.Kind {
		case "vault", "ledger", "steward":
			var counts map[string]any
			_ = json.Unmarshal(s.Report, &counts)
			for k, v := range counts {
				if k == "Seq" { // the ledger's sequence number of the erasure, not a count
					continue
				}
				if n, ok := v.(float64); ok {
					p.Erased += int64(n)
				}
			}
		default:
			p.Erased, p.Kept, p.KeptReason = systemCounts(s.Report)
		}
		out = append(out, p)
	}
	return out
}

// systemCounts reads a connected system's report: a database's
// (connector.Report), an HTTP system's (httpsystem.ErasureReport), or the
// reason an HTTP system that erases nothing keeps its data.
func systemCounts(raw json.RawMessage) (erased, kept int64, reason string) {
	var r struct {
		Kept  string `json:"kept"`
		Steps []struct {
			Action          string
			Rows            int64
			Count           int64 `json:"count"`
			LegalReason     string
			HTTPLegalReason string `json:"legal_reason"`
		}
	}
	if json.Unmarshal(raw, &r) != nil {
		return 0, 0, ""
	}
	if r.Kept != "" {
		return 0, 0, r.Kept
	}
	for _, s := range r.Steps {
		n := s.Rows + s.Count
		if strings.EqualFold(s.Action, "keep") || strings.EqualFold(s.Action, "kept") {
			kept += n
			if reason == "" {
				reason = s.LegalReason + s.HTTPLegalReason
			}
			continue
		}
		erased += n
	}
	return erased, kept, reason
}
