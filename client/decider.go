package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steward-dev/steward/internal/consentrules"
)

// ReasonStale: a local Decider is further behind the ledger than its
// MaxLag allows (or lost the stream that long ago), so it refuses rather
// than answer from a state that may have changed.
const ReasonStale Reason = "stale"

// DecisionRules is the decision-relevant part of the catalog that a
// Decider loads (GET /v1/consent/rules): purposes, vendors, properties'
// jurisdiction rules, the current notice and the assessments' ends.
type DecisionRules = consentrules.RulesDocument

// PropertyRules, PurposeRules and VendorRules are parts of DecisionRules.
type (
	PropertyRules = consentrules.PropertyRules
	PurposeRules  = consentrules.PurposeRules
	VendorRules   = consentrules.VendorRules
)

// StreamEntry is one decision-relevant entry of the ledger, as the
// decision stream sends it: subjects and devices are named by refs
// (hashes of their ids), never by id.
type StreamEntry struct {
	Seq int64 `json:"seq"`
	// Kind is consent, link, restrict, lift or erase (a tombstone).
	Kind    string `json:"kind"`
	Subject string `json:"subject,omitempty"`
	Device  string `json:"device,omitempty"`
	Purpose string `json:"purpose,omitempty"`
	Vendor  string `json:"vendor,omitempty"`
	// Channel is the one channel of a communication topic a consent
	// entry is about; empty for every channel.
	Channel  TopicChannel `json:"channel,omitempty"`
	Action   Action       `json:"action,omitempty"`
	At       int64        `json:"at,omitempty"`
	Notice   int          `json:"notice,omitempty"`
	Imported bool         `json:"imported,omitempty"`
	Portal   bool         `json:"portal,omitempty"`
}

// StreamPage is one page of the decision stream.
type StreamPage struct {
	Entries []StreamEntry `json:"entries"`
	// Next is the sequence number to resume after; Head the ledger's when
	// the page was read (Next < Head: more follows at once).
	Next int64 `json:"next"`
	Head int64 `json:"head"`
	// Fingerprint changes with the rules: reload them when it does.
	Fingerprint string `json:"fingerprint"`
	// Time is the server's, Unix milliseconds.
	Time int64 `json:"time"`
}

// DecisionRules reads the rules a local Decider decides by. It needs a
// decide or admin key.
func (c *Client) DecisionRules(ctx context.Context) (*DecisionRules, error) {
	var out DecisionRules
	if err := c.do(ctx, http.MethodGet, "/v1/consent/rules", nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// DecisionEntries reads the decision stream's entries after seq after as
// one page: up to limit of each kind (0: the server's default), waiting up
// to wait (at most a minute) for some when there are none (long polling).
// A Decider calls it for its snapshot and when it cannot use server-sent
// events. It needs a decide or admin key.
func (c *Client) DecisionEntries(ctx context.Context, after int64, limit int, wait time.Duration) (*StreamPage, error) {
	return c.decisionEntries(ctx, c.http, after, limit, wait)
}

func (c *Client) decisionEntries(ctx context.Context, hc *http.Client, after int64, limit int, wait time.Duration) (*StreamPage, error) {
	q := url.Values{"after": {strconv.FormatInt(after, 10)}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if wait > 0 {
		q.Set("wait", wait.Round(time.Second).String())
	}
	var out StreamPage
	if err := c.doWith(ctx, hc, http.MethodGet, "/v1/consent/stream", q, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeciderOptions adjust a Decider.
type DeciderOptions struct {
	// MaxLag is how far behind the ledger the Decider may be, or how long
	// it may have heard nothing from the server, before it answers
	// ReasonStale: 30 seconds when 0. Heartbeats come every third of it.
	MaxLag time.Duration
	// LongPoll follows the ledger by long polling JSON pages instead of
	// server-sent events (for proxies that buffer event streams).
	LongPoll bool
	// MinBackoff and MaxBackoff bound the wait before reconnecting after
	// the stream is lost (half a second and 30 seconds when 0); it doubles
	// from the first to the second, with jitter.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives the stream's losses and reconnections (none when nil).
	Logger *slog.Logger
}

// Lag is how far a Decider is behind the ledger.
type Lag struct {
	// Seq is the number of sequence numbers it has not applied yet, as far
	// as it knows the ledger's head.
	Seq int64
	// Behind is the time since it last knew itself current (every entry up
	// to the head it heard of applied): past MaxLag, it answers stale.
	Behind time.Duration
	// Applied is the last sequence number applied; Connected whether the
	// stream is up.
	Applied   int64
	Connected bool
}

// Decider answers decisions in the integrator's own process, from memory,
// by the same rules as the server (package consentrules, which both
// share): it loads the rules and the ledger's decision-relevant entries at
// start, then follows the ledger's stream and resumes it from its last
// sequence number after any loss. Past MaxLag behind, it answers
// {Allowed: false, Reason: ReasonStale} rather than a grant that may have
// been withdrawn. Decide takes about as long as a SHA-256 of the id (the
// stream names ids by hash) and a few lookups, and does not allocate;
// DecideRef saves the hash for a caller who holds the ref.
//
// It is safe for concurrent use; Close stops it.
type Decider struct {
	c      *Client
	hc     *http.Client // no overall timeout: a stream lasts
	opts   DeciderOptions
	log    *slog.Logger
	index  *consentrules.Index
	cat    atomic.Pointer[consentrules.Catalog]
	maxLag int64 // microseconds

	nowMicros atomic.Int64 // a coarse clock, moved every 50 ms
	current   atomic.Int64 // Unix microseconds when last known current
	applied   atomic.Int64
	head      atomic.Int64
	connected atomic.Bool

	mu          sync.Mutex // serialises applying and reloading
	fingerprint string

	stop context.CancelFunc
	done sync.WaitGroup
}

// deciderClockTick is how often the Decider's clock moves: decisions read
// it instead of the system clock.
const deciderClockTick = 50 * time.Millisecond

// NewDecider loads the rules and the ledger's decision-relevant state from
// the server (a decide key is enough), then follows the ledger in the
// background until Close. It fails when the server cannot be read at
// start.
func (c *Client) NewDecider(ctx context.Context, opts DeciderOptions) (*Decider, error) {
	if opts.MaxLag <= 0 {
		opts.MaxLag = 30 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 500 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(30*time.Second, opts.MinBackoff)
	}
	d := &Decider{c: c, hc: &http.Client{Transport: c.http.Transport, CheckRedirect: c.http.CheckRedirect, Jar: c.http.Jar},
		opts: opts, log: opts.Logger, index: consentrules.NewIndex(consentrules.RefKey), maxLag: opts.MaxLag.Microseconds()}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.nowMicros.Store(time.Now().UnixMicro())
	if err := d.reloadRules(ctx); err != nil {
		return nil, err
	}
	// The snapshot: every decision-relevant entry up to the head, in pages.
	for {
		page, err := c.decisionEntries(ctx, d.hc, d.applied.Load(), 10000, 0)
		if err != nil {
			return nil, err
		}
		if err := d.apply(ctx, page); err != nil {
			return nil, err
		}
		if page.Next >= page.Head {
			break
		}
	}
	runCtx, stop := context.WithCancel(context.Background())
	d.stop = stop
	d.done.Add(2)
	go d.runClock(runCtx)
	go d.follow(runCtx)
	return d, nil
}

// Close stops following the ledger; later decisions answer stale.
func (d *Decider) Close() error {
	d.stop()
	d.done.Wait()
	d.current.Store(0)
	return nil
}

// Decide answers one question from memory; gpcHeader is the Sec-GPC
// signal of the request being served ("Sec-GPC: 1"), which opts out of
// every sale or sharing purpose. A question at fault (an unknown purpose,
// vendor or property, a malformed jurisdiction, both or neither of subject
// and device) is an *Error naming the field, as the server's. It does not
// allocate for a valid question.
func (d *Decider) Decide(q *Question, gpcHeader bool) (Answer, error) {
	return d.decide(q, IdentityRef{}, gpcHeader)
}

// IdentityRef is a subject or a device as the decision stream names it: a
// hash of its id (a SHA-256, see docs/api.md), which Decide computes for
// every question and which is about half the time a decision takes. A
// caller that asks about one identity many times (the device of a session,
// a signed-in customer) can compute it once with SubjectRef or DeviceRef
// and ask DecideRef. The zero IdentityRef names nobody.
type IdentityRef struct {
	key  consentrules.Key
	kind uint8 // refSubject or refDevice; 0: none
}

const (
	refSubject = 1 + iota
	refDevice
)

// SubjectRef returns the ref of a subject's id.
func SubjectRef(id string) IdentityRef {
	return IdentityRef{key: consentrules.RefKey(id), kind: refSubject}
}

// DeviceRef returns the ref of a device's id.
func DeviceRef(id string) IdentityRef {
	return IdentityRef{key: consentrules.RefKey(id), kind: refDevice}
}

// DecideRef is Decide about the subject or device that ref names; q names
// neither a subject nor a device. It answers as Decide does and does not
// allocate for a valid question.
func (d *Decider) DecideRef(ref IdentityRef, q *Question, gpcHeader bool) (Answer, error) {
	if ref.kind == 0 {
		return Answer{}, invalidQuestion("subject", "no identity: the IdentityRef is zero")
	}
	return d.decide(q, ref, gpcHeader)
}

func invalidQuestion(field, message string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Title: "Bad Request", Detail: message,
		Fields: map[string]string{field: message}, Type: "about:blank"}
}

// decide is Decide (ref zero) and DecideRef.
func (d *Decider) decide(q *Question, ref IdentityRef, gpcHeader bool) (Answer, error) {
	now := d.nowMicros.Load()
	if now-d.current.Load() > d.maxLag {
		return Answer{Allowed: false, Reason: ReasonStale}, nil
	}
	cat := d.cat.Load()
	rq := consentrules.Question{Subject: q.Subject, Device: q.Device, Purpose: q.Purpose, Channel: string(q.Channel),
		Vendor: q.Vendor, Jurisdiction: q.Jurisdiction, Property: q.Property, GPC: q.GPC}
	var a consentrules.Answer
	var err error
	if ref.kind == 0 {
		a, err = consentrules.Decide(cat, cat.PurposeOpen, cat.VendorOpen, d.index, &rq, gpcHeader, now)
	} else {
		a, err = consentrules.DecideKey(cat, cat.PurposeOpen, cat.VendorOpen, d.index, &rq, ref.kind == refSubject, ref.key, gpcHeader, now)
	}
	if err != nil {
		var fe *consentrules.FieldError
		if errors.As(err, &fe) {
			return Answer{}, invalidQuestion(fe.Field, fe.Message)
		}
		return Answer{}, err
	}
	return Answer{Allowed: a.Allowed, Reason: Reason(a.Reason), Event: a.Event}, nil
}

// Lag reports how far the Decider is behind the ledger.
func (d *Decider) Lag() Lag {
	behind := time.Duration(d.nowMicros.Load()-d.current.Load()) * time.Microsecond
	applied := d.applied.Load()
	return Lag{Seq: max(d.head.Load()-applied, 0), Behind: max(behind, 0), Applied: applied, Connected: d.connected.Load()}
}

func (d *Decider) runClock(ctx context.Context) {
	defer d.done.Done()
	t := time.NewTicker(deciderClockTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			d.nowMicros.Store(now.UnixMicro())
		}
	}
}

// reloadRules reads the rules and compiles them against the index.
func (d *Decider) reloadRules(ctx context.Context) error {
	var doc DecisionRules
	if err := d.c.doWith(ctx, d.hc, http.MethodGet, "/v1/consent/rules", nil, nil, &doc, nil); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cat.Store(doc.Compile(d.index))
	d.fingerprint = doc.Fingerprint
	return nil
}

// apply applies a page in ledger order, reloads the rules when their
// fingerprint changed, and marks the Decider current when it has applied
// everything up to the head.
func (d *Decider) apply(ctx context.Context, page *StreamPage) error {
	d.mu.Lock()
	stale := page.Fingerprint != "" && page.Fingerprint != d.fingerprint
	d.mu.Unlock()
	if stale {
		if err := d.reloadRules(ctx); err != nil {
			return err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := applyEntries(d.index, page.Entries); err != nil {
		return err
	}
	if page.Next > d.applied.Load() {
		d.applied.Store(page.Next)
		d.index.Advance(page.Next)
	}
	d.head.Store(max(page.Head, d.head.Load()))
	if d.applied.Load() >= page.Head {
		d.current.Store(time.Now().UnixMicro())
	}
	return nil
}

// applyEntries applies entries in order: runs of one kind at once, and an
// erasure before anything after it.
func applyEntries(x *consentrules.Index, entries []StreamEntry) error {
	var events []consentrules.Event
	var links []consentrules.Link
	var restrictions []consentrules.Restriction
	flush := func() {
		x.Apply(events)
		x.ApplyLinks(links)
		x.ApplyRestrictions(restrictions)
		events, links, restrictions = events[:0], links[:0], restrictions[:0]
	}
	ref := func(e *StreamEntry, r string) (consentrules.Key, error) {
		k, ok := consentrules.ParseRef(r)
		if !ok {
			return k, fmt.Errorf("steward: decision stream: entry %d: malformed ref %q", e.Seq, r)
		}
		return k, nil
	}
	for i := range entries {
		e := &entries[i]
		switch e.Kind {
		case "consent":
			ev := consentrules.Event{Seq: e.Seq, Purpose: e.Purpose, Vendor: e.Vendor, Channel: string(e.Channel),
				Action: consentrules.ActionCode(string(e.Action)),
				At:     uint32(min(max(e.At, 0), 1<<32-1)), Notice: uint16(e.Notice), Imported: e.Imported, Portal: e.Portal}
			var err error
			if e.Subject != "" {
				ev.IsSubject = true
				ev.Ident, err = ref(e, e.Subject)
			} else {
				ev.Ident, err = ref(e, e.Device)
			}
			if err != nil {
				return err
			}
			events = append(events, ev)
		case "link":
			device, err := ref(e, e.Device)
			if err != nil {
				return err
			}
			subject, err := ref(e, e.Subject)
			if err != nil {
				return err
			}
			links = append(links, consentrules.Link{Device: device, Subject: subject, Seq: e.Seq})
		case "restrict", "lift":
			subject, err := ref(e, e.Subject)
			if err != nil {
				return err
			}
			restrictions = append(restrictions, consentrules.Restriction{Seq: e.Seq, Subject: subject, Purpose: e.Purpose, Lift: e.Kind == "lift"})
		case "erase":
			subject, err := ref(e, e.Subject)
			if err != nil {
				return err
			}
			flush()
			x.Forget([]consentrules.Key{subject}, e.Seq)
		default:
			// A kind this SDK does not know yet changes no decision it makes.
		}
	}
	flush()
	return nil
}

// follow follows the stream until ctx ends, reconnecting with backoff and
// resuming after the last sequence number applied.
func (d *Decider) follow(ctx context.Context) {
	defer d.done.Done()
	backoff := d.opts.MinBackoff
	for ctx.Err() == nil {
		var progressed bool
		var err error
		if d.opts.LongPoll {
			progressed, err = d.poll(ctx)
		} else {
			progressed, err = d.stream(ctx)
		}
		d.connected.Store(false)
		if ctx.Err() != nil {
			return
		}
		if progressed {
			backoff = d.opts.MinBackoff
		}
		d.log.Warn("steward decision stream lost; resuming", "after", d.applied.Load(), "in", backoff, "err", err)
		jittered := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(jittered):
		}
		backoff = min(backoff*2, d.opts.MaxBackoff)
	}
}

// heartbeat is what the Decider asks the server's heartbeats to be.
func (d *Decider) heartbeat() time.Duration {
	return max(d.opts.MaxLag/3, time.Second).Round(time.Second)
}

// poll follows by long polling until an error.
func (d *Decider) poll(ctx context.Context) (progressed bool, err error) {
	wait := d.heartbeat()
	for {
		reqCtx, cancel := context.WithTimeout(ctx, wait+10*time.Second)
		page, err := d.c.decisionEntries(reqCtx, d.hc, d.applied.Load(), 0, wait)
		cancel()
		if err != nil {
			return progressed, err
		}
		d.connected.Store(true)
		if err := d.apply(ctx, page); err != nil {
			return progressed, err
		}
		progressed = true
	}
}

// stream follows by server-sent events until the connection ends, or
// until nothing (not even a heartbeat) came for two heartbeats.
func (d *Decider) stream(ctx context.Context) (progressed bool, err error) {
	beat := d.heartbeat()
	q := url.Values{"after": {strconv.FormatInt(d.applied.Load(), 10)}, "heartbeat": {beat.String()}}
	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, d.c.baseURL+"/v1/consent/stream?"+q.Encode(), nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", strconv.FormatInt(d.applied.Load(), 10))
	if d.c.userAgent != "" {
		req.Header.Set("User-Agent", d.c.userAgent)
	}
	if d.c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+d.c.apiKey)
	}
	// A silent connection is a lost one: the watchdog cancels the request
	// when nothing arrived for two heartbeats.
	watchdog := time.AfterFunc(2*beat+5*time.Second, cancel)
	defer watchdog.Stop()
	resp, err := d.hc.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, readError(resp)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return false, fmt.Errorf("steward: decision stream: answered %q, not server-sent events", ct)
	}
	d.connected.Store(true)
	scanner := bufio.NewScanner(resp.Body)
	scanner.Buffer(make([]byte, 0, 64<<10), 64<<20)
	var data []byte
	for scanner.Scan() {
		line := scanner.Bytes()
		switch {
		case len(line) == 0:
			if len(data) == 0 {
				continue
			}
			watchdog.Reset(2*beat + 5*time.Second)
			var page StreamPage
			if err := json.Unmarshal(data, &page); err != nil {
				return progressed, fmt.Errorf("steward: decision stream: %w", err)
			}
			data = data[:0]
			if err := d.apply(ctx, &page); err != nil {
				return progressed, err
			}
			progressed = true
		case strings.HasPrefix(string(line), "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(string(line), "data:"), " ")...)
		}
		// id: and event: lines need no handling: every message's data
		// carries its Next, which the Decider resumes after.
	}
	if err := scanner.Err(); err != nil {
		return progressed, err
	}
	return progressed, errors.New("steward: decision stream ended")
}
