package ethics

import (
	"context"
	"slices"
	"strings"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/inventory"
)

// facts computes what Steward knows of purpose p, whose scope is scope.
func (s *Service) facts(ctx context.Context, p consent.Purpose, scope Scope) (Facts, error) {
	f := Facts{NoticeMissing: []string{}, Systems: []SystemFact{}, Unplaced: []string{}, Special: []string{}}
	categories := map[string]consent.Category{}
	for _, c := range s.catalog.Categories() {
		categories[c.Key] = c
	}
	for _, key := range scope.Categories {
		if c, ok := categories[key]; ok && c.Special {
			f.Special = append(f.Special, key)
		}
	}
	if n, ok := s.catalog.CurrentNotice(); ok {
		f.Notice = n.Version
		f.NoticeNamesPurpose = names(n.Texts, p.Key, p.Names)
		for _, key := range scope.Categories {
			if !names(n.Texts, key, categories[key].Names) {
				f.NoticeMissing = append(f.NoticeMissing, key)
			}
		}
	}
	switch p.LegalBasis {
	case consent.BasisConsent:
		f.OptOut = OptOutBanner
	case consent.BasisLegitimateInterest:
		f.OptOut = OptOutObjection
	}
	if s.inventory == nil || len(scope.Categories) == 0 {
		f.Unplaced = append(f.Unplaced, scope.Categories...)
		return f, nil
	}
	m, err := s.inventory.Map(ctx)
	if err != nil {
		return Facts{}, err
	}
	systems := map[string]inventory.System{}
	for _, sys := range m.Systems {
		systems[sys.Key] = sys
	}
	var held []string
	for _, c := range m.Categories {
		if !slices.Contains(scope.Categories, c.Key) {
			continue
		}
		if len(c.Systems) == 0 {
			continue
		}
		held = append(held, c.Key)
		for _, key := range c.Systems {
			if slices.ContainsFunc(f.Systems, func(sf SystemFact) bool { return sf.Key == key }) {
				continue
			}
			sys := systems[key]
			f.Systems = append(f.Systems, SystemFact{Key: key, Kind: string(sys.Kind), Location: sys.Facts.Location,
				Measures: strings.TrimSpace(sys.Facts.SecurityMeasures) != ""})
		}
	}
	for _, key := range scope.Categories {
		if !slices.Contains(held, key) {
			f.Unplaced = append(f.Unplaced, key)
		}
	}
	slices.SortFunc(f.Systems, func(a, b SystemFact) int { return strings.Compare(a.Key, b.Key) })
	return f, nil
}

// names reports whether any of a notice's texts names something by its key
// or by its name in the text's language (or in English), case folded.
func names(texts map[string]string, key string, localNames map[string]string) bool {
	for lang, text := range texts {
		text = strings.ToLower(text)
		if strings.Contains(text, strings.ToLower(key)) {
			return true
		}
		for _, name := range []string{localNames[lang], localNames["en"]} {
			if name = strings.TrimSpace(strings.ToLower(name)); name != "" && strings.Contains(text, name) {
				return true
			}
		}
	}
	return false
}
