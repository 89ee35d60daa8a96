package incident

import (
	"cmp"
	"slices"
)

// members is a set being computed: subject ids, each with a bit mask of
// the categories found for it (bit i is names[i]). Entries are appended
// in any order; finish sorts and merges them. A source that reads in
// subject order (the vault) appends already merged, so a million members
// cost a slice, not a map.
type members struct {
	entries    []member
	names      []string
	unresolved int
}

type member struct {
	id   string
	mask uint64
}

// bit returns the mask of category, giving it the next bit if new. A
// breach's categories are a dozen; past 64 the rest are not counted.
func (m *members) bit(category string) uint64 {
	i := slices.Index(m.names, category)
	if i < 0 {
		if len(m.names) == 64 {
			return 0
		}
		m.names = append(m.names, category)
		i = len(m.names) - 1
	}
	return 1 << i
}

// add records id with mask; a repeat of the last id merges into it.
func (m *members) add(id string, mask uint64) {
	if n := len(m.entries); n > 0 && m.entries[n-1].id == id {
		m.entries[n-1].mask |= mask
		return
	}
	m.entries = append(m.entries, member{id: id, mask: mask})
}

// finish sorts the entries by id and merges repeats.
func (m *members) finish() {
	if !slices.IsSortedFunc(m.entries, func(a, b member) int { return cmp.Compare(a.id, b.id) }) {
		slices.SortStableFunc(m.entries, func(a, b member) int { return cmp.Compare(a.id, b.id) })
	}
	out := m.entries[:0]
	for _, e := range m.entries {
		if n := len(out); n > 0 && out[n-1].id == e.id {
			out[n-1].mask |= e.mask
			continue
		}
		out = append(out, e)
	}
	m.entries = out
}

// mark adds mask to the member id, after finish; an id not in the set is
// ignored.
func (m *members) mark(id string, mask uint64) {
	if i, ok := slices.BinarySearchFunc(m.entries, id, func(e member, id string) int { return cmp.Compare(e.id, id) }); ok {
		m.entries[i].mask |= mask
	}
}

// ids returns the members' ids, sorted.
func (m *members) ids() []string {
	out := make([]string, len(m.entries))
	for i, e := range m.entries {
		out[i] = e.id
	}
	return out
}

// countByCategory counts the members with data of each category.
func (m *members) countByCategory() map[string]int {
	out := map[string]int{}
	for _, e := range m.entries {
		for i, name := range m.names {
			if e.mask&(1<<i) != 0 {
				out[name]++
			}
		}
	}
	return out
}
