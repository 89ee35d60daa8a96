package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// Bounds of the decision stream.
const (
	streamLimit       = 1000  // entries per page by default
	streamMaxLimit    = 10000 // entries per page at most
	streamMaxWait     = 60 * time.Second
	streamHeartbeat   = 15 * time.Second // between heartbeats by default
	streamMinInterval = time.Second
)

// HandleDecisionRules returns the decision-relevant part of the catalog
// (purposes, vendors, properties' jurisdiction rules, the current notice,
// the gates) that a local Decider loads at start and again whenever the
// stream's fingerprint changes. It holds no texts and no personal data.
func (d *Deps) HandleDecisionRules() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, err := d.Consent.DecisionRules(r.Context())
		if err != nil {
			d.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.Encode(w, http.StatusOK, doc)
	})
}

// streamMessage is one message of the decision stream: a page of entries,
// or a heartbeat (no entries) that tells the ledger's head, the rules'
// fingerprint and the server's time, by which a Decider knows how far
// behind it is.
type streamMessage struct {
	consent.StreamPage
	Fingerprint string `json:"fingerprint"`
	Time        int64  `json:"time"` // Unix milliseconds
}

// HandleDecisionStream sends the ledger's decision-relevant entries after
// ?after=SEQ (or the Last-Event-ID header) to a local Decider: as
// server-sent events when the request accepts text/event-stream (a page
// per event, its id the sequence number to resume after, and a heartbeat
// event every ?heartbeat= (15s)), or else as one JSON page, waiting up to
// ?wait= (at most 60s) for entries when there are none (long polling). New
// entries wake it through the index's change signal (appends on this
// replica, and what the follower reads of the others'). A decide key sees
// refs (hashes) of ids, never ids, and nothing of an event but what
// decisions need (consent.StreamEntry).
func (d *Deps) HandleDecisionStream() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		problems := map[string]string{}
		var after int64
		if v := q.Get("after"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				problems["after"] = "must be a sequence number"
			}
			after = n
		}
		sse := strings.Contains(r.Header.Get("Accept"), "text/event-stream")
		if v := r.Header.Get("Last-Event-ID"); v != "" && sse {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				problems["Last-Event-ID"] = "must be a sequence number"
			}
			after = max(after, n)
		}
		limit := streamLimit
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > streamMaxLimit {
				problems["limit"] = "must be a number from 1 to 10000"
			}
			limit = n
		}
		duration := func(name string, def, lo, hi time.Duration) time.Duration {
			v := q.Get(name)
			if v == "" {
				return def
			}
			t, err := time.ParseDuration(v)
			if err != nil || t < lo || t > hi {
				problems[name] = "must be a duration from " + lo.String() + " to " + hi.String() + ", such as 30s"
			}
			return t
		}
		wait := duration("wait", 0, 0, streamMaxWait)
		heartbeat := duration("heartbeat", streamHeartbeat, streamMinInterval, streamMaxWait)
		if len(problems) > 0 {
			d.fail(w, r, errs.Fields(problems))
			return
		}
		if sse {
			d.streamEvents(w, r, after, limit, heartbeat)
			return
		}
		deadline := time.Now().Add(wait)
		for {
			changed := d.Consent.Changed() // before the read: a change after it wakes the wait
			page, err := d.Consent.ReadDecisionStream(r.Context(), after, limit)
			if err != nil {
				d.fail(w, r, err)
				return
			}
			remaining := time.Until(deadline)
			if len(page.Entries) > 0 || page.Next > after || remaining <= 0 {
				w.Header().Set("Cache-Control", "no-store")
				httpx.Encode(w, http.StatusOK, d.message(page))
				return
			}
			timer := time.NewTimer(remaining)
			select {
			case <-changed:
			case <-timer.C:
			case <-r.Context().Done():
				timer.Stop()
				return
			case <-httpx.Draining(r.Context()):
				// The server is shutting down: answer what there is now.
				deadline = time.Now()
			}
			timer.Stop()
		}
	})
}

func (d *Deps) message(page consent.StreamPage) streamMessage {
	return streamMessage{StreamPage: page, Fingerprint: d.Consent.DecisionFingerprint(), Time: time.Now().UnixMilli()}
}

// streamEvents writes server-sent events until the client goes away. Each
// write extends the connection's write deadline, which the server sets
// for ordinary answers.
func (d *Deps) streamEvents(w http.ResponseWriter, r *http.Request, after int64, limit int, heartbeat time.Duration) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // a proxy must not hold events back
	w.WriteHeader(http.StatusOK)
	send := func(event string, page consent.StreamPage) bool {
		body, err := json.Marshal(d.message(page))
		if err != nil {
			return false
		}
		_ = rc.SetWriteDeadline(time.Now().Add(heartbeat + 10*time.Second))
		var buf []byte
		if event == "entries" {
			buf = append(buf, "id: "...)
			buf = strconv.AppendInt(buf, page.Next, 10)
			buf = append(buf, '\n')
		}
		buf = append(buf, "event: "...)
		buf = append(buf, event...)
		buf = append(buf, "\ndata: "...)
		buf = append(buf, body...)
		buf = append(buf, "\n\n"...)
		if _, err := w.Write(buf); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	ticker := time.NewTicker(heartbeat)
	defer ticker.Stop()
	beat := true // the first message tells the head at once
	for {
		changed := d.Consent.Changed()
		page, err := d.Consent.ReadDecisionStream(r.Context(), after, limit)
		if err != nil {
			d.Log.Warn("decision stream", "err", err)
			return // the client reconnects and resumes
		}
		if len(page.Entries) > 0 || page.Next > after {
			if !send("entries", page) {
				return
			}
			after = page.Next
			beat = false
			if page.Next < page.Head {
				continue // more to send at once
			}
		} else if beat {
			if !send("heartbeat", page) {
				return
			}
			beat = false
		}
		select {
		case <-changed:
		case <-ticker.C:
			beat = true
		case <-r.Context().Done():
			return
		case <-httpx.Draining(r.Context()):
			return // the server is shutting down: the client resumes elsewhere
		}
	}
}
