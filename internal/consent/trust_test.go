package consent_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/ethics/ethicstest"
	"github.com/steward-dev/steward/internal/receipt"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func openServiceWithClock(tb testing.TB, store *db.DB, signer *receipt.Signer, c *clock) *consent.Service {
	tb.Helper()
	svc, err := consent.Open(context.Background(), consent.Config{DB: store, Signer: signer, Now: c.Now, FollowInterval: -1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Close() })
	ethicstest.OpenPurposes(tb, svc)
	return svc
}

var (
	ingestShop = consent.Author{Kind: consent.AuthorIngestKey, Property: "shop"}
	recordKey  = consent.Author{Kind: consent.AuthorRecordKey}
	adminKey   = consent.Author{Kind: consent.AuthorAdminKey}
	portal     = consent.Author{Kind: consent.AuthorPortal}
)

// A TC string written by the framework's own tools (see internal/tcf).
const realTCString = "CQXFlJAQXFlJFAHADBENCWFgAMAAAAAAAAqIF5wAQF5gAAAA.IF5wAgAAgLzA"

// TestAuthorsMayAssert replays the attack of issue 11 at the consent core:
// the public ingest key (read from banner.js) recorded a subject's consent
// with any source; each author may now say only what the trust table
// allows, and problems name the field at fault.
func TestAuthorsMayAssert(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		subject := func(src consent.Source) func(*consent.Event) {
			return func(e *consent.Event) { e.Device, e.Subject, e.Source = "", "cust-42", src }
		}
		device := func(src consent.Source) func(*consent.Event) {
			return func(e *consent.Event) { e.Source = src }
		}
		imported := func(at time.Time) func(*consent.Event) {
			return func(e *consent.Event) { e.Device, e.Subject, e.Source, e.At = "", "cust-42", consent.SourceImport, at }
		}
		cases := []struct {
			name  string
			by    consent.Author
			mod   func(*consent.Event)
			field string // "" means accepted
		}{
			{"ingest: banner device event", ingestShop, device(consent.SourceBanner), ""},
			{"ingest: gpc device event", ingestShop, device(consent.SourceGPC), ""},
			{"ingest: subject event", ingestShop, subject(consent.SourceBanner), "events[0].subject"},
			{"ingest: portal source", ingestShop, device(consent.SourcePortal), "events[0].source"},
			{"ingest: import source", ingestShop, device(consent.SourceImport), "events[0].source"},
			{"ingest: api source", ingestShop, device(consent.SourceAPI), "events[0].source"},
			{"ingest: another property", consent.Author{Kind: consent.AuthorIngestKey, Property: "other"}, device(consent.SourceBanner), "events[0].property"},
			{"record: subject event", recordKey, subject(consent.SourceAPI), ""},
			{"record: device event", recordKey, device(consent.SourceAPI), ""},
			{"record: portal source", recordKey, subject(consent.SourcePortal), "events[0].source"},
			{"record: import source", recordKey, imported(now.Add(-time.Hour)), "events[0].source"},
			{"record: banner source", recordKey, device(consent.SourceBanner), "events[0].source"},
			{"admin: api", adminKey, subject(consent.SourceAPI), ""},
			{"admin: import", adminKey, imported(now.AddDate(-1, 0, 0)), ""},
			{"admin: portal source", adminKey, subject(consent.SourcePortal), "events[0].source"},
			{"admin: import in the future", adminKey, imported(now.Add(time.Second)), "events[0].at"},
			{"admin: import without a time", adminKey, imported(time.Time{}), "events[0].at"},
			{"admin: import before 2000", adminKey, imported(time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)), "events[0].at"},
			{"portal: subject event", portal, subject(consent.SourcePortal), ""},
			{"portal: api source", portal, subject(consent.SourceAPI), "events[0].source"},
			{"portal: device event", portal, device(consent.SourcePortal), "events[0].device"},
			{"nobody", consent.Author{}, device(consent.SourceBanner), "-"},
			{"banner time before 2000", ingestShop, func(e *consent.Event) { e.At = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC) }, "events[0].at"},
			{"banner time far ahead", ingestShop, func(e *consent.Event) { e.At = now.Add(time.Hour) }, "events[0].at"},
			{"real tc string", ingestShop, func(e *consent.Event) { e.TCString = realTCString }, ""},
			{"bad tc string", ingestShop, func(e *consent.Event) { e.TCString = "not-a-tc-string" }, "events[0].tc_string"},
			{"truncated tc string", ingestShop, func(e *consent.Event) { e.TCString = "CQXFlJAQXFlJFAHADBENCWFgAMAAAAAAAAqI" }, "events[0].tc_string"},
			{"usnat gpp string", ingestShop, func(e *consent.Event) { e.GPPString = "DBABLA~BVVqAAAACqA.QA" }, ""},
			{"gpp string of iabgpp-es", ingestShop, func(e *consent.Event) { e.GPPString = "DBABLA~CFAUAAAAAABA.YA" }, ""},
			{"bad gpp string", ingestShop, func(e *consent.Event) { e.GPPString = "not-a-gpp-string" }, "events[0].gpp_string"},
			{"truncated gpp string", ingestShop, func(e *consent.Event) { e.GPPString = "DBABLA~BVVq" }, "events[0].gpp_string"},
			{"gpp string too long", ingestShop, func(e *consent.Event) { e.GPPString = "DBABLA~" + strings.Repeat("A", 10000) }, "events[0].gpp_string"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e := event("x", "dev", "analytics", consent.ActionGrant)
				c.mod(&e)
				err := svc.ValidateEvents([]consent.Event{e}, c.by)
				switch c.field {
				case "":
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
				case "-":
					if !errs.Is(err, errs.CodeForbidden) {
						t.Fatalf("error %v, want forbidden", err)
					}
				default:
					ee, ok := errs.As(err)
					if !ok || ee.Fields[c.field] == "" {
						t.Fatalf("error %v does not name %s", err, c.field)
					}
					// A GPP string's problem is said in the reader's language.
					if strings.HasSuffix(c.field, ".gpp_string") && ee.FieldKeys[c.field].Key == "" {
						t.Fatalf("problem of %s has no catalog key: %+v", c.field, ee.FieldKeys)
					}
				}
			})
		}
	})
}

// TestClientTimeOrdersNothing replays the forged grant of issue 11: a grant
// dated 290 seconds ahead by the client, then the customer's real
// withdrawal a few seconds later. The withdrawal wins, live and after the
// index is rebuilt from the ledger, and the stored grant bears the server's
// time.
func TestClientTimeOrdersNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		c := &clock{t: now}
		signer := newSigner(t)
		svc := openServiceWithClock(t, store, signer, c)
		seed(t, svc)
		if _, err := svc.LinkDevice(ctx, "cust-42", "phone"); err != nil {
			t.Fatal(err)
		}
		forged := event("forged", "phone", "marketing", consent.ActionGrant)
		forged.At = now.Add(290 * time.Second)
		forged.Vendor = "ads-co"
		batch := []consent.Event{forged}
		if err := svc.ValidateEvents(batch, ingestShop); err != nil {
			t.Fatal(err)
		}
		res, err := svc.Append(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		if !res[0].Event.At.Equal(now) {
			t.Fatalf("stored time %s, want the server's %s", res[0].Event.At, now)
		}
		c.Advance(5 * time.Second)
		withdraw := consent.Event{ID: "real", Property: "shop", Subject: "cust-42", Purpose: "marketing", Action: consent.ActionWithdraw,
			Source: consent.SourcePortal, NoticeVersion: "v1"}
		batch = []consent.Event{withdraw}
		if err := svc.ValidateEvents(batch, portal); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
		questions := []consent.Question{
			{Subject: "cust-42", Purpose: "marketing"},
			{Subject: "cust-42", Purpose: "marketing", Vendor: "ads-co"}, // as a disclosure check asks
			{Device: "phone", Purpose: "marketing", Vendor: "ads-co"},
		}
		rebuilt := openServiceWithClock(t, store, signer, c)
		assess(t, rebuilt, "metrics-co", "ads-co")
		for name, s := range map[string]*consent.Service{"live": svc, "rebuilt": rebuilt} {
			for _, q := range questions {
				if a := decide(t, s, q); a.Allowed || a.Reason != consent.ReasonConsentWithdrawn {
					t.Errorf("%s: %+v: %+v, want consent_withdrawn", name, q, a)
				}
			}
		}
	})
}

// TestImportOrder: an import keeps its original time but never overrides a
// choice recorded after it arrived, nor a state later than the consent it
// imports; the index rebuilt from the ledger reaches the same states.
func TestImportOrder(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		c := &clock{t: now}
		signer := newSigner(t)
		svc := openServiceWithClock(t, store, signer, c)
		seed(t, svc)
		n := 0
		record := func(by consent.Author, subject, purpose string, action consent.Action, source consent.Source, at time.Time) {
			t.Helper()
			n++
			batch := []consent.Event{{ID: "e" + string(rune('a'+n)), Property: "shop", Subject: subject, Purpose: purpose, Action: action,
				Source: source, NoticeVersion: "v1", At: at}}
			if err := svc.ValidateEvents(batch, by); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Append(ctx, batch); err != nil {
				t.Fatal(err)
			}
			c.Advance(time.Second)
		}
		year := now.AddDate(-1, 0, 0)
		// A live grant, then an import of a year-old denial: the import is
		// older than the state it meets and does not replace it.
		record(recordKey, "a", "analytics", consent.ActionGrant, consent.SourceAPI, time.Time{})
		record(adminKey, "a", "analytics", consent.ActionDeny, consent.SourceImport, year)
		// Imports among themselves: the later original time wins, whatever
		// the order they arrive in.
		record(adminKey, "b", "analytics", consent.ActionGrant, consent.SourceImport, year.Add(time.Hour))
		record(adminKey, "b", "analytics", consent.ActionWithdraw, consent.SourceImport, year)
		record(adminKey, "c", "analytics", consent.ActionGrant, consent.SourceImport, year)
		record(adminKey, "c", "analytics", consent.ActionDeny, consent.SourceImport, year.Add(time.Hour))
		// A choice recorded after an import wins over it, whatever time the
		// client gave the choice.
		record(adminKey, "d", "analytics", consent.ActionGrant, consent.SourceImport, c.Now().Add(-time.Millisecond))
		record(recordKey, "d", "analytics", consent.ActionWithdraw, consent.SourceAPI, c.Now().Add(4*time.Minute))
		want := map[string]consent.Reason{"a": consent.ReasonConsentGranted, "b": consent.ReasonConsentGranted,
			"c": consent.ReasonConsentDenied, "d": consent.ReasonConsentWithdrawn}
		rebuilt := openServiceWithClock(t, store, signer, c)
		assess(t, rebuilt, "metrics-co", "ads-co")
		for name, s := range map[string]*consent.Service{"live": svc, "rebuilt": rebuilt} {
			for subject, reason := range want {
				if a := decide(t, s, consent.Question{Subject: subject, Purpose: "analytics"}); a.Reason != reason {
					t.Errorf("%s: subject %s: %+v, want %s", name, subject, a, reason)
				}
			}
		}
		events, err := svc.Events(ctx, consent.EventFilter{Subject: "a"})
		if err != nil || len(events) != 2 || !events[1].At.Equal(year) {
			t.Fatalf("the import did not keep its time: %+v, %v", events, err)
		}
	})
}
