package banner_test

// Browser tests of the IAB GPP part of the banner (assets/gpp.js, served as
// /banner-gpp.js, and the GPP blocks of assets/banner.js) against a real
// Steward: the demo property with GPP enabled, the visitor's jurisdiction
// from the demo's X-Demo-Country and X-Demo-Region headers. The GPP strings
// the browser makes are decoded with internal/gpp, and the ledger and the
// receipts are read from the running server.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/gpp"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/web/banner"
)

// gppListener registers a __gpp listener before any script of the page
// runs, through a page's own minimal stub (the queue that __gpp() returns,
// as IAB's stub keeps it), so that it sees every event in order:
// gppEvents holds "eventName:data".
const gppListener = `window.gppEvents = [];
(() => {
  const queue = [];
  window.__gpp = (...call) => call.length ? void queue.push(call) : queue;
  __gpp('addEventListener', (e, ok) => ok && gppEvents.push(e.eventName + ':' + e.data));
})();`

// gppPing is the PingReturn of __gpp('ping').
type gppPing struct {
	GppVersion         string                     `json:"gppVersion"`
	CmpStatus          string                     `json:"cmpStatus"`
	CmpDisplayStatus   string                     `json:"cmpDisplayStatus"`
	SignalStatus       string                     `json:"signalStatus"`
	SupportedAPIs      []string                   `json:"supportedAPIs"`
	CmpID              int                        `json:"cmpId"`
	SectionList        []int                      `json:"sectionList"`
	ApplicableSections []int                      `json:"applicableSections"`
	GppString          string                     `json:"gppString"`
	ParsedSections     map[string]json.RawMessage `json:"parsedSections"`
}

func ping(t *testing.T, ctx context.Context) gppPing {
	t.Helper()
	raw := js[string](t, ctx, `new Promise(done => __gpp('ping', (p, ok) => done(JSON.stringify(ok ? p : null))))`)
	var p gppPing
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		t.Fatalf("ping answered %s: %v", raw, err)
	}
	return p
}

// visitFrom opens a tab whose requests say the visitor is in country (and
// region), with extra headers such as Sec-GPC, and records its requests.
func visitFrom(t *testing.T, country, region string, extra map[string]string) (context.Context, *requests) {
	t.Helper()
	ctx := tab(t)
	headers := network.Headers{"X-Demo-Country": country}
	if region != "" {
		headers["X-Demo-Region"] = region
	}
	for k, v := range extra {
		headers[k] = v
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: headers}); err != nil {
		t.Fatal(err)
	}
	return ctx, recordRequests(t, ctx)
}

// ledgerEvents waits until the ledger holds n events of device.
func ledgerEvents(t *testing.T, srv *apptest.Server, device string, n int) []consent.Event {
	t.Helper()
	var events []consent.Event
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var err error
		if events, err = srv.App.Consent.Events(context.Background(), consent.EventFilter{Device: device, Receipts: true}); err != nil {
			t.Fatal(err)
		}
		if len(events) >= n {
			return events
		}
	}
	t.Fatalf("the ledger holds %d events of device %q, want %d", len(events), device, n)
	return nil
}

func loadedGPP(reqs *requests) bool {
	return slices.ContainsFunc(reqs.list(), func(u string) bool { return strings.Contains(u, "/banner-gpp.js") })
}

// decodeGPP decodes a GPP string the banner made, and checks that the Go
// codec, writing the same fields afresh, writes the same string.
func decodeGPP(t *testing.T, s string) *gpp.String {
	t.Helper()
	out, err := gpp.Decode(s)
	if err != nil {
		t.Fatalf("internal/gpp does not decode the banner's %q: %v", s, err)
	}
	fresh, _ := gpp.Decode(s)
	for i := range fresh.Sections {
		fresh.Sections[i].Raw = ""
	}
	if again, err := gpp.Encode(fresh); err != nil || again != s {
		t.Fatalf("internal/gpp writes %q (%v) for the fields of the banner's %q", again, err, s)
	}
	return out
}

func TestGPPWithSteward(t *testing.T) {
	srv := apptest.StartWith(t, db.SQLite, apptest.Options{Demo: true})
	ctx := context.Background()
	setGPP := func(g consent.GPPSettings) {
		t.Helper()
		p, err := srv.App.Consent.Property("demo")
		if err != nil {
			t.Fatal(err)
		}
		p.Banner.GPP = g
		if _, err := srv.App.Consent.PutProperty(ctx, p, false); err != nil {
			t.Fatal(err)
		}
	}
	setGPP(consent.GPPSettings{Enabled: true, CmpID: 300, Sections: []string{"usnat", "usca"}})
	page := srv.URL + "/demo"

	t.Run("California: ping, events, Reject all, ledger and receipts", func(t *testing.T) {
		tab, reqs := visitFrom(t, "US", "CA", nil)
		beforeLoad(t, tab, gppListener)
		do(t, tab, chromedp.Navigate(page))
		waitJS(t, tab, `window.Steward && document.readyState == "complete"`)
		waitJS(t, tab, dialogOpen)
		waitJS(t, tab, `gppEvents.includes('signalStatus:ready') && gppEvents.includes('cmpDisplayStatus:visible')`)
		p := ping(t, tab)
		if p.GppVersion != "1.1" || p.CmpStatus != "loaded" || p.CmpDisplayStatus != "visible" || p.SignalStatus != "ready" || p.CmpID != 300 ||
			!slices.Equal(p.SupportedAPIs, []string{"7:usnat", "8:usca"}) || !slices.Equal(p.SectionList, []int{8}) || !slices.Equal(p.ApplicableSections, []int{8}) {
			t.Fatalf("ping: %+v", p)
		}
		// Under opt-out nobody opted out yet: the notice was given.
		ca := decodeGPP(t, p.GppString).Section(gpp.IDUSCA).USCA
		if ca == nil || ca.SaleOptOutNotice != 1 || ca.SharingOptOutNotice != 1 || ca.SaleOptOut != 2 || ca.SharingOptOut != 2 ||
			ca.MspaCoveredTransaction != 2 || ca.MspaOptOutOptionMode != 0 || ca.MspaServiceProviderMode != 0 || !ca.GpcSegmentIncluded || ca.Gpc {
			t.Fatalf("usca before a choice: %+v", ca)
		}
		var parsed map[string]any
		if err := json.Unmarshal(p.ParsedSections["usca"], &parsed); err != nil || parsed["SaleOptOut"] != 2.0 || parsed["Version"] != 1.0 {
			t.Fatalf("parsedSections: %s", p.ParsedSections["usca"])
		}
		if got := js[string](t, tab, `new Promise(done => __gpp('getField', (v, ok) => done(ok + ':' + v), 'usca.SaleOptOutNotice'))`); got != "true:1" {
			t.Fatalf("getField usca.SaleOptOutNotice: %s", got)
		}
		if got := js[string](t, tab, `new Promise(done => __gpp('hasSection', (a, ok) => __gpp('hasSection', b => done([a, b, ok].join()), 'usnat'), 'usca'))`); got != "true,false,true" {
			t.Fatalf("hasSection usca, usnat: %s", got)
		}
		if got := js[string](t, tab, `new Promise(done => __gpp('getSection', s => done(JSON.stringify([s.SharingOptOut, s.SensitiveDataProcessing.length, s.Gpc])), 'usca'))`); got != "[2,9,false]" {
			t.Fatalf("getSection usca: %s", got)
		}
		if got := js[string](t, tab, `new Promise(done => __gpp('nonsense', (v, ok) => done(v + ':' + ok)))`); got != "null:false" {
			t.Fatalf("an unknown command: %s", got)
		}
		// A frame finds the CMP by the __gppLocator frame and calls it with
		// postMessage; a string message gets a string answer.
		frameCall := `new Promise(done => {
			addEventListener('message', e => e.data.fromFrame && done(e.data.fromFrame));
			const f = document.createElement('iframe');
			f.srcdoc = '<script>addEventListener("message", e => parent.postMessage({fromFrame: [typeof e.data, String(e.data)]}, "*"));' +
				'let w = window; while (w !== top && !w.frames.__gppLocator) w = w.parent;' +
				'(w.frames.__gppLocator ? w : top).postMessage(JSON.stringify({__gppCall: {command: "ping", version: "1.1", callId: "c1"}}), "*");<\/script>';
			document.body.appendChild(f);
		})`
		answer := js[[]string](t, tab, frameCall)
		var reply struct {
			R struct {
				ReturnValue gppPing `json:"returnValue"`
				Success     bool    `json:"success"`
				CallID      string  `json:"callId"`
			} `json:"__gppReturn"`
		}
		if len(answer) != 2 || answer[0] != "string" || json.Unmarshal([]byte(answer[1]), &reply) != nil ||
			!reply.R.Success || reply.R.CallID != "c1" || reply.R.ReturnValue.GppString != p.GppString {
			t.Fatalf("a frame's ping through __gppLocator: %v (%+v, want %q)", answer, reply, p.GppString)
		}
		if !js[bool](t, tab, `!!window.frames.__gppLocator`) {
			t.Fatal("no __gppLocator frame")
		}
		before := len(js[[]string](t, tab, `gppEvents`))

		click(t, tab, `#steward-banner [data-a=custom]`)
		click(t, tab, `#steward-banner [data-a=reject]`)
		waitJS(t, tab, `gppEvents.slice(`+strconv.Itoa(before)+`).includes('signalStatus:ready')`)
		events := js[[]string](t, tab, `gppEvents`)
		// At load: registered (from the page's stub queue), loaded, then the
		// notice shown and the signal ready, in the order the notice and
		// banner-gpp.js happened to arrive.
		if load := events[:before]; len(load) != 4 || load[0] != "listenerRegistered:true" || load[1] != "cmpStatus:loaded" ||
			!slices.Contains(load, "cmpDisplayStatus:visible") || !slices.Contains(load, "signalStatus:ready") {
			t.Fatalf("events at load: %v", events)
		}
		if got, want := events[before:], []string{"signalStatus:not ready", "cmpDisplayStatus:hidden", "sectionChange:usca", "signalStatus:ready"}; !slices.Equal(got, want) {
			t.Fatalf("events after Reject all: %v, want %v", got, want)
		}
		p = ping(t, tab)
		ca = decodeGPP(t, p.GppString).Section(gpp.IDUSCA).USCA
		if ca.SaleOptOut != 1 || ca.SharingOptOut != 1 || ca.Gpc || p.CmpDisplayStatus != "hidden" || p.SignalStatus != "ready" {
			t.Fatalf("after Reject all: %+v, %+v", ca, p)
		}
		// The string is in every event of the choice, and in its receipt.
		device := js[string](t, tab, `Steward.consent().deviceId`)
		for _, e := range ledgerEvents(t, srv, device, 3) {
			if e.GPPString != p.GppString || e.Source != consent.SourceBanner || e.Jurisdiction != "US-CA" {
				t.Fatalf("ledger event %+v, want GPP string %q", e, p.GppString)
			}
			r, err := receipt.Verify(e.Receipt, srv.App.Signer.JWKS())
			if err != nil || r.Steward.GPPString != p.GppString || r.Steward.EventID != e.ID {
				t.Fatalf("receipt of %s: %+v, %v", e.ID, r, err)
			}
		}
		if !loadedGPP(reqs) {
			t.Fatal("banner-gpp.js was not requested")
		}
	})

	t.Run("United States with GPC: usnat opted out before any dialog", func(t *testing.T) {
		tab, _ := visitFrom(t, "US", "", map[string]string{"Sec-GPC": "1"})
		do(t, tab, chromedp.Navigate(page))
		waitJS(t, tab, `window.Steward && window.__gpp && document.readyState == "complete"`)
		waitJS(t, tab, `new Promise(done => __gpp('ping', p => done(p.cmpStatus == 'loaded')))`)
		p := ping(t, tab)
		nat := decodeGPP(t, p.GppString).Section(gpp.IDUSNat).USNat
		if nat == nil || nat.Version != 2 || nat.SaleOptOut != 1 || nat.SharingOptOut != 1 || nat.TargetedAdvertisingOptOut != 1 ||
			nat.SaleOptOutNotice != 1 || nat.TargetedAdvertisingOptOutNotice != 1 || !nat.GpcSegmentIncluded || !nat.Gpc ||
			nat.MspaCoveredTransaction != 2 || len(nat.SensitiveDataProcessing) != 16 || !slices.Equal(p.ApplicableSections, []int{7}) {
			t.Fatalf("usnat with GPC: %+v (ping %+v)", nat, p)
		}
		// GPC denies sale and sharing once per device, with the string.
		device := js[string](t, tab, `Steward.consent().deviceId`)
		evs := ledgerEvents(t, srv, device, 1)
		if e := evs[0]; e.Source != consent.SourceGPC || e.Purpose != "sale_of_data" || e.Action != consent.ActionDeny || e.GPPString != p.GppString {
			t.Fatalf("GPC event %+v, want GPP string %q", e, p.GppString)
		}
	})

	t.Run("Germany: no banner-gpp.js, no __gpp", func(t *testing.T) {
		tab, reqs := visitFrom(t, "DE", "", nil)
		do(t, tab, chromedp.Navigate(page))
		waitJS(t, tab, `window.Steward && document.readyState == "complete"`)
		waitJS(t, tab, dialogOpen)
		if js[bool](t, tab, `'__gpp' in window || 'StewardGPP' in window`) || loadedGPP(reqs) {
			t.Fatalf("an EU visitor got GPP: %v", reqs.list())
		}
	})

	t.Run("property without GPP: no banner-gpp.js, no __gpp", func(t *testing.T) {
		setGPP(consent.GPPSettings{})
		tab, reqs := visitFrom(t, "US", "CA", nil)
		do(t, tab, chromedp.Navigate(page))
		waitJS(t, tab, `window.Steward && document.readyState == "complete"`)
		waitJS(t, tab, dialogOpen)
		if js[bool](t, tab, `'__gpp' in window || 'StewardGPP' in window`) || loadedGPP(reqs) {
			t.Fatalf("a property without GPP served it: %v", reqs.list())
		}
	})
}

// TestGPPSectionsEncodeAsTheGoCodec runs banner-gpp.js (minified, as
// served) alone for every section it writes, with and without opt-outs and
// GPC and with the MSPA fields set, and checks with internal/gpp what each
// string says, field by field.
func TestGPPSectionsEncodeAsTheGoCodec(t *testing.T) {
	ctx := gppAlone(t, "")

	sections := []struct {
		name       string
		id         int
		targeted   bool // has TargetedAdvertisingOptOut
		sharing    bool // has SharingOptOut
		gpcSegment bool
	}{
		{"usnat", gpp.IDUSNat, true, true, true},
		{"usca", gpp.IDUSCA, false, true, true},
		{"usva", gpp.IDUSVA, true, false, false},
		{"usco", gpp.IDUSCO, true, false, true},
		{"usut", gpp.IDUSUT, true, false, false},
		{"usct", gpp.IDUSCT, true, false, true},
	}
	for _, sec := range sections {
		for _, c := range []struct {
			name            string
			choices         string
			signal, gpc     bool
			sale, targeted  int
			sharingExpected int
		}{
			{"nothing refused", `{ads: true, data: true}`, false, false, 2, 2, 2},
			{"ads refused", `{ads: false, data: true}`, false, false, 2, 1, 2},
			{"data refused", `{ads: true, data: false}`, false, false, 1, 2, 1},
			{"GPC", `{ads: true, data: true}`, true, true, 1, 1, 1},
		} {
			t.Run(sec.name+"/"+c.name, func(t *testing.T) {
				// sale and sharing rest on "data", targeted advertising on
				// "ads"; the MSPA fields say: covered, opt-out option mode.
				s := js[string](t, ctx, `StewardGPP.init({gpp: {section: '`+sec.name+`', sectionId: `+strconv.Itoa(sec.id)+`, cmpId: 7,
					supported: [], sale: ['data'], sharing: ['data'], targeted: ['ads'], mspa: [1, 1, 2]}},
					{choices: () => (`+c.choices+`), signal: `+strconv.FormatBool(c.signal)+`, gpc: `+strconv.FormatBool(c.gpc)+`, visible: () => false}).string()`)
				decoded := decodeGPP(t, s)
				if ids := decoded.SectionIDs(); len(ids) != 1 || ids[0] != sec.id {
					t.Fatalf("%q holds sections %v, want [%d]", s, ids, sec.id)
				}
				raw, err := json.Marshal(decoded.Sections[0])
				if err != nil {
					t.Fatal(err)
				}
				var parts map[string]json.RawMessage
				var f map[string]any
				if err := json.Unmarshal(raw, &parts); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(parts[sec.name], &f); err != nil {
					t.Fatalf("section %s of %q: %v", sec.name, s, err)
				}
				want := map[string]any{"SaleOptOut": float64(c.sale), "SaleOptOutNotice": 1.0, "MspaCoveredTransaction": 1.0,
					"MspaOptOutOptionMode": 1.0, "MspaServiceProviderMode": 2.0}
				if sec.targeted {
					want["TargetedAdvertisingOptOut"], want["TargetedAdvertisingOptOutNotice"] = float64(c.targeted), 1.0
				}
				if sec.sharing {
					want["SharingOptOut"], want["SharingOptOutNotice"] = float64(c.sharingExpected), 1.0
				}
				if sec.gpcSegment {
					want["GpcSegmentIncluded"], want["Gpc"] = true, c.gpc
				}
				for k, v := range want {
					if f[k] != v {
						t.Errorf("%s %s = %v, want %v (%q)", sec.name, k, f[k], v, s)
					}
				}
				if _, has := f["Gpc"]; has != sec.gpcSegment {
					t.Errorf("%s has a GPC sub-section: %v", sec.name, has)
				}
			})
		}
	}
}

// gppAlone opens a page that loads banner-gpp.js (minified, as served)
// after the script head, without a banner.
func gppAlone(t *testing.T, head string) context.Context {
	t.Helper()
	_, script, err := banner.GPPScripts()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /gpp.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write(script)
	})
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html lang="en"><title>GPP</title><script>`+head+`</script><script src="/gpp.js"></script><body></body></html>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(srv.URL+"/page"))
	waitJS(t, ctx, `window.StewardGPP && document.body`)
	return ctx
}

// iabStub is the gist of the stub in IAB's CMP API specification: ping
// answered at once, listeners kept in __gpp.events with their ids, other
// calls queued in __gpp.queue, which __gpp() returns.
const iabStub = `window.heard = [];
window.__gpp = function () {
  var b = arguments;
  __gpp.queue = __gpp.queue || [];
  __gpp.events = __gpp.events || [];
  if (!b.length) return __gpp.queue;
  if (b[0] === 'ping') return b[1]({gppVersion: '1.1', cmpStatus: 'stub'}, true);
  if (b[0] === 'addEventListener') {
    __gpp.lastId = (__gpp.lastId || 0) + 1;
    __gpp.events.push({id: __gpp.lastId, callback: b[1], parameter: b[2]});
    return b[1]({eventName: 'listenerRegistered', listenerId: __gpp.lastId, data: true, pingData: {cmpStatus: 'stub'}}, true);
  }
  __gpp.queue.push([].slice.apply(b));
};
__gpp('addEventListener', e => heard.push(e.listenerId + ':' + e.eventName + ':' + e.data));
__gpp('addEventListener', e => heard.push(e.listenerId + ':' + e.eventName + ':' + e.data));
__gpp('getField', (v, ok) => heard.push('queued:' + v + ':' + ok), 'usnat.SaleOptOut');`

// TestGPPTakesOverIABStub: banner-gpp.js takes over a page's stub as IAB
// specifies it: the listeners it registered keep their ids and hear the
// CMP load, the calls it queued are answered in order, and new listeners
// get fresh ids.
func TestGPPTakesOverIABStub(t *testing.T) {
	ctx := gppAlone(t, iabStub)
	js[string](t, ctx, `StewardGPP.init({gpp: {section: 'usnat', sectionId: 7, cmpId: 7, supported: ['7:usnat'], sale: ['data'],
		sharing: ['data'], targeted: [], mspa: [2, 0, 0]}}, {choices: () => ({data: false}), signal: false, gpc: false, visible: () => false}).string()`)
	want := []string{"1:listenerRegistered:true", "2:listenerRegistered:true", "queued:1:true",
		"1:cmpStatus:loaded", "2:cmpStatus:loaded", "1:signalStatus:ready", "2:signalStatus:ready"}
	if got := js[[]string](t, ctx, `heard`); !slices.Equal(got, want) {
		t.Fatalf("heard %v, want %v", got, want)
	}
	if got := js[string](t, ctx, `new Promise(done => __gpp('addEventListener', e => done(e.listenerId + ':' + e.pingData.cmpStatus)))`); got != "3:loaded" {
		t.Fatalf("a new listener: %s", got)
	}
	if got := js[string](t, ctx, `new Promise(done => __gpp('removeEventListener', (ok, success) => __gpp('removeEventListener', again => done([ok, success, again].join()), 1), 1))`); got != "true,true,false" {
		t.Fatalf("removeEventListener 1, twice: %s", got)
	}
}
