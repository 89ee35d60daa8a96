package banner_test

// Browser tests of assets/tcf.js, the IAB TCF v2.3 part of the banner: the
// __tcfapi commands, the stub queue, calls from a cross-origin iframe
// through __tcfapiLocator, and TC strings that the Go codec (internal/tcf)
// decodes to exactly the expected signals. They drive Debian's Chromium
// with chromedp against a small harness: an httptest server serving a test
// page, tcf.js (minified, as the server serves it) and the synthetic vendor
// list in testdata/tcf/.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/tcf"
	"github.com/steward-dev/steward/internal/web/banner"
)

const (
	tcfScriptFile = "assets/tcf.js"
	tcfGVLFile    = "testdata/tcf/vendor-list.json"
	tcfMaxGzip    = 15 << 10
	// Facts of the synthetic vendor list.
	tcfGVLVersion    = 27
	tcfGVLPolicy     = 5
	tcfGVLVendorKeys = 11
)

func TestTCFScriptSize(t *testing.T) {
	body, err := os.ReadFile(tcfScriptFile)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	w.Write(body)
	w.Close()
	t.Logf("%s: %d bytes, %d bytes gzipped", tcfScriptFile, len(body), gz.Len())
	if gz.Len() > tcfMaxGzip {
		t.Errorf("%s is %d bytes gzipped; the budget is %d", tcfScriptFile, gz.Len(), tcfMaxGzip)
	}
}

// tcfHarness serves the test pages. site serves /page, /tcf.js and
// /vendor-list.json; frames, on another origin, serves /frame, a page that
// calls the CMP of its parent with postMessage as the CMP API specification
// describes.
type tcfHarness struct {
	site, frames *httptest.Server
	gvlHits      atomic.Int64
}

func newTCFHarness(t *testing.T) *tcfHarness {
	t.Helper()
	h := &tcfHarness{}
	h.frames = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, tcfFramePage)
	}))
	t.Cleanup(h.frames.Close)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tcf.js", func(w http.ResponseWriter, r *http.Request) {
		// As the server serves it: minified.
		_, body, err := banner.Scripts()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(body)
	})
	mux.HandleFunc("GET /tcf/vendor-list.json", func(w http.ResponseWriter, r *http.Request) {
		h.gvlHits.Add(1)
		body, err := os.ReadFile(tcfGVLFile)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(body)
	})
	mux.HandleFunc("GET /page", h.page)
	mux.HandleFunc("GET /favicon.ico", http.NotFound)
	h.site = httptest.NewServer(mux)
	t.Cleanup(h.site.Close)
	return h
}

// config returns the banner configuration C of a test page (CONTRACT.md):
// "small" lists vendors with low ids, "wide" vendors with ids up to 741,
// "mapped" adds a purposeMap, "us" is a visitor outside the GDPR and
// "elsewhere" names a vendor list on another host.
func (h *tcfHarness) config(name, property string) map[string]any {
	purposes := []map[string]any{
		{"key": "necessary", "necessary": true},
		{"key": "analytics", "necessary": false},
		{"key": "ads", "necessary": false},
		{"key": "personalisation", "necessary": false},
	}
	t := map[string]any{
		"cmpId": 300, "cmpVersion": 7, "publisherCC": "FR", "gvlUrl": "/tcf/vendor-list.json",
		"script": "/tcf.js", "vendorIds": []int{12, 1, 2, 4, 6, 8, 9, 11},
		"purposeIds": []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, "specialFeatureIds": []int{1, 2},
		"purposeMap": map[string][]int{}, "consentLanguage": "DE",
	}
	c := map[string]any{
		"v": 1, "api": h.site.URL, "property": property, "key": "stw_ingest_test", "jurisdiction": "FR",
		"regime": "opt_in", "maxAgeDays": 365, "purposes": purposes, "tcf": t,
	}
	switch name {
	case "small":
	case "wide":
		t["vendorIds"] = []int{741, 1, 2, 300, 740}
	case "mapped":
		t["purposeMap"] = map[string][]int{
			"necessary": {1}, // necessary purposes grant nothing in TCF
			"analytics": {1, 7, 8, 9, 10}, "ads": {1, 2, 3, 4, 7}, "personalisation": {1, 5, 6, 11},
		}
	case "us":
		c["jurisdiction"], c["regime"] = "US-CA", "opt_out"
	case "elsewhere":
		t["gvlUrl"] = "//vendorlist.example.test/vendor-list.json"
	default:
		panic("unknown test config " + name)
	}
	return c
}

// page serves /page?cfg=NAME&prop=PROPERTY[&stub=1][&frame=1]. With stub=1
// the page installs a CMP stub and calls __tcfapi before tcf.js loads (in
// the body); without it tcf.js loads in the head, before the body exists.
func (h *tcfHarness) page(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cfg, err := json.Marshal(h.config(q.Get("cfg"), q.Get("prop")))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	stub := q.Get("stub") == "1"
	init := `<script>
window.clone = function (v) { return v === undefined ? undefined : JSON.parse(JSON.stringify(v)); };
window.prev = null; window.events = []; window.frameLog = [];
window.addEventListener('message', function (e) { if (e.data && e.data.stwFrameLog) frameLog.push(e.data.stwFrameLog); });
var C = ` + string(cfg) + `;
</script>
<script src="/tcf.js"></script>
<script>
window.tcf = StewardTCF.init(C, {getChoices: function () { return window.prev; }});
__tcfapi('addEventListener', 2, function (d, ok) { events.push({d: clone(d), ok: ok}); });
</script>
`
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><meta charset=\"utf-8\"><title>tcf</title>\n")
	if stub {
		b.WriteString("<script>" + tcfStub + "</script>\n")
		b.WriteString(`<script>
window.early = [];
__tcfapi('ping', 2, function (p) { early.push({cmd: 'ping', d: JSON.parse(JSON.stringify(p))}); });
__tcfapi('addEventListener', 2, function (d, ok) { early.push({cmd: 'addEventListener', d: JSON.parse(JSON.stringify(d)), ok: ok}); });
__tcfapi('getTCData', 2, function (d, ok) { early.push({cmd: 'getTCData', d: JSON.parse(JSON.stringify(d)), ok: ok}); });
__tcfapi('getTCData', 2, function (d, ok) { early.push({cmd: 'getTCData [2, 5]', d: JSON.parse(JSON.stringify(d)), ok: ok}); }, [2, 5]);
</script>
`)
	} else {
		b.WriteString(init)
	}
	b.WriteString("</head><body><p>Test page</p>\n")
	if stub {
		b.WriteString(init)
	}
	if q.Get("frame") == "1" {
		b.WriteString(`<iframe id="child" src="` + h.frames.URL + `/frame"></iframe>` + "\n")
	}
	b.WriteString("</body></html>\n")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, b.String())
}

// tcfStub is a CMP stub as the CMP API specification requires one: a
// queuing __tcfapi that answers ping and returns its queue when called
// without arguments, the __tcfapiLocator frame, and a postMessage handler
// that proxies calls to whatever __tcfapi is current.
const tcfStub = `(function () {
  var queue = [];
  function addLocator() {
    if (window.frames.__tcfapiLocator) return;
    if (!document.body) { setTimeout(addLocator, 5); return; }
    var f = document.createElement('iframe');
    f.name = '__tcfapiLocator';
    f.style.display = 'none';
    document.body.appendChild(f);
  }
  addLocator();
  window.__tcfapi = function () {
    var args = Array.prototype.slice.call(arguments);
    if (!args.length) return queue;
    if (args[0] === 'ping') {
      args[2]({gdprApplies: undefined, cmpLoaded: false, cmpStatus: 'stub', displayStatus: 'hidden', apiVersion: '2.3'}, true);
      return;
    }
    queue.push(args);
  };
  window.addEventListener('message', function (event) {
    var json = typeof event.data === 'string', msg;
    try { msg = json ? JSON.parse(event.data) : event.data; } catch (e) { return; }
    var call = msg && msg.__tcfapiCall;
    if (!call) return;
    window.__tcfapi(call.command, call.version, function (returnValue, success) {
      var reply = {__tcfapiReturn: {returnValue: returnValue, success: success, callId: call.callId}};
      event.source.postMessage(json ? JSON.stringify(reply) : reply, '*');
    }, call.parameter);
  }, false);
})();`

// tcfFramePage finds the frame that holds __tcfapiLocator among its
// ancestors and talks to the CMP there: ping as an object message (c1),
// ping as a JSON string (c2), addEventListener (c3). It forwards every
// reply to its parent as {stwFrameLog: reply}, and on {stwDo: 'remove',
// listenerId} removes the listener (c4); on {stwDo: 'fence'} it pings again
// (c5): the CMP answers messages in order, so once c5's answer is in, every
// answer to the calls before it is in too.
const tcfFramePage = `<!doctype html><html><head><meta charset="utf-8"></head><body><script>
(function () {
  var cmp = null, f = window;
  while (f) {
    try { if (f.frames.__tcfapiLocator) { cmp = f; break; } } catch (e) {}
    if (f === window.top) break;
    f = f.parent;
  }
  function call(id, command, parameter, asJSON) {
    var msg = {__tcfapiCall: {command: command, version: 2, parameter: parameter, callId: id}};
    cmp.postMessage(asJSON ? JSON.stringify(msg) : msg, '*');
  }
  window.addEventListener('message', function (e) {
    var d = e.data;
    if (d && d.stwDo === 'remove') { call('c4', 'removeEventListener', d.listenerId); return; }
    if (d && d.stwDo === 'fence') { call('c5', 'ping'); return; }
    if (typeof d === 'string') { try { d = JSON.parse(d); d.__tcfapiReturn.json = true; } catch (x) { return; } }
    if (d && d.__tcfapiReturn) parent.postMessage({stwFrameLog: d.__tcfapiReturn}, '*');
  });
  if (!cmp) { parent.postMessage({stwFrameLog: {callId: 'none'}}, '*'); return; }
  call('c1', 'ping');
  call('c2', 'ping', undefined, true);
  call('c3', 'addEventListener');
})();
</script></body></html>`

// newTCFBrowser returns the test binary's browser, or skips the test.
func newTCFBrowser(t *testing.T) context.Context {
	t.Helper()
	return chromium.Context(t)
}

// tcfTab opens a tab on the page and waits until tcf.js is initialised.
func tcfTab(t *testing.T, browser context.Context, url string) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	// The first action on a context opens its tab, which lives as long as
	// the context of that action: give it no timeout.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	tcfGo(t, tab, url)
	return tab
}

func tcfGo(t *testing.T, tab context.Context, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!window.tcf`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("%s: tcf.js did not initialise: %v", url, err)
	}
}

// tcfEval evaluates expr in the tab, awaiting a promise it returns, and
// decodes the result.
func tcfEval[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// tcfWait polls until expr is truthy and returns its value.
func tcfWait[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("waiting for %s: %v", expr, err)
	}
	return v
}

type tcfPingReturn struct {
	GDPRApplies      *bool  `json:"gdprApplies"`
	CmpLoaded        bool   `json:"cmpLoaded"`
	CmpStatus        string `json:"cmpStatus"`
	DisplayStatus    string `json:"displayStatus"`
	APIVersion       string `json:"apiVersion"`
	CmpVersion       int    `json:"cmpVersion"`
	CmpID            int    `json:"cmpId"`
	GVLVersion       *int   `json:"gvlVersion"`
	TCFPolicyVersion int    `json:"tcfPolicyVersion"`
}

type tcfData struct {
	TCString            string `json:"tcString"`
	TCFPolicyVersion    int    `json:"tcfPolicyVersion"`
	CmpID               int    `json:"cmpId"`
	CmpVersion          int    `json:"cmpVersion"`
	GDPRApplies         *bool  `json:"gdprApplies"`
	EventStatus         string `json:"eventStatus"`
	CmpStatus           string `json:"cmpStatus"`
	ListenerID          *int   `json:"listenerId"`
	IsServiceSpecific   bool   `json:"isServiceSpecific"`
	UseNonStandardTexts bool   `json:"useNonStandardTexts"`
	PublisherCC         string `json:"publisherCC"`
	PurposeOneTreatment bool   `json:"purposeOneTreatment"`
	Purpose             struct {
		Consents            map[string]bool `json:"consents"`
		LegitimateInterests map[string]bool `json:"legitimateInterests"`
	} `json:"purpose"`
	Vendor struct {
		Consents            map[string]bool `json:"consents"`
		LegitimateInterests map[string]bool `json:"legitimateInterests"`
		DisclosedVendors    map[string]bool `json:"disclosedVendors"`
	} `json:"vendor"`
	SpecialFeatureOptins map[string]bool `json:"specialFeatureOptins"`
	Publisher            *struct {
		Consents     map[string]bool `json:"consents"`
		Restrictions map[string]any  `json:"restrictions"`
	} `json:"publisher"`
}

type tcfEvent struct {
	D  tcfData `json:"d"`
	OK bool    `json:"ok"`
}

type tcfCall struct {
	Cmd string  `json:"cmd"`
	D   tcfData `json:"d"`
	OK  bool    `json:"ok"`
}

// tcfTrueKeys lists the ids a TCData map sets to true.
func tcfTrueKeys(m map[string]bool) []int {
	var out []int
	for k, v := range m {
		if v {
			var id int
			fmt.Sscan(k, &id)
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func tcfKeys(m map[string]bool) []int {
	var out []int
	for k := range m {
		var id int
		fmt.Sscan(k, &id)
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func tcfInts(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// tcfWant is what a TC string must decode to.
type tcfWant struct {
	purposes, purposeLI, specialFeatures   []int
	vendorConsents, vendorLI, disclosed    []int
	consentRange, vendorLIRange, discRange bool
	created                                time.Time // zero: within the last minute
	consentLanguage, publisherCC           string
}

// tcfCheckString decodes s with the Go codec, compares it to want, checks
// which vendor set encodings s uses, and that the Go encoder writes the
// same string for the decoded value.
func tcfCheckString(t *testing.T, s string, want tcfWant) *tcf.TCString {
	t.Helper()
	tc, err := tcf.Decode(s)
	if err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	if want.consentLanguage == "" {
		want.consentLanguage = "DE"
	}
	if want.publisherCC == "" {
		want.publisherCC = "FR"
	}
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"version", tc.Version, 2},
		{"cmpId", tc.CmpID, 300},
		{"cmpVersion", tc.CmpVersion, 7},
		{"consentScreen", tc.ConsentScreen, 1},
		{"consentLanguage", tc.ConsentLanguage, want.consentLanguage},
		{"vendorListVersion", tc.VendorListVersion, tcfGVLVersion},
		{"policyVersion", tc.PolicyVersion, tcfGVLPolicy},
		{"isServiceSpecific", tc.IsServiceSpecific, true},
		{"useNonStandardTexts", tc.UseNonStandardTexts, false},
		{"purposeOneTreatment", tc.PurposeOneTreatment, false},
		{"publisherCountryCode", tc.PublisherCountryCode, want.publisherCC},
		{"specialFeatureOptins", tc.SpecialFeatureOptins, tcfNonNil(want.specialFeatures)},
		{"purposeConsents", tc.PurposeConsents, tcfNonNil(want.purposes)},
		{"purposeLegitimateInterests", tc.PurposeLegitimateInterests, tcfNonNil(want.purposeLI)},
		{"vendorConsents", tc.VendorConsents, tcfNonNil(want.vendorConsents)},
		{"vendorLegitimateInterests", tc.VendorLegitimateInterests, tcfNonNil(want.vendorLI)},
		{"disclosedVendors", tc.DisclosedVendors, tcfNonNil(want.disclosed)},
		{"publisherRestrictions", len(tc.PublisherRestrictions), 0},
		{"publisherConsents", len(tc.PublisherConsents), 0},
	} {
		if fmt.Sprint(f.got) != fmt.Sprint(f.want) {
			t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
	}
	if want.created.IsZero() {
		if age := time.Since(tc.Created); age < -time.Second || age > time.Minute {
			t.Errorf("created = %v, not just now", tc.Created)
		}
	} else if !tc.Created.Equal(want.created) {
		t.Errorf("created = %v, want %v (kept from the previous string)", tc.Created, want.created)
	}
	if age := time.Since(tc.LastUpdated); age < -time.Second || age > time.Minute {
		t.Errorf("lastUpdated = %v, not just now", tc.LastUpdated)
	}
	consentRange, liRange, discRange := tcfVendorEncodings(t, s)
	if consentRange != want.consentRange || liRange != want.vendorLIRange || discRange != want.discRange {
		t.Errorf("range encoding of vendor consents/LI/disclosed = %v/%v/%v, want %v/%v/%v",
			consentRange, liRange, discRange, want.consentRange, want.vendorLIRange, want.discRange)
	}
	again, err := tcf.Encode(tc)
	if err != nil {
		t.Fatalf("re-encode: %v", err)
	}
	if again != s {
		t.Errorf("the Go encoder writes\n%s\nfor what the browser wrote as\n%s", again, s)
	}
	return tc
}

func tcfNonNil(ids []int) []int {
	if ids == nil {
		return []int{}
	}
	return ids
}

// tcfVendorEncodings reads the IsRangeEncoding bits of the vendor consent,
// vendor legitimate interest and disclosed vendors sections.
func tcfVendorEncodings(t *testing.T, s string) (consent, li, disclosed bool) {
	t.Helper()
	segs := strings.Split(s, ".")
	if len(segs) != 2 {
		t.Fatalf("%q has %d segments, want core and disclosed vendors", s, len(segs))
	}
	core := newTCFBits(t, segs[0])
	core.skip(213) // version .. publisher country code
	consent = core.vendorSection()
	li = core.vendorSection()
	dv := newTCFBits(t, segs[1])
	if typ := dv.int(3); typ != 1 {
		t.Fatalf("second segment has type %d, want 1 (disclosed vendors)", typ)
	}
	disclosed = dv.vendorSection()
	return consent, li, disclosed
}

type tcfBits struct {
	data []byte
	pos  int
}

func newTCFBits(t *testing.T, seg string) *tcfBits {
	data, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("segment %q: %v", seg, err)
	}
	return &tcfBits{data: data}
}

func (b *tcfBits) skip(n int) { b.pos += n }

func (b *tcfBits) int(width int) int {
	v := 0
	for range width {
		v = v<<1 | int(b.data[b.pos/8]>>(7-b.pos%8)&1)
		b.pos++
	}
	return v
}

// vendorSection reads past one vendor section and reports whether it is
// range encoded.
func (b *tcfBits) vendorSection() bool {
	maxID := b.int(16)
	if b.int(1) == 0 {
		b.skip(maxID)
		return false
	}
	for n := b.int(12); n > 0; n-- {
		if b.int(1) == 1 {
			b.skip(32)
		} else {
			b.skip(16)
		}
	}
	return true
}

// Choices as banner.js gives them.
const (
	tcfAcceptAll = `{purposes: {necessary: true, analytics: true, ads: true, personalisation: true}}`
	tcfRejectAll = `{purposes: {necessary: true, analytics: false, ads: false, personalisation: false}}`
)

func TestTCFBrowser(t *testing.T) {
	h := newTCFHarness(t)
	browser := newTCFBrowser(t)
	pageURL := func(cfg, property, extra string) string {
		return h.site.URL + "/page?cfg=" + cfg + "&prop=" + property + extra
	}
	ping := func(t *testing.T, tab context.Context) tcfPingReturn {
		t.Helper()
		return tcfEval[tcfPingReturn](t, tab, `new Promise(function (resolve) { __tcfapi('ping', 2, resolve); })`)
	}
	events := func(t *testing.T, tab context.Context) []tcfEvent {
		t.Helper()
		return tcfEval[[]tcfEvent](t, tab, `events`)
	}

	t.Run("StubQueueAndPing", func(t *testing.T) {
		hits := h.gvlHits.Load()
		tab := tcfTab(t, browser, pageURL("small", "queue", "&stub=1"))
		early := tcfEval[[]tcfCall](t, tab, `early`)
		cmds := make([]string, len(early))
		for i, c := range early {
			cmds[i] = c.Cmd
		}
		if want := []string{"ping", "addEventListener", "getTCData", "getTCData [2, 5]"}; !slices.Equal(cmds, want) {
			t.Fatalf("calls answered before and after tcf.js loaded: %q, want %q", cmds, want)
		}
		// The stub answered ping; tcf.js answered the queued calls.
		stubPing := tcfEval[tcfPingReturn](t, tab, `early[0].d`)
		if stubPing.CmpLoaded || stubPing.CmpStatus != "stub" {
			t.Errorf("stub ping = %+v", stubPing)
		}
		if c := early[1]; !c.OK || c.D.ListenerID == nil || c.D.CmpStatus != "loaded" || c.D.TCString != "" || c.D.EventStatus != "" {
			t.Errorf("queued addEventListener answered with %+v, ok=%v; want a listenerId, no TC string and no event yet", c.D, c.OK)
		}
		if c := early[2]; !c.OK || c.D.ListenerID != nil || c.D.GDPRApplies == nil || !*c.D.GDPRApplies {
			t.Errorf("queued getTCData answered with %+v, ok=%v", c.D, c.OK)
		}
		if got := tcfKeys(early[3].D.Vendor.Consents); !slices.Equal(got, []int{2, 5}) {
			t.Errorf("getTCData for vendors [2, 5] lists vendors %v", got)
		}

		p := ping(t, tab)
		if p.GDPRApplies == nil || !*p.GDPRApplies || !p.CmpLoaded || p.CmpStatus != "loaded" || p.DisplayStatus != "hidden" ||
			p.APIVersion != "2.3" || p.CmpID != 300 || p.CmpVersion != 7 || p.TCFPolicyVersion != 5 || p.GVLVersion != nil {
			t.Errorf("ping = %+v", p)
		}
		if n := tcfEval[int](t, tab, `document.querySelectorAll('iframe[name="__tcfapiLocator"]').length`); n != 1 {
			t.Errorf("%d __tcfapiLocator frames, want the stub's one", n)
		}
		if got := h.gvlHits.Load() - hits; got != 0 {
			t.Errorf("the vendor list was fetched %d times before anything needed it", got)
		}
		type answer struct {
			Value   any  `json:"value"`
			Success bool `json:"success"`
		}
		for _, call := range []string{
			`__tcfapi('getTCData', 1, cb)`, `__tcfapi('getTCData', 3, cb)`, `__tcfapi('addEventListener', 1, cb)`,
			`__tcfapi('noSuchCommand', 2, cb)`, `__tcfapi('getTCData', 2, cb, ['x'])`,
		} {
			expr := `new Promise(function (resolve) { var cb = function (v, ok) { resolve({value: v, success: ok}); }; ` + call + `; })`
			if a := tcfEval[answer](t, tab, expr); a.Success || a.Value != nil {
				t.Errorf("%s answered %+v, want (null, false)", call, a)
			}
		}
	})

	t.Run("Events", func(t *testing.T) {
		hits := h.gvlHits.Load()
		tab := tcfTab(t, browser, pageURL("small", "events", "&stub=1"))
		first := events(t, tab)
		if len(first) != 1 || !first[0].OK || first[0].D.ListenerID == nil {
			t.Fatalf("addEventListener did not call back at once with a listenerId: %+v", first)
		}
		listenerID := *first[0].D.ListenerID

		// The banner shows: cmpuishown with legitimate interests established
		// and no consent.
		shown := tcfEval[string](t, tab, `tcf.uiShown()`)
		if p := ping(t, tab); p.DisplayStatus != "visible" || p.GVLVersion == nil || *p.GVLVersion != tcfGVLVersion {
			t.Errorf("ping while the banner shows = %+v", p)
		}
		ev := events(t, tab)
		last := ev[len(ev)-1].D
		if last.EventStatus != "cmpuishown" || last.TCString != shown || *last.ListenerID != listenerID {
			t.Fatalf("after uiShown: %+v", last)
		}
		tcfCheckString(t, shown, tcfWant{
			purposeLI: []int{7, 8, 9, 10}, vendorLI: []int{1, 4, 6, 8, 9}, disclosed: []int{1, 2, 4, 6, 8, 9, 11, 12},
		})
		if got := tcfTrueKeys(last.Purpose.Consents); len(got) != 0 {
			t.Errorf("cmpuishown TCData grants purposes %v", got)
		}

		// Accept all.
		tcfEval[chromedp.Void](t, tab, `eventsB = []; __tcfapi('addEventListener', 2, function (d, ok) { eventsB.push({d: clone(d), ok: ok}); })`)
		accepted := tcfEval[string](t, tab, `tcf.encode(`+tcfAcceptAll+`).then(function (s) { return tcf.apply(`+tcfAcceptAll+`, s); })`)
		ev = events(t, tab)
		last = ev[len(ev)-1].D
		if last.EventStatus != "useractioncomplete" || last.TCString != accepted || !ev[len(ev)-1].OK {
			t.Fatalf("after apply: %+v", last)
		}
		if p := ping(t, tab); p.DisplayStatus != "hidden" {
			t.Errorf("ping after the choice: displayStatus %q, want hidden", p.DisplayStatus)
		}
		tcfCheckString(t, accepted, tcfWant{
			purposes: tcfInts(1, 11), purposeLI: []int{7, 8, 9, 10}, specialFeatures: []int{1, 2},
			vendorConsents: []int{1, 2, 4, 9, 11}, vendorLI: []int{1, 4, 6, 8, 9}, disclosed: []int{1, 2, 4, 6, 8, 9, 11, 12},
		})
		if got := tcfTrueKeys(last.Purpose.Consents); !slices.Equal(got, tcfInts(1, 11)) {
			t.Errorf("TCData purpose.consents grants %v", got)
		}
		if got := tcfTrueKeys(last.Purpose.LegitimateInterests); !slices.Equal(got, []int{7, 8, 9, 10}) {
			t.Errorf("TCData purpose.legitimateInterests %v", got)
		}
		if got := tcfTrueKeys(last.Vendor.Consents); !slices.Equal(got, []int{1, 2, 4, 9, 11}) {
			t.Errorf("TCData vendor.consents grants %v", got)
		}
		if got := tcfKeys(last.Vendor.Consents); !slices.Equal(got, []int{1, 2, 4, 6, 8, 9, 11, 12}) {
			t.Errorf("TCData vendor.consents lists vendors %v, want the disclosed ones", got)
		}
		if got := tcfTrueKeys(last.Vendor.LegitimateInterests); !slices.Equal(got, []int{1, 4, 6, 8, 9}) {
			t.Errorf("TCData vendor.legitimateInterests %v", got)
		}
		if got := tcfTrueKeys(last.Vendor.DisclosedVendors); !slices.Equal(got, []int{1, 2, 4, 6, 8, 9, 11, 12}) {
			t.Errorf("TCData vendor.disclosedVendors %v", got)
		}
		if got := tcfTrueKeys(last.SpecialFeatureOptins); !slices.Equal(got, []int{1, 2}) {
			t.Errorf("TCData specialFeatureOptins %v", got)
		}
		if last.CmpID != 300 || last.CmpVersion != 7 || last.TCFPolicyVersion != 5 || last.CmpStatus != "loaded" ||
			last.GDPRApplies == nil || !*last.GDPRApplies || !last.IsServiceSpecific || last.UseNonStandardTexts ||
			last.PublisherCC != "FR" || last.PurposeOneTreatment || last.Publisher == nil {
			t.Errorf("TCData = %+v", last)
		}
		if got := tcfEval[string](t, tab, `tcf.tcString()`); got != accepted {
			t.Errorf("tcString() = %q, want %q", got, accepted)
		}

		// removeEventListener stops the first listener, not the second.
		removed := tcfEval[bool](t, tab, fmt.Sprintf(`new Promise(function (resolve) { __tcfapi('removeEventListener', 2, resolve, %d); })`, listenerID))
		if !removed {
			t.Fatal("removeEventListener answered false")
		}
		before := len(events(t, tab))
		rejected := tcfEval[string](t, tab, `tcf.apply(`+tcfRejectAll+`)`)
		if n := len(events(t, tab)); n != before {
			t.Errorf("a removed listener was called %d more times", n-before)
		}
		evB := tcfEval[[]tcfEvent](t, tab, `eventsB`)
		if len(evB) != 3 || evB[2].D.EventStatus != "useractioncomplete" || evB[2].D.TCString != rejected {
			t.Errorf("second listener saw %+v", evB)
		}
		tcfCheckString(t, rejected, tcfWant{
			purposeLI: []int{7, 8, 9, 10}, vendorLI: []int{1, 4, 6, 8, 9}, disclosed: []int{1, 2, 4, 6, 8, 9, 11, 12},
			created: tcfMustDecode(t, accepted).Created,
		})
		if again := tcfEval[bool](t, tab, fmt.Sprintf(`new Promise(function (resolve) { __tcfapi('removeEventListener', 2, resolve, %d); })`, listenerID)); again {
			t.Error("removing a removed listener answered true")
		}
		if got := h.gvlHits.Load() - hits; got != 1 {
			t.Errorf("the vendor list was fetched %d times, want once", got)
		}
	})

	t.Run("Encodings", func(t *testing.T) {
		small := []int{1, 2, 4, 6, 8, 9, 11, 12}
		wide := []int{1, 2, 300, 740, 741}
		cases := []struct {
			name, cfg, choices string
			want               tcfWant
		}{
			{"small accept all", "small", tcfAcceptAll, tcfWant{
				purposes: tcfInts(1, 11), purposeLI: []int{7, 8, 9, 10}, specialFeatures: []int{1, 2},
				vendorConsents: []int{1, 2, 4, 9, 11}, vendorLI: []int{1, 4, 6, 8, 9}, disclosed: small,
			}},
			{"small reject all", "small", tcfRejectAll, tcfWant{
				purposeLI: []int{7, 8, 9, 10}, vendorLI: []int{1, 4, 6, 8, 9}, disclosed: small,
			}},
			{"small some analytics only is not all", "small", `{purposes: {analytics: true, ads: false}}`, tcfWant{
				purposeLI: []int{7, 8, 9, 10}, vendorLI: []int{1, 4, 6, 8, 9}, disclosed: small,
			}},
			{"small explicit TCF choices", "small",
				`{purposes: {analytics: true}, tcfPurposes: {1: true, 2: true, 8: true, 9: true}, vendors: {9: false},
				  specialFeatures: {2: true}, lang: 'fr', screen: 1}`,
				tcfWant{
					purposes: []int{1, 2, 8, 9}, purposeLI: []int{7, 8, 9, 10}, specialFeatures: []int{2},
					vendorConsents: []int{2}, vendorLI: []int{1, 4, 6, 8, 9}, disclosed: small, consentLanguage: "FR",
				}},
			{"mapped mixed with objections", "mapped",
				`{purposes: {necessary: true, analytics: true, ads: false, personalisation: false}, specialFeatures: {1: true},
				  purposeLegitimateInterests: {10: false}, vendorLegitimateInterests: {6: false}}`,
				tcfWant{
					purposes: []int{1, 7, 8, 9, 10}, purposeLI: []int{7, 8, 9}, specialFeatures: []int{1},
					vendorConsents: []int{2}, vendorLI: []int{1, 4, 8}, disclosed: small,
				}},
			{"mapped accept all", "mapped", tcfAcceptAll, tcfWant{
				purposes: tcfInts(1, 11), purposeLI: []int{7, 8, 9, 10}, specialFeatures: []int{1, 2},
				vendorConsents: []int{1, 2, 4, 9, 11}, vendorLI: []int{1, 4, 6, 8, 9}, disclosed: small,
			}},
			{"mapped reject all", "mapped", tcfRejectAll, tcfWant{
				purposeLI: []int{7, 8, 9, 10}, vendorLI: []int{1, 4, 6, 8, 9}, disclosed: small,
			}},
			{"wide accept all (ranges)", "wide", tcfAcceptAll, tcfWant{
				purposes: tcfInts(1, 11), purposeLI: []int{7, 9, 10}, specialFeatures: []int{1, 2},
				vendorConsents: wide, vendorLI: []int{1, 300, 740, 741}, disclosed: wide,
				consentRange: true, vendorLIRange: true, discRange: true,
			}},
			{"wide reject all", "wide", tcfRejectAll, tcfWant{
				purposeLI: []int{7, 9, 10}, vendorLI: []int{1, 300, 740, 741}, disclosed: wide,
				vendorLIRange: true, discRange: true,
			}},
		}
		tabs := map[string]context.Context{}
		for _, cfg := range []string{"small", "mapped", "wide"} {
			tabs[cfg] = tcfTab(t, browser, pageURL(cfg, "encodings-"+cfg, ""))
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s := tcfEval[string](t, tabs[c.cfg], `tcf.encode(`+c.choices+`)`)
				tcfCheckString(t, s, c.want)
			})
		}
	})

	t.Run("TCLoaded", func(t *testing.T) {
		url := pageURL("small", "loaded", "")
		tab := tcfTab(t, browser, url)
		if err := tcfEval[string](t, tab, `tcf.loaded().then(function () { return 'resolved'; }, function (e) { return e.message; })`); !strings.Contains(err, "no current TC string") {
			t.Errorf("loaded() without a stored string or choices: %s", err)
		}
		stored := tcfEval[string](t, tab, `tcf.apply(`+tcfAcceptAll+`)`)

		// The next page view: the stored string is current, so tcloaded
		// comes at once, without fetching the vendor list.
		hits := h.gvlHits.Load()
		tcfGo(t, tab, url)
		loaded := tcfEval[string](t, tab, `tcf.loaded(`+tcfAcceptAll+`)`)
		if loaded != stored {
			t.Errorf("loaded() surfaced %q, want the stored %q", loaded, stored)
		}
		ev := events(t, tab)
		if last := ev[len(ev)-1].D; last.EventStatus != "tcloaded" || last.TCString != stored {
			t.Errorf("after loaded(): %+v", last)
		}
		if p := ping(t, tab); p.DisplayStatus != "disabled" || p.GVLVersion == nil || *p.GVLVersion != tcfGVLVersion {
			t.Errorf("ping after tcloaded = %+v", p)
		}
		if got := h.gvlHits.Load() - hits; got != 0 {
			t.Errorf("tcloaded from a stored string fetched the vendor list %d times", got)
		}
		// hooks.getChoices stands in for missing choices.
		tcfGo(t, tab, url)
		if got := tcfEval[string](t, tab, `window.prev = `+tcfAcceptAll+`; tcf.loaded()`); got != stored {
			t.Errorf("loaded() with hooks.getChoices surfaced %q", got)
		}

		// Choices that the stored string does not record (changed on another
		// subdomain, say): a new string for them, still created when the
		// first was.
		tcfGo(t, tab, url)
		fresh := tcfEval[string](t, tab, `tcf.loaded(`+tcfRejectAll+`)`)
		if fresh == stored {
			t.Fatal("loaded() with other choices surfaced the stored string")
		}
		tcfCheckString(t, fresh, tcfWant{
			purposeLI: []int{7, 8, 9, 10}, vendorLI: []int{1, 4, 6, 8, 9}, disclosed: []int{1, 2, 4, 6, 8, 9, 11, 12},
			created: tcfMustDecode(t, stored).Created,
		})
		ev = events(t, tab)
		if last := ev[len(ev)-1].D; last.EventStatus != "tcloaded" || last.TCString != fresh {
			t.Errorf("after loaded(other choices): %+v", last)
		}
		if got := tcfEval[string](t, tab, `localStorage.getItem('stw_tcf:loaded')`); got != fresh {
			t.Errorf("stored string %q, want %q", got, fresh)
		}
	})

	t.Run("GetVendorList", func(t *testing.T) {
		hits := h.gvlHits.Load()
		tab := tcfTab(t, browser, pageURL("small", "gvl", ""))
		type result struct {
			GVL *struct {
				VendorListVersion int            `json:"vendorListVersion"`
				TCFPolicyVersion  int            `json:"tcfPolicyVersion"`
				Vendors           map[string]any `json:"vendors"`
				Purposes          map[string]any `json:"purposes"`
			} `json:"gvl"`
			OK bool `json:"ok"`
		}
		get := func(param string) result {
			return tcfEval[result](t, tab, `new Promise(function (resolve) {
				__tcfapi('getVendorList', 2, function (gvl, ok) { if (gvl) gvl.vendors['1'].name = 'changed by a caller'; resolve({gvl: gvl, ok: ok}); }`+param+`); })`)
		}
		for _, param := range []string{"", ", 'LATEST'", ", 27", ", '27'", ", null"} {
			r := get(param)
			if !r.OK || r.GVL == nil || r.GVL.VendorListVersion != tcfGVLVersion || r.GVL.TCFPolicyVersion != tcfGVLPolicy ||
				len(r.GVL.Vendors) != tcfGVLVendorKeys || len(r.GVL.Purposes) != 11 {
				t.Errorf("getVendorList(%s) = %+v", param, r)
			}
		}
		for _, param := range []string{", 26", ", 1", ", 'abc'", ", 2.5"} {
			if r := get(param); r.OK || r.GVL != nil {
				t.Errorf("getVendorList(%s) = %+v, want (null, false)", param, r)
			}
		}
		// A caller changing its copy does not change the CMP's list.
		s := tcfEval[string](t, tab, `tcf.encode(`+tcfAcceptAll+`)`)
		tcfCheckString(t, s, tcfWant{
			purposes: tcfInts(1, 11), purposeLI: []int{7, 8, 9, 10}, specialFeatures: []int{1, 2},
			vendorConsents: []int{1, 2, 4, 9, 11}, vendorLI: []int{1, 4, 6, 8, 9}, disclosed: []int{1, 2, 4, 6, 8, 9, 11, 12},
		})
		if got := h.gvlHits.Load() - hits; got != 1 {
			t.Errorf("the vendor list was fetched %d times, want once", got)
		}
	})

	for _, stub := range []bool{true, false} {
		name := map[bool]string{true: "CrossFrameWithStub", false: "CrossFrameWithoutStub"}[stub]
		t.Run(name, func(t *testing.T) {
			extra := "&frame=1"
			if stub {
				extra += "&stub=1"
			}
			tab := tcfTab(t, browser, pageURL("small", strings.ToLower(name), extra))
			if n := tcfEval[int](t, tab, `document.querySelectorAll('iframe[name="__tcfapiLocator"]').length`); n != 1 {
				t.Errorf("%d __tcfapiLocator frames, want 1", n)
			}
			type reply struct {
				CallID      string          `json:"callId"`
				Success     *bool           `json:"success"`
				JSON        bool            `json:"json"`
				ReturnValue json.RawMessage `json:"returnValue"`
			}
			replies := func() []reply {
				return tcfEval[[]reply](t, tab, `frameLog`)
			}
			tcfWait[bool](t, tab, `frameLog.filter(function (r) { return r.callId === 'c3'; }).length > 0 &&
				frameLog.filter(function (r) { return r.callId === 'c2'; }).length > 0`)
			var listenerID int
			for _, r := range replies() {
				switch r.CallID {
				case "none":
					t.Fatal("the frame found no __tcfapiLocator")
				case "c1", "c2":
					var p tcfPingReturn
					json.Unmarshal(r.ReturnValue, &p)
					if !p.CmpLoaded || p.CmpStatus != "loaded" || p.APIVersion != "2.3" || p.CmpID != 300 || r.JSON != (r.CallID == "c2") {
						t.Errorf("ping from the frame (%s) = %+v, json=%v", r.CallID, p, r.JSON)
					}
				case "c3":
					var d tcfData
					json.Unmarshal(r.ReturnValue, &d)
					if r.Success == nil || !*r.Success || d.ListenerID == nil {
						t.Fatalf("addEventListener from the frame: %+v %s", r, r.ReturnValue)
					}
					listenerID = *d.ListenerID
				}
			}
			s := tcfEval[string](t, tab, `tcf.apply(`+tcfAcceptAll+`)`)
			tcfWait[bool](t, tab, `frameLog.some(function (r) { return r.callId === 'c3' && r.returnValue.eventStatus === 'useractioncomplete'; })`)
			for _, r := range replies() {
				var d tcfData
				if json.Unmarshal(r.ReturnValue, &d); r.CallID == "c3" && d.EventStatus == "useractioncomplete" {
					if d.TCString != s || !slices.Equal(tcfTrueKeys(d.Vendor.Consents), []int{1, 2, 4, 9, 11}) || *d.ListenerID != listenerID {
						t.Errorf("the frame's listener got %+v", d)
					}
				}
			}
			tcfEval[chromedp.Void](t, tab, fmt.Sprintf(`document.getElementById('child').contentWindow.postMessage({stwDo: 'remove', listenerId: %d}, '*')`, listenerID))
			tcfWait[bool](t, tab, `frameLog.some(function (r) { return r.callId === 'c4'; })`)
			// A fence instead of a pause: any duplicate answer to c1…c4 would
			// come before the answer to the ping sent after them.
			tcfEval[chromedp.Void](t, tab, `document.getElementById('child').contentWindow.postMessage({stwDo: 'fence'}, '*')`)
			tcfWait[bool](t, tab, `frameLog.some(function (r) { return r.callId === 'c5'; })`)
			counts := map[string]int{}
			for _, r := range replies() {
				counts[r.CallID]++
				if r.CallID == "c4" && string(r.ReturnValue) != "true" {
					t.Errorf("removeEventListener from the frame answered %s", r.ReturnValue)
				}
			}
			if counts["c1"] != 1 || counts["c2"] != 1 || counts["c3"] != 2 || counts["c4"] != 1 || counts["c5"] != 1 {
				t.Errorf("answers per call: %v, want c1, c2, c4 once and c3 twice (registration, user action)", counts)
			}
		})
	}

	t.Run("GDPRDoesNotApply", func(t *testing.T) {
		tab := tcfTab(t, browser, pageURL("us", "us", ""))
		p := ping(t, tab)
		if p.GDPRApplies == nil || *p.GDPRApplies || p.DisplayStatus != "disabled" || !p.CmpLoaded {
			t.Errorf("ping = %+v", p)
		}
		keys := tcfEval[[]string](t, tab, `Object.keys(events[0].d).sort()`)
		if want := []string{"cmpId", "cmpVersion", "gdprApplies", "listenerId", "tcfPolicyVersion"}; !slices.Equal(keys, want) {
			t.Errorf("TCData outside the GDPR has %q, want %q", keys, want)
		}
	})

	t.Run("VendorListOnlyFromSteward", func(t *testing.T) {
		hits := h.gvlHits.Load()
		tab := tcfTab(t, browser, pageURL("elsewhere", "elsewhere", ""))
		got := tcfEval[string](t, tab, `tcf.encode(`+tcfAcceptAll+`).then(function () { return 'encoded'; }, function (e) { return e.message; })`)
		if !strings.Contains(got, "gvlUrl must be a path") {
			t.Errorf("encode with a vendor list elsewhere: %s", got)
		}
		ok := tcfEval[bool](t, tab, `new Promise(function (resolve) { __tcfapi('getVendorList', 2, function (gvl, ok) { resolve(ok); }); })`)
		if ok || h.gvlHits.Load() != hits {
			t.Error("the vendor list was read from elsewhere")
		}
	})
}

func tcfMustDecode(t *testing.T, s string) *tcf.TCString {
	t.Helper()
	tc, err := tcf.Decode(s)
	if err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return tc
}
