package analytics

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// Charts are drawn on the server as inline SVG: readable without
// JavaScript, named for assistive technology by their <title> and <desc>
// (aria-labelledby), and each sits beside a table of the same figures.
// Lines and bars differ in dash pattern as well as colour, so that no
// figure depends on telling colours apart.

// Legend names the outcomes in the page's language.
type Legend struct {
	Grant, Deny, Withdraw, Object string
}

type series struct {
	name, colour, dash string
	value              func(Counts) float64
}

func (l Legend) series() []series {
	return []series{
		{l.Grant, "#1a7f37", "", Counts.GrantShare},
		{l.Deny, "#cf222e", "6 3", Counts.DenialShare},
		{l.Withdraw, "#9a6700", "2 3", Counts.WithdrawalShare},
		{l.Object, "#6e40c9", "8 3 2 3", Counts.ObjectionShare},
	}
}

// Chart is the text of a chart: its id (unique in the page), title and
// description (what it shows, in a sentence, with its main figures).
type Chart struct {
	ID, Title, Desc string
}

func (c Chart) open(b *strings.Builder, w, h int) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="%s-title %s-desc">`,
		w, h, w, h, esc(c.ID), esc(c.ID))
	fmt.Fprintf(b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, esc(c.ID), esc(c.Title), esc(c.ID), esc(c.Desc))
}

func esc(s string) string { return template.HTMLEscapeString(s) }

func dash(d string) string {
	if d == "" {
		return ""
	}
	return fmt.Sprintf(` stroke-dasharray="%s"`, d)
}

// legend draws the outcomes' keys in a row at y.
func legend(b *strings.Builder, all []series, x, y int) {
	for _, s := range all {
		fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"%s/>`, x, y-4, x+22, y-4, s.colour, dash(s.dash))
		fmt.Fprintf(b, `<text x="%d" y="%d">%s</text>`, x+28, y, esc(s.name))
		x += 36 + 8*len([]rune(s.name))
	}
}

// SeriesChart draws the outcomes' shares over time, one line each, with a
// gap where a period has no choice.
func SeriesChart(points []Point, c Chart, l Legend) template.HTML {
	const w, h, left, right, top, bottom = 720, 250, 48, 16, 12, 56
	plotW, plotH := float64(w-left-right), float64(h-top-bottom)
	var b strings.Builder
	c.open(&b, w, h)
	b.WriteString(`<g font-size="12" fill="currentColor">`)
	for _, pct := range []int{0, 25, 50, 75, 100} {
		y := float64(top) + plotH*(1-float64(pct)/100)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#8c959f" stroke-width="0.5"/>`, left, y, w-right, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%d %%</text>`, left-6, y+4, pct)
	}
	x := func(i int) float64 {
		if len(points) < 2 {
			return float64(left) + plotW/2
		}
		return float64(left) + plotW*float64(i)/float64(len(points)-1)
	}
	if n := len(points); n > 0 {
		for _, i := range uniq(0, n/2, n-1) {
			anchor := "middle"
			if i == 0 && n > 1 {
				anchor = "start"
			} else if i == n-1 && n > 1 {
				anchor = "end"
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="%s">%s</text>`, x(i), h-bottom+16, anchor, points[i].Start.Format(time.DateOnly))
		}
	}
	all := l.series()
	for _, s := range all {
		var d strings.Builder
		move := true
		for i, p := range points {
			if p.Total() == 0 {
				move = true
				continue
			}
			y := float64(top) + plotH*(1-s.value(p.Counts)/100)
			if move {
				fmt.Fprintf(&d, "M%.1f %.1f", x(i), y)
				move = false
			} else {
				fmt.Fprintf(&d, "L%.1f %.1f", x(i), y)
			}
			if len(points) <= 31 {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>`, x(i), y, s.colour)
			}
		}
		if d.Len() > 0 {
			fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"%s/>`, d.String(), s.colour, dash(s.dash))
		}
	}
	legend(&b, all, left, h-12)
	b.WriteString(`</g></svg>`)
	return template.HTML(b.String()) //nolint:gosec // built from numbers and escaped text only
}

func uniq(xs ...int) []int {
	var out []int
	for _, x := range xs {
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out
}

// MaxBars is the most groups a breakdown chart draws (its table lists all).
const MaxBars = 20

// BreakdownChart draws each group's outcomes as a bar of 100 %, split by
// share, the largest groups first; name says a group's key for people.
func BreakdownChart(groups []Group, name func(string) string, c Chart, l Legend) template.HTML {
	groups = groups[:min(len(groups), MaxBars)]
	const w, left, barW, rowH, top = 720, 170, 480, 26, 8
	h := top + rowH*len(groups) + 36
	var b strings.Builder
	c.open(&b, w, h)
	b.WriteString(`<g font-size="12" fill="currentColor">`)
	all := l.series()
	for i, g := range groups {
		y := top + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, left-8, y+15, esc(clip(name(g.Key), 24)))
		x := float64(left)
		for j, s := range all {
			width := barW * s.value(g.Counts) / 100
			if width <= 0 {
				continue
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"%s/>`, x, y+2, width, rowH-8, s.colour, pattern(j))
			x += width
		}
		label := fmt.Sprintf("%.1f %%", g.GrantShare())
		if g.Small {
			label = SmallLabel()
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`, left+barW+8, y+15, esc(label))
	}
	legend(&b, all, left, h-12)
	b.WriteString(`</g></svg>`)
	return template.HTML(b.String()) //nolint:gosec // built from numbers and escaped text only
}

// pattern sets bars apart by more than colour: every outcome after the
// first has a lighter fill opacity step and an outline.
func pattern(i int) string {
	if i == 0 {
		return ""
	}
	return fmt.Sprintf(` fill-opacity="%.2f" stroke="#24292f" stroke-width="0.5"`, 1-0.15*float64(i))
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// NoticeChart draws, per purpose, the grant share under the earlier
// version (upper bar) and the later one (lower bar).
func NoticeChart(change NoticeChange, name func(string) string, c Chart, before, after string) template.HTML {
	const w, left, barW, rowH, top = 720, 170, 440, 40, 8
	h := top + rowH*len(change.Purposes) + 30
	var b strings.Builder
	c.open(&b, w, h)
	b.WriteString(`<g font-size="12" fill="currentColor">`)
	for i, e := range change.Purposes {
		y := top + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, left-8, y+20, esc(clip(name(e.Purpose), 24)))
		for j, c := range []Counts{e.Before, e.After} {
			fill, extra := "#8c959f", ""
			if j == 1 {
				fill, extra = "#1a7f37", ` stroke="#24292f" stroke-width="0.5"`
			}
			v, label := c.GrantShare(), fmt.Sprintf("%.1f %%", c.GrantShare())
			if c.Small {
				label = SmallLabel()
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="14" fill="%s"%s/>`, left, y+2+j*16, math.Max(barW*v/100, 0.5), fill, extra)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`, float64(left)+barW*v/100+6, y+13+j*16, esc(label))
		}
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="16" height="10" fill="#8c959f"/><text x="%d" y="%d">%s</text>`, left, h-20, left+22, h-11, esc(before))
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="16" height="10" fill="#1a7f37" stroke="#24292f" stroke-width="0.5"/><text x="%d" y="%d">%s</text>`,
		left+200, h-20, left+222, h-11, esc(after))
	b.WriteString(`</g></svg>`)
	return template.HTML(b.String()) //nolint:gosec // built from numbers and escaped text only
}
