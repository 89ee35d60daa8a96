package incident

import (
	"context"
	"slices"
	"time"

	"github.com/steward-dev/steward/internal/errs"
)

// RegulatorReport is the draft of the notification to the supervisory
// authority, with what GDPR Art. 33(3) asks it to describe: (a) the nature
// of the breach, the categories and approximate numbers of data subjects
// and of records; (b) the contact of the privacy officer; (c) the likely
// consequences; (d) the measures taken or proposed. It is computed from
// the incident, its latest affected set and its notice texts whenever it
// is read; the officer sends it by the authority's own channel and records
// that with RecordFiling.
type RegulatorReport struct {
	IncidentID  string    `json:"incident_id"`
	GeneratedAt time.Time `json:"generated_at"`
	Nature      Nature    `json:"nature"`
	Subjects    Subjects  `json:"subjects"`
	Officer     Contact   `json:"officer"`
	// Consequences are the likely consequences: the assessed risk, its
	// reasons and what the customers' notice tells them it means.
	Consequences Consequences `json:"consequences"`
	Measures     Measures     `json:"measures"`
	// Deadline is the 72 hours from awareness (Art. 33(1)); Late is true
	// when the report is read after it with no report filed, and
	// DelayReason says why (it goes with a late report).
	Deadline    *time.Time `json:"deadline,omitempty"`
	Late        bool       `json:"late"`
	DelayReason string     `json:"delay_reason,omitempty"`
	// Filings are the reports already recorded as sent to the authority.
	Filings []Filing `json:"filings"`
}

// Nature is what happened (Art. 33(3)(a)).
type Nature struct {
	Title       string     `json:"title"`
	Kind        Kind       `json:"kind"`
	Description string     `json:"description"`
	Cause       string     `json:"cause"`
	DetectedAt  *time.Time `json:"detected_at,omitempty"`
	AwareAt     *time.Time `json:"aware_at,omitempty"`
	Systems     []string   `json:"systems"`
}

// Subjects are the categories and approximate numbers of the people and
// records concerned (Art. 33(3)(a)).
type Subjects struct {
	// Approximate is the number of affected customers in the latest set,
	// less those erased since; 0 and Computed false before any set.
	Approximate int  `json:"approximate"`
	Computed    bool `json:"computed"`
	// Unresolved are identifiers the computation could not tie to a
	// customer (they may be people too).
	Unresolved int    `json:"unresolved"`
	SetID      string `json:"set_id,omitempty"`
	// Method is how the set was computed.
	Method         MethodKind     `json:"method,omitempty"`
	ComputedAt     *time.Time     `json:"computed_at,omitempty"`
	ByJurisdiction map[string]int `json:"by_jurisdiction"`
	// Categories are the data categories concerned, each with the number
	// of records (customers holding data of it) and whether it is special
	// (Art. 9); Records is their sum.
	Categories []CategoryCount `json:"categories"`
	Records    int             `json:"records"`
}

// CategoryCount is one category of data concerned.
type CategoryCount struct {
	Category string `json:"category"`
	Records  int    `json:"records"`
	Special  bool   `json:"special"`
}

// Consequences are the likely consequences (Art. 33(3)(c)).
type Consequences struct {
	Risk    Risk     `json:"risk,omitempty"`
	Reasons []string `json:"reasons"`
	// ForPeople is the customers' notice's "what it means for you" (in
	// English when written, else the first language written).
	ForPeople string `json:"for_people,omitempty"`
}

// Measures are the measures taken or proposed (Art. 33(3)(d)).
type Measures struct {
	// Taken is the notice's "what we did"; Advised its "what you can do".
	Taken   string `json:"taken,omitempty"`
	Advised string `json:"advised,omitempty"`
	// Timeline are the officers' notes and status changes, oldest first.
	Timeline []Action `json:"timeline"`
	// Customers counts the customers' notices by status; VendorsTold the
	// vendors and processors told.
	Customers   Progress `json:"customers"`
	VendorsTold int      `json:"vendors_told"`
}

// RegulatorReport computes the draft report of incident id.
func (s *Service) RegulatorReport(ctx context.Context, id string) (RegulatorReport, error) {
	inc, err := s.Get(ctx, id)
	if err != nil {
		return RegulatorReport{}, err
	}
	if inc.Status == Draft {
		return RegulatorReport{}, errs.New(errs.CodeConflict, "confirm the incident before reporting it")
	}
	now := s.clock()
	r := RegulatorReport{IncidentID: id, GeneratedAt: now, Officer: s.cfg.Notices.Officer, DelayReason: inc.DelayReason,
		Nature: Nature{Title: inc.Title, Kind: inc.Kind, Description: inc.Description, Cause: inc.Cause, DetectedAt: inc.DetectedAt,
			AwareAt: inc.AwareAt, Systems: inc.Systems},
		Subjects:     Subjects{ByJurisdiction: map[string]int{}, Categories: []CategoryCount{}},
		Consequences: Consequences{Risk: inc.Risk, Reasons: inc.RiskReasons}}
	set, err := s.LatestSet(ctx, id)
	if err != nil && !errs.Is(err, errs.CodeNotFound) {
		return RegulatorReport{}, err
	}
	if set != nil {
		r.Subjects.Approximate, r.Subjects.Computed, r.Subjects.Unresolved = set.Members-set.Erased, true, set.Unresolved
		r.Subjects.SetID, r.Subjects.Method, r.Subjects.ComputedAt, r.Subjects.ByJurisdiction = set.ID, set.Method, &set.ComputedAt, set.ByJurisdiction
	}
	special := s.specialCategories()
	for _, c := range inc.Categories {
		n := 0
		if set != nil {
			n = set.ByCategory[c]
		}
		r.Subjects.Categories = append(r.Subjects.Categories, CategoryCount{Category: c, Records: n, Special: slices.Contains(special, c)})
		r.Subjects.Records += n
	}
	texts, err := s.NoticeTexts(ctx, id)
	if err != nil {
		return RegulatorReport{}, err
	}
	if t, ok := textFor(texts, "en"); ok {
		r.Consequences.ForPeople, r.Measures.Taken, r.Measures.Advised = t.Meaning, t.Done, t.CanDo
	}
	timeline, err := s.Timeline(ctx, id)
	if err != nil {
		return RegulatorReport{}, err
	}
	r.Measures.Timeline = []Action{}
	for _, a := range timeline {
		if a.Kind == ActNote || a.Kind == ActStatus || a.Kind == ActNotified {
			r.Measures.Timeline = append(r.Measures.Timeline, a)
		}
	}
	if r.Measures.Customers, err = s.NoticeProgress(ctx, id); err != nil {
		return RegulatorReport{}, err
	}
	vendors, err := s.affectedVendors(ctx, s.db, inc)
	if err != nil {
		return RegulatorReport{}, err
	}
	for _, v := range vendors {
		if v.NotifiedAt != nil {
			r.Measures.VendorsTold++
		}
	}
	filings, err := s.Filings(ctx, id)
	if err != nil {
		return RegulatorReport{}, err
	}
	r.Filings = []Filing{}
	for _, f := range filings {
		if f.Kind == FilingRegulator {
			r.Filings = append(r.Filings, f)
		}
	}
	if inc.AwareAt != nil {
		due := inc.AwareAt.Add(72 * time.Hour)
		r.Deadline = &due
		r.Late = len(r.Filings) == 0 && now.After(due)
	}
	return r, nil
}

// specialCategories are the catalog's special categories (GDPR Art. 9)
// and the fallback ones.
func (s *Service) specialCategories() []string {
	special := slices.Clone(fallbackSpecial)
	if s.cfg.Catalog != nil {
		for _, c := range s.cfg.Catalog.Categories() {
			if c.Special {
				special = append(special, c.Key)
			}
		}
	}
	return special
}
