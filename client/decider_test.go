package client_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steward-dev/steward/client"
	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// caughtUp waits until the Decider has applied the server's ledger up to
// its head now.
func caughtUp(t *testing.T, ctx context.Context, c *client.Client, d *client.Decider) {
	t.Helper()
	page, err := c.DecisionEntries(ctx, 1<<62, 1, 0)
	if err != nil {
		t.Fatalf("DecisionEntries: %v", err)
	}
	waitFor(t, fmt.Sprintf("the Decider applies up to %d", page.Head), 10*time.Second, func() bool {
		return d.Lag().Applied >= page.Head
	})
}

// TestDeciderAgreesWithServer records a ledger that goes through every
// rule (grants, denials, withdrawals, imports, objections, links,
// restrictions placed and lifted, an outdated notice, an unassessed
// purpose, a communication topic, choices of a topic by one channel and by
// every channel in either order, an erasure), half of it before the
// Decider starts (its snapshot) and half while it follows the stream, then
// asks the server and the Decider the same questions and wants the same
// answers and reasons, and the same refusals.
func TestDeciderAgreesWithServer(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			for _, longPoll := range []bool{false, true} {
				t.Run(fmt.Sprintf("long poll %v", longPoll), func(t *testing.T) { deciderAgrees(t, dialect, longPoll) })
			}
		})
	}
}

func deciderAgrees(t *testing.T, dialect db.Dialect, longPoll bool) {
	ctx := context.Background()
	srv := apptest.Start(t, dialect)
	admin := client.New(srv.URL, srv.Keys.Admin)
	decide := client.New(srv.URL, srv.Keys.Decide)
	if _, err := admin.CreatePurpose(ctx, client.PurposeInput{Key: "fraud", Name: map[string]string{"en": "Fraud"}, LegalBasis: client.BasisLegitimateInterest}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreatePurpose(ctx, client.PurposeInput{Key: "tax", Name: map[string]string{"en": "Tax"}, LegalBasis: client.BasisLegalObligation}); err != nil {
		t.Fatal(err)
	}
	// A topic sent by two channels, for choices by one channel.
	if _, err := admin.CreatePurpose(ctx, client.PurposeInput{Key: "offers", Name: map[string]string{"en": "Offers"}, LegalBasis: client.BasisConsent,
		Kind: client.KindCommunication, Channels: []client.TopicChannel{client.TopicEmail, client.TopicSMS}, Frequency: client.FrequencyMonthly}); err != nil {
		t.Fatal(err)
	}
	ethicstest.ApproveAll(t, srv.App.Ethics, srv.App.Consent)
	if _, err := admin.CreatePurpose(ctx, client.PurposeInput{Key: "support_chat", Name: map[string]string{"en": "Chat"}, LegalBasis: client.BasisConsent}); err != nil {
		t.Fatal(err)
	}
	n := 0
	ev := func(who, purpose, vendor string, action client.Action) client.EventInput {
		n++
		e := client.EventInput{ID: fmt.Sprintf("dc-%d", n), Property: "demo", Purpose: purpose, Vendor: vendor, Action: action,
			Source: client.SourceAPI, NoticeVersion: "2026-11"}
		if strings.HasPrefix(who, "dev") {
			e.Device = who
		} else {
			e.Subject = who
		}
		return e
	}
	record := func(events ...client.EventInput) {
		t.Helper()
		if _, err := admin.AppendEvents(ctx, events); err != nil {
			t.Fatalf("AppendEvents: %v", err)
		}
	}
	imported := func(e client.EventInput, at time.Time) client.EventInput {
		e.Source, e.At = client.SourceImport, at
		return e
	}
	by := func(e client.EventInput, channel client.TopicChannel) client.EventInput {
		e.Channel = channel
		return e
	}
	old := time.Now().Add(-400 * 24 * time.Hour).UTC()
	// The first half: the Decider's snapshot.
	record(ev("s-a", "analytics", "", client.ActionGrant), ev("s-a", "marketing", "", client.ActionDeny),
		ev("s-a", "sale_of_data", "adnet", client.ActionGrant), ev("s-a", "newsletter", "", client.ActionGrant),
		ev("s-b", "marketing", "", client.ActionGrant), ev("s-b", "marketing", "", client.ActionWithdraw),
		ev("dev-1", "analytics", "", client.ActionGrant), ev("dev-2", "marketing", "adnet", client.ActionGrant),
		ev("s-c", "analytics", "", client.ActionDeny),
		imported(ev("s-d", "analytics", "", client.ActionGrant), old), ev("s-e", "analytics", "", client.ActionGrant),
		ev("s-f", "marketing", "", client.ActionObject), ev("s-f", "marketing", "", client.ActionGrant),
		ev("s-g", "fraud", "", client.ActionObject), ev("s-h", "analytics", "", client.ActionGrant),
		ev("s-x", "analytics", "", client.ActionGrant),
		// Choices by channel: a grant by email only (s-m); a withdrawal
		// by SMS after a grant by every channel (s-n); grants by one
		// channel that a withdrawal by every channel follows live (s-o);
		// a withdrawal by every channel that a grant by email follows
		// live (s-q).
		by(ev("s-m", "offers", "", client.ActionGrant), client.TopicEmail),
		ev("s-n", "offers", "", client.ActionGrant), by(ev("s-n", "offers", "", client.ActionWithdraw), client.TopicSMS),
		by(ev("s-o", "offers", "", client.ActionGrant), client.TopicEmail), by(ev("s-o", "offers", "", client.ActionGrant), client.TopicSMS),
		ev("s-q", "offers", "", client.ActionWithdraw))
	if _, err := admin.LinkDevice(ctx, "s-c", "dev-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.PlaceRestriction(ctx, "s-h", client.RestrictionInput{}); err != nil {
		t.Fatal(err)
	}

	d, err := decide.NewDecider(ctx, client.DeciderOptions{LongPoll: longPoll, MaxLag: 6 * time.Second})
	if err != nil {
		t.Fatalf("NewDecider: %v", err)
	}
	defer d.Close()

	// The second half, followed live.
	record(imported(ev("s-e", "analytics", "", client.ActionWithdraw), old), ev("s-d", "analytics", "", client.ActionDeny),
		ev("dev-1", "marketing", "", client.ActionGrant), ev("s-i", "marketing", "", client.ActionGrant),
		ev("s-o", "offers", "", client.ActionWithdraw))
	if _, err := admin.LinkDevice(ctx, "s-i", "dev-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.PlaceRestriction(ctx, "s-i", client.RestrictionInput{Purpose: "marketing"}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.PlaceRestriction(ctx, "s-j", client.RestrictionInput{Purpose: "analytics"}); err != nil {
		t.Fatal(err)
	}
	if err := srv.App.Consent.Lift(ctx, "s-j", "analytics"); err != nil { // the customer's own lift
		t.Fatal(err)
	}
	if _, err := srv.App.Consent.Pseudonymise(ctx, "s-x"); err != nil {
		t.Fatal(err)
	}
	// A material notice: grants under the earlier one are outdated where
	// consent is opt-in (the rules reload by the stream's fingerprint).
	if _, err := admin.CreateNotice(ctx, client.NoticeInput{Version: "2027-01", Text: map[string]string{"en": "New"}, Material: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.PublishNotice(ctx, "2027-01"); err != nil {
		t.Fatal(err)
	}
	fresh := ev("s-k", "analytics", "", client.ActionGrant)
	fresh.NoticeVersion = "2027-01"
	// Grants of the topic under the new notice: by email after a
	// withdrawal by every channel (s-q), by SMS of dev-1's subject (s-i),
	// by every channel (s-r).
	current := func(e client.EventInput) client.EventInput {
		e.NoticeVersion = "2027-01"
		return e
	}
	record(fresh, ev("s-k", "marketing", "", client.ActionGrant),
		current(by(ev("s-q", "offers", "", client.ActionGrant), client.TopicEmail)),
		current(by(ev("s-i", "offers", "", client.ActionGrant), client.TopicSMS)),
		current(ev("s-r", "offers", "", client.ActionGrant)))
	caughtUp(t, ctx, decide, d)
	rules, err := decide.DecisionRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the Decider reloads the rules", 10*time.Second, func() bool {
		a, _ := d.Decide(&client.Question{Subject: "s-k", Purpose: "marketing", Jurisdiction: "DE"}, false)
		return a.Reason == client.ReasonNoticeOutdated
	})
	if rules.CurrentNotice < 2 {
		t.Fatalf("rules = %+v, want the new notice current", rules)
	}

	var questions []client.Question
	identities := []string{"s-a", "s-b", "s-c", "s-d", "s-e", "s-f", "s-g", "s-h", "s-i", "s-j", "s-k", "s-m", "s-n", "s-o", "s-q", "s-r", "s-x", "s-nobody",
		"dev-1", "dev-2", "dev-nobody"}
	purposes := []string{"necessary", "analytics", "marketing", "sale_of_data", "newsletter", "fraud", "tax", "support_chat"}
	for _, id := range identities {
		for _, p := range purposes {
			for _, vendor := range []string{"", "adnet", "metrics-co"} {
				for _, j := range []string{"", "DE", "US-CA", "FR-75"} {
					for _, gpc := range []bool{false, true} {
						q := client.Question{Purpose: p, Vendor: vendor, Jurisdiction: j, GPC: gpc}
						if strings.HasPrefix(id, "dev") {
							q.Device = id
						} else {
							q.Subject = id
						}
						if p == "newsletter" && !gpc {
							q.Channel = client.TopicChannel("email")
						}
						if j == "" && gpc {
							q.Property = "demo"
						}
						questions = append(questions, q)
					}
				}
			}
		}
		// The topic by each channel, and with no channel (every channel
		// it declares).
		for _, channel := range []client.TopicChannel{"", client.TopicEmail, client.TopicSMS} {
			for _, j := range []string{"", "US-CA"} {
				q := client.Question{Purpose: "offers", Channel: channel, Jurisdiction: j}
				if strings.HasPrefix(id, "dev") {
					q.Device = id
				} else {
					q.Subject = id
				}
				questions = append(questions, q)
			}
		}
	}
	for _, gpcHeader := range []bool{false, true} {
		for start := 0; start < len(questions); start += client.MaxQuestions {
			batch := questions[start:min(start+client.MaxQuestions, len(questions))]
			want, err := decide.Decide(ctx, batch, client.WithGPCHeader(gpcHeader))
			if err != nil {
				t.Fatalf("server Decide: %v", err)
			}
			for i := range batch {
				got, err := d.Decide(&batch[i], gpcHeader)
				if err != nil {
					t.Fatalf("%+v: Decider: %v", batch[i], err)
				}
				if got != want[i] {
					t.Errorf("%+v (Sec-GPC %v): Decider %+v, server %+v", batch[i], gpcHeader, got, want[i])
				}
				// By ref: the same answer, without the hash per question.
				ref, byRef := client.DeviceRef(batch[i].Device), batch[i]
				if byRef.Subject != "" {
					ref = client.SubjectRef(byRef.Subject)
				}
				byRef.Subject, byRef.Device = "", ""
				if a, err := d.DecideRef(ref, &byRef, gpcHeader); err != nil || a != got {
					t.Errorf("%+v (Sec-GPC %v): DecideRef %+v %v, Decide %+v", batch[i], gpcHeader, a, err, got)
				}
			}
		}
	}
	// The choices by channel decide as the rule says, not only alike.
	for _, tt := range []struct {
		who     string
		channel client.TopicChannel
		want    client.Reason
	}{
		// Grants under the earlier notice are outdated (a topic is
		// opt-in); with no channel, the first channel refused answers.
		{"s-m", client.TopicEmail, client.ReasonNoticeOutdated}, {"s-m", client.TopicSMS, client.ReasonNoConsentRecorded},
		{"s-m", "", client.ReasonNoticeOutdated},
		{"s-n", client.TopicEmail, client.ReasonNoticeOutdated}, {"s-n", client.TopicSMS, client.ReasonConsentWithdrawn},
		{"s-n", "", client.ReasonNoticeOutdated},
		{"s-o", client.TopicEmail, client.ReasonConsentWithdrawn}, {"s-o", client.TopicSMS, client.ReasonConsentWithdrawn},
		{"s-o", "", client.ReasonConsentWithdrawn},
		{"s-q", client.TopicEmail, client.ReasonConsentGranted}, {"s-q", client.TopicSMS, client.ReasonConsentWithdrawn},
		{"s-q", "", client.ReasonConsentWithdrawn},
		{"dev-1", client.TopicSMS, client.ReasonConsentGranted}, {"dev-1", client.TopicEmail, client.ReasonNoConsentRecorded},
		{"dev-1", "", client.ReasonNoConsentRecorded},
		{"s-r", client.TopicEmail, client.ReasonConsentGranted}, {"s-r", client.TopicSMS, client.ReasonConsentGranted},
		{"s-r", "", client.ReasonConsentGranted},
	} {
		q := client.Question{Purpose: "offers", Channel: tt.channel}
		if strings.HasPrefix(tt.who, "dev") {
			q.Device = tt.who
		} else {
			q.Subject = tt.who
		}
		if a, err := d.Decide(&q, false); err != nil || a.Reason != tt.want || a.Allowed != (tt.want == client.ReasonConsentGranted) {
			t.Errorf("%s offers by %q: Decider %+v %v, want %s", tt.who, tt.channel, a, err, tt.want)
		}
	}
	// Every reason the ledger above calls for came up.
	seen := map[client.Reason]bool{}
	for i := range questions {
		a, _ := d.Decide(&questions[i], false)
		seen[a.Reason] = true
	}
	for _, r := range []client.Reason{client.ReasonNecessary, client.ReasonConsentGranted, client.ReasonConsentDenied, client.ReasonConsentWithdrawn,
		client.ReasonNoConsentRecorded, client.ReasonLegitimateInterest, client.ReasonNoticeOutdated, client.ReasonVendorNotDeclared,
		client.ReasonRestricted, client.ReasonObjected, client.ReasonPurposeNotAssessed} {
		if !seen[r] {
			t.Errorf("no question was answered %s: the replay misses a rule", r)
		}
	}

	// The refusals name the same field.
	for _, q := range []client.Question{
		{Subject: "s-a", Purpose: "ads"},
		{Subject: "s-a", Device: "dev-1", Purpose: "analytics"},
		{Purpose: "analytics"},
		{Subject: "s-a", Purpose: "analytics", Vendor: "nope"},
		{Subject: "s-a", Purpose: "analytics", Property: "nope"},
		{Subject: "s-a", Purpose: "analytics", Jurisdiction: "de"},
		{Subject: "s-a", Purpose: "newsletter", Channel: client.TopicChannel("sms")},
		{Subject: "s-m", Purpose: "offers", Channel: client.TopicPost},
		{Subject: "s-m", Purpose: "offers", Channel: client.TopicChannel("fax")},
	} {
		_, serverErr := decide.Decide(ctx, []client.Question{q})
		_, localErr := d.Decide(&q, false)
		var se, le *client.Error
		if !errors.As(serverErr, &se) || !errors.As(localErr, &le) {
			t.Errorf("%+v: server %v, Decider %v; want both refused", q, serverErr, localErr)
			continue
		}
		for field := range le.Fields {
			if _, ok := se.Fields["questions[0]."+field]; !ok {
				t.Errorf("%+v: Decider names %v, server %v", q, le.Fields, se.Fields)
			}
		}
	}
}

// TestDeciderForgetsErasedSubject: a subject erased on the server while a
// Decider follows is forgotten by it (the stream's tombstone), and a
// Decider that starts afterwards never learns them.
func TestDeciderForgetsErasedSubject(t *testing.T) {
	ctx := context.Background()
	srv := apptest.Start(t, db.SQLite)
	admin := client.New(srv.URL, srv.Keys.Admin)
	decide := client.New(srv.URL, srv.Keys.Decide)
	if _, err := admin.AppendEvents(ctx, []client.EventInput{{ID: "er-1", Property: "demo", Subject: "leaving", Purpose: "analytics",
		Action: client.ActionGrant, Source: client.SourceAPI, NoticeVersion: "2026-11"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.LinkDevice(ctx, "leaving", "leaving-phone"); err != nil {
		t.Fatal(err)
	}
	d, err := decide.NewDecider(ctx, client.DeciderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, q := range []client.Question{{Subject: "leaving", Purpose: "analytics"}, {Device: "leaving-phone", Purpose: "analytics"}} {
		if a, _ := d.Decide(&q, false); a.Reason != client.ReasonConsentGranted {
			t.Fatalf("before the erasure %+v: %+v", q, a)
		}
	}
	if _, err := srv.App.Consent.Pseudonymise(ctx, "leaving"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the Decider forgets the erased subject", 10*time.Second, func() bool {
		a, _ := d.Decide(&client.Question{Subject: "leaving", Purpose: "analytics"}, false)
		return a.Reason == client.ReasonNoConsentRecorded
	})
	if a, _ := d.Decide(&client.Question{Device: "leaving-phone", Purpose: "analytics"}, false); a.Reason != client.ReasonNoConsentRecorded {
		t.Errorf("the erased subject's device still answers %+v", a)
	}
	late, err := decide.NewDecider(ctx, client.DeciderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	if a, _ := late.Decide(&client.Question{Subject: "leaving", Purpose: "analytics"}, false); a.Reason != client.ReasonNoConsentRecorded {
		t.Errorf("a Decider started after the erasure answers %+v", a)
	}
	// What the stream says of them: a tombstone, and no id anywhere.
	page, err := decide.DecisionEntries(ctx, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(page)
	if strings.Contains(string(raw), "leaving") {
		t.Errorf("the stream names an id: %s", raw)
	}
	last := page.Entries[len(page.Entries)-1]
	if last.Kind != "erase" || last.Subject == "" {
		t.Errorf("the last entry is %+v, want the erasure's tombstone", last)
	}
}

// flaky is a proxy in front of a server that can drop every connection
// and refuse new ones.
type flaky struct {
	down  atomic.Bool
	proxy *httputil.ReverseProxy
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	f.proxy.ServeHTTP(w, r)
}

// TestDeciderGoesStaleAndRecovers cuts the stream mid-way: past MaxLag
// the Decider answers stale, not its last grant; when the server is back
// it resumes after its last sequence number and answers from what was
// recorded meanwhile.
func TestDeciderGoesStaleAndRecovers(t *testing.T) {
	for _, longPoll := range []bool{false, true} {
		t.Run(fmt.Sprintf("long poll %v", longPoll), func(t *testing.T) {
			ctx := context.Background()
			srv := apptest.Start(t, db.SQLite)
			admin := client.New(srv.URL, srv.Keys.Admin)
			target, _ := url.Parse(srv.URL)
			f := &flaky{proxy: httputil.NewSingleHostReverseProxy(target)}
			f.proxy.FlushInterval = -1
			proxy := httptest.NewServer(f)
			defer proxy.Close()
			decide := client.New(proxy.URL, srv.Keys.Decide)
			grant := func(id string, action client.Action) {
				if _, err := admin.AppendEvents(ctx, []client.EventInput{{ID: id, Property: "demo", Subject: "cust", Purpose: "analytics",
					Action: action, Source: client.SourceAPI, NoticeVersion: "2026-11"}}); err != nil {
					t.Fatal(err)
				}
			}
			grant("st-1", client.ActionGrant)
			const maxLag = 3 * time.Second
			d, err := decide.NewDecider(ctx, client.DeciderOptions{MaxLag: maxLag, LongPoll: longPoll,
				MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			q := client.Question{Subject: "cust", Purpose: "analytics"}
			if a, _ := d.Decide(&q, false); !a.Allowed || a.Reason != client.ReasonConsentGranted {
				t.Fatalf("at start: %+v", a)
			}
			waitFor(t, "the stream connects", 5*time.Second, func() bool { return d.Lag().Connected })

			f.down.Store(true)
			proxy.CloseClientConnections()
			lost := time.Now()
			grant("st-2", client.ActionWithdraw) // the Decider cannot hear of it
			waitFor(t, "the Decider answers stale", maxLag+3*time.Second, func() bool {
				a, _ := d.Decide(&q, false)
				return a.Reason == client.ReasonStale
			})
			if since := time.Since(lost); since < maxLag-time.Second {
				t.Errorf("stale after %s, before the bound of %s", since, maxLag)
			}
			if a, _ := d.Decide(&q, false); a.Allowed {
				t.Errorf("a stale Decider allows: %+v", a)
			}
			if lag := d.Lag(); lag.Behind < maxLag || lag.Connected {
				t.Errorf("Lag = %+v, want behind by more than %s and disconnected", lag, maxLag)
			}

			f.down.Store(false)
			waitFor(t, "the Decider resumes", 10*time.Second, func() bool {
				a, _ := d.Decide(&q, false)
				return a.Reason == client.ReasonConsentWithdrawn
			})
			if lag := d.Lag(); lag.Seq != 0 || lag.Behind > maxLag {
				t.Errorf("after recovery Lag = %+v", lag)
			}
		})
	}
}

// TestDecisionStreamResumes reads the server-sent events by hand: the
// first message tells the head, Last-Event-ID resumes after a sequence
// number, heartbeats come, and keys other than decide and admin are
// refused.
func TestDecisionStreamResumes(t *testing.T) {
	ctx := context.Background()
	srv := apptest.Start(t, db.SQLite)
	admin := client.New(srv.URL, srv.Keys.Admin)
	var events []client.EventInput
	for i := range 5 {
		events = append(events, client.EventInput{ID: fmt.Sprintf("rs-%d", i), Property: "demo", Device: fmt.Sprintf("rs-dev-%d", i),
			Purpose: "analytics", Action: client.ActionGrant, Source: client.SourceAPI})
	}
	results, err := admin.AppendEvents(ctx, events)
	if err != nil {
		t.Fatal(err)
	}
	third := results[2].Seq
	open := func(key, lastID string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/consent/stream?heartbeat=1s", nil)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Authorization", "Bearer "+key)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		return http.DefaultClient.Do(req)
	}
	for _, key := range []string{srv.Keys.Ingest, "stw_decide_nope"} {
		resp, err := open(key, "")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("key %.12s…: status %d, want refused", key, resp.StatusCode)
		}
	}
	resp, err := open(srv.Keys.Decide, fmt.Sprint(third))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	scanner := bufio.NewScanner(resp.Body)
	var kinds []string
	var firstID string
	deadline := time.AfterFunc(10*time.Second, func() { resp.Body.Close() })
	defer deadline.Stop()
	for scanner.Scan() && len(kinds) < 3 {
		line := scanner.Text()
		switch {
		case strings.HasPrefix(line, "id: ") && firstID == "":
			firstID = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			kinds = append(kinds, strings.TrimPrefix(line, "event: "))
		case strings.HasPrefix(line, "data: ") && len(kinds) == 1:
			var page client.StreamPage
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &page); err != nil {
				t.Fatal(err)
			}
			if len(page.Entries) != 2 || page.Entries[0].Seq <= third || page.Fingerprint == "" || page.Time == 0 {
				t.Errorf("first page after %d: %+v", third, page)
			}
		}
	}
	if len(kinds) < 3 || kinds[0] != "entries" || kinds[1] != "heartbeat" || kinds[2] != "heartbeat" {
		t.Errorf("events %q, want entries then heartbeats", kinds)
	}
	if firstID != fmt.Sprint(results[4].Seq) {
		t.Errorf("first id %q, want the last entry's %d", firstID, results[4].Seq)
	}
}
