package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/steward-dev/steward/client"
	"github.com/steward-dev/steward/internal/consentrules"
)

// fakeStream serves the rules and a ledger of devices with a grant for
// analytics and a denial for marketing each (as the server's
// BenchmarkDecide), then heartbeats.
func fakeStream(tb testing.TB, devices int) *httptest.Server {
	return fakeStreamOf(tb, devices, 2)
}

// fakeStreamOf is fakeStream with perDevice states per device (1 to 3):
// a grant for analytics, a denial for marketing, a grant for sale.
func fakeStreamOf(tb testing.TB, devices, perDevice int) *httptest.Server {
	tb.Helper()
	far := time.Now().Add(365 * 24 * time.Hour).UnixMicro()
	rules := consentrules.RulesDocument{Fingerprint: "1", Seq: int64(perDevice * devices), CurrentNotice: 1,
		DefaultRules: consentrules.PropertyRules{OptIn: []string{"EU", "EEA", "UK"}, OptOut: []string{"US"}, Default: consentrules.OptIn},
		Purposes: []consentrules.PurposeRules{
			{Key: "analytics", LegalBasis: consentrules.BasisConsent, Vendors: []string{"metrics-co"}, OpenUntil: far},
			{Key: "marketing", LegalBasis: consentrules.BasisConsent, OpenUntil: far},
			{Key: "sale", LegalBasis: consentrules.BasisConsent, SaleOrSharing: true, OpenUntil: far}},
		Vendors: []consentrules.VendorRules{{Key: "metrics-co", OpenUntil: far}}}
	head := int64(perDevice * devices)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/consent/rules", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(rules)
	})
	mux.HandleFunc("GET /v1/consent/stream", func(w http.ResponseWriter, r *http.Request) {
		after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
		page := client.StreamPage{Head: head, Next: head, Fingerprint: "1", Time: time.Now().UnixMilli(), Entries: []client.StreamEntry{}}
		if r.Header.Get("Accept") == "text/event-stream" {
			w.Header().Set("Content-Type", "text/event-stream")
			for {
				page.Time = time.Now().UnixMilli()
				body, _ := json.Marshal(page)
				if _, err := fmt.Fprintf(w, "event: heartbeat\ndata: %s\n\n", body); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(time.Second):
				}
			}
		}
		for seq := after + 1; seq <= head && len(page.Entries) < 20000; seq++ {
			i := (seq - 1) / int64(perDevice)
			e := client.StreamEntry{Seq: seq, Kind: "consent", Device: consentrules.Ref(fmt.Sprintf("dev-%d", i)), Purpose: "analytics",
				Action: client.ActionGrant, At: 1_767_225_600, Notice: 1}
			switch (seq - 1) % int64(perDevice) {
			case 1:
				e.Purpose, e.Action = "marketing", client.ActionDeny
			case 2:
				e.Purpose = "sale"
			}
			page.Entries = append(page.Entries, e)
			page.Next = seq
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(page)
	})
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

// BenchmarkDeciderDecide measures one decision of a local Decider holding
// 100,000 devices' states: its target is the server's, at most 200 ns and
// no allocation. Besides ns/op it reports cpu-ns/op, the processor time
// its thread used per decision, which a loaded machine disturbs less.
func BenchmarkDeciderDecide(b *testing.B) {
	srv := fakeStream(b, 100000)
	d, err := client.New(srv.URL, "stw_decide_bench").NewDecider(context.Background(), client.DeciderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	questions := make([]client.Question, 1024)
	for i := range questions {
		questions[i] = client.Question{Device: fmt.Sprintf("dev-%d", i*97%100000), Purpose: "analytics", Vendor: "metrics-co", Jurisdiction: "DE"}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	start, n := threadCPU(), 0
	for i := 0; b.Loop(); i++ {
		a, err := d.Decide(&questions[i&1023], false)
		if err != nil || !a.Allowed {
			b.Fatalf("%+v %v", a, err)
		}
		n++
	}
	if cpu := threadCPU() - start; cpu > 0 {
		b.ReportMetric(float64(cpu)/float64(n), "cpu-ns/op")
	}
}

// BenchmarkDeciderDecideRef is BenchmarkDeciderDecide by ref: the
// questions' refs computed beforehand, as a caller who holds them would.
func BenchmarkDeciderDecideRef(b *testing.B) {
	srv := fakeStream(b, 100000)
	d, err := client.New(srv.URL, "stw_decide_bench").NewDecider(context.Background(), client.DeciderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	refs := make([]client.IdentityRef, 1024)
	for i := range refs {
		refs[i] = client.DeviceRef(fmt.Sprintf("dev-%d", i*97%100000))
	}
	q := client.Question{Purpose: "analytics", Vendor: "metrics-co", Jurisdiction: "DE"}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	start, n := threadCPU(), 0
	for i := 0; b.Loop(); i++ {
		a, err := d.DecideRef(refs[i&1023], &q, false)
		if err != nil || !a.Allowed {
			b.Fatalf("%+v %v", a, err)
		}
		n++
	}
	if cpu := threadCPU() - start; cpu > 0 {
		b.ReportMetric(float64(cpu)/float64(n), "cpu-ns/op")
	}
}

// TestDeciderDecideAllocates nothing for a valid question.
func TestDeciderDecideAllocates(t *testing.T) {
	srv := fakeStream(t, 10)
	d, err := client.New(srv.URL, "stw_decide_test").NewDecider(context.Background(), client.DeciderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	q := client.Question{Device: "dev-3", Purpose: "marketing", Jurisdiction: "US-CA"}
	allocs := testing.AllocsPerRun(1000, func() {
		if a, _ := d.Decide(&q, false); a.Allowed || a.Reason != client.ReasonConsentDenied {
			t.Fatalf("answer %+v", a)
		}
	})
	if allocs != 0 {
		t.Fatalf("Decide allocates %.1f times per question, want 0", allocs)
	}
	ref, byRef := client.DeviceRef("dev-3"), client.Question{Purpose: "marketing", Jurisdiction: "US-CA"}
	allocs = testing.AllocsPerRun(1000, func() {
		if a, _ := d.DecideRef(ref, &byRef, false); a.Allowed || a.Reason != client.ReasonConsentDenied {
			t.Fatalf("answer by ref %+v", a)
		}
	})
	if allocs != 0 {
		t.Fatalf("DecideRef allocates %.1f times per question, want 0", allocs)
	}
	// A ref and a subject or device at once, or no identity at all, is
	// the question's fault, named as Decide names it.
	for _, tt := range []struct {
		ref client.IdentityRef
		q   client.Question
	}{{ref, client.Question{Device: "dev-3", Purpose: "marketing"}}, {client.IdentityRef{}, client.Question{Purpose: "marketing"}}} {
		_, err := d.DecideRef(tt.ref, &tt.q, false)
		var e *client.Error
		if !errors.As(err, &e) || e.Fields["subject"] == "" {
			t.Errorf("DecideRef(%+v, %+v): %v, want a fault of the subject", tt.ref, tt.q, err)
		}
	}
}

// BenchmarkDeciderMemory reports a Decider's heap per state, loaded over
// HTTP: 500,000 devices with one, two and three states each.
func BenchmarkDeciderMemory(b *testing.B) {
	const devices = 500000
	for perDevice := 1; perDevice <= 3; perDevice++ {
		b.Run(fmt.Sprintf("states=%d", perDevice), func(b *testing.B) {
			srv := fakeStreamOf(b, devices, perDevice)
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				d, err := client.New(srv.URL, "stw_decide_bench").NewDecider(context.Background(), client.DeciderOptions{})
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(devices*perDevice), "bytes/state")
				d.Close()
			}
		})
	}
}
