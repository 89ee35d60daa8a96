package banner_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp/kb"
)

// The banner's dialog is checked against WCAG 2.2 A and AA twice: by
// axe-core 4.14.1 (testdata/axe, MPL-2.0), and by checks written here that
// need no third party: roles and names, labels, contrast computed from the
// computed styles, focus order and its visible indicator, lang, tabindex,
// target size, reduced motion.

// dialogStates are the states of the banner a visitor can meet.
var dialogStates = []struct {
	name   string
	noAxe  bool   // covered by axe in another state; the checks here still run
	lang   string // Accept-Language
	config func(cfg map[string]any)
	setup  func(t *testing.T, ctx context.Context)
}{
	{name: "first layer"},
	{name: "second layer", setup: func(t *testing.T, ctx context.Context) {
		click(t, ctx, `[data-a=custom]`)
		js[any](t, ctx, `document.querySelectorAll('#steward-banner details').forEach(d => d.open = true)`)
	}},
	{name: "second layer with receipts, de", noAxe: true, lang: "de", setup: func(t *testing.T, ctx context.Context) {
		js[any](t, ctx, `localStorage['stw_consent.r'] = JSON.stringify([{id: 'x', receipt: 'a.b.c'}])`)
		click(t, ctx, `[data-a=custom]`)
	}},
	{name: "GPC, fr", noAxe: true, lang: "fr", setup: func(t *testing.T, ctx context.Context) {}, config: func(cfg map[string]any) { cfg["serverGpc"] = true }},
	{name: "opt-out notice, es", lang: "es", config: func(cfg map[string]any) { cfg["regime"] = "opt_out" }},
	{name: "right to left", lang: "ar", config: func(cfg map[string]any) {
		cfg["languages"] = []any{"en", "ar"}
		cfg["texts"] = map[string]any{"ar": arabicTexts}
	}, setup: func(t *testing.T, ctx context.Context) { click(t, ctx, `[data-a=custom]`) }},
	{name: "dark theme", config: func(cfg map[string]any) {
		cfg["theme"] = map[string]any{"background": "#1b1f24", "text": "#f0f3f6", "accent": "#8ab4f8", "accentText": "#0b1a33", "position": "center", "radius": 4}
	}, setup: func(t *testing.T, ctx context.Context) { click(t, ctx, `[data-a=custom]`) }},
}

func TestAxe(t *testing.T) {
	axe := string(mustRead(t, "testdata/axe/axe.min.js"))
	for _, st := range dialogStates {
		if st.noAxe {
			continue
		}
		t.Run(st.name, func(t *testing.T) {
			ctx := openState(t, st.lang, st.config, st.setup)
			js[any](t, ctx, axe+"; 0")
			res := js[map[string]any](t, ctx, `axe.run({include: [['#steward-banner']]}, {
				runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']},
				resultTypes: ['violations']})`)
			for _, v := range res["violations"].([]any) {
				v := v.(map[string]any)
				var where []string
				for _, n := range v["nodes"].([]any) {
					n := n.(map[string]any)
					where = append(where, fmt.Sprint(n["target"])+": "+fmt.Sprint(n["failureSummary"]))
				}
				t.Errorf("axe %s (%s, %v): %s\n\t%s", v["id"], v["impact"], v["tags"], v["help"], strings.Join(where, "\n\t"))
			}
			if passes := len(res["passes"].([]any)); passes < 10 {
				t.Errorf("axe ran only %d rules", passes)
			}
		})
	}
}

func TestAccessibilityChecks(t *testing.T) {
	for _, st := range dialogStates {
		t.Run(st.name, func(t *testing.T) {
			ctx := openState(t, st.lang, st.config, st.setup)
			for _, p := range js[[]string](t, ctx, auditDialog) {
				t.Error(p)
			}
			checkFocusWalk(t, ctx)
		})
	}
}

// openState opens the page in the given state, with the dialog open and
// motion reduced (so that no fade is caught half-way).
func openState(t *testing.T, lang string, config func(map[string]any), setup func(*testing.T, context.Context)) context.Context {
	t.Helper()
	cfg := baseConfig(t)
	if config != nil {
		config(cfg)
	}
	s := serveBanner(t, cfg)
	ctx := tab(t)
	reduceMotion(t, ctx)
	if lang != "" {
		acceptLanguage(t, ctx, lang)
	}
	open(t, ctx, s)
	waitJS(t, ctx, dialogOpen)
	if setup != nil {
		setup(t, ctx)
	}
	return ctx
}

// auditDialog returns the problems it finds in the open dialog.
const auditDialog = `(() => {
	const problems = [], banner = document.getElementById('steward-banner'), dlg = banner.querySelector('[role=dialog]');
	const shown = el => el.checkVisibility({visibilityProperty: true});
	const text = el => (el ? el.textContent : '').trim();
	const refs = (el, attr) => (el.getAttribute(attr) || '').split(/\s+/).filter(Boolean).map(id => document.getElementById(id));

	if (dlg.getAttribute('aria-modal') != 'true') problems.push('dialog: aria-modal is not true');
	for (const attr of ['aria-labelledby', 'aria-describedby']) {
		const els = refs(dlg, attr);
		if (!els.length || els.some(e => !text(e))) problems.push('dialog: ' + attr + ' names no element with text');
	}
	if (!/^[a-z]{2,3}(-|$)/.test(dlg.getAttribute('lang') || '')) problems.push('dialog: no lang attribute');
	if (dlg.closest('[dir]').dir != (['ar', 'he', 'fa', 'ur'].includes(dlg.lang) ? 'rtl' : 'ltr')) problems.push('dialog: dir ' + dlg.dir + ' for lang ' + dlg.lang);
	if (getComputedStyle(banner.querySelector('.stw-o')).position != 'fixed') problems.push('overlay is not fixed: it would push the page');
	if (banner.querySelector('.stw-re').checkVisibility()) problems.push('the reopen button shows while the dialog is open');
	if (getComputedStyle(dlg).animationName != 'none') problems.push('dialog animates although the visitor prefers reduced motion');

	const ids = [...banner.querySelectorAll('[id]')].map(e => e.id);
	if (new Set(ids).size != ids.length) problems.push('duplicate ids: ' + ids);

	// Every control has a name; switches are real checkboxes with a label.
	const controls = [...dlg.querySelectorAll('a, button, input, select, textarea, summary, [tabindex], [role=switch], [role=button]')].filter(shown);
	for (const el of controls) {
		const name = el.getAttribute('aria-label') || refs(el, 'aria-labelledby').map(text).join(' ') ||
			(el.labels ? [...el.labels].map(text).join(' ') : '') || text(el);
		const what = el.outerHTML.slice(0, 90);
		if (!name) problems.push('no accessible name: ' + what);
		if (el.tabIndex > 0) problems.push('positive tabindex: ' + what);
		if (el.tagName == 'INPUT' && (el.type != 'checkbox' || !el.labels.length)) problems.push('toggle without a checkbox and label: ' + what);
		if (el.tagName == 'A' && !el.getAttribute('href')) problems.push('link without href: ' + what);
		// WCAG 2.5.8: 24×24 px, or room for a 24 px circle that touches no other target.
		const r = el.getBoundingClientRect(), cx = r.x + r.width / 2, cy = r.y + r.height / 2;
		const crowded = controls.some(o => { if (o == el) return false; const q = o.getBoundingClientRect();
			const dx = Math.max(q.left - cx, 0, cx - q.right), dy = Math.max(q.top - cy, 0, cy - q.bottom); return Math.hypot(dx, dy) < 12; });
		if (el.tagName != 'A' && (r.width < 24 || r.height < 24) && crowded) problems.push('target smaller than 24×24 px and crowded (' + r.width + '×' + r.height + '): ' + what);
	}
	// The three choices of a layer look alike: no dark pattern.
	for (const row of dlg.querySelectorAll('.stw-b')) {
		const looks = [...row.querySelectorAll('button')].map(b => { const s = getComputedStyle(b);
			return [s.backgroundColor, s.color, s.fontSize, s.fontWeight, s.borderTopWidth, s.borderTopColor, Math.round(b.getBoundingClientRect().height)].join() });
		if (new Set(looks).size != 1) problems.push('choices differ in prominence: ' + looks.join(' | '));
	}

	// Contrast of every piece of text, from computed colours over the
	// effective background.
	const rgba = c => { const m = c.match(/[\d.]+/g).map(Number); return m.length == 3 ? [...m, 1] : m; };
	const over = (top, below) => top.slice(0, 3).map((v, i) => v * top[3] + below[i] * (1 - top[3])).concat(1);
	const background = el => {
		const layers = [];
		for (let e = el; e; e = e.parentElement) {
			const c = rgba(getComputedStyle(e).backgroundColor);
			if (c[3] > 0) layers.push(c);
			if (c[3] == 1) break;
		}
		return layers.reduceRight((below, top) => over(top, below), [255, 255, 255, 1]);
	};
	const lum = c => { const v = c.slice(0, 3).map(x => { x /= 255; return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
		return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
	const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
	const walker = document.createTreeWalker(dlg, NodeFilter.SHOW_TEXT);
	while (walker.nextNode()) {
		const el = walker.currentNode.parentElement;
		if (!walker.currentNode.textContent.trim() || !shown(el) || el.closest('[disabled]')) continue;
		const s = getComputedStyle(el), bg = background(el), fg = over(rgba(s.color), bg);
		const large = parseFloat(s.fontSize) >= 24 || (parseFloat(s.fontSize) >= 18.66 && +s.fontWeight >= 700);
		const r = ratio(fg, bg);
		if (r < (large ? 3 : 4.5)) problems.push('contrast ' + r.toFixed(2) + ':1 for "' + walker.currentNode.textContent.trim().slice(0, 40) + '"');
	}
	return problems;
})()`

// checkFocusWalk tabs through the dialog with the keyboard: the order
// follows the document, it stays in the dialog, and every stop shows a
// focus outline of 2 px or more that contrasts 3:1 with the dialog.
func checkFocusWalk(t *testing.T, ctx context.Context) {
	t.Helper()
	want := js[[]string](t, ctx, `[...document.querySelectorAll('#steward-banner [role=dialog] :is(a[href], button, input, summary)')]
		.filter(e => !e.disabled && e.checkVisibility()).map(e => e.outerHTML.slice(0, 60))`)
	var got []string
	for range len(want) + 1 {
		press(t, ctx, kb.Tab, false)
		stop := js[map[string]any](t, ctx, `(() => {
			const a = document.activeElement, s = getComputedStyle(a), dlg = document.querySelector('#steward-banner [role=dialog]');
			const rgb = c => c.match(/[\d.]+/g).slice(0, 3).map(Number);
			const lum = c => { const v = c.map(x => { x /= 255; return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
				return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
			const [x, y] = [lum(rgb(s.outlineColor)), lum(rgb(getComputedStyle(dlg).backgroundColor))].sort((p, q) => q - p);
			return {el: a.outerHTML.slice(0, 60), inside: dlg.contains(a), visible: a.matches(':focus-visible'),
				style: s.outlineStyle, width: parseFloat(s.outlineWidth), contrast: (x + 0.05) / (y + 0.05)};
		})()`)
		el := stop["el"].(string)
		got = append(got, el)
		if stop["inside"] != true {
			t.Errorf("Tab left the dialog for %s", el)
			return
		}
		if stop["visible"] != true || stop["style"] == "none" || stop["width"].(float64) < 2 || stop["contrast"].(float64) < 3 {
			t.Errorf("focus indicator of %s: %v", el, stop)
		}
	}
	if want = append(want, want[0]); !slices.Equal(got, want) {
		t.Errorf("focus order\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestChecksCatchProblems shows that both checkers fail a dialog that
// breaks the rules: a theme without contrast, and motion when the visitor
// did not ask to reduce it (which the dialog then has).
func TestChecksCatchProblems(t *testing.T) {
	cfg := baseConfig(t)
	cfg["theme"] = map[string]any{"background": "#ffffff", "text": "#999999", "accent": "#0b57d0", "accentText": "#ffffff"}
	ctx := openState(t, "", func(c map[string]any) { c["theme"] = cfg["theme"] }, nil)
	problems := strings.Join(js[[]string](t, ctx, auditDialog), "\n")
	if !strings.Contains(problems, "contrast 2.85:1") {
		t.Errorf("the audit missed the grey text: %s", problems)
	}
	js[any](t, ctx, string(mustRead(t, "testdata/axe/axe.min.js"))+"; 0")
	ids := js[[]string](t, ctx, `axe.run({include: [['#steward-banner']]}, {runOnly: ['color-contrast']}).then(r => r.violations.map(v => v.id))`)
	if !slices.Equal(ids, []string{"color-contrast"}) {
		t.Errorf("axe found %v", ids)
	}

	s := serveBanner(t, nil)
	ctx = tab(t)
	open(t, ctx, s)
	waitJS(t, ctx, dialogOpen)
	if !strings.Contains(strings.Join(js[[]string](t, ctx, auditDialog), "\n"), "reduced motion") {
		t.Error("the dialog does not animate without prefers-reduced-motion, so that check proves nothing")
	}
}
