package analytics

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// CSVHeader is the first row of WriteCSV.
var CSVHeader = []string{"figure", "key", "from_version", "to_version", "choices", "grants", "denials", "withdrawals", "objections",
	"grant_share", "denial_share", "withdrawal_share", "objection_share"}

// Share formats a share as the page and the CSV say it: percent, one
// decimal.
func Share(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// SmallLabel is how the page, its charts and the CSV say a withheld
// figure (Counts.Small): "< 10".
func SmallLabel() string { return "< " + strconv.Itoa(MinGroup) }

// WriteCSV writes the figures of r, the same the page shows, a withheld
// one as SmallLabel in its counts and empty shares: the series
// (figure "over_time", key the period's first day), the breakdown (figure
// "by_" and the dimension, key its value) and the notice changes (figures
// "notice_before" and "notice_after", key the purpose).
func WriteCSV(w io.Writer, r *Report) error {
	out := csv.NewWriter(w)
	write := func(figure, key, from, to string, c Counts) {
		if c.Small {
			small := SmallLabel()
			_ = out.Write([]string{figure, cell(key), cell(from), cell(to), small, small, small, small, small, "", "", "", ""})
			return
		}
		_ = out.Write([]string{figure, cell(key), cell(from), cell(to), strconv.FormatInt(c.Total(), 10),
			strconv.FormatInt(c.Grants, 10), strconv.FormatInt(c.Denials, 10), strconv.FormatInt(c.Withdrawals, 10),
			strconv.FormatInt(c.Objections, 10), Share(c.GrantShare()), Share(c.DenialShare()), Share(c.WithdrawalShare()), Share(c.ObjectionShare())})
	}
	_ = out.Write(CSVHeader)
	for _, p := range r.Series {
		write("over_time", p.Start.Format(time.DateOnly), "", "", p.Counts)
	}
	for _, g := range r.Breakdown {
		write("by_"+string(r.Filter.By), g.Key, "", "", g.Counts)
	}
	for _, ch := range r.Changes {
		for _, e := range ch.Purposes {
			write("notice_before", e.Purpose, ch.From, ch.To, e.Before)
			write("notice_after", e.Purpose, ch.From, ch.To, e.After)
		}
	}
	out.Flush()
	if err := out.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// cell keeps a spreadsheet from reading a value as a formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
