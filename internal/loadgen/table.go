package loadgen

import (
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Row is one named line of a results table. Extra values are rendered as
// additional columns after the standard ones, e.g. {"questions/s": "812.4"};
// the extra columns are the union of all rows' keys in sorted order, and a
// row without a value for one of them shows "-".
type Row struct {
	Name   string
	Result Result
	Extra  map[string]string
}

// tableColumns are the standard columns written by WriteTable.
var tableColumns = []string{"name", "requests", "errors", "duration", "req/s", "p50", "p90", "p99", "max", "cpu/req"}

// WriteTable writes rows as a human-readable table with aligned columns: a
// header line, then one line per row. The name column is left-aligned and all
// others are right-aligned. Latencies use three significant digits.
func WriteTable(w io.Writer, rows []Row) error {
	var extra []string
	for _, r := range rows {
		for k := range r.Extra {
			if !slices.Contains(extra, k) {
				extra = append(extra, k)
			}
		}
	}
	slices.Sort(extra)

	lines := make([][]string, 0, len(rows)+1)
	lines = append(lines, append(slices.Clone(tableColumns), extra...))
	for _, r := range rows {
		res := r.Result
		line := []string{
			r.Name,
			strconv.Itoa(res.Requests),
			strconv.Itoa(res.Errors),
			formatDuration(res.Duration),
			strconv.FormatFloat(res.RequestsPerSecond, 'f', 1, 64),
			formatDuration(res.P50),
			formatDuration(res.P90),
			formatDuration(res.P99),
			formatDuration(res.Max),
			"-",
		}
		if c := res.CPUPerRequest(); c > 0 {
			line[len(line)-1] = formatDuration(c)
		}
		for _, k := range extra {
			v, ok := r.Extra[k]
			if !ok || v == "" {
				v = "-"
			}
			line = append(line, v)
		}
		lines = append(lines, line)
	}

	widths := make([]int, len(lines[0]))
	for _, line := range lines {
		for i, cell := range line {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	var b strings.Builder
	for _, line := range lines {
		for i, cell := range line {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
			if i == 0 {
				b.WriteString(cell)
				b.WriteString(pad)
				continue
			}
			b.WriteString("  ")
			b.WriteString(pad)
			b.WriteString(cell)
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// formatDuration renders d with about three significant digits, e.g. "812µs",
// "1.23ms", "10.0s".
func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	case d < time.Millisecond:
		return formatUnit(float64(d)/float64(time.Microsecond), "µs")
	case d < time.Second:
		return formatUnit(float64(d)/float64(time.Millisecond), "ms")
	default:
		return formatUnit(d.Seconds(), "s")
	}
}

func formatUnit(v float64, unit string) string {
	prec := 2
	switch {
	case v >= 99.95:
		prec = 0
	case v >= 9.995:
		prec = 1
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + unit
}
