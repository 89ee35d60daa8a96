package admin

// A line diff for the notice publish page: what a draft changes in the
// published notice, line by line, written with the standard library (a
// longest common subsequence over the lines that differ).

import (
	"strconv"
	"strings"
)

// diffOp says what a line of a diff is.
type diffOp string

// The ops; diffGap stands for unchanged lines left out (its Text is how many).
const (
	diffSame    diffOp = "same"
	diffAdded   diffOp = "add"
	diffRemoved diffOp = "del"
	diffGap     diffOp = "gap"
)

// diffLine is one line of a diff.
type diffLine struct {
	Op   diffOp
	Text string
}

// maxDiffCells bounds the table of the subsequence search (4 bytes a cell:
// 16 MiB). Past it, the differing middle is shown as removed, then added:
// still true, only less precise.
const maxDiffCells = 1 << 22

// lineDiff returns the lines of before and after, each kept, removed or
// added, in order.
func lineDiff(before, after string) []diffLine {
	a, b := splitLines(before), splitLines(after)
	prefix := 0
	for prefix < len(a) && prefix < len(b) && a[prefix] == b[prefix] {
		prefix++
	}
	suffix := 0
	for suffix < len(a)-prefix && suffix < len(b)-prefix && a[len(a)-1-suffix] == b[len(b)-1-suffix] {
		suffix++
	}
	out := make([]diffLine, 0, len(a)+len(b))
	for _, l := range a[:prefix] {
		out = append(out, diffLine{diffSame, l})
	}
	out = append(out, middleDiff(a[prefix:len(a)-suffix], b[prefix:len(b)-suffix])...)
	for _, l := range a[len(a)-suffix:] {
		out = append(out, diffLine{diffSame, l})
	}
	return out
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\r\n", "\n"), "\n")
}

// middleDiff diffs a and b, which differ at both ends, through the table
// of the longest common subsequence of their suffixes.
func middleDiff(a, b []string) []diffLine {
	out := make([]diffLine, 0, len(a)+len(b))
	n, m := len(a), len(b)
	if n == 0 || m == 0 || (n+1)*(m+1) > maxDiffCells {
		for _, l := range a {
			out = append(out, diffLine{diffRemoved, l})
		}
		for _, l := range b {
			out = append(out, diffLine{diffAdded, l})
		}
		return out
	}
	// lcs[i*(m+1)+j] is the length of the longest common subsequence of
	// a[i:] and b[j:].
	lcs := make([]int32, (n+1)*(m+1))
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i*(m+1)+j] = lcs[(i+1)*(m+1)+j+1] + 1
			} else {
				lcs[i*(m+1)+j] = max(lcs[(i+1)*(m+1)+j], lcs[i*(m+1)+j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			out = append(out, diffLine{diffSame, a[i]})
			i, j = i+1, j+1
		case lcs[(i+1)*(m+1)+j] >= lcs[i*(m+1)+j+1]:
			out = append(out, diffLine{diffRemoved, a[i]})
			i++
		default:
			out = append(out, diffLine{diffAdded, b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, diffLine{diffRemoved, a[i]})
	}
	for ; j < m; j++ {
		out = append(out, diffLine{diffAdded, b[j]})
	}
	return out
}

// changed reports whether a diff adds or removes anything.
func changed(d []diffLine) bool {
	for _, l := range d {
		if l.Op == diffAdded || l.Op == diffRemoved {
			return true
		}
	}
	return false
}

// collapse keeps context unchanged lines around each change and replaces
// longer unchanged runs with a gap saying how many lines it leaves out.
func collapse(d []diffLine, context int) []diffLine {
	out := make([]diffLine, 0, len(d))
	for start := 0; start < len(d); {
		if d[start].Op != diffSame {
			out = append(out, d[start])
			start++
			continue
		}
		end := start
		for end < len(d) && d[end].Op == diffSame {
			end++
		}
		keepHead, keepTail := context, context
		if start == 0 {
			keepHead = 0
		}
		if end == len(d) {
			keepTail = 0
		}
		if end-start <= keepHead+keepTail+1 {
			out = append(out, d[start:end]...)
		} else {
			out = append(out, d[start:start+keepHead]...)
			out = append(out, diffLine{diffGap, strconv.Itoa(end - start - keepHead - keepTail)})
			out = append(out, d[end-keepTail:end]...)
		}
		start = end
	}
	return out
}
