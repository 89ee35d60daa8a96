package report_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/recovery"
	"github.com/steward-dev/steward/internal/report"
	"github.com/steward-dev/steward/internal/review"
	"github.com/steward-dev/steward/internal/staff"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

type act struct {
	actor   audit.Actor
	action  string
	target  audit.Target
	details map[string]any
	times   int
}

// month is a known set of acts: the same set is written in January 2027
// and, as neighbours that must not count, at the edges of December and
// February.
func month() []act {
	ada, bob := audit.Staff("stf_ada"), audit.Staff("stf_bob")
	customer := audit.Subject("sub_1")
	return []act{
		{ada, "vault.reveal", customer, map[string]any{"purpose": "support", "ticket": "T-1"}, 3},
		{ada, "vault.reveal", customer, map[string]any{"purpose": "fraud", "ticket": "T-2"}, 1},
		{audit.APIKey("key_1"), "vault.detokenize", customer, map[string]any{"purpose": "billing", "ticket": "B-1"}, 2},
		{ada, "staff.sign_in", audit.Target{}, nil, 2},
		{audit.System(), "staff.sign_in_failed", audit.Target{Kind: audit.KindStaff, ID: "stf_bob"}, map[string]any{"reason": "password"}, 2},
		{audit.System(), "staff.sign_in_failed", audit.Target{Kind: audit.KindStaff, ID: "stf_bob"}, map[string]any{"reason": "password, account under attack"}, 3},
		{ada, "staff.unlock", audit.Target{Kind: audit.KindStaff, ID: "stf_bob"}, nil, 1},
		{audit.System(), "keys.rotate", audit.Target{}, map[string]any{"to": 2}, 1},
		{ada, "api_key.create", audit.Target{Kind: audit.KindAPIKey, ID: "key_2"}, nil, 1},
		{bob, "training.attempt", audit.Target{Kind: "training_module", ID: "basics"}, map[string]any{"score": 90, "passed": true}, 2},
		{bob, "training.attempt", audit.Target{Kind: "training_module", ID: "basics"}, map[string]any{"score": 40, "passed": false}, 1},
		{audit.System(), "retention.run", audit.Target{}, map[string]any{"run": "r1", "dry_run": false}, 1},
		{audit.System(), "retention.run", audit.Target{}, map[string]any{"run": "r2", "dry_run": true}, 2},
		{audit.System(), "backup.create", audit.Target{}, map[string]any{"backup": "b1"}, 1},
		{bob, "incident.open", audit.Target{Kind: "incident", ID: "inc_1"}, nil, 1},
		{bob, "incident.status", audit.Target{Kind: "incident", ID: "inc_1"}, map[string]any{"from": "open", "to": "contained"}, 1},
		{bob, "incident.status", audit.Target{Kind: "incident", ID: "inc_1"}, map[string]any{"from": "notified", "to": "closed"}, 1},
		{bob, "vendor.assessment_approved", audit.Target{Kind: "vendor_assessment", ID: "va_1"}, nil, 1},
		{ada, "access_review.confirm", audit.Target{Kind: audit.KindStaff, ID: "stf_bob"}, map[string]any{"quarter": "2027-Q1"}, 1},
		// Not counted by the report at all.
		{ada, "customer.view", customer, nil, 4},
	}
}

func write(t *testing.T, log *audit.Log, c *clock, at time.Time, acts []act) {
	t.Helper()
	c.set(at)
	for _, a := range acts {
		for range a.times {
			e := audit.Entry{Actor: a.actor, Action: a.action, Target: a.target}
			if a.details != nil {
				e.Details = audit.MustDetails(a.details)
			}
			if _, err := log.Append(context.Background(), e); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// logCount is the audit log's own count of action in [since, until).
func logCount(t *testing.T, log *audit.Log, action string, since, until time.Time) int {
	t.Helper()
	n, before := 0, int64(0)
	for {
		page, err := log.Search(context.Background(), audit.Query{Action: action, Since: since, Until: until, Before: before, Limit: audit.MaxPage})
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Entries)
		if page.Next == 0 {
			return n
		}
		before = page.Next
	}
}

func newSigner(t *testing.T, seed byte) *receipt.Signer {
	t.Helper()
	s, err := receipt.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCountsMatchTheAuditLog(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		c := &clock{}
		log, err := audit.New(audit.Config{DB: store, Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		jan := report.Month{Year: 2027, Month: time.January}
		// The neighbours sit a microsecond outside January, on both sides.
		write(t, log, c, jan.Start().Add(-time.Microsecond), month())
		write(t, log, c, jan.Start(), month())
		write(t, log, c, time.Date(2027, 1, 17, 12, 0, 0, 0, time.UTC), month())
		write(t, log, c, jan.End().Add(-time.Microsecond), month())
		write(t, log, c, jan.End(), month())
		for _, d := range []struct {
			ok   bool
			at   time.Time
			kind string
		}{{true, time.Date(2027, 1, 9, 3, 0, 0, 0, time.UTC), recovery.KindDrill}, {false, time.Date(2027, 1, 16, 3, 0, 0, 0, time.UTC), recovery.KindDrill},
			{true, time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC), recovery.KindDrill}, {true, time.Date(2027, 1, 16, 3, 0, 0, 0, time.UTC), recovery.KindBackup}} {
			if err := recovery.Record(ctx, store, recovery.Run{Kind: d.kind, StartedAt: d.at.Add(-time.Minute), FinishedAt: d.at, OK: d.ok}); err != nil {
				t.Fatal(err)
			}
		}
		c.set(time.Date(2027, 3, 2, 0, 0, 0, 0, time.UTC))
		reports, err := report.New(report.Config{Audit: log, DB: store, Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		r, err := reports.Monthly(ctx, jan)
		if err != nil {
			t.Fatal(err)
		}

		// Each count equals the audit log's count of its action in January,
		// and the known set was written there three times.
		perSet := map[string]int{}
		for _, a := range month() {
			perSet[a.action] += a.times
		}
		for _, action := range report.Actions {
			if got, want := r.Counts[action], logCount(t, log, action, jan.Start(), jan.End()); got != want {
				t.Errorf("%s: report counts %d, the audit log %d", action, got, want)
			}
			if got, want := r.Counts[action], 3*perSet[action]; got != want {
				t.Errorf("%s: report counts %d, want 3 sets of %d (the neighbours left out)", action, got, perSet[action])
			}
		}
		if _, ok := r.Counts["customer.view"]; ok {
			t.Error("the report counts an action it does not report")
		}

		checks := []struct {
			name      string
			got, want int
		}{
			{"reveals", r.Reveals.Total, 3 * 6},
			{"sign-ins", r.SignIns.Succeeded, 3 * 2},
			{"failed sign-ins", r.SignIns.Failed, 3 * 5},
			{"lockouts", r.SignIns.Lockouts, 3 * 3},
			{"unlocks", r.SignIns.Unlocks, 3},
			{"key rotations", r.Keys.MasterRotations, 3},
			{"API keys made", r.Keys.APIKeysCreated, 3},
			{"training passed", r.Training.Passed, 3 * 2},
			{"training failed", r.Training.Failed, 3},
			{"retention runs", r.Retention.Runs, 3},
			{"retention dry runs", r.Retention.DryRuns, 3 * 2},
			{"backups", r.Backups.Created, 3},
			{"drills", r.Backups.Drills, 2},
			{"failed drills", r.Backups.DrillsFailed, 1},
			{"incidents opened", r.Incidents.Opened, 3},
			{"incidents closed", r.Incidents.Closed, 3},
			{"assessments approved", r.Vendors.Approved, 3},
			{"review confirmations", r.AccessReview.Confirmed, 3},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
			}
		}
		wantLines := []report.RevealLine{
			{Actor: "staff:stf_ada", Purpose: "support", Count: 9},
			{Actor: "api_key:key_1", Purpose: "billing", Count: 6},
			{Actor: "staff:stf_ada", Purpose: "fraud", Count: 3},
		}
		if len(r.Reveals.ByActor) != len(wantLines) {
			t.Fatalf("reveal lines %+v", r.Reveals.ByActor)
		}
		for i, l := range wantLines {
			if r.Reveals.ByActor[i] != l {
				t.Errorf("reveal line %d: %+v, want %+v", i, r.Reveals.ByActor[i], l)
			}
		}
		if r.AccessReview.Quarter != "2027-Q1" || r.AccessReview.Status != report.ReviewNotOpened {
			t.Errorf("access review %+v", r.AccessReview)
		}

		// December holds one set (its last microsecond), February one (its
		// first): neighbours count in their own month.
		dec, err := reports.Monthly(ctx, jan.Prev())
		if err != nil {
			t.Fatal(err)
		}
		if dec.Reveals.Total != 6 || dec.SignIns.Lockouts != 3 || dec.Counts["staff.sign_in"] != 2 {
			t.Errorf("December: %d reveals, %d lockouts, %d sign-ins; want one set", dec.Reveals.Total, dec.SignIns.Lockouts, dec.Counts["staff.sign_in"])
		}

		_, err = reports.Monthly(ctx, report.Month{Year: 2027, Month: time.April})
		if errs.CodeOf(err) != errs.CodeInvalid {
			t.Errorf("a month to come: %v", err)
		}
	})
}

func TestSignatureVerifies(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		c := &clock{t: time.Date(2027, 1, 20, 0, 0, 0, 0, time.UTC)}
		log, err := audit.New(audit.Config{DB: store, Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		write(t, log, c, c.now(), month())
		signer := newSigner(t, 7)
		reports, err := report.New(report.Config{Audit: log, DB: store, Signer: signer, Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		signed, err := reports.Signed(ctx, report.Month{Year: 2027, Month: time.January})
		if err != nil {
			t.Fatal(err)
		}
		got, err := report.Verify(signed.Body, signer.JWKS())
		if err != nil {
			t.Fatal(err)
		}
		if got.Month != "2027-01" || got.Reveals.Total != 6 || got.Counts["vault.reveal"] != 4 {
			t.Fatalf("verified report %+v", got)
		}
		if _, err := report.Verify(signed.Body, newSigner(t, 9).JWKS()); err == nil {
			t.Fatal("verifies against another key set")
		}
		// One byte changed anywhere in the body, in the JWS or in the
		// document, and it no longer verifies.
		var saved struct {
			JWS      string          `json:"jws"`
			Document json.RawMessage `json:"document"`
		}
		if err := json.Unmarshal(signed.Body, &saved); err != nil {
			t.Fatal(err)
		}
		tampered := func(at int) []byte {
			b := bytes.Clone(signed.Body)
			switch b[at] {
			case '6':
				b[at] = '7'
			default:
				b[at] = '6'
			}
			return b
		}
		docAt := bytes.Index(signed.Body, []byte(`"reveals":{"total":6`)) + len(`"reveals":{"total":`)
		jwsAt := bytes.Index(signed.Body, []byte(saved.JWS)) + len(saved.JWS) - 10
		for name, at := range map[string]int{"document": docAt, "signature": jwsAt, "header": bytes.Index(signed.Body, []byte(saved.JWS)) + 3} {
			if _, err := report.Verify(tampered(at), signer.JWKS()); err == nil {
				t.Errorf("a byte changed in the %s, and it still verifies", name)
			}
		}
		// A transparency document under the same key is not a report.
		other := signer.SignPayload([]byte(`{"version":1}`))
		body, _ := json.Marshal(map[string]any{"jws": other, "document": json.RawMessage(`{"version":1}`)})
		if _, err := report.Verify(body, signer.JWKS()); err == nil {
			t.Error("another document signed by the same key passes as a report")
		}
	})
}

func TestParseMonth(t *testing.T) {
	m, err := report.ParseMonth("2027-01")
	if err != nil || m.Start() != time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) || m.End() != time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC) || m.String() != "2027-01" {
		t.Fatalf("%v %v", m, err)
	}
	for _, bad := range []string{"", "2027-1", "2027-13", "2027-00", "27-01", "2027/01", "2027-01-01", "January"} {
		if _, err := report.ParseMonth(bad); errs.CodeOf(err) != errs.CodeInvalid {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestReportNamesTheReviewStatus: the report says whether the review of
// the month's quarter is not opened, open or closed, and counts the
// month's decisions.
func TestReportNamesTheReviewStatus(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		c := &clock{t: time.Date(2027, 1, 20, 9, 0, 0, 0, time.UTC)}
		log, err := audit.New(audit.Config{DB: store, Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		box, err := vaulttest.Open(t, store).SecretBox("staff-totp")
		if err != nil {
			t.Fatal(err)
		}
		accounts, err := staff.NewService(staff.Config{DB: store, Secrets: box, Audit: log, Now: c.now, Argon2: staff.Argon2Params{Time: 1, Memory: 64, Threads: 1}})
		if err != nil {
			t.Fatal(err)
		}
		ada, err := accounts.Create(ctx, audit.System(), staff.NewAccount{Email: "ada@shop.example", Name: "Ada", Role: staff.RoleAdmin, Password: "correct horse battery staple"})
		if err != nil {
			t.Fatal(err)
		}
		reviews, err := review.New(review.Config{DB: store, Audit: log, Staff: accounts, Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		reports, err := report.New(report.Config{Audit: log, DB: store, Reviews: reviews, Training: accounts.Programme, Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		jan := report.Month{Year: 2027, Month: time.January}
		status := func(m report.Month) report.AccessReview {
			t.Helper()
			r, err := reports.Monthly(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			return r.AccessReview
		}
		if got := status(jan); got.Status != report.ReviewNotOpened || got.Quarter != "2027-Q1" {
			t.Fatalf("before: %+v", got)
		}
		by := audit.Staff(ada.ID)
		rv, err := reviews.Open(ctx, by, "2027-Q1")
		if err != nil {
			t.Fatal(err)
		}
		if got := status(jan); got.Status != report.ReviewOpen || got.Opened != 1 {
			t.Fatalf("open: %+v", got)
		}
		if err := reviews.Decide(ctx, by, rv.ID, ada.ID, review.Decision{Kind: review.Confirmed}); err != nil {
			t.Fatal(err)
		}
		if err := reviews.Close(ctx, by, rv.ID); err != nil {
			t.Fatal(err)
		}
		if got := status(jan); got.Status != report.ReviewClosed || got.Confirmed != 1 || got.Closed != 1 {
			t.Fatalf("closed: %+v", got)
		}
		if got := status(jan.Prev()); got.Status != report.ReviewNotOpened || got.Quarter != "2026-Q4" || got.Confirmed != 0 {
			t.Fatalf("December: %+v", got)
		}
	})
}
