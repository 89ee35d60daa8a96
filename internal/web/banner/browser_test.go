package banner_test

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/steward-dev/steward/internal/web/banner"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdpio "github.com/chromedp/cdproto/io"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/steward-dev/steward/internal/testenv/browsertest"
)

// These tests drive assets/banner.js in Chromium. The page lives on
// www.shop.test and Steward on consent.shop.test (another origin, as in
// production); the browser resolves *.shop.test to 127.0.0.1.

// ---------------------------------------------------------------------------
// The harness: a shop page, /banner.js assembled per CONTRACT.md, and a fake
// /v1/consent/events. serveBanner is the one function to point at the real
// server (internal/app/apptest): the swap needs a property with the test
// configuration, the page and its test scripts served beside it, and the
// events read back from the ledger instead of from site.Events.

const (
	shopHost    = "www.shop.test"
	stewardHost = "consent.shop.test"
)

// site is a running shop and Steward for one test.
type site struct {
	Page string // URL of the shop's test page
	API  string // Steward's origin, C.api

	mu        sync.Mutex
	cfg       map[string]any
	events    []event
	posts     []post
	failPosts int // answer that many posts with 503
	seq       int
	seen      map[string]bool
}

// event is one consent event as the script posts it (CONTRACT.md).
type event struct {
	ID            string `json:"id"`
	Property      string `json:"property"`
	Device        string `json:"device"`
	Purpose       string `json:"purpose"`
	Action        string `json:"action"`
	Source        string `json:"source"`
	NoticeVersion string `json:"notice_version"`
	Jurisdiction  string `json:"jurisdiction"`
	GPC           bool   `json:"gpc"`
	DNT           bool   `json:"dnt"`
	TCString      string `json:"tc_string"`
}

// post is one request to the events endpoint.
type post struct {
	Method, ContentType, Origin, Key string
	Status                           int
}

// serveBanner starts the shop and a stand-in Steward serving the banner
// with configuration cfg (testdata/browser/config.json when nil).
func serveBanner(t *testing.T, cfg map[string]any) *site {
	t.Helper()
	if cfg == nil {
		cfg = baseConfig(t)
	}
	s := &site{cfg: cfg, seen: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /banner.js", s.handleScript(t))
	mux.HandleFunc("/v1/consent/events", s.handleEvents)
	mux.HandleFunc("GET /page.html", func(w http.ResponseWriter, r *http.Request) {
		body := strings.ReplaceAll(string(mustRead(t, "testdata/browser/page.html")), "{{API}}", s.API)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, body)
	})
	mux.HandleFunc("GET /ext/script.js", func(w http.ResponseWriter, r *http.Request) {
		// The delay makes a later inline script finish first unless the banner
		// keeps document order.
		if ms, _ := strconv.Atoi(r.URL.Query().Get("delay")); ms > 0 {
			time.Sleep(time.Duration(ms) * time.Millisecond)
		}
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprintf(w, "ran.push(%q)", r.URL.Query().Get("name"))
	})
	mux.HandleFunc("GET /frame.html", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<!doctype html><title>Video</title><p id="video">the embedded video</p>`)
	})
	mux.HandleFunc("GET /tcf/vendor-list.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Write(mustRead(t, "testdata/tcf/vendor-list.json"))
	})
	mux.HandleFunc("GET /banner-tcf.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, tcfScript := minified(t)
		w.Write(tcfScript)
	})
	mux.HandleFunc("GET /fake-tcf.js", func(w http.ResponseWriter, r *http.Request) {
		// A TCF module that records what the banner calls.
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, `window.tcfCalls = [];
window.StewardTCF = {init: function (C, hooks) {
  window.tcfCalls.push(['init', C.tcf.cmpId, typeof hooks.getChoices]);
  var rec = function (name) { return function (c) { window.tcfCalls.push([name, c && c.purposes]); return Promise.resolve('TC.' + name); }; };
  return {encode: rec('encode'), apply: rec('apply'), uiShown: rec('uiShown'), uiHidden: rec('uiHidden'), loaded: rec('loaded'),
    tcString: function () { window.tcfCalls.push(['tcString']); return 'TC.current'; }};
}};`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(interface{ String() string }).String()
	port = port[strings.LastIndex(port, ":")+1:]
	s.Page = "http://" + shopHost + ":" + port + "/page.html"
	s.API = "http://" + stewardHost + ":" + port
	return s
}

// handleScript serves /banner.js as the Go handler renders it (banner.go):
// the configuration inline, then assets/banner.js minified, in one function.
func (s *site) handleScript(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		cfg := maps.Clone(s.cfg)
		s.mu.Unlock()
		cfg["api"] = s.API
		if r.Header.Get("Sec-GPC") == "1" {
			cfg["serverGpc"] = true
		}
		cfgJSON, err := json.Marshal(cfg)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		script, _ := minified(t)
		w.Write(banner.Wrap(cfgJSON, script, nil))
	}
}

func (s *site) handleEvents(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := post{Method: r.Method, ContentType: r.Header.Get("Content-Type"), Origin: r.Header.Get("Origin"), Key: r.URL.Query().Get("key")}
	defer func() { s.posts = append(s.posts, p) }()
	w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
	w.Header().Set("Vary", "Origin")
	if r.Method != http.MethodPost {
		p.Status = http.StatusMethodNotAllowed
		w.WriteHeader(p.Status)
		return
	}
	if s.failPosts > 0 {
		s.failPosts--
		p.Status = http.StatusServiceUnavailable
		w.WriteHeader(p.Status)
		return
	}
	var in struct{ Events []event }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		p.Status = http.StatusBadRequest
		w.WriteHeader(p.Status)
		return
	}
	type result struct {
		ID        string `json:"id"`
		Seq       int    `json:"seq"`
		Duplicate bool   `json:"duplicate"`
		Receipt   string `json:"receipt"`
	}
	var out struct {
		Results []result `json:"results"`
	}
	for _, e := range in.Events {
		dup := s.seen[e.ID]
		if !dup {
			s.seen[e.ID] = true
			s.seq++
			s.events = append(s.events, e)
		}
		out.Results = append(out.Results, result{ID: e.ID, Seq: s.seq, Duplicate: dup,
			Receipt: "eyJhbGciOiJFZERTQSJ9." + base64.RawURLEncoding.EncodeToString([]byte(e.ID)) + ".c2ln"})
	}
	p.Status = http.StatusOK
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

// setConfig changes the configuration later loads of banner.js get.
func (s *site) setConfig(change func(cfg map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg = cloneConfig(s.cfg)
	change(s.cfg)
}

// Events returns the events recorded so far (the ledger is idempotent on ids).
func (s *site) Events() []event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

func (s *site) Posts() []post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.posts)
}

func (s *site) failNextPosts(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failPosts = n
}

// waitEvents waits until n events arrived, then returns them.
func (s *site) waitEvents(t *testing.T, n int) []event {
	t.Helper()
	waitFor(t, func() bool { return len(s.Events()) >= n })
	return s.Events()
}

// waitFor polls the server side until ok, for 10 s at most.
func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

func baseConfig(t testing.TB) map[string]any {
	t.Helper()
	var cfg map[string]any
	if err := json.Unmarshal(mustRead(t, "testdata/browser/config.json"), &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func cloneConfig(cfg map[string]any) map[string]any {
	b, _ := json.Marshal(cfg)
	var out map[string]any
	json.Unmarshal(b, &out)
	return out
}

// purposeOf returns the purpose with key in cfg, to change it.
func purposeOf(cfg map[string]any, key string) map[string]any {
	for _, p := range cfg["purposes"].([]any) {
		if p := p.(map[string]any); p["key"] == key {
			return p
		}
	}
	panic("no purpose " + key)
}

// minified returns the browser code as the server serves it: the body of
// /banner.js and the TCF script, minified from assets/.
func minified(t testing.TB) (script, tcfScript []byte) {
	t.Helper()
	script, tcfScript, err := banner.Scripts()
	if err != nil {
		t.Fatal(err)
	}
	return script, tcfScript
}

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ---------------------------------------------------------------------------
// The browser: one Chromium for the package, a fresh browser context (own
// cookies and storage) per tab.

// chromium is the one browser of this test binary.
var chromium = browsertest.New(chromedp.Flag("host-resolver-rules", "MAP *.shop.test 127.0.0.1"))

func TestMain(m *testing.M) {
	code := m.Run()
	chromium.Close()
	os.Exit(code)
}

// tab opens a tab in a fresh browser context, with a 30 s limit.
func tab(t *testing.T) context.Context {
	t.Helper()
	return chromium.Tab(t)
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// js evaluates expr (awaiting a promise) and decodes its value.
func js[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// waitJS waits until expr is truthy.
func waitJS(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("waiting for %s: %v", expr, err)
	}
}

// open loads the shop page and waits for the banner's API.
func open(t *testing.T, ctx context.Context, s *site) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(s.Page))
	waitJS(t, ctx, `window.Steward && document.readyState == "complete"`)
}

// beforeLoad runs source in every document the tab loads, before its scripts.
func beforeLoad(t *testing.T, ctx context.Context, source string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: source}); err != nil {
		t.Fatal(err)
	}
}

func acceptLanguage(t *testing.T, ctx context.Context, lang string) {
	t.Helper()
	ua := js[string](t, ctx, `navigator.userAgent`)
	if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: lang}); err != nil {
		t.Fatal(err)
	}
}

func reduceMotion(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}}}); err != nil {
		t.Fatal(err)
	}
}

// press sends one key, as a keyboard would, with Shift when shift is set.
func press(t *testing.T, ctx context.Context, key string, shift bool) {
	t.Helper()
	var opts []chromedp.KeyOption
	if shift {
		opts = append(opts, chromedp.KeyModifiers(chromedp.ModifierShift))
	}
	do(t, ctx, chromedp.KeyEvent(key, opts...))
}

// focused names the focused element: its data-a, id, or tag.
func focused(t *testing.T, ctx context.Context) string {
	t.Helper()
	return js[string](t, ctx, `(() => { const a = document.activeElement;
		return a.dataset.a || a.id || a.tagName.toLowerCase() + (a.className ? '.' + a.className : '') })()`)
}

func click(t *testing.T, ctx context.Context, css string) {
	t.Helper()
	do(t, ctx, chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible))
}

// consentPurposes is Steward.consent() without its metadata.
const consentPurposes = `Object.fromEntries(Object.entries(Steward.consent()).filter(([k]) => !/[A-Z]/.test(k)))`

// dialogOpen reports whether the banner's dialog is shown.
const dialogOpen = `!!document.querySelector('#steward-banner [role=dialog]') && !document.querySelector('#steward-banner .stw-o').hidden`

func cookies(t *testing.T, ctx context.Context, pageURL string) map[string]string {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{pageURL}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range res.Cookies {
		out[c.Name+"@"+c.Domain] = c.Value
	}
	return out
}

// requests records the URLs the tab requests.
type requests struct {
	mu   sync.Mutex
	urls []string
}

func recordRequests(t *testing.T, ctx context.Context) *requests {
	t.Helper()
	r := &requests{}
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			r.mu.Lock()
			r.urls = append(r.urls, e.Request.Method+" "+e.Request.URL)
			r.mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *requests) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.urls)
}

func countBy(evs []event, f func(event) bool) int {
	n := 0
	for _, e := range evs {
		if f(e) {
			n++
		}
	}
	return n
}

func actions(evs []event) map[string]string {
	out := map[string]string{}
	for _, e := range evs {
		out[e.Purpose] = e.Action
	}
	return out
}

// ---------------------------------------------------------------------------
// The tests.

func TestScriptsAndFramesWaitForConsent(t *testing.T) {
	s := serveBanner(t, nil)
	ctx := tab(t)
	reqs := recordRequests(t, ctx)
	open(t, ctx, s)
	waitJS(t, ctx, dialogOpen)

	if got := js[[]string](t, ctx, `ran`); !slices.Equal(got, []string{"necessary"}) {
		t.Errorf("before consent ran %v, want only the necessary script", got)
	}
	// Nothing but the page and banner.js before a choice.
	for _, u := range reqs.list() {
		// (the browser's own favicon request is no concern of the banner)
		if !strings.HasPrefix(u, "GET "+s.Page) && !strings.HasPrefix(u, "GET "+s.API+"/banner.js") && !strings.HasSuffix(u, "/favicon.ico") {
			t.Errorf("request before consent: %s", u)
		}
	}
	if got := js[int](t, ctx, `document.querySelectorAll('script[type="text/plain"]').length`); got != 5 {
		t.Errorf("%d blocked scripts left, want 5", got)
	}
	waitJS(t, ctx, `document.querySelector('iframe').contentDocument?.querySelector('button')`)
	label := js[string](t, ctx, `document.querySelector('iframe').contentDocument.querySelector('button').textContent`)
	if want := "Load content from www.shop.test: allow Marketing"; label != want {
		t.Errorf("placeholder %q, want %q", label, want)
	}
	if src := js[string](t, ctx, `document.querySelector('iframe').getAttribute('src') || ''`); src != "" {
		t.Errorf("iframe src %q before consent", src)
	}

	click(t, ctx, `[data-a=accept]`)
	waitJS(t, ctx, `ran.length == 6`)
	want := []string{"necessary", "inline-1", "external-2", "inline-3", "marketing-4", "both-5"}
	if got := js[[]string](t, ctx, `ran`); !slices.Equal(got, want) {
		t.Errorf("ran %v, want %v (document order)", got, want)
	}
	if got := js[string](t, ctx, `document.querySelector('script[data-extra]').dataset.extra + ' ' + document.querySelector('script[data-extra]').type`); got != "kept " {
		t.Errorf("activated script attributes: %q, want data-extra kept and no type", got)
	}
	waitJS(t, ctx, `document.querySelector('iframe').contentDocument?.getElementById('video')`)
	if js[bool](t, ctx, dialogOpen) {
		t.Error("dialog still open after Accept all")
	}
	if js[bool](t, ctx, `document.querySelector('.stw-re').checkVisibility()`) {
		t.Error("the opt-out reopen button shows under opt-in")
	}

	// Elements added later follow the choice; a choice made again runs nothing twice.
	// A script naming no purpose, or an unknown one, never runs (fail closed).
	js[any](t, ctx, `[['', 'empty'], ['nope', 'unknown'], ['analytics', 'late']].forEach(([p, name]) => {
		const s = document.createElement('script'); s.type = 'text/plain';
		s.dataset.stewardPurpose = p; s.text = "ran.push('" + name + "')"; document.body.append(s) })`)
	waitJS(t, ctx, `ran.includes('late')`)
	if js[bool](t, ctx, `ran.includes('empty') || ran.includes('unknown')`) {
		t.Error("a script without a known purpose ran")
	}
	js[any](t, ctx, `Steward.open()`)
	click(t, ctx, `[data-a=accept]`)
	if got := js[[]string](t, ctx, `ran`); len(got) != 7 {
		t.Errorf("after a second Accept all ran %v: a script ran twice", got)
	}

	evs := s.waitEvents(t, 6)
	first := evs[:3]
	if got := actions(first); !maps.Equal(got, map[string]string{"analytics": "grant", "marketing": "grant", "sale_of_data": "grant"}) {
		t.Errorf("events %v", got)
	}
	for _, e := range first {
		if e.Source != "banner" || e.Property != "demo" || e.NoticeVersion != "2026-11" || e.Jurisdiction != "DE" || e.Device == "" || e.Device != first[0].Device {
			t.Errorf("event %+v", e)
		}
		if !uuidLike(e.ID) || !uuidLike(e.Device) {
			t.Errorf("event id %q or device %q is not a UUID", e.ID, e.Device)
		}
	}
	for _, p := range s.Posts() {
		if p.Method != "POST" || p.ContentType != "text/plain;charset=UTF-8" || p.Key != "stw_ingest_test" || p.Origin != "http://"+shopHost+":"+port(s) {
			t.Errorf("post %+v: want a simple text/plain POST with the ingest key, and no preflight", p)
		}
	}

	// The next page applies the stored choice at once: no dialog, scripts in order.
	open(t, ctx, s)
	waitJS(t, ctx, `ran.length == 6`)
	if got := js[[]string](t, ctx, `ran`); !slices.Equal(got, want) {
		t.Errorf("with a stored choice ran %v, want %v", got, want)
	}
	if js[bool](t, ctx, dialogOpen) {
		t.Error("dialog shown despite a stored choice")
	}
}

func TestPlaceholderAllowsInPlace(t *testing.T) {
	s := serveBanner(t, nil)
	ctx := tab(t)
	open(t, ctx, s)
	click(t, ctx, `[data-a=reject]`)
	waitJS(t, ctx, `!(`+dialogOpen+`)`)
	frame := js[map[string]string](t, ctx, `(() => { const f = document.querySelector('iframe'), b = f.contentDocument.querySelector('button');
		return {title: f.title, lang: f.contentDocument.documentElement.lang, text: b.textContent, type: b.type} })()`)
	if frame["title"] != frame["text"] || frame["lang"] != "en" || frame["type"] != "button" {
		t.Errorf("placeholder %v", frame)
	}
	js[any](t, ctx, `document.querySelector('iframe').contentDocument.querySelector('button').click()`)
	waitJS(t, ctx, `document.querySelector('iframe').contentDocument?.getElementById('video')`)
	waitJS(t, ctx, `ran.includes('marketing-4')`)
	if got := js[map[string]bool](t, ctx, consentPurposes); !got["marketing"] || got["analytics"] {
		t.Errorf("after allowing in place: %v, want marketing only", got)
	}
	evs := s.waitEvents(t, 6)
	if got := actions(evs[3:]); !maps.Equal(got, map[string]string{"analytics": "deny", "marketing": "grant", "sale_of_data": "deny"}) {
		t.Errorf("events of the placeholder's choice %v", got)
	}
}

func TestRejectAllDeletesCookies(t *testing.T) {
	s := serveBanner(t, nil)
	ctx := tab(t)
	// Cookies that the analytics and marketing purposes' patterns match, on
	// the host and on the parent domain, and one they do not match.
	for _, c := range []struct{ name, domain string }{
		{"_ga", shopHost}, {"_ga_X1Y2", ".shop.test"}, {"_fbp", ".shop.test"}, {"_gcl_au", shopHost}, {"session", shopHost}, {"_gat", shopHost},
	} {
		if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: c.name, Value: "1", Domain: c.domain, Path: "/"}); err != nil {
			t.Fatal(err)
		}
	}
	open(t, ctx, s)
	click(t, ctx, `[data-a=reject]`)
	waitJS(t, ctx, `document.cookie.includes('stw_consent=')`)
	got := slices.Sorted(maps.Keys(cookies(t, ctx, s.Page)))
	want := []string{"_gat@" + shopHost, "session@" + shopHost, "stw_consent@" + shopHost}
	if !slices.Equal(got, want) {
		t.Errorf("cookies after Reject all: %v, want %v", got, want)
	}
	if got := js[[]string](t, ctx, `ran`); !slices.Equal(got, []string{"necessary"}) {
		t.Errorf("after Reject all ran %v", got)
	}
	evs := s.waitEvents(t, 3)
	if got := actions(evs); !maps.Equal(got, map[string]string{"analytics": "deny", "marketing": "deny", "sale_of_data": "deny"}) {
		t.Errorf("events %v", got)
	}
	// Withdrawal: grant, then reject; a cookie set meanwhile goes too.
	js[any](t, ctx, `Steward.open()`)
	click(t, ctx, `[data-a=accept]`)
	s.waitEvents(t, 6)
	js[any](t, ctx, `document.cookie = '_ga=2; path=/'`)
	js[any](t, ctx, `Steward.open()`)
	click(t, ctx, `[data-a=reject]`)
	evs = s.waitEvents(t, 9)
	if got := actions(evs[6:]); !maps.Equal(got, map[string]string{"analytics": "withdraw", "marketing": "withdraw", "sale_of_data": "withdraw"}) {
		t.Errorf("withdrawal events %v", got)
	}
	if c := cookies(t, ctx, s.Page); c["_ga@"+shopHost] != "" {
		t.Errorf("_ga survived the withdrawal: %v", c)
	}
}

func TestGlobalPrivacyControl(t *testing.T) {
	dnt := func(t *testing.T, ctx context.Context) {
		beforeLoad(t, ctx, `Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})`)
	}
	for _, c := range []struct {
		name      string
		honourDNT bool
		gpc       bool // the events' gpc field
		setup     func(t *testing.T, ctx context.Context)
	}{
		{"navigator", false, true, func(t *testing.T, ctx context.Context) {
			beforeLoad(t, ctx, `Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})`)
		}},
		{"Sec-GPC header", false, true, func(t *testing.T, ctx context.Context) {
			if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Sec-GPC": "1"}}); err != nil {
				t.Fatal(err)
			}
		}},
		{"DNT honoured", true, false, dnt},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := baseConfig(t)
			cfg["honourDnt"] = c.honourDNT
			s := serveBanner(t, cfg)
			ctx := tab(t)
			c.setup(t, ctx)
			open(t, ctx, s)
			waitJS(t, ctx, dialogOpen)
			st := js[map[string]any](t, ctx, `Steward.consent()`)
			if st["gpcHonoured"] != true || st["sale_of_data"] != false || st["decidedAt"] != nil {
				t.Errorf("consent before any interaction: %v", st)
			}
			if txt := js[string](t, ctx, `document.querySelector('#stw-g').textContent`); txt != "Your Global Privacy Control signal was honoured." {
				t.Errorf("GPC notice %q", txt)
			}
			if ids := js[string](t, ctx, `document.querySelector('[role=dialog]').getAttribute('aria-describedby')`); ids != "stw-x stw-g" {
				t.Errorf("aria-describedby %q", ids)
			}
			evs := s.waitEvents(t, 1)
			if len(evs) != 1 || evs[0].Source != "gpc" || evs[0].Action != "deny" || evs[0].Purpose != "sale_of_data" || evs[0].GPC != c.gpc || evs[0].DNT != !c.gpc {
				t.Errorf("GPC events %+v", evs)
			}

			// Once per device: the next page records nothing new.
			open(t, ctx, s)
			waitJS(t, ctx, dialogOpen)
			waitJS(t, ctx, `!localStorage['stw_consent.q'] || localStorage['stw_consent.q'] == '[]'`)

			// Accept all still keeps sale and sharing off; its switch is locked.
			click(t, ctx, `[data-a=custom]`)
			if got := js[[]bool](t, ctx, `(() => { const i = document.getElementById('stw-p-sale_of_data'); return [i.checked, i.disabled] })()`); !slices.Equal(got, []bool{false, true}) {
				t.Errorf("sale switch [checked disabled] = %v", got)
			}
			click(t, ctx, `[data-a=accept]`)
			evs = s.waitEvents(t, 4)
			if n := countBy(evs, func(e event) bool { return e.Source == "gpc" }); n != 1 {
				t.Errorf("%d gpc events, want 1 per device", n)
			}
			if got := actions(evs[1:]); !maps.Equal(got, map[string]string{"analytics": "grant", "marketing": "grant", "sale_of_data": "deny"}) {
				t.Errorf("Accept all under GPC: %v", got)
			}
		})
	}
}

func TestDNTIgnoredUnlessHonoured(t *testing.T) {
	s := serveBanner(t, nil)
	ctx := tab(t)
	beforeLoad(t, ctx, `Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})`)
	open(t, ctx, s)
	waitJS(t, ctx, dialogOpen)
	if js[bool](t, ctx, `!!document.getElementById('stw-g') || Steward.consent().gpcHonoured`) {
		t.Error("DNT acted as GPC although the property does not honour it")
	}
	click(t, ctx, `[data-a=accept]`)
	evs := s.waitEvents(t, 3)
	if countBy(evs, func(e event) bool { return e.Source == "gpc" }) != 0 || !evs[0].DNT || actions(evs)["sale_of_data"] != "grant" {
		t.Errorf("events %+v", evs)
	}
}

func TestKeyboardOnly(t *testing.T) {
	s := serveBanner(t, nil)
	ctx := tab(t)
	open(t, ctx, s)
	waitJS(t, ctx, dialogOpen)
	// The banner moves focus to the dialog after its first frame: on a
	// loaded machine that can be a while after the dialog opens.
	got := focused(t, ctx)
	for deadline := time.Now().Add(5 * time.Second); got != "div.stw-d" && time.Now().Before(deadline); got = focused(t, ctx) {
		time.Sleep(20 * time.Millisecond)
	}
	if got != "div.stw-d" {
		t.Fatalf("focus on %q after load, want the dialog", got)
	}
	walk := func(shift bool, want ...string) {
		t.Helper()
		var got []string
		for range want {
			press(t, ctx, kb.Tab, shift)
			got = append(got, focused(t, ctx))
		}
		if !slices.Equal(got, want) {
			t.Errorf("Tab (shift %v) went %v, want %v", shift, got, want)
		}
	}
	// First layer: the notice link and three buttons, trapped both ways.
	walk(false, "a", "accept", "reject", "custom", "a", "accept")
	walk(true, "a", "custom", "reject")
	press(t, ctx, kb.Escape, false)
	if !js[bool](t, ctx, dialogOpen) {
		t.Fatal("Escape dismissed the opt-in first layer without a choice")
	}
	// Customize with Enter opens the second layer.
	walk(false, "custom")
	press(t, ctx, kb.Enter, false)
	waitJS(t, ctx, `document.getElementById('stw-p-analytics')`)
	// The last stop is the link to the transparency page.
	walk(false, "back", "a", "stw-p-analytics", "summary", "stw-p-marketing", "summary", "stw-p-sale_of_data", "summary", "accept", "reject", "save", "a", "back")
	walk(true, "a", "save")
	// Space and Enter toggle switches.
	for range 4 {
		press(t, ctx, kb.Tab, false)
	}
	if got := focused(t, ctx); got != "stw-p-analytics" {
		t.Fatalf("focus on %q", got)
	}
	press(t, ctx, " ", false)
	walk(false, "summary", "stw-p-marketing")
	press(t, ctx, kb.Enter, false)
	press(t, ctx, kb.Enter, false)
	press(t, ctx, kb.Enter, false)
	if got := js[[]bool](t, ctx, `['analytics', 'marketing'].map(k => document.getElementById('stw-p-' + k).checked)`); !slices.Equal(got, []bool{true, true}) {
		t.Errorf("after Space on analytics and Enter ×3 on marketing: %v", got)
	}
	// Escape steps back to the first layer, onto Customize.
	press(t, ctx, kb.Escape, false)
	waitJS(t, ctx, `!document.getElementById('stw-p-analytics')`)
	if got := focused(t, ctx); got != "custom" {
		t.Errorf("after Escape focus on %q, want custom", got)
	}
	// Choose analytics only and save, with the keyboard alone.
	press(t, ctx, kb.Enter, false)
	waitJS(t, ctx, `document.getElementById('stw-p-analytics')`)
	for range 3 {
		press(t, ctx, kb.Tab, false)
	}
	press(t, ctx, " ", false)
	walk(true, "a", "back", "a", "save")
	press(t, ctx, kb.Enter, false)
	waitJS(t, ctx, `!(`+dialogOpen+`)`)
	if got := js[map[string]bool](t, ctx, consentPurposes); !maps.Equal(got, map[string]bool{"necessary": true, "analytics": true, "marketing": false, "sale_of_data": false}) {
		t.Errorf("saved %v", got)
	}
	// Now that a choice exists, Escape closes a reopened first layer.
	js[any](t, ctx, `Steward.open()`)
	waitJS(t, ctx, dialogOpen)
	press(t, ctx, kb.Escape, false)
	waitJS(t, ctx, `!(`+dialogOpen+`)`)
}

func TestGoogleConsentMode(t *testing.T) {
	s := serveBanner(t, nil)
	ctx := tab(t)
	open(t, ctx, s)
	type call struct {
		Command string
		Kind    string
		Params  map[string]any
	}
	calls := func(expr string) []call {
		var out []call
		for _, a := range js[[][]any](t, ctx, expr) {
			if len(a) == 3 && a[0] == "consent" {
				out = append(out, call{"consent", a[1].(string), a[2].(map[string]any)})
			}
		}
		return out
	}
	types := []string{"ad_personalization", "ad_storage", "ad_user_data", "analytics_storage", "functionality_storage", "personalization_storage", "security_storage"}
	atTag := calls(`dataLayerAtTag`)
	if len(atTag) != 1 || atTag[0].Kind != "default" {
		t.Fatalf("the Google tag saw %+v, want the default alone", atTag)
	}
	def := atTag[0].Params
	if def["wait_for_update"] != 500.0 {
		t.Errorf("wait_for_update %v", def["wait_for_update"])
	}
	delete(def, "wait_for_update")
	if got := slices.Sorted(maps.Keys(def)); !slices.Equal(got, types) {
		t.Errorf("default types %v", got)
	}
	for k, v := range def {
		if want := map[bool]string{true: "granted", false: "denied"}[k == "security_storage" || k == "functionality_storage"]; v != want {
			t.Errorf("default %s = %v, want %s", k, v, want)
		}
	}
	click(t, ctx, `[data-a=custom]`)
	click(t, ctx, `#stw-p-analytics`)
	click(t, ctx, `[data-a=save]`)
	all := calls(`dataLayer.map(a => Array.from(a))`)
	if len(all) != 2 || all[1].Kind != "update" {
		t.Fatalf("dataLayer %+v, want default then update", all)
	}
	for k, v := range all[1].Params {
		if want := map[bool]string{true: "granted", false: "denied"}[k == "security_storage" || k == "functionality_storage" || k == "analytics_storage"]; v != want {
			t.Errorf("update %s = %v, want %s", k, v, want)
		}
	}
	if len(all[1].Params) != 7 {
		t.Errorf("update has %d types, want 7", len(all[1].Params))
	}
	// With a stored choice the update comes before any Google tag.
	open(t, ctx, s)
	atTag = calls(`dataLayerAtTag`)
	if len(atTag) != 2 || atTag[0].Kind != "default" || atTag[1].Kind != "update" || atTag[1].Params["analytics_storage"] != "granted" {
		t.Errorf("with a stored choice the tag saw %+v", atTag)
	}
}

func TestOptOutRegime(t *testing.T) {
	cfg := baseConfig(t)
	cfg["regime"] = "opt_out"
	cfg["jurisdiction"] = "US-CA"
	s := serveBanner(t, cfg)
	ctx := tab(t)
	open(t, ctx, s)
	waitJS(t, ctx, dialogOpen)
	buttons := js[[]string](t, ctx, `[...document.querySelectorAll('#steward-banner .stw-b button')].map(b => b.textContent)`)
	if !slices.Equal(buttons, []string{"Do not sell or share my personal information", "Customize", "OK"}) {
		t.Errorf("opt-out notice buttons %v", buttons)
	}
	// Opt-out: processing runs until the visitor opts out.
	waitJS(t, ctx, `ran.length == 6`)
	if got := js[[]any](t, ctx, `dataLayerAtTag.map(a => a[1])`); !slices.Equal(got, []any{"default", "update"}) {
		t.Errorf("Consent Mode before the tag: %v", got)
	}
	click(t, ctx, `[data-a=dns]`)
	waitJS(t, ctx, `!(`+dialogOpen+`)`)
	if got := js[map[string]bool](t, ctx, consentPurposes); got["sale_of_data"] || !got["analytics"] || !got["marketing"] {
		t.Errorf("after Do not sell: %v", got)
	}
	evs := s.waitEvents(t, 3)
	if got := actions(evs); got["sale_of_data"] != "deny" || evs[0].Jurisdiction != "US-CA" {
		t.Errorf("events %+v", evs)
	}
	// The persistent button reopens the notice; Escape closes it and focus
	// returns to the button.
	waitJS(t, ctx, `!document.querySelector('.stw-re').hidden`)
	if txt := js[string](t, ctx, `document.querySelector('.stw-re').textContent`); txt != "Privacy choices" {
		t.Errorf("reopen button %q", txt)
	}
	click(t, ctx, `.stw-re`)
	waitJS(t, ctx, dialogOpen)
	press(t, ctx, kb.Escape, false)
	waitJS(t, ctx, `!(`+dialogOpen+`) && document.activeElement == document.querySelector('.stw-re')`)

	// A fresh visitor who only closes the notice is not asked again, and no
	// event is recorded for that.
	ctx2 := tab(t)
	open(t, ctx2, s)
	waitJS(t, ctx2, dialogOpen)
	press(t, ctx2, kb.Escape, false)
	waitJS(t, ctx2, `!(`+dialogOpen+`)`)
	open(t, ctx2, s)
	waitJS(t, ctx2, `!document.querySelector('.stw-re').hidden`)
	if js[bool](t, ctx2, dialogOpen) || len(s.Events()) != 3 {
		t.Errorf("notice shown again (%v) or events recorded for closing it (%d)", js[bool](t, ctx2, dialogOpen), len(s.Events()))
	}
	// That notice is no consent where opt-in applies.
	s.setConfig(func(cfg map[string]any) { cfg["regime"] = "opt_in" })
	open(t, ctx2, s)
	waitJS(t, ctx2, dialogOpen)
}

func TestAsksAgain(t *testing.T) {
	s := serveBanner(t, nil)
	ctx := tab(t)
	open(t, ctx, s)
	click(t, ctx, `[data-a=accept]`)
	waitJS(t, ctx, `document.cookie.includes('stw_consent=')`)
	value := js[string](t, ctx, `document.cookie.match(/stw_consent=([^;]*)/)[1]`)
	parts := strings.Split(value, "|")
	if len(parts) != 5 || parts[0] != "2026-11" || parts[3] != "i" || parts[4] != "analytics:1/marketing:1/sale_of_data:1" {
		t.Errorf("cookie %q: want version|time|device|i|key:1/...", value)
	}
	if ts, err := strconv.ParseInt(parts[1], 36, 64); err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
		t.Errorf("cookie time %q", parts[1])
	}

	// A minor notice change keeps the choice; a material one asks again.
	s.setConfig(func(cfg map[string]any) {
		cfg["notice"] = map[string]any{"version": "2026-12", "url": "https://shop.example/privacy", "material": false}
	})
	open(t, ctx, s)
	if js[bool](t, ctx, dialogOpen) {
		t.Error("asked again after a minor notice change")
	}
	s.setConfig(func(cfg map[string]any) { cfg["notice"].(map[string]any)["material"] = true })
	open(t, ctx, s)
	waitJS(t, ctx, dialogOpen)
	if got := js[[]string](t, ctx, `ran`); !slices.Equal(got, []string{"necessary"}) {
		t.Errorf("after a material change ran %v before the new choice", got)
	}

	// After maxAgeDays.
	old := strconv.FormatInt(time.Now().AddDate(0, 0, -400).Unix(), 36)
	js[any](t, ctx, `document.cookie = 'stw_consent=2026-12|`+old+`|`+parts[2]+`|i|analytics:1/marketing:1/sale_of_data:1; path=/'`)
	open(t, ctx, s)
	waitJS(t, ctx, dialogOpen)
	// A new purpose asks again too.
	fresh := strconv.FormatInt(time.Now().Unix(), 36)
	js[any](t, ctx, `document.cookie = 'stw_consent=2026-12|`+fresh+`|`+parts[2]+`|i|analytics:1/marketing:1; path=/'`)
	open(t, ctx, s)
	waitJS(t, ctx, dialogOpen)
	js[any](t, ctx, `document.cookie = 'stw_consent=2026-12|`+fresh+`|`+parts[2]+`|i|analytics:1/marketing:0/sale_of_data:0; path=/'`)
	open(t, ctx, s)
	if js[bool](t, ctx, dialogOpen) {
		t.Error("asked again with a current, complete cookie")
	}
	if got := js[map[string]any](t, ctx, `Steward.consent()`); got["deviceId"] != parts[2] || got["decidedAt"] == nil {
		t.Errorf("consent from the cookie: %v", got)
	}
}

func TestLanguages(t *testing.T) {
	for _, c := range []struct {
		accept, lang, dir, acceptAll, purpose string
		change                                func(cfg map[string]any)
	}{
		{"de-DE,de;q=0.9,en;q=0.8", "de", "ltr", "Alle akzeptieren", "Statistik", nil},
		{"fr-CH,fr;q=0.9", "fr", "ltr", "Tout accepter", "Statistiques", nil},
		{"es", "es", "ltr", "Aceptar todo", "Analítica", nil},
		{"it-IT,it;q=0.9", "en", "ltr", "Accept all", "Analytics", nil},
		{"ar-EG,ar", "ar", "rtl", "قبول الكل", "التحليلات", func(cfg map[string]any) {
			cfg["languages"] = []any{"en", "ar"}
			cfg["texts"] = map[string]any{"ar": arabicTexts}
			purposeOf(cfg, "analytics")["name"].(map[string]any)["ar"] = "التحليلات"
		}},
		// Without texts for a language, it is not offered.
		{"he", "en", "ltr", "Accept all", "Analytics", func(cfg map[string]any) { cfg["languages"] = []any{"en", "he"} }},
	} {
		t.Run(c.lang+"/"+c.accept, func(t *testing.T) {
			cfg := baseConfig(t)
			if c.change != nil {
				c.change(cfg)
			}
			s := serveBanner(t, cfg)
			ctx := tab(t)
			acceptLanguage(t, ctx, c.accept)
			open(t, ctx, s)
			waitJS(t, ctx, dialogOpen)
			got := js[map[string]string](t, ctx, `(() => { const d = document.querySelector('[role=dialog]');
				return {lang: d.lang, dir: d.dir, accept: d.querySelector('[data-a=accept]').textContent, intro: d.querySelector('#stw-x').textContent} })()`)
			if got["lang"] != c.lang || got["dir"] != c.dir || got["accept"] != c.acceptAll || !strings.Contains(got["intro"], c.purpose) {
				t.Errorf("got %v, want lang %s dir %s, %q and %q", got, c.lang, c.dir, c.acceptAll, c.purpose)
			}
		})
	}
}

var arabicTexts = map[string]any{
	"title": "خيارات الخصوصية", "intro": "نستخدم نحن وشركاؤنا ملفات تعريف الارتباط من أجل: {p}.", "later": "يمكنك تغيير ذلك في أي وقت.",
	"notice": "إشعار الخصوصية", "accept": "قبول الكل", "reject": "رفض الكل", "custom": "تخصيص", "save": "حفظ الخيارات", "back": "رجوع",
}

func TestEventsRetryAndReceipts(t *testing.T) {
	s := serveBanner(t, nil)
	ctx := tab(t)
	s.failNextPosts(1)
	// A first visit leaves localStorage alone (its first read is a
	// synchronous load of the whole store): only a choice queues events.
	beforeLoad(t, ctx, `{const ls = localStorage; window.storageReads = 0;
		Object.defineProperty(window, 'localStorage', {get() { storageReads++; return ls }})}`)
	open(t, ctx, s)
	if n := js[int](t, ctx, `new Promise(r => setTimeout(() => r(storageReads), 300))`); n != 0 {
		t.Errorf("a first visit read localStorage %d times", n)
	}
	click(t, ctx, `[data-a=reject]`)
	waitJS(t, ctx, `JSON.parse(localStorage['stw_consent.q'] || '[]').length == 3`)
	waitFor(t, func() bool { return len(s.Posts()) == 1 })
	if p := s.Posts(); p[0].Status != 503 || len(s.Events()) != 0 || js[int](t, ctx, `JSON.parse(localStorage['stw_consent.q']).length`) != 3 {
		t.Fatalf("after a failed post: %+v, %d events", p, len(s.Events()))
	}
	queued := js[[]string](t, ctx, `JSON.parse(localStorage['stw_consent.q']).map(e => e.id)`)
	// The next page sends them again, with the same ids.
	open(t, ctx, s)
	evs := s.waitEvents(t, 3)
	if got := []string{evs[0].ID, evs[1].ID, evs[2].ID}; !slices.Equal(got, queued) {
		t.Errorf("retried ids %v, want %v", got, queued)
	}
	waitJS(t, ctx, `JSON.parse(localStorage['stw_consent.r'] || '[]').length == 3 && localStorage['stw_consent.q'] == '[]'`)

	// The receipts download from the preferences.
	dir := t.TempDir()
	bctx := chromedp.FromContext(ctx).BrowserContextID
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: bctx, DownloadPath: dir, EventsEnabled: new(true)}); err != nil {
		t.Fatal(err)
	}
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	js[any](t, ctx, `Steward.open()`)
	click(t, ctx, `[data-a=custom]`)
	click(t, ctx, `[data-a=rcpt]`)
	var file string
	for ev, err := range progress {
		if err != nil {
			t.Fatal(err)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			file = filepath.Join(dir, ev.GUID)
			break
		}
	}
	var got struct {
		Property string
		Device   string
		Receipts []struct{ ID, Receipt string }
	}
	if err := json.Unmarshal(mustRead(t, file), &got); err != nil {
		t.Fatal(err)
	}
	if got.Property != "demo" || got.Device != evs[0].Device || len(got.Receipts) != 3 || got.Receipts[0].ID != queued[0] || strings.Count(got.Receipts[0].Receipt, ".") != 2 {
		t.Errorf("receipts file %+v", got)
	}
}

// TestBeaconWhenHidden: a choice made as the page is hidden goes as a
// beacon; its events stay queued, and the next page sends them again with
// the same ids to get their receipts.
func TestBeaconWhenHidden(t *testing.T) {
	s := serveBanner(t, nil)
	ctx := tab(t)
	open(t, ctx, s)
	js[any](t, ctx, `Object.defineProperty(document, 'visibilityState', {get: () => 'hidden'}); window.fetch = () => { throw new Error('fetch used') }`)
	click(t, ctx, `[data-a=accept]`)
	evs := s.waitEvents(t, 3)
	if p := s.Posts(); len(p) != 1 || p[0].ContentType != "text/plain;charset=UTF-8" {
		t.Errorf("beacon posts %+v", p)
	}
	waitJS(t, ctx, `JSON.parse(localStorage['stw_consent.q'] || '[]').length == 3 && !localStorage['stw_consent.r']`)
	open(t, ctx, s)
	waitJS(t, ctx, `JSON.parse(localStorage['stw_consent.r'] || '[]').length == 3 && localStorage['stw_consent.q'] == '[]'`)
	if got := s.Events(); len(got) != 3 || got[0].ID != evs[0].ID || len(s.Posts()) != 2 {
		t.Errorf("after the resend: %d events, %d posts", len(got), len(s.Posts()))
	}
}

func TestJavaScriptAPI(t *testing.T) {
	s := serveBanner(t, nil)
	ctx := tab(t)
	open(t, ctx, s)
	js[any](t, ctx, `window.changes = []; Steward.on('change', c => changes.push(c)); window.readyWith = null;
		Steward.ready.then(c => readyWith = c); 0`)
	// The choices, as the integration guide shows them, and metadata under
	// camelCase names, which no purpose key can take.
	st := js[map[string]any](t, ctx, `Steward.consent()`)
	want := map[string]any{"necessary": true, "analytics": false, "marketing": false, "sale_of_data": false,
		"decidedAt": nil, "gpcHonoured": false, "deviceId": nil}
	if !maps.Equal(st, want) {
		t.Errorf("consent() before a choice: %v, want %v", st, want)
	}
	if js[any](t, ctx, `readyWith`) != nil {
		t.Error("ready resolved before a choice")
	}
	click(t, ctx, `[data-a=custom]`)
	click(t, ctx, `#stw-p-marketing`)
	click(t, ctx, `[data-a=save]`)
	waitJS(t, ctx, `changes.length == 1 && readyWith`)
	got := js[map[string]any](t, ctx, `changes[0]`)
	if got["marketing"] != true || got["analytics"] != false || got["decidedAt"] == nil || got["deviceId"] == nil {
		t.Errorf("change %v", got)
	}
	if again := js[map[string]any](t, ctx, `Steward.consent()`); !maps.Equal(again, got) {
		t.Errorf("consent() %v after the change %v", again, got)
	}
	// The only globals besides Steward are Google's dataLayer and gtag.
	globals := js[[]string](t, ctx, `Object.keys(window).filter(k => !globalsBefore.includes(k) && isNaN(k) &&
		!['globalsBefore', 'ran', 'cls', 'longTasks', 'dclBefore', 'dclAfter', 'afterBanner', 'dataLayerAtTag', 'changes', 'readyWith'].includes(k))`)
	if !slices.Equal(slices.Sorted(slices.Values(globals)), []string{"Steward", "dataLayer", "gtag"}) {
		t.Errorf("globals %v", globals)
	}
}

func TestTCFHook(t *testing.T) {
	tcfConfig := func(script string) map[string]any {
		cfg := baseConfig(t)
		cfg["tcf"] = map[string]any{"cmpId": 300, "cmpVersion": 1, "publisherCC": "DE", "gvlUrl": "/tcf/vendor-list.json", "script": script,
			"vendorIds": []int{1, 2}, "purposeIds": []int{1, 2, 3}, "specialFeatureIds": []int{}, "consentLanguage": "EN",
			"purposeMap": map[string][]int{"analytics": {1, 7, 8}, "marketing": {1, 2, 3, 4}}}
		return cfg
	}
	t.Run("hooks", func(t *testing.T) {
		s := serveBanner(t, tcfConfig("/fake-tcf.js"))
		ctx := tab(t)
		open(t, ctx, s)
		waitJS(t, ctx, `window.tcfCalls && tcfCalls.length >= 2`)
		click(t, ctx, `[data-a=accept]`)
		evs := s.waitEvents(t, 3)
		for _, e := range evs {
			if e.TCString != "TC.apply" {
				t.Errorf("event %s tc_string %q", e.Purpose, e.TCString)
			}
		}
		calls := js[[][]any](t, ctx, `tcfCalls.map(c => c.slice(0, 1).concat(c[1] === undefined ? [] : [c[1]]))`)
		if len(calls) != 3 || calls[0][0] != "init" || calls[0][1] != 300.0 || calls[1][0] != "uiShown" || calls[2][0] != "apply" {
			t.Errorf("calls %v", calls)
		}
		// Closed again without a choice: uiHidden. A later page with a
		// choice tells tcf.js at load.
		js[any](t, ctx, `Steward.open()`)
		press(t, ctx, kb.Escape, false)
		waitJS(t, ctx, `tcfCalls.some(c => c[0] == 'uiHidden')`)
		open(t, ctx, s)
		waitJS(t, ctx, `tcfCalls.some(c => c[0] == 'loaded')`)
	})
	t.Run("tcf.js", func(t *testing.T) {
		s := serveBanner(t, tcfConfig("/banner-tcf.js?v=1"))
		ctx := tab(t)
		open(t, ctx, s)
		waitJS(t, ctx, `typeof __tcfapi == 'function'`)
		click(t, ctx, `[data-a=reject]`)
		evs := s.waitEvents(t, 3)
		if evs[0].TCString == "" || evs[0].TCString != evs[2].TCString {
			t.Errorf("events carry TC strings %q, %q", evs[0].TCString, evs[2].TCString)
		}
	})
	t.Run("broken", func(t *testing.T) {
		s := serveBanner(t, tcfConfig("/missing-tcf.js"))
		ctx := tab(t)
		open(t, ctx, s)
		waitJS(t, ctx, dialogOpen)
		click(t, ctx, `[data-a=accept]`)
		evs := s.waitEvents(t, 3)
		if evs[0].TCString != "" {
			t.Errorf("tc_string %q without tcf.js", evs[0].TCString)
		}
	})
}

// TestPerformance measures the banner's main-thread work from traces of
// page loads, and asserts no layout shift.
func TestPerformance(t *testing.T) {
	s := serveBanner(t, nil)
	ctx := tab(t)
	open(t, ctx, s) // warm the caches
	var wall, thread []float64
	for range 9 {
		w, th := traceLoad(t, ctx, s.Page)
		wall, thread = append(wall, w), append(thread, th)
	}
	median := func(v []float64) float64 { v = slices.Sorted(slices.Values(v)); return v[len(v)/2] }
	t.Logf("banner main-thread time per first visit, median of 9 traced loads: %.1f ms of its tasks' duration (%.1f to %.1f ms), "+
		"%.1f ms of main-thread processor time (%.1f to %.1f ms); its own code with the style and layout it forces",
		median(wall), slices.Min(wall), slices.Max(wall), median(thread), slices.Min(thread), slices.Max(thread))
	// The budget is 10 ms. The figures are reported, not asserted: a loaded
	// machine (software rendering, two cores shared with other tests and
	// Chromium's other processes) stretches the durations; a timed test
	// would fail on a slow day, not on a regression. Rerun alone for them:
	//	go test -run TestPerformance -v ./internal/web/banner/

	// Layout shift: none for the dialog, the choice, or the iframe that
	// replaces its placeholder in the same box.
	open(t, ctx, s)
	waitJS(t, ctx, dialogOpen)
	click(t, ctx, `[data-a=accept]`)
	waitJS(t, ctx, `document.querySelector('iframe').contentDocument?.getElementById('video')`)
	js[any](t, ctx, `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))`)
	if cls := js[float64](t, ctx, `cls`); cls != 0 {
		t.Errorf("cumulative layout shift %v, want 0", cls)
	}
	// Long tasks are the page's as much as the banner's, and a loaded
	// machine makes them: reported, not asserted.
	t.Logf("cumulative layout shift 0; long tasks (ms) during the load and the choice: %v", js[[]float64](t, ctx, `longTasks`))
}

// traceEvent is an event of Chrome's trace (the Trace Event Format).
type traceEvent struct {
	Name string  `json:"name"`
	Ph   string  `json:"ph"`
	Ts   float64 `json:"ts"`
	Dur  float64 `json:"dur"`
	Tdur float64 `json:"tdur"`
	Tid  int     `json:"tid"`
	Args struct {
		Data struct {
			URL string `json:"url"`
		} `json:"data"`
	} `json:"args"`
}

// traceLoad loads url under a trace, waits until the page is idle, and
// returns the milliseconds the main thread spent in the banner's code: its
// evaluation and every call into it (observer, DOMContentLoaded, timers),
// with the style and layout they force. wall is the tasks' duration, as the
// Performance panel shows it; thread is the processor time the main thread
// had in them (the trace's tdur), which leaves out the time the operating
// system gave its core to another process.
func traceLoad(t *testing.T, ctx context.Context, url string) (wall, thread float64) {
	t.Helper()
	complete := make(chan *tracing.EventTracingComplete, 1)
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	if err := chromedp.Listen(lctx, func(ev any) {
		if e, ok := ev.(*tracing.EventTracingComplete); ok {
			complete <- e
		}
	}); err != nil {
		t.Fatal(err)
	}
	// devtools.timeline alone: it holds the script, style and layout events
	// counted here; v8.execute would add an event to every call into V8 and
	// inflate the figure it measures. The trace comes as a stream once
	// tracing ends, so that sending and parsing it does not take processor
	// time from the page while it loads.
	if _, err := chromedp.Call(ctx, tracing.Start, tracing.StartParams{TransferMode: tracing.StartTransferModeReturnAsStream,
		StreamFormat: tracing.StreamFormatJSON,
		TraceConfig:  &tracing.TraceConfig{IncludedCategories: []string{"devtools.timeline"}}}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Navigate(url))
	// Let the deferred work (placeholders, the idle retry) run too.
	js[any](t, ctx, `new Promise(r => requestIdleCallback(() => setTimeout(r, 50)))`)
	if _, err := chromedp.Call(ctx, tracing.End, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	var done *tracing.EventTracingComplete
	select {
	case done = <-complete:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	var data []byte
	for {
		chunk, err := chromedp.Call(ctx, cdpio.Read, cdpio.ReadParams{Handle: done.Stream})
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, chunk.Data...)
		if chunk.EOF {
			break
		}
	}
	_, _ = chromedp.Call(ctx, cdpio.Close, cdpio.CloseParams{Handle: done.Stream})
	var trace struct {
		TraceEvents []traceEvent `json:"traceEvents"`
	}
	if err := json.Unmarshal(data, &trace); err != nil {
		t.Fatalf("trace: %v", err)
	}
	var evs []traceEvent
	for _, e := range trace.TraceEvents {
		if e.Ph == "X" {
			evs = append(evs, e)
		}
	}
	slices.SortFunc(evs, func(a, b traceEvent) int { return cmp.Compare(a.Ts, b.Ts) })
	main := -1
	for _, e := range evs {
		if e.Name == "ParseHTML" {
			main = e.Tid
		}
	}
	var end float64
	for _, e := range evs {
		if e.Tid == main && strings.Contains(e.Args.Data.URL, "/banner.js") && e.Ts+e.Dur > end { // not nested in one counted
			end = e.Ts + e.Dur
			wall += e.Dur / 1000
			thread += e.Tdur / 1000
		}
	}
	return wall, thread
}

// TestScreenshots saves both layers, the opt-out notice and a right-to-left
// dialog to the artifact directory (STEWARD_ARTIFACTS, or a temporary one)
// and to /tmp/steward-shots for a person to look at.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("STEWARD_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	dirs := []string{filepath.Join(dir, "banner"), "/tmp/steward-shots"}
	save := func(ctx context.Context, name string) {
		t.Helper()
		js[any](t, ctx, `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))`)
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dirs {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	shoot := func(name string, cfg map[string]any, lang string, width, height int64, steps func(ctx context.Context)) {
		s := serveBanner(t, cfg)
		ctx := tab(t)
		do(t, ctx, chromedp.EmulateViewport(width, height))
		reduceMotion(t, ctx) // no fade to wait for
		if lang != "" {
			acceptLanguage(t, ctx, lang)
		}
		open(t, ctx, s)
		waitJS(t, ctx, dialogOpen)
		if steps != nil {
			steps(ctx)
		}
		save(ctx, name)
	}
	shoot("first-layer", nil, "", 1280, 800, nil)
	shoot("second-layer", nil, "", 1280, 800, func(ctx context.Context) {
		click(t, ctx, `[data-a=custom]`)
		js[any](t, ctx, `document.querySelector('details').open = true`)
	})
	shoot("second-layer-mobile-de", nil, "de", 390, 844, func(ctx context.Context) { click(t, ctx, `[data-a=custom]`) })
	optOut := baseConfig(t)
	optOut["regime"] = "opt_out"
	shoot("opt-out-notice-fr", optOut, "fr", 1280, 800, nil)
	shoot("opt-out-reopen", optOut, "", 1280, 800, func(ctx context.Context) {
		click(t, ctx, `[data-a=ok]`)
		waitJS(t, ctx, `!document.querySelector('.stw-re').hidden`)
	})
	rtl := baseConfig(t)
	rtl["languages"] = []any{"en", "ar"}
	rtl["texts"] = map[string]any{"ar": arabicTexts}
	shoot("second-layer-rtl", rtl, "ar", 1280, 800, func(ctx context.Context) { click(t, ctx, `[data-a=custom]`) })
	t.Logf("screenshots in %s and /tmp/steward-shots", dirs[0])
}

// TestScriptSize reports the gzipped sizes against the 7 KB budget and
// stops banner.js from growing unnoticed: the demo property's banner as
// served in one language is at most 7,168 bytes gzipped.
func TestScriptSize(t *testing.T) {
	source := mustRead(t, "assets/banner.js")
	script, _ := minified(t)
	cfg := baseConfig(t)
	cfg["languages"] = []any{"en"}
	for _, p := range cfg["purposes"].([]any) {
		for _, field := range []string{"name", "description"} {
			m := p.(map[string]any)[field].(map[string]any)
			maps.DeleteFunc(m, func(lang string, _ any) bool { return lang != "en" })
		}
	}
	cfgJSON, _ := json.Marshal(cfg)
	served := banner.Wrap(cfgJSON, script, nil)
	alone, whole := gzipSize(t, script), gzipSize(t, served)
	t.Logf("banner.js: %d bytes (%d gzipped), minified %d bytes, %d gzipped; served with the demo property's configuration in English: %d gzipped (configuration and wrapper %d)",
		len(source), gzipSize(t, source), len(script), alone, whole, whole-alone)
	// Room for small fixes, not for features: a new feature must make room.
	if alone > 6500 {
		t.Errorf("banner.js minified is %d bytes gzipped: over its 6,500-byte allowance (see assets/banner.md on the budget)", alone)
	}
	if whole > 7168 {
		t.Errorf("the demo property's banner.js as served in one language is %d bytes gzipped: over the 7,168-byte budget", whole)
	}
}

func gzipSize(t *testing.T, b []byte) int {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Len()
}

func uuidLike(s string) bool {
	if len(s) != 36 || s[14] != '4' {
		return false
	}
	for i, c := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

func port(s *site) string {
	u, _ := url.Parse(s.Page)
	return u.Port()
}
