package incident

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/steward-dev/steward/internal/errs"
)

// Kind is what a breach compromised (the three kinds of the EDPB's
// guidelines 9/2022 on breach notification).
type Kind string

// The kinds of breach.
const (
	Confidentiality Kind = "confidentiality"
	Integrity       Kind = "integrity"
	Availability    Kind = "availability"
)

// Kinds are the kinds of breach, in the order the console lists them.
var Kinds = []Kind{Confidentiality, Integrity, Availability}

// Status is where the handling of an incident stands.
type Status string

// The statuses.
const (
	// Draft is a suspected incident any staff member reported; a security
	// officer confirms it (open) or dismisses it (closed).
	Draft     Status = "draft"
	Open      Status = "open"
	Assessed  Status = "assessed"
	Contained Status = "contained"
	// Notified is reached only through MarkNotified: the authority and,
	// when the risk is high, the individuals were told.
	Notified Status = "notified"
	Closed   Status = "closed"
)

// Statuses are every status, in order.
var Statuses = []Status{Draft, Open, Assessed, Contained, Notified, Closed}

// moves are the status changes Move allows. Notified is not among them:
// MarkNotified moves there, from assessed or contained.
var moves = map[Status][]Status{
	Draft:     {Open, Closed},
	Open:      {Assessed, Closed}, // closed unassessed: not a breach after all
	Assessed:  {Contained},
	Contained: {Closed},
	Notified:  {Closed},
}

// Next returns the statuses Move may take s to.
func (s Status) Next() []Status { return slices.Clone(moves[s]) }

// Risk is the assessed risk to the people affected (GDPR Art. 33(1) and
// 34(1)).
type Risk string

// The levels of risk.
const (
	// NoRisk: the breach is unlikely to result in a risk to people's rights
	// and freedoms; the authority need not be told (Art. 33(1)), the
	// incident is still recorded (Art. 33(5)).
	NoRisk Risk = "none"
	// SomeRisk: the authority is told within 72 hours.
	SomeRisk Risk = "risk"
	// HighRisk: the individuals are told too, without undue delay.
	HighRisk Risk = "high"
)

// Risks are the levels, lowest first.
var Risks = []Risk{NoRisk, SomeRisk, HighRisk}

func (r Risk) rank() int { return slices.Index(Risks, r) }

// Incident is a breach of personal data security and its handling.
type Incident struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Kind        Kind   `json:"kind,omitempty"`
	Status      Status `json:"status"`
	// DetectedAt is when the breach was detected; AwareAt when the company
	// became aware of it with reasonable certainty, which starts the
	// clocks (Art. 33(1)).
	DetectedAt *time.Time `json:"detected_at,omitempty"`
	AwareAt    *time.Time `json:"aware_at,omitempty"`
	Cause      string     `json:"cause"`
	// Systems are keys of the data map's systems (connector names, or
	// steward.vault...); Categories are data categories of the catalog.
	Systems    []string `json:"systems"`
	Categories []string `json:"categories"`
	// Risk and RiskReasons are the recorded assessment ("" until assessed).
	Risk        Risk     `json:"risk,omitempty"`
	RiskReasons []string `json:"risk_reasons"`
	// DelayReason says why the authority is told after 72 hours
	// (Art. 33(1)).
	DelayReason           string     `json:"delay_reason,omitempty"`
	AuthorityNotifiedAt   *time.Time `json:"authority_notified_at,omitempty"`
	IndividualsNotifiedAt *time.Time `json:"individuals_notified_at,omitempty"`
	ReportedBy            string     `json:"reported_by"`
	CreatedAt             time.Time  `json:"created_at"`
	UpdatedAt             time.Time  `json:"updated_at"`
}

// Action is one entry of an incident's timeline.
type Action struct {
	ID    string    `json:"id"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	// Kind is what happened: created, reported, updated, status, assessed,
	// affected, note, notified, reminder, and telling the parties'
	// notice_text, notices_queued, filed, vendors_notified (notice.go).
	Kind string `json:"kind"`
	Note string `json:"note,omitempty"`
}

// The kinds of timeline action.
const (
	ActCreated  = "created"
	ActReported = "reported"
	ActUpdated  = "updated"
	ActStatus   = "status"
	ActAssessed = "assessed"
	ActAffected = "affected"
	ActNote     = "note"
	ActNotified = "notified"
	ActReminder = "reminder"
)

// Input is what an officer writes about an incident: on Create every field
// that is set, on Update the fields that are not nil.
type Input struct {
	Title       *string    `json:"title"`
	Description *string    `json:"description"`
	Kind        *Kind      `json:"kind"`
	DetectedAt  *time.Time `json:"detected_at"`
	AwareAt     *time.Time `json:"aware_at"`
	Cause       *string    `json:"cause"`
	Systems     *[]string  `json:"systems"`
	Categories  *[]string  `json:"categories"`
	DelayReason *string    `json:"delay_reason"`
}

// Limits of an incident's texts, in characters.
const (
	MaxTitle = 200
	MaxText  = 10000
	MaxNote  = 2000
	MaxList  = 100
)

var keyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)

// check validates in, naming each field at fault. now bounds the times: a
// breach is not detected in the future.
func (in Input) check(now time.Time) map[string]string {
	problems := map[string]string{}
	if in.Title != nil {
		text(problems, "title", *in.Title, MaxTitle, true, true)
	}
	if in.Description != nil {
		text(problems, "description", *in.Description, MaxText, false, false)
	}
	if in.Cause != nil {
		text(problems, "cause", *in.Cause, MaxText, false, false)
	}
	if in.DelayReason != nil {
		text(problems, "delay_reason", *in.DelayReason, MaxText, false, false)
	}
	if in.Kind != nil && *in.Kind != "" && !slices.Contains(Kinds, *in.Kind) {
		problems["kind"] = "must be confidentiality, integrity or availability"
	}
	for field, t := range map[string]*time.Time{"detected_at": in.DetectedAt, "aware_at": in.AwareAt} {
		if t != nil && t.After(now.Add(time.Minute)) {
			problems[field] = "must not be in the future"
		}
	}
	if in.DetectedAt != nil && in.AwareAt != nil && in.AwareAt.Before(*in.DetectedAt) {
		problems["aware_at"] = "must not be before detected_at: awareness follows detection"
	}
	for field, list := range map[string]*[]string{"systems": in.Systems, "categories": in.Categories} {
		if list == nil {
			continue
		}
		if len(*list) > MaxList {
			problems[field] = fmt.Sprintf("at most %d", MaxList)
		}
		for _, k := range *list {
			if !keyPattern.MatchString(k) {
				problems[field] = fmt.Sprintf("%q is not a key: lowercase letters, digits and ._-", k)
				break
			}
		}
	}
	return problems
}

// text checks one text field: required, at most max characters, and one
// line when oneLine.
func text(problems map[string]string, field, s string, max int, required, oneLine bool) {
	s = strings.TrimSpace(s)
	switch {
	case required && s == "":
		problems[field] = "is required"
	case utf8.RuneCountInString(s) > max:
		problems[field] = fmt.Sprintf("at most %d characters", max)
	case oneLine && strings.ContainsFunc(s, unicode.IsControl):
		problems[field] = "one line, without control characters"
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }):
		problems[field] = "must not hold control characters"
	}
}

func invalid(message string, problems map[string]string) error {
	if len(problems) == 0 {
		return nil
	}
	return &errs.Error{Code: errs.CodeInvalid, Message: message, Fields: problems}
}

// apply writes the set fields of in onto inc.
func (in Input) apply(inc *Incident) (changed []string) {
	set := func(name string, ok bool, do func()) {
		if ok {
			do()
			changed = append(changed, name)
		}
	}
	set("title", in.Title != nil, func() { inc.Title = strings.TrimSpace(*in.Title) })
	set("description", in.Description != nil, func() { inc.Description = strings.TrimSpace(*in.Description) })
	set("kind", in.Kind != nil, func() { inc.Kind = *in.Kind })
	set("detected_at", in.DetectedAt != nil, func() { t := in.DetectedAt.UTC().Truncate(time.Microsecond); inc.DetectedAt = &t })
	set("aware_at", in.AwareAt != nil, func() { t := in.AwareAt.UTC().Truncate(time.Microsecond); inc.AwareAt = &t })
	set("cause", in.Cause != nil, func() { inc.Cause = strings.TrimSpace(*in.Cause) })
	set("systems", in.Systems != nil, func() { inc.Systems = sortedUnique(*in.Systems) })
	set("categories", in.Categories != nil, func() { inc.Categories = sortedUnique(*in.Categories) })
	set("delay_reason", in.DelayReason != nil, func() { inc.DelayReason = strings.TrimSpace(*in.DelayReason) })
	return changed
}

func sortedUnique(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// readyFor says what an incident lacks to move to status to, or "".
func (inc Incident) readyFor(to Status) map[string]string {
	problems := map[string]string{}
	switch to {
	case Open:
		if inc.Kind == "" {
			problems["kind"] = "say what the breach compromised before opening it"
		}
		if inc.AwareAt == nil {
			problems["aware_at"] = "record when the company became aware: it starts the clocks"
		}
	case Assessed:
		if inc.Risk == "" {
			problems["risk"] = "record the risk assessment first"
		}
	case Closed:
		// Closing without notifying is for what is not a breach (a draft or
		// an open incident, not assessed) or a breach without risk.
		if inc.Status != Notified && inc.Risk != "" && inc.Risk != NoRisk {
			problems["status"] = "a breach with a risk is closed after the authority (and, at high risk, the individuals) were told"
		}
	}
	return problems
}
