package scanner

import (
	"cmp"
	"fmt"
	"html"
	"slices"
)

// judge classifies what the pages showed, finds the violations, and sums
// up the trackers and the tags to suggest.
func (s *scan) judge(results []raw, pages []string) *Report {
	c := newClassifier(s.t, s.o.CookieDB)
	report := &Report{Property: s.t.Property, StartedAt: s.started, Pages: pages,
		Results: []PageResult{}, Violations: []Violation{}, Trackers: []Tracker{}, Suggestions: []TagSuggestion{}}
	for _, st := range s.t.States() {
		report.States = append(report.States, st.String())
	}
	// Classify first: the states with one purpose alone are judged against
	// what appeared with every purpose refused.
	withoutConsent := map[string]bool{}
	for i := range results {
		for j := range results[i].items {
			it := &results[i].items[j]
			it.Class = c.classify(*it)
			if k := results[i].state.Kind; k == StateReject || k == StateNone {
				withoutConsent[it.Key()] = true
			}
		}
	}
	trackers := map[string]*Tracker{}
	onlyIn := map[string]map[string]bool{} // tracker key → purposes whose state alone showed it
	suggestions := map[string]*TagSuggestion{}
	for _, r := range results {
		pr := PageResult{URL: r.url, State: r.state.String(), Items: r.items, Untagged: r.untagged}
		if pr.Items == nil {
			pr.Items = []Item{}
		}
		if r.err != nil {
			pr.Error = r.err.Error()
		}
		for j := range pr.Items {
			it := &pr.Items[j]
			it.Violation = c.judge(*it, r.state, withoutConsent)
			if it.Violation != "" {
				report.Violations = append(report.Violations, Violation{State: pr.State, Page: r.url, Kind: it.Kind, Name: it.Name,
					Domain: it.Domain, Purpose: it.Class.Purpose, Reason: it.Violation})
			}
			t := trackers[it.Key()]
			if t == nil {
				t = &Tracker{Kind: it.Kind, Name: it.Name, Domain: it.Domain, ThirdParty: it.ThirdParty, Lifetime: it.Lifetime, Class: it.Class}
				trackers[it.Key()] = t
				onlyIn[it.Key()] = map[string]bool{}
			}
			t.Pages++
			t.Lifetime = max(t.Lifetime, it.Lifetime)
			if !slices.Contains(t.States, pr.State) {
				t.States = append(t.States, pr.State)
			}
			if r.state.Kind == StateOnly && !withoutConsent[it.Key()] {
				onlyIn[it.Key()][r.state.Purpose] = true
			}
		}
		for _, src := range r.untagged {
			sg := suggestions[src]
			if sg == nil {
				sg = &TagSuggestion{Src: src}
				host := hostOf(src)
				if class := c.classify(Item{Kind: KindScript, Name: host, ThirdParty: true}); !c.necessary(class) {
					sg.Purpose = class.Purpose
				}
				suggestions[src] = sg
			}
			if !slices.Contains(sg.Pages, r.url) {
				sg.Pages = append(sg.Pages, r.url)
			}
		}
		report.Results = append(report.Results, pr)
	}
	for key, t := range trackers {
		// An unclassified tracker that one purpose alone brings: suggest it.
		if t.Class.Source == SourceUnclassified && len(onlyIn[key]) == 1 {
			for p := range onlyIn[key] {
				t.Suggested = p
			}
		}
		report.Trackers = append(report.Trackers, *t)
	}
	slices.SortFunc(report.Trackers, func(a, b Tracker) int {
		return cmp.Or(cmp.Compare(slices.Index(kindOrder, a.Kind), slices.Index(kindOrder, b.Kind)), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Domain, b.Domain))
	})
	for _, sg := range suggestions {
		purpose := sg.Purpose
		if purpose == "" {
			purpose = "PURPOSE"
		}
		sg.Tag = fmt.Sprintf(`<script type="text/plain" data-steward-purpose="%s" src="%s"></script>`, html.EscapeString(purpose), html.EscapeString(sg.Src))
		report.Suggestions = append(report.Suggestions, *sg)
	}
	slices.SortFunc(report.Suggestions, func(a, b TagSuggestion) int { return cmp.Compare(a.Src, b.Src) })
	report.FinishedAt = s.o.Now()
	return report
}
