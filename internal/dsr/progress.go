package dsr

import "time"

// Progress is how the work of a request stands, system by system, as the
// console shows it (told by fulfil.Fulfiller.Progress from its steps and
// the request's job). It holds no personal data.
type Progress struct {
	// Job is the state of the request's job in words ("queued",
	// "running", "retrying after an error", "done"); "" when none ran.
	Job string
	// Steps are the places the work reaches, in order.
	Steps []ProgressStep
	// Done is whether the work finished: Steps are then the report.
	Done bool
}

// ProgressStep is one place the work reaches: Steward's vault, the consent
// ledger, a connected system.
type ProgressStep struct {
	Name string
	// State is queued, running, done or waiting.
	State string
	// Counts says what was done ("fields 3, tokens 2"), without personal
	// data; At is when it was done.
	Counts string
	At     time.Time
}
