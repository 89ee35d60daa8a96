package admin

// A line diff for the notice publish page: what a draft changes in the
// published notice, line by line, written with the standard library.

import (
	"slices"
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

// maxDiffCells bounds the work of the edit-graph search: it keeps a row
// of d cells for each number d of edits it tries, so about D² cells (4
// bytes each: 16 MiB) for D edits. Past it, the differing middle is shown
// as removed, then added: still true, only less precise.
const maxDiffCells = 1 << 22

// lineDiff returns the lines of before and after, each kept, removed or
// added, in order: a shortest edit script (Myers' O(ND) algorithm), so a
// few changes in a long notice cost little.
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

// middleDiff diffs a and b by Myers' greedy search of the edit graph:
// rows[d][k+d] is the furthest x reached on diagonal k (x-y) with d edits.
func middleDiff(a, b []string) []diffLine {
	n, m := len(a), len(b)
	var rows [][]int32
	cells := 0
	for d := 0; d <= n+m; d++ {
		cells += 2*d + 1
		if cells > maxDiffCells {
			return coarseDiff(a, b)
		}
		row := make([]int32, 2*d+1)
		for k := -d; k <= d; k += 2 {
			var x int
			switch {
			case d == 0:
				x = 0
			case k == -d || (k != d && rows[d-1][k-1+d-1] < rows[d-1][k+1+d-1]):
				x = int(rows[d-1][k+1+d-1]) // down: a line of b added
			default:
				x = int(rows[d-1][k-1+d-1]) + 1 // right: a line of a removed
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
			}
			row[k+d] = int32(x)
			if x >= n && y >= m {
				return backtrack(a, b, append(rows, row))
			}
		}
		rows = append(rows, row)
	}
	return coarseDiff(a, b) // not reached: n+m edits always suffice
}

// backtrack walks the rows of middleDiff back from the end to the start,
// collecting the script.
func backtrack(a, b []string, rows [][]int32) []diffLine {
	var rev []diffLine
	x, y := len(a), len(b)
	for d := len(rows) - 1; d > 0; d-- {
		k, prev := x-y, rows[d-1]
		down := k == -d || (k != d && prev[k-1+d-1] < prev[k+1+d-1])
		prevK := k - 1
		if down {
			prevK = k + 1
		}
		prevX := int(prev[prevK+d-1])
		startX := prevX
		if !down {
			startX++
		}
		for x > startX {
			rev = append(rev, diffLine{diffSame, a[x-1]})
			x, y = x-1, y-1
		}
		if down {
			rev = append(rev, diffLine{diffAdded, b[y-1]})
		} else {
			rev = append(rev, diffLine{diffRemoved, a[x-1]})
		}
		x, y = prevX, prevX-prevK
	}
	for x > 0 {
		rev = append(rev, diffLine{diffSame, a[x-1]})
		x--
	}
	slices.Reverse(rev)
	return rev
}

// coarseDiff says every line of a removed, then every line of b added.
func coarseDiff(a, b []string) []diffLine {
	out := make([]diffLine, 0, len(a)+len(b))
	for _, l := range a {
		out = append(out, diffLine{diffRemoved, l})
	}
	for _, l := range b {
		out = append(out, diffLine{diffAdded, l})
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
