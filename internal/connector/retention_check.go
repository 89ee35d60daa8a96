package connector

import (
	"strings"
	"unicode/utf8"
)

// retention checks a table's retention section against the live table: the
// timestamp column is a date or time, the key exists, and strategy mask
// can write its masks.
func (ch *checker) retention(t *Table, info *tableInfo) {
	r := t.Retention
	add := func(column, format string, args ...any) {
		ch.add(t.Name, column, r.Line, "retention: "+format, args...)
	}
	if col, ok := info.Columns[r.Column]; !ok {
		add(r.Column, "the timestamp column does not exist")
	} else if !timeLike(ch.engine, col) {
		add(r.Column, "the period runs from this column, but it is %s, not a date or timestamp", col.Type)
	}
	if _, ok := info.Columns[r.KeyColumn()]; !ok {
		add(r.KeyColumn(), "the key column the batches walk does not exist; name the primary key with key:")
	}
	if r.Strategy != Mask {
		return
	}
	for _, c := range maskedColumns(t) {
		live, ok := info.Columns[c.Name]
		if !ok {
			continue // reported with the columns
		}
		mask := c.MaskValue()
		switch {
		case !holdsText(live.Class):
			add(c.Name, "strategy mask writes %q, but the column is %s; use delete or erase", mask, live.Type)
		case live.MaxChars > 0 && int64(utf8.RuneCountInString(mask)) > live.MaxChars:
			add(c.Name, "strategy mask writes %q (%d characters), but the column holds at most %d", mask, utf8.RuneCountInString(mask), live.MaxChars)
		}
	}
}

// timeLike reports whether a live column holds dates or instants. SQLite
// has no such type (dates are text or numbers), so any column passes there.
func timeLike(engine Engine, col columnInfo) bool {
	if engine == SQLite {
		return true
	}
	t := strings.ToLower(col.Type)
	return strings.Contains(t, "timestamp") || strings.Contains(t, "date") || strings.Contains(t, "time")
}
