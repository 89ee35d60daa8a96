package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/steward-dev/steward/internal/apikey"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/web/auth"
	"github.com/steward-dev/steward/internal/web/httpx"
)

type eventInput struct {
	ID            string          `json:"id"`
	Property      string          `json:"property"`
	Device        string          `json:"device"`
	Subject       string          `json:"subject"`
	Purpose       string          `json:"purpose"`
	Vendor        string          `json:"vendor"`
	Channel       consent.Channel `json:"channel"`
	Action        consent.Action  `json:"action"`
	Source        consent.Source  `json:"source"`
	NoticeVersion string          `json:"notice_version"`
	Jurisdiction  string          `json:"jurisdiction"`
	GPC           bool            `json:"gpc"`
	DNT           bool            `json:"dnt"`
	TCString      string          `json:"tc_string"`
	GPPString     string          `json:"gpp_string"`
	At            *httpx.Time     `json:"at"`
}

type eventResult struct {
	ID        string `json:"id"`
	Seq       int64  `json:"seq"`
	Duplicate bool   `json:"duplicate"`
	Receipt   string `json:"receipt"`
}

// HandleAppendEvents appends a batch of consent events to the ledger and
// answers, once they are durable, with a sequence number and a signed
// receipt for each. The key decides what the batch may assert (see
// AuthorOf): a public ingest key only device events of its property from
// the banner or GPC.
func (d *Deps) HandleAppendEvents() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := auth.Key(r.Context())
		by := AuthorOf(key)
		body, err := httpx.ReadBody(w, r, batchMax)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		// Decoded one event at a time, refused at event MaxBatch+1: a body
		// of tiny events must not take memory beyond one batch.
		in, err := decodeEvents(body)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		events := make([]consent.Event, len(in))
		for i, e := range in {
			events[i] = consent.Event{ID: e.ID, Property: e.Property, Device: e.Device, Subject: e.Subject, Purpose: e.Purpose,
				Vendor: e.Vendor, Channel: e.Channel, Action: e.Action, Source: e.Source, NoticeVersion: e.NoticeVersion,
				Jurisdiction: e.Jurisdiction, GPC: e.GPC, DNT: e.DNT, TCString: e.TCString, GPPString: e.GPPString}
			if e.At != nil {
				if e.At.IsZero() {
					// The zero time is a placeholder, never "now".
					d.fail(w, r, errs.Invalid(fmt.Sprintf("events[%d].at", i), "must be a real time, not the zero time"))
					return
				}
				events[i].At = e.At.Time
			}
		}
		if by.Kind == consent.AuthorIngestKey {
			allowOrigin(w, r, d, key.Property)
		}
		if err := d.Consent.ValidateEvents(events, by); err != nil {
			d.fail(w, r, err)
			return
		}
		// Append signs each receipt and stores it with its event; a
		// duplicate's is the receipt stored with the first copy.
		results, err := d.Consent.Append(r.Context(), events)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		out := make([]eventResult, len(results))
		for i, res := range results {
			out[i] = eventResult{ID: res.Event.ID, Seq: res.Event.Seq, Duplicate: res.Duplicate, Receipt: res.Event.Receipt}
		}
		bufPtr := bufPool.Get().(*[]byte)
		defer bufPool.Put(bufPtr)
		buf := appendResults((*bufPtr)[:0], out)
		*bufPtr = buf
		if cap(buf) > 64<<10 {
			*bufPtr = nil // a batch's answer (up to 1.5 MB) is not kept for the next request
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
		_, _ = w.Write(buf)
	})
}

// AuthorOf returns what a key may assert when it records consent events:
// an ingest key, its property's banner events; a record key, the company's
// back end; an admin key, that and imports. Any other key, or none, may
// assert nothing (the route's permission lets none through).
func AuthorOf(k *apikey.Key) consent.Author {
	if k == nil {
		return consent.Author{}
	}
	switch k.Scope {
	case apikey.ScopeIngest:
		return consent.Author{Kind: consent.AuthorIngestKey, Property: k.Property}
	case apikey.ScopeRecord:
		return consent.Author{Kind: consent.AuthorRecordKey}
	case apikey.ScopeAdmin:
		return consent.Author{Kind: consent.AuthorAdminKey}
	}
	return consent.Author{}
}

// allowOrigin lets a page of the property read the answer (its receipts):
// CORS for the property's own domains, and nobody else's.
func allowOrigin(w http.ResponseWriter, r *http.Request, d *Deps, property string) {
	origin := r.Header.Get("Origin")
	w.Header().Add("Vary", "Origin")
	if origin == "" {
		return
	}
	if p, err := d.Consent.Property(property); err == nil && p.AllowsOrigin(origin) {
		w.Header().Set("Access-Control-Allow-Origin", origin)
	}
}

// HandleEventsPreflight answers CORS preflight requests for recording events
// from a page of a property, for clients that send JSON with its own
// content type or an Authorization header. The banner itself sends
// text/plain and needs no preflight.
func (d *Deps) HandleEventsPreflight() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		w.Header().Add("Vary", "Origin")
		allowed := false
		for _, p := range d.Consent.Properties() {
			if p.AllowsOrigin(origin) {
				allowed = true
				break
			}
		}
		if !allowed {
			httpx.Error(w, r, nil, errs.New(errs.CodeForbidden, "origin %q is not a domain of any property", origin))
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Methods", "POST")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	})
}

// HandleListEvents lists ledger entries after a sequence number, optionally
// of one subject or device: the stream that replicas and local deciders follow.
func (d *Deps) HandleListEvents() http.Handler {
	type response struct {
		Items []consent.Event `json:"items"`
		Next  int64           `json:"next"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := consent.EventFilter{Subject: q.Get("subject"), Device: q.Get("device")}
		var err error
		if v := q.Get("after"); v != "" {
			if f.After, err = strconv.ParseInt(v, 10, 64); err != nil || f.After < 0 {
				d.fail(w, r, errs.Invalid("after", "must be a sequence number"))
				return
			}
		}
		if v := q.Get("limit"); v != "" {
			if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 {
				d.fail(w, r, errs.Invalid("limit", "must be a number from 1 to 10000"))
				return
			}
		}
		events, err := d.Consent.Events(r.Context(), f)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		next := f.After
		if len(events) > 0 {
			next = events[len(events)-1].Seq
		}
		httpx.Encode(w, http.StatusOK, response{Items: events, Next: next})
	})
}

// HandleGetEvent returns one ledger entry with its receipt as issued at
// append ("" once its subject was erased): never one signed again from the
// row, which someone with the database could have edited.
func (d *Deps) HandleGetEvent() http.Handler {
	type response struct {
		consent.Event
		Receipt string `json:"receipt"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := d.Consent.Event(r.Context(), r.PathValue("property"), r.PathValue("id"))
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, response{Event: e, Receipt: e.Receipt})
	})
}

// HandleLinkDevice links a device to a subject.
func (d *Deps) HandleLinkDevice() http.Handler {
	type request struct {
		Device string `json:"device"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[request](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		link, err := d.Consent.LinkDevice(r.Context(), r.PathValue("id"), in.Device)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		httpx.Encode(w, http.StatusOK, link)
	})
}

// appendResults writes the answer of HandleAppendEvents, {"results": [...]},
// as encoding/json would (it is on the ingest path, where the reflection
// showed in profiles). Ids passed ValidID and receipts are compact JWS,
// so neither needs escaping; appendJSONString checks anyway.
func appendResults(buf []byte, results []eventResult) []byte {
	buf = append(buf, `{"results":[`...)
	for i, r := range results {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"id":`...)
		buf = appendJSONString(buf, r.ID)
		buf = append(buf, `,"seq":`...)
		buf = strconv.AppendInt(buf, r.Seq, 10)
		buf = append(buf, `,"duplicate":`...)
		buf = strconv.AppendBool(buf, r.Duplicate)
		buf = append(buf, `,"receipt":`...)
		buf = appendJSONString(buf, r.Receipt)
		buf = append(buf, '}')
	}
	return append(buf, "]}\n"...)
}

// appendJSONString appends s as a JSON string: as is when it holds only
// printable ASCII other than quote and backslash, else through encoding/json.
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			quoted, _ := json.Marshal(s)
			return append(buf, quoted...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}
