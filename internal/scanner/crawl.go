package scanner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

// Options bound and tune a scan.
type Options struct {
	// Chrome is Chromium's path; "" looks on PATH (FindChrome).
	Chrome string
	// Pages is the most pages visited per state (default DefaultPages,
	// at most MaxPages).
	Pages int
	// Timeout bounds the whole scan (default 15 minutes); what is not
	// visited by then is left out and the report says Truncated.
	Timeout time.Duration
	// PageTimeout bounds one page in one state (default 20 s).
	PageTimeout time.Duration
	// Settle is how long a page is watched after its load event, for
	// what its scripts do then (default 500 ms).
	Settle time.Duration
	// Parallel is the number of pages loaded at once (default 2).
	Parallel int
	// ChromeFlags are extra command-line flags (tests map host names with
	// host-resolver-rules).
	ChromeFlags map[string]any
	// HTTP fetches the sitemap (default: a client without cookies or
	// credentials, 10 s per request).
	HTTP *http.Client
	// CookieDB classifies; nil opens the embedded one.
	CookieDB *CookieDB
	Now      func() time.Time
}

// The page limits.
const (
	DefaultPages = 20
	MaxPages     = 1000
)

func (o *Options) defaults() {
	if o.Pages <= 0 {
		o.Pages = DefaultPages
	}
	o.Pages = min(o.Pages, MaxPages)
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Minute
	}
	if o.PageTimeout <= 0 {
		o.PageTimeout = 20 * time.Second
	}
	if o.Settle <= 0 {
		o.Settle = 500 * time.Millisecond
	}
	if o.Parallel <= 0 {
		o.Parallel = 2
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Scan visits the target's pages in every consent state and judges what
// they do. It fails only when it cannot start (no Chromium, a bad target);
// a page that fails is reported with its error.
func Scan(ctx context.Context, t Target, o Options) (*Report, error) {
	o.defaults()
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if o.CookieDB == nil {
		db, err := OpenCookieDB()
		if err != nil {
			return nil, err
		}
		o.CookieDB = db
	}
	chrome, err := FindChrome(o.Chrome)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	browser, stop, err := startBrowser(ctx, chrome, o.ChromeFlags)
	if err != nil {
		return nil, err
	}
	defer stop()
	s := &scan{t: t, o: o, browser: browser, started: o.Now()}
	return s.run(ctx)
}

// scan is one run of Scan.
type scan struct {
	t       Target
	o       Options
	browser context.Context
	started time.Time
}

// raw is what a page showed, before classification.
type raw struct {
	url   string
	state State
	items []Item
	// untagged third-party scripts by src, and links within the domains.
	untagged []string
	links    []string
	err      error
}

func (s *scan) run(ctx context.Context) (*Report, error) {
	states := s.t.States()
	pages, truncated := s.sitemap(ctx)
	var results []raw
	if len(pages) == 0 {
		// No sitemap: the first state finds the pages by their links.
		results, pages, truncated = s.follow(ctx, states[0])
		states = states[1:]
	}
	var jobs []job
	for _, st := range states {
		for _, p := range pages {
			jobs = append(jobs, job{url: p, state: st})
		}
	}
	results = append(results, s.visitAll(ctx, jobs)...)
	if ctx.Err() != nil {
		truncated = true
	}
	report := s.judge(results, pages)
	report.Truncated = truncated
	return report, nil
}

type job struct {
	url   string
	state State
}

// visitAll loads the jobs' pages, Parallel at a time, in the jobs' order.
func (s *scan) visitAll(ctx context.Context, jobs []job) []raw {
	out := make([]raw, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(s.o.Parallel, len(jobs)) {
		wg.Go(func() {
			var w *worker
			defer func() { w.close() }()
			for i := range next {
				if w == nil {
					var err error
					if w, err = s.newWorker(); err != nil {
						out[i] = raw{url: jobs[i].url, state: jobs[i].state, err: err}
						continue
					}
				}
				out[i] = w.visit(ctx, jobs[i].url, jobs[i].state)
				// A tab that failed may be stuck mid-load: a fresh one.
				if out[i].err != nil {
					w.close()
					w = nil
				}
			}
		})
	}
	for i := range jobs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	var done []raw
	for _, r := range out {
		if r.url != "" {
			done = append(done, r)
		}
	}
	return done
}

// follow visits pages in state st breadth first from the start URLs,
// following links within the declared domains, up to Pages pages.
func (s *scan) follow(ctx context.Context, st State) ([]raw, []string, bool) {
	seen := map[string]bool{}
	var level, pages []string
	for _, u := range s.t.Start {
		if n, ok := s.normalise(u, nil); ok && !seen[n] {
			seen[n] = true
			level = append(level, n)
		}
	}
	var results []raw
	truncated := false
	for len(level) > 0 && ctx.Err() == nil {
		if room := s.o.Pages - len(pages); len(level) > room {
			level, truncated = level[:room], true
		}
		var jobs []job
		for _, u := range level {
			jobs = append(jobs, job{url: u, state: st})
		}
		pages = append(pages, level...)
		got := s.visitAll(ctx, jobs)
		results = append(results, got...)
		level = nil
		for _, r := range got {
			base, _ := url.Parse(r.url)
			for _, l := range r.links {
				if n, ok := s.normalise(l, base); ok && !seen[n] {
					seen[n] = true
					level = append(level, n)
				}
			}
		}
		if len(pages) >= s.o.Pages {
			truncated = truncated || len(level) > 0
			break
		}
	}
	return results, pages, truncated
}

// normalise resolves a link against base and keeps it when it is an
// http(s) page within the declared domains, without credentials; the
// fragment is dropped.
func (s *scan) normalise(link string, base *url.URL) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(link))
	if err != nil {
		return "", false
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || !s.t.FirstParty(u.Hostname()) {
		return "", false
	}
	u.Fragment, u.RawFragment = "", ""
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), true
}

// maxSitemap bounds a sitemap's size.
const maxSitemap = 10 << 20

// sitemap reads /sitemap.xml of the first start URL's origin (and, for a
// sitemap index, the sitemaps it lists), keeping the pages within the
// declared domains, up to Pages; none when there is no sitemap.
func (s *scan) sitemap(ctx context.Context) ([]string, bool) {
	start, err := url.Parse(s.t.Start[0])
	if err != nil {
		return nil, false
	}
	var pages []string
	seen := map[string]bool{}
	queue := []string{start.Scheme + "://" + start.Host + "/sitemap.xml"}
	for fetched := 0; len(queue) > 0 && fetched < 20; fetched++ {
		doc, err := s.fetchSitemap(ctx, queue[0])
		queue = queue[1:]
		if err != nil {
			continue
		}
		for _, sm := range doc.Sitemaps {
			if n, ok := s.normalise(sm.Loc, start); ok {
				queue = append(queue, n)
			}
		}
		for _, u := range doc.URLs {
			if n, ok := s.normalise(u.Loc, start); ok && !seen[n] {
				if len(pages) == s.o.Pages {
					return pages, true
				}
				seen[n] = true
				pages = append(pages, n)
			}
		}
	}
	return pages, false
}

type sitemapDoc struct {
	URLs []struct {
		Loc string `xml:"loc"`
	} `xml:"url"`
	Sitemaps []struct {
		Loc string `xml:"loc"`
	} `xml:"sitemap"`
}

func (s *scan) fetchSitemap(ctx context.Context, u string) (*sitemapDoc, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	client := *s.o.HTTP
	// A redirect may not leave the declared domains.
	client.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if len(via) >= 5 || !s.t.FirstParty(r.URL.Hostname()) {
			return errors.New("redirect outside the property")
		}
		return nil
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sitemap %s: %s", u, resp.Status)
	}
	var doc sitemapDoc
	if err := xml.NewDecoder(io.LimitReader(resp.Body, maxSitemap)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("sitemap %s: %w", u, err)
	}
	return &doc, nil
}

// request is a request the page made.
type request struct {
	url   string
	typ   network.ResourceType
	frame string
}

// pageFacts is what the page's document tells about itself.
type pageFacts struct {
	Origin  string   `json:"origin"`
	Local   []string `json:"local"`
	Session []string `json:"session"`
	Links   []string `json:"links"`
	Scripts []struct {
		Src    string `json:"src"`
		Tagged bool   `json:"tagged"`
	} `json:"scripts"`
}

// factsJS reads the page, then empties its session storage, which would
// otherwise outlive the page in the reused tab.
const factsJS = `(() => {
	const keys = s => { try { return Object.keys(s()); } catch (e) { return []; } };
	const facts = {
		origin: location.origin,
		local: keys(() => localStorage),
		session: keys(() => sessionStorage),
		links: [...document.links].map(a => a.href).slice(0, 2000),
		scripts: [...document.scripts].filter(s => s.src && s.type != 'text/plain')
			.map(s => ({src: s.src, tagged: !!s.dataset.stewardPurpose})),
	};
	try { sessionStorage.clear(); } catch (e) {}
	return facts;
})()`

// worker is one tab, in a browser context of its own, that loads pages
// one after the other. Opening a tab costs a renderer process (about as
// long as loading a page), so a tab is kept and wiped between pages
// instead: cookies, the storage of every origin the page touched, and
// its session storage.
type worker struct {
	s      *scan
	tab    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	// requests the current page made; origins every page made requests to.
	requests []request
	origins  map[string]bool
}

func (s *scan) newWorker() (*worker, error) {
	tab, cancel := chromedp.NewContext(s.browser, chromedp.WithNewBrowserContext())
	w := &worker{s: s, tab: tab, cancel: cancel, origins: map[string]bool{}}
	if err := chromedp.Do(tab); err != nil {
		cancel()
		return nil, fmt.Errorf("open tab: %w", err)
	}
	if err := chromedp.Listen(tab, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && e.Request != nil {
			w.mu.Lock()
			w.requests = append(w.requests, request{url: e.Request.URL, typ: e.Type, frame: string(e.FrameID)})
			w.mu.Unlock()
		}
	}); err != nil {
		cancel()
		return nil, fmt.Errorf("watch tab: %w", err)
	}
	return w, nil
}

func (w *worker) close() {
	if w != nil {
		w.cancel()
	}
}

// wipe leaves the tab as a fresh browser context would be: a blank page,
// no cookies, no storage of the origins seen.
func (w *worker) wipe(ctx context.Context) error {
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		return fmt.Errorf("blank page: %w", err)
	}
	if _, err := chromedp.CallBrowser(ctx, storage.ClearCookies, storage.ClearCookiesParams{BrowserContextID: chromedp.FromContext(w.tab).BrowserContextID}); err != nil {
		return fmt.Errorf("clear cookies: %w", err)
	}
	for origin := range w.origins {
		if _, err := chromedp.Call(ctx, storage.ClearDataForOrigin, storage.ClearDataForOriginParams{Origin: origin, StorageTypes: "all"}); err != nil {
			return fmt.Errorf("clear storage: %w", err)
		}
	}
	clear(w.origins)
	w.mu.Lock()
	w.requests = nil
	w.mu.Unlock()
	return nil
}

// visit loads one page in one state.
func (w *worker) visit(ctx context.Context, pageURL string, st State) (r raw) {
	s := w.s
	r = raw{url: pageURL, state: st}
	if ctx.Err() != nil {
		r.url = ""
		return r
	}
	tab, cancel := context.WithTimeout(w.tab, s.o.PageTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	if err := w.wipe(tab); err != nil {
		r.err = err
		return r
	}
	now := s.o.Now()
	if value := s.t.cookieValue(st, now, deviceID()); value != "" {
		params := network.SetCookieParams{Name: s.t.Cookie.Name, Value: value, Path: "/", URL: pageURL,
			Expires: cdp.TimeSinceEpoch(now.Add(365 * 24 * time.Hour).Unix()), SameSite: network.CookieSameSiteLax}
		if s.t.Cookie.Domain != "" {
			params.URL, params.Domain = "", s.t.Cookie.Domain
		}
		if _, err := chromedp.Call(tab, network.SetCookie, params); err != nil {
			r.err = fmt.Errorf("set the consent cookie: %w", err)
			return r
		}
	}
	err := chromedp.Do(tab, chromedp.Navigate(pageURL), chromedp.Sleep(s.o.Settle))
	w.mu.Lock()
	seen := slices.Clone(w.requests)
	w.mu.Unlock()
	for _, rq := range seen {
		if u, err := url.Parse(rq.url); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			w.origins[u.Scheme+"://"+u.Host] = true
		}
	}
	if err != nil {
		r.err = fmt.Errorf("load: %w", err)
		return r
	}
	facts, err := chromedp.Run(tab, chromedp.Evaluate[pageFacts](factsJS))
	if err != nil {
		r.err = fmt.Errorf("read the page: %w", err)
		return r
	}
	// A redirect or a script may have taken the tab elsewhere: what that
	// page does is not the property's.
	if host := hostOf(facts.Origin); !s.t.FirstParty(host) {
		r.err = fmt.Errorf("the page went to %s, outside the property's domains", facts.Origin)
		return r
	}
	r.items, r.untagged = s.observe(facts, seen)
	r.links = facts.Links
	cookies, err := s.cookies(w.tab)
	if err != nil {
		r.err = err
		return r
	}
	r.items = append(r.items, cookies...)
	return r
}

// deviceID is a fresh random id for the consent cookie: the banner reads
// it but, with a choice stored, records nothing.
func deviceID() string {
	var b [16]byte
	rand.Read(b[:])
	return "scan-" + hex.EncodeToString(b[:])
}

// observe turns the page's requests and document into items: storage keys
// by origin, requests to third-party hosts, scripts and frames by host.
func (s *scan) observe(facts pageFacts, requests []request) ([]Item, []string) {
	var items []Item
	for _, k := range facts.Local {
		items = append(items, Item{Kind: KindLocalStorage, Name: k, Domain: facts.Origin})
	}
	for _, k := range facts.Session {
		items = append(items, Item{Kind: KindSessionStorage, Name: k, Domain: facts.Origin})
	}
	mainFrame := ""
	for _, rq := range requests {
		if rq.typ == network.ResourceTypeDocument {
			mainFrame = rq.frame
			break
		}
	}
	seen := map[string]bool{}
	add := func(k Kind, host string) {
		it := Item{Kind: k, Name: host, ThirdParty: !s.t.FirstParty(host)}
		if !seen[it.Key()] {
			seen[it.Key()] = true
			items = append(items, it)
		}
	}
	for _, rq := range requests {
		u, err := url.Parse(rq.url)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			continue
		}
		host := strings.ToLower(u.Hostname())
		switch {
		case rq.typ == network.ResourceTypeScript:
			add(KindScript, host)
		case rq.typ == network.ResourceTypeDocument && rq.frame != mainFrame:
			add(KindIframe, host)
		}
		if !s.t.FirstParty(host) {
			add(KindRequest, host)
		}
	}
	var untagged []string
	for _, sc := range facts.Scripts {
		u, err := url.Parse(sc.Src)
		if err != nil || sc.Tagged || s.t.FirstParty(u.Hostname()) || s.t.steward(u.Hostname()) {
			continue
		}
		if !slices.Contains(untagged, sc.Src) {
			untagged = append(untagged, sc.Src)
		}
	}
	return items, untagged
}

// cookies reads every cookie of the page's browser context (so the
// third-party ones too): names, domains and lifetimes, never values.
func (s *scan) cookies(tab context.Context) ([]Item, error) {
	got, err := chromedp.CallBrowser(tab, storage.GetCookies, storage.GetCookiesParams{BrowserContextID: chromedp.FromContext(tab).BrowserContextID})
	if err != nil {
		return nil, fmt.Errorf("read cookies: %w", err)
	}
	now := s.o.Now()
	var items []Item
	dedup := map[string]bool{}
	for _, c := range got.Cookies {
		domain := strings.TrimPrefix(c.Domain, ".")
		it := Item{Kind: KindCookie, Name: c.Name, Domain: domain, ThirdParty: !s.t.FirstParty(domain) && !s.t.steward(domain), Lifetime: -1}
		if !c.Session && c.Expires > 0 {
			it.Lifetime = max(int64(c.Expires)-now.Unix(), 0)
		}
		if !dedup[it.Key()] {
			dedup[it.Key()] = true
			items = append(items, it)
		}
	}
	return items, nil
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
