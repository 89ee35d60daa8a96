package consent_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/receipt"
)

func newLedgerSigner(tb testing.TB) *audit.Signer {
	tb.Helper()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := audit.NewSigner("shop.example/ledger", key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func exec(tb testing.TB, store *db.DB, query string, args ...any) {
	tb.Helper()
	if _, err := store.ExecContext(context.Background(), query, args...); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
}

// ledgerFixture appends ten events (devices and a subject), links a device
// (a seq outside the chain) and returns the events by seq.
func ledgerFixture(t *testing.T, svc *consent.Service) map[int64]consent.Event {
	t.Helper()
	bySeq := map[int64]consent.Event{}
	for i := range 10 {
		e := event(fmt.Sprintf("e%d", i), fmt.Sprintf("dev-%d", i%3), "analytics", consent.ActionGrant)
		if i%2 == 0 {
			e.Device, e.Subject = "", "cust-7"
			e.Source = consent.SourcePortal
		}
		res := appendOK(t, svc, e)
		bySeq[res[0].Event.Seq] = res[0].Event
		if i == 4 {
			if _, err := svc.LinkDevice(context.Background(), "cust-7", "dev-1"); err != nil {
				t.Fatal(err)
			}
		}
	}
	return bySeq
}

func verify(t *testing.T, store *db.DB, opts consent.VerifyOptions) *consent.VerifyReport {
	t.Helper()
	r, err := consent.Verify(context.Background(), store, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestLedgerVerifyNamesTampering replays edits of the database by someone
// who holds it: each is found and named by seq and event id.
func TestLedgerVerifyNamesTampering(t *testing.T) {
	type tamper struct {
		name   string
		edit   func(t *testing.T, store *db.DB)
		kind   string
		seq    int64
		hasID  bool
		detail string
	}
	cases := []tamper{
		{name: "action", kind: consent.ProblemChanged, seq: 4, hasID: true, edit: func(t *testing.T, store *db.DB) {
			exec(t, store, `UPDATE consent_events SET action = 'deny' WHERE seq = 4`)
		}},
		{name: "purpose", kind: consent.ProblemChanged, seq: 7, hasID: true, edit: func(t *testing.T, store *db.DB) {
			exec(t, store, `UPDATE consent_events SET purpose = 'marketing' WHERE seq = 7`)
		}},
		{name: "subject", kind: consent.ProblemChanged, seq: 3, hasID: true, detail: "subject or device", edit: func(t *testing.T, store *db.DB) {
			exec(t, store, `UPDATE consent_events SET subject_id = 'cust-8' WHERE seq = 3`)
		}},
		{name: "device to subject", kind: consent.ProblemChanged, seq: 2, hasID: true, edit: func(t *testing.T, store *db.DB) {
			exec(t, store, `UPDATE consent_events SET subject_id = device_id, device_id = NULL WHERE seq = 2`)
		}},
		{name: "stored receipt", kind: consent.ProblemChanged, seq: 5, hasID: true, detail: "receipt", edit: func(t *testing.T, store *db.DB) {
			exec(t, store, `UPDATE consent_events SET receipt = (SELECT receipt FROM consent_events WHERE seq = 1) WHERE seq = 5`)
		}},
		{name: "delete", kind: consent.ProblemRemoved, seq: 5, edit: func(t *testing.T, store *db.DB) {
			exec(t, store, `DELETE FROM consent_events WHERE seq = 5`)
		}},
		{name: "delete last", kind: consent.ProblemRemoved, seq: 11, edit: func(t *testing.T, store *db.DB) {
			exec(t, store, `DELETE FROM consent_events WHERE seq = 11`)
		}},
		// seq 6 is the device link's: a forged event takes it, copying its
		// neighbour's chain columns.
		{name: "insert forged", kind: consent.ProblemInserted, seq: 6, hasID: true, edit: func(t *testing.T, store *db.DB) {
			exec(t, store, `INSERT INTO consent_events (seq, property, event_id, subject_id, device_id, purpose, vendor, action, source,
				notice_version, jurisdiction, gpc, dnt, tc_string, at, recorded_at, prev_seq, hash, salt, principal_mac, receipt, receipt_hash)
				SELECT 6, property, 'forged', subject_id, device_id, purpose, vendor, 'deny', source, notice_version, jurisdiction, gpc, dnt,
				tc_string, at, recorded_at, 5, hash, salt, principal_mac, receipt, receipt_hash FROM consent_events WHERE seq = 5`)
		}},
		{name: "insert without hash", kind: consent.ProblemInserted, seq: 6, hasID: true, edit: func(t *testing.T, store *db.DB) {
			exec(t, store, `INSERT INTO consent_events (seq, property, event_id, subject_id, device_id, purpose, vendor, action, source,
				notice_version, jurisdiction, gpc, dnt, tc_string, at, recorded_at)
				SELECT 6, property, 'forged', subject_id, device_id, purpose, vendor, 'deny', source, notice_version, jurisdiction, gpc, dnt,
				tc_string, at, recorded_at FROM consent_events WHERE seq = 5`)
		}},
		{name: "swap seqs", kind: consent.ProblemReordered, seq: 2, hasID: true, edit: func(t *testing.T, store *db.DB) {
			exec(t, store, `UPDATE consent_events SET seq = -2 WHERE seq = 2`)
			exec(t, store, `UPDATE consent_events SET seq = 2 WHERE seq = 3`)
			exec(t, store, `UPDATE consent_events SET seq = 3 WHERE seq = -2`)
		}},
		{name: "erased without an erasure", kind: consent.ProblemErased, seq: 3, hasID: true, edit: func(t *testing.T, store *db.DB) {
			exec(t, store, `UPDATE consent_events SET subject_id = 'prs_hidden', salt = NULL, receipt = NULL WHERE seq = 3`)
		}},
		{name: "head moved back", kind: consent.ProblemHead, seq: 11, hasID: true, edit: func(t *testing.T, store *db.DB) {
			exec(t, store, `UPDATE ledger_head SET chain_seq = 10`)
		}},
	}
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				// A fresh ledger per case: reset by hand, the store is shared.
				exec(t, store, `DELETE FROM consent_events`)
				exec(t, store, `DELETE FROM subject_devices`)
				exec(t, store, `UPDATE ledger_head SET seq = 0, chain_seq = 0, chain_from = 0, hash = $1`, []byte{})
				svc := openService(t, store, newSigner(t))
				if c.name == cases[0].name {
					seed(t, svc)
				}
				bySeq := ledgerFixture(t, svc)
				if r := verify(t, store, consent.VerifyOptions{}); !r.OK() || r.Verified != 10 {
					t.Fatalf("before the edit: %s", r.Message())
				}
				c.edit(t, store)
				// Pages of two events read an entry in doubt again at the
				// next page: the finding must not change.
				small := verify(t, store, consent.VerifyOptions{PageSize: 2})
				r := verify(t, store, consent.VerifyOptions{})
				if r.OK() || r.Problem == nil {
					t.Fatalf("after the edit: %s", r.Message())
				}
				if small.Problem == nil || *small.Problem != *r.Problem {
					t.Fatalf("with pages of two: %s; with one page: %s", small.Message(), r.Message())
				}
				p := r.Problem
				if p.Kind != c.kind || p.Seq != c.seq || c.hasID && p.EventID == "" || !strings.Contains(p.Detail, c.detail) {
					t.Fatalf("problem %s, want kind %q at seq %d", p, c.kind, c.seq)
				}
				if c.hasID && c.name != "insert forged" && c.name != "insert without hash" && c.name != "swap seqs" && p.EventID != bySeq[c.seq].ID {
					t.Fatalf("problem names event %q, want %q", p.EventID, bySeq[c.seq].ID)
				}
				if !strings.Contains(r.Message(), fmt.Sprintf("entry %d", c.seq)) {
					t.Fatalf("message %q does not name entry %d", r.Message(), c.seq)
				}
			})
		}
	})
}

// TestLedgerErasureVerifiesAndDropsReceipts: erasing a subject keeps the
// chain whole, leaves no trace of the subject's id in the ledger (receipts
// name it, so they go), and a faked erasure shows.
func TestLedgerErasureVerifiesAndDropsReceipts(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		ledgerFixture(t, svc)
		if !strings.Contains(dumpEvents(t, store), "cust-7") {
			t.Fatal("the fixture's subject is not in the ledger")
		}
		res, err := svc.Pseudonymise(context.Background(), "cust-7")
		if err != nil || res.Events != 5 {
			t.Fatalf("Pseudonymise = %+v, %v", res, err)
		}
		appendOK(t, svc, event("after", "dev-2", "analytics", consent.ActionDeny))
		if _, err := svc.Pseudonymise(context.Background(), "cust-7"); err != nil { // twice is harmless
			t.Fatal(err)
		}
		for _, page := range []int{0, 2} {
			if r := verify(t, store, consent.VerifyOptions{PageSize: page}); !r.OK() || r.Verified != 13 {
				t.Fatalf("after erasure, pages of %d: %s", page, r.Message())
			}
		}
		if dump := dumpEvents(t, store); strings.Contains(dump, "cust-7") {
			t.Fatalf("the erased subject's id is still in the ledger rows: %s", dump)
		}
		var receipts int
		if err := store.QueryRowContext(context.Background(), `SELECT count(*) FROM consent_events WHERE subject_id LIKE 'prs_%' AND receipt IS NOT NULL`).
			Scan(&receipts); err != nil || receipts != 0 {
			t.Fatalf("%d receipts of erased events kept (%v)", receipts, err)
		}
		// Forging an erasure entry, or changing what one recorded, shows.
		exec(t, store, `UPDATE consent_erasures SET events = 6 WHERE events = 5`)
		if r := verify(t, store, consent.VerifyOptions{}); r.OK() || r.Problem.Kind != consent.ProblemChanged || r.Problem.EventID != "" {
			t.Fatalf("after editing the erasure: %s", r.Message())
		}
	})
}

// dumpEvents returns every text column of every ledger row.
func dumpEvents(t *testing.T, store *db.DB) string {
	t.Helper()
	rows, err := store.QueryContext(context.Background(), `SELECT property, event_id, COALESCE(subject_id, ''), COALESCE(device_id, ''),
		tc_string, COALESCE(receipt, '') FROM consent_events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var cols [6]string
		if err := rows.Scan(&cols[0], &cols[1], &cols[2], &cols[3], &cols[4], &cols[5]); err != nil {
			t.Fatal(err)
		}
		for _, c := range cols {
			b.WriteString(c + " ")
			if parts := strings.Split(c, "."); len(parts) == 3 { // a JWS: its payload names the subject
				if payload, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
					b.Write(payload)
					b.WriteString(" ")
				}
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestReceiptIsNeverResigned: after someone edits a row, the receipt the
// ledger hands out is still the one issued at append, naming the original
// decision, not a fresh signature over the forgery.
func TestReceiptIsNeverResigned(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		signer := newSigner(t)
		svc := openService(t, store, signer)
		seed(t, svc)
		res := appendOK(t, svc, event("r1", "dev-1", "marketing", consent.ActionDeny))
		issued := res[0].Event.Receipt
		exec(t, store, `UPDATE consent_events SET action = 'grant' WHERE event_id = 'r1'`)
		got, err := svc.Event(context.Background(), "shop", "r1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Action != consent.ActionGrant {
			t.Fatalf("the edit did not take: %+v", got)
		}
		if got.Receipt != issued {
			t.Fatal("the ledger handed out another receipt than the one issued")
		}
		claims, err := receipt.Verify(got.Receipt, signer.JWKS())
		if err != nil || claims.Steward.Action != "deny" {
			t.Fatalf("receipt says %+v (%v), want the original deny", claims, err)
		}
		events, err := svc.Events(context.Background(), consent.EventFilter{Device: "dev-1", Receipts: true})
		if err != nil || len(events) != 1 || events[0].Receipt != issued {
			t.Fatalf("Events with receipts = %+v, %v", events, err)
		}
	})
}

// TestGPPStringIsEvidence: a GPP string sent with an event is stored with
// it, named in its signed receipt and covered by the ledger's hash, so an
// edit of the stored string is found; events without one verify as before.
func TestGPPStringIsEvidence(t *testing.T) {
	const gppString = "DBABLA~BVVqAAAACqA.QA"
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		signer := newSigner(t)
		svc := openService(t, store, signer)
		seed(t, svc)
		plain := event("g0", "dev-1", "marketing", consent.ActionGrant)
		withGPP := event("g1", "dev-1", "marketing", consent.ActionDeny)
		withGPP.GPPString = gppString
		appendOK(t, svc, plain, withGPP)
		got, err := svc.Event(ctx, "shop", "g1")
		if err != nil {
			t.Fatal(err)
		}
		if got.GPPString != gppString {
			t.Fatalf("stored GPP string %q, want %q", got.GPPString, gppString)
		}
		claims, err := receipt.Verify(got.Receipt, signer.JWKS())
		if err != nil || claims.Steward.GPPString != gppString {
			t.Fatalf("receipt names GPP string %q (%v), want %q", claims.Steward.GPPString, err, gppString)
		}
		first, err := svc.Event(ctx, "shop", "g0")
		if err != nil {
			t.Fatal(err)
		}
		if claims, err := receipt.Verify(first.Receipt, signer.JWKS()); err != nil || claims.Steward.GPPString != "" {
			t.Fatalf("receipt without a GPP string names %q (%v)", claims.Steward.GPPString, err)
		}
		if r := verify(t, store, consent.VerifyOptions{}); !r.OK() {
			t.Fatalf("the ledger does not verify: %s", r.Message())
		}
		// Resent with another GPP string, the id is a conflict.
		other := withGPP
		other.GPPString = "DBABLA~BVVqAAAACqA.YA"
		if _, err := svc.Append(ctx, []consent.Event{other}); !errs.Is(err, errs.CodeConflict) {
			t.Fatalf("resent with another GPP string: %v, want a conflict", err)
		}
		exec(t, store, `UPDATE consent_events SET gpp_string = 'DBABLA~BVVqAAAACqA.YA' WHERE event_id = 'g1'`)
		r := verify(t, store, consent.VerifyOptions{})
		if r.OK() || r.Problem == nil || r.Problem.Kind != consent.ProblemChanged || r.Problem.EventID != "g1" {
			t.Fatalf("an edited GPP string went unnoticed: %s", r.Message())
		}
	})
}

// TestDuplicateConflict: an id resent with other content is refused (409
// naming the field) and nothing of that request is written, while the
// requests committed in the same group are; resent as it was, it is a
// duplicate with the stored receipt.
func TestDuplicateConflict(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		first := appendOK(t, svc, event("d1", "dev-1", "analytics", consent.ActionGrant))
		stored := first[0].Event

		same := event("d1", "dev-1", "analytics", consent.ActionGrant)
		same.At = same.At.Add(3e9) // a retried beacon: the server's clock set the time again
		forged := event("d1", "dev-1", "analytics", consent.ActionDeny)
		other := event("d2", "dev-2", "analytics", consent.ActionGrant)
		inGroup := event("d3", "dev-3", "analytics", consent.ActionGrant)
		inGroupForged := event("d3", "dev-3", "marketing", consent.ActionGrant)
		for _, e := range []*consent.Event{&same, &forged, &other, &inGroup, &inGroupForged} {
			if err := svc.ValidateEvents([]consent.Event{*e}, authorOf(e)); err != nil {
				t.Fatal(err)
			}
			e.Jurisdiction = "DE" // as ValidateEvents fills it in its copy
		}
		results, errors := consent.WriteGroupForTest(svc, []consent.Event{same}, []consent.Event{other, forged},
			[]consent.Event{inGroup}, []consent.Event{inGroupForged})
		if errors[0] != nil || !results[0][0].Duplicate || results[0][0].Event.Receipt != stored.Receipt || results[0][0].Event.Seq != stored.Seq {
			t.Fatalf("identical resend: %+v, %v", results[0], errors[0])
		}
		for i, field := range map[int]string{1: "events[1].id", 3: "events[0].id"} {
			e, ok := errs.As(errors[i])
			if !ok || e.Code != errs.CodeConflict || e.Fields[field] == "" {
				t.Fatalf("request %d: %v, want a conflict naming %s", i, errors[i], field)
			}
			if strings.Contains(e.Error(), "grant") || strings.Contains(e.Error(), "analytics") {
				t.Fatalf("the conflict reveals the stored content: %v", e)
			}
		}
		if errors[2] != nil || results[2][0].Duplicate || results[2][0].Event.Receipt == "" {
			t.Fatalf("a request of the same group: %+v, %v", results[2], errors[2])
		}
		if _, err := svc.Event(context.Background(), "shop", "d2"); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("the conflicting request's other event was written: %v", err)
		}
		got, err := svc.Event(context.Background(), "shop", "d1")
		if err != nil || got.Action != consent.ActionGrant {
			t.Fatalf("stored d1 = %+v, %v", got, err)
		}
		// Against the stored event rather than one of the same group.
		_, err = svc.Append(context.Background(), []consent.Event{forged, other})
		if e, ok := errs.As(err); !ok || e.Code != errs.CodeConflict || e.Fields["events[0].id"] == "" {
			t.Fatalf("conflict with the ledger: %v", err)
		}
		if _, err := svc.Event(context.Background(), "shop", "d2"); !errs.Is(err, errs.CodeNotFound) {
			t.Fatalf("the conflicting request's other event was written: %v", err)
		}
		if r := verify(t, store, consent.VerifyOptions{}); !r.OK() || r.Verified != 2 {
			t.Fatalf("verify: %s", r.Message())
		}
	})
}

// TestLedgerTwoWriters: two services on one database (two replicas) append,
// link and erase in turn; the chain stays whole.
func TestLedgerTwoWriters(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		a := openService(t, store, newSigner(t))
		seed(t, a)
		b := openService(t, store, newSigner(t))
		if err := b.ReloadCatalog(context.Background()); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for w, svc := range []*consent.Service{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 20 {
					e := event(fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("dev-%d", i), "analytics", consent.ActionGrant)
					if err := svc.ValidateEvents([]consent.Event{e}, authorOf(&e)); err != nil {
						t.Error(err)
						return
					}
					if _, err := svc.Append(context.Background(), []consent.Event{e}); err != nil {
						t.Error(err)
						return
					}
					if i == 10 {
						if _, err := svc.LinkDevice(context.Background(), fmt.Sprintf("cust-%d", w), "dev-3"); err != nil {
							t.Error(err)
						}
					}
				}
			}()
		}
		wg.Wait()
		if _, err := a.Pseudonymise(context.Background(), "cust-1"); err != nil {
			t.Fatal(err)
		}
		appendOK(t, b, event("last", "dev-9", "analytics", consent.ActionDeny))
		if r := verify(t, store, consent.VerifyOptions{}); !r.OK() || r.Verified != 42 {
			t.Fatalf("verify: %s", r.Message())
		}
	})
}

// TestLedgerCheckpoints: checkpoints are signed into the file and the
// database; a ledger cut back below one, or a row edited after one, is
// found by Verify and by the checkpointer at start.
func TestLedgerCheckpoints(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		ledgerFixture(t, svc)
		signer := newLedgerSigner(t)
		file := filepath.Join(t.TempDir(), "ledger-checkpoints.txt")
		open := func() *consent.Checkpointer {
			c, err := consent.OpenCheckpointer(ctx, consent.CheckpointerConfig{DB: store, Signer: signer, File: file, Interval: -1})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		c := open()
		if ok, why := c.Status(); !ok {
			t.Fatal(why)
		}
		if err := c.Checkpoint(ctx); err != nil || c.Latest() != 11 {
			t.Fatalf("Checkpoint: %v, latest %d", err, c.Latest())
		}
		appendOK(t, svc, event("x1", "dev-1", "analytics", consent.ActionDeny))
		if err := c.Close(); err != nil || c.Latest() != 12 {
			t.Fatalf("Close: %v, latest %d", err, c.Latest())
		}
		data, err := os.ReadFile(file)
		if err != nil || strings.Count(string(data), "shop.example/ledger\n") != 2 {
			t.Fatalf("checkpoint file %q, %v", data, err)
		}
		opts := consent.VerifyOptions{CheckpointFile: file, Verifiers: []*audit.Verifier{signer.Verifier()}}
		if r := verify(t, store, opts); !r.OK() || r.Checkpoints != 4 || r.Uncovered != 0 {
			t.Fatalf("verify: %s", r.Message())
		}
		appendOK(t, svc, event("x2", "dev-1", "analytics", consent.ActionGrant))
		if r := verify(t, store, opts); !r.OK() || r.Uncovered != 1 || !strings.Contains(r.Message(), "1 entries covered by no checkpoint") {
			t.Fatalf("verify: %s", r.Message())
		}

		// Edited after the latest checkpoint: found at start.
		exec(t, store, `UPDATE consent_events SET action = 'withdraw' WHERE seq = 13`)
		if ok, why := open().Status(); ok || !strings.Contains(why, "entry 13") {
			t.Fatalf("start after an edit in the tail: ok %v, %q", ok, why)
		}
		exec(t, store, `UPDATE consent_events SET action = 'grant' WHERE seq = 13`)
		if ok, why := open().Status(); !ok {
			t.Fatalf("start after undoing the edit: %q", why)
		}
		exec(t, store, `UPDATE consent_events SET device_id = 'dev-2' WHERE seq = 13`)
		if ok, why := open().Status(); ok || !strings.Contains(why, "subject or device") {
			t.Fatalf("start after moving an event in the tail to another device: ok %v, %q", ok, why)
		}
		exec(t, store, `UPDATE consent_events SET device_id = 'dev-1' WHERE seq = 13`)

		// Cut back below the checkpoint, head and all, so that the chain in
		// the database is consistent: only the checkpoints show it.
		var hash []byte
		if err := store.QueryRowContext(ctx, `SELECT hash FROM consent_events WHERE seq = 10`).Scan(&hash); err != nil {
			t.Fatal(err)
		}
		exec(t, store, `DELETE FROM consent_events WHERE seq > 10`)
		exec(t, store, `DELETE FROM ledger_checkpoints`)
		exec(t, store, `UPDATE ledger_head SET seq = 10, chain_seq = 10, hash = $1`, hash)
		r := verify(t, store, opts)
		if r.Problem != nil || len(r.CheckpointProblems) == 0 || r.CheckpointProblems[0].Kind != consent.ProblemRemoved ||
			r.CheckpointProblems[0].Seq != 11 || !strings.Contains(r.Message(), "cut back") {
			t.Fatalf("verify after cutting back: %s", r.Message())
		}
		if ok, why := open().Status(); ok || !strings.Contains(why, "cut back") {
			t.Fatalf("start after cutting back: ok %v, %q", ok, why)
		}
		var n int
		if err := store.QueryRowContext(ctx, `SELECT count(*) FROM ledger_checkpoints`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("a broken chain was signed: %d checkpoints (%v)", n, err)
		}
	})
}

// TestLedgerRecomputedChain: someone who edits rows and recomputes the
// whole chain (the encoding is no secret) leaves a consistent database;
// the signed checkpoint made before shows the rewrite, and the stored
// receipts, which they cannot sign, name the edited events.
func TestLedgerRecomputedChain(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		signer := newSigner(t)
		svc := openService(t, store, signer)
		seed(t, svc)
		ledgerFixture(t, svc)
		ledgerSigner := newLedgerSigner(t)
		file := filepath.Join(t.TempDir(), "ledger-checkpoints.txt")
		c, err := consent.OpenCheckpointer(ctx, consent.CheckpointerConfig{DB: store, Signer: ledgerSigner, File: file, Interval: -1})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		exec(t, store, `UPDATE consent_events SET action = 'deny' WHERE seq = 4`)
		exec(t, store, `UPDATE consent_events SET purpose = 'marketing' WHERE seq = 9`)
		if err := consent.RechainForTest(ctx, store); err != nil {
			t.Fatal(err)
		}
		exec(t, store, `DELETE FROM ledger_checkpoints`) // they would drop those in the database too
		if r := verify(t, store, consent.VerifyOptions{}); !r.OK() {
			t.Fatalf("the recomputed chain is not consistent, so this test proves nothing: %s", r.Message())
		}
		r := verify(t, store, consent.VerifyOptions{CheckpointFile: file, Verifiers: []*audit.Verifier{ledgerSigner.Verifier()}})
		if r.OK() || len(r.CheckpointProblems) == 0 || !strings.Contains(r.Message(), "rewritten") {
			t.Fatalf("against the checkpoint: %s", r.Message())
		}
		r = verify(t, store, consent.VerifyOptions{ReceiptKeys: signer.JWKS()})
		if p := r.Problem; p == nil || p.Seq != 4 || p.EventID != "e3" || !strings.Contains(p.Detail, "action") {
			t.Fatalf("against the receipts: %s", r.Message())
		}
		// Undo the first edit: the receipts name the second.
		exec(t, store, `UPDATE consent_events SET action = 'grant' WHERE seq = 4`)
		if err := consent.RechainForTest(ctx, store); err != nil {
			t.Fatal(err)
		}
		r = verify(t, store, consent.VerifyOptions{ReceiptKeys: signer.JWKS()})
		if p := r.Problem; p == nil || p.Seq != 9 || !strings.Contains(p.Detail, "purpose") {
			t.Fatalf("against the receipts: %s", r.Message())
		}
	})
}

// TestCheckpointerSignsWhatItChained: with the commit loop's stretch
// (CheckpointerConfig.Written), the checkpointer signs the hash this
// process computed. Someone who rewrites an event appended since the last
// checkpoint and recomputes the chain and the head (a consistent store)
// gets no checkpoint over the rewrite: the chain is reported broken. A
// checkpointer that reads the store back instead (no Written) signs it,
// which is why the server hands it the stretch. Appends of this process
// alone sign without reading the entries back.
func TestCheckpointerSignsWhatItChained(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		svc := openService(t, store, newSigner(t))
		seed(t, svc)
		ledgerFixture(t, svc)
		open := func(written *consent.Written) *consent.Checkpointer {
			c, err := consent.OpenCheckpointer(ctx, consent.CheckpointerConfig{DB: store, Signer: newLedgerSigner(t), Interval: -1, Written: written})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		c := open(svc.Written())
		if err := c.Checkpoint(ctx); err != nil || c.Latest() != 11 {
			t.Fatalf("Checkpoint: %v, latest %d", err, c.Latest())
		}
		for i := range 3 {
			appendOK(t, svc, event(fmt.Sprintf("w%d", i), "dev-1", "analytics", consent.ActionGrant))
			if err := c.Checkpoint(ctx); err != nil || c.Latest() != int64(12+i) {
				t.Fatalf("Checkpoint after append %d: %v, latest %d", i, err, c.Latest())
			}
		}
		reader := open(nil) // verified the tail at open, reads back from here on
		appendOK(t, svc, event("w3", "dev-1", "analytics", consent.ActionGrant))
		appendOK(t, svc, event("w4", "dev-1", "analytics", consent.ActionGrant))
		exec(t, store, `UPDATE consent_events SET action = 'deny' WHERE seq = 15`)
		if err := consent.RechainForTest(ctx, store); err != nil {
			t.Fatal(err)
		}
		if err := reader.Checkpoint(ctx); err != nil || reader.Latest() != 16 {
			t.Fatalf("the reading checkpointer: %v, latest %d; want the rewrite signed (what this test shows the stretch prevents)", err, reader.Latest())
		}
		if err := c.Checkpoint(ctx); err == nil || c.Latest() != 14 {
			t.Fatalf("the rewritten stretch was signed: %v, latest %d", err, c.Latest())
		}
		if ok, why := c.Status(); ok || !strings.Contains(why, "another hash") {
			t.Fatalf("status after the rewrite: ok %v, %q", ok, why)
		}
	})
}

// TestChannelIsEvidence: the channel of a choice is stored, named in its
// receipt and covered by the chain: editing it, or clearing it to widen a
// withdrawal by email to every channel, is found by Verify.
func TestChannelIsEvidence(t *testing.T) {
	for _, edit := range []struct{ name, sql string }{
		{"another channel", `UPDATE consent_events SET channel = 'sms' WHERE event_id = 'c1'`},
		{"channel cleared", `UPDATE consent_events SET channel = '' WHERE event_id = 'c1'`},
		{"channel added", `UPDATE consent_events SET channel = 'post' WHERE event_id = 'c0'`},
	} {
		t.Run(edit.name, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, store *db.DB) {
				ctx := context.Background()
				signer := newSigner(t)
				svc := openService(t, store, signer)
				seed(t, svc)
				if _, err := svc.PutPurpose(ctx, newsletter(), true); err != nil {
					t.Fatal(err)
				}
				topic := func(id string, action consent.Action, channel consent.Channel) consent.Event {
					return consent.Event{ID: id, Property: "shop", Subject: "cust-c", Purpose: "newsletter", Channel: channel,
						Action: action, Source: consent.SourceAPI, NoticeVersion: "v1"}
				}
				appendOK(t, svc, topic("c0", consent.ActionGrant, ""), topic("c1", consent.ActionWithdraw, consent.ChannelEmail))
				got, err := svc.Event(ctx, "shop", "c1")
				if err != nil {
					t.Fatal(err)
				}
				if got.Channel != consent.ChannelEmail {
					t.Fatalf("stored channel %q, want email", got.Channel)
				}
				claims, err := receipt.Verify(got.Receipt, signer.JWKS())
				if err != nil || claims.Steward.Channel != "email" {
					t.Fatalf("receipt names channel %q (%v), want email", claims.Steward.Channel, err)
				}
				if r := verify(t, store, consent.VerifyOptions{}); !r.OK() {
					t.Fatalf("the ledger does not verify: %s", r.Message())
				}
				other := topic("c1", consent.ActionWithdraw, consent.ChannelSMS)
				if _, err := svc.Append(ctx, []consent.Event{other}); !errs.Is(err, errs.CodeConflict) {
					t.Fatalf("resent with another channel: %v, want a conflict", err)
				}
				exec(t, store, edit.sql)
				r := verify(t, store, consent.VerifyOptions{})
				if r.OK() || r.Problem == nil || r.Problem.Kind != consent.ProblemChanged {
					t.Fatalf("an edited channel went unnoticed: %s", r.Message())
				}
			})
		})
	}
}
