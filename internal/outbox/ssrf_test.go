package outbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/outbox"
)

// TestSSRFRefusals creates endpoints whose hosts resolve (through a fake
// resolver) into each forbidden range, and checks which are refused.
func TestSSRFRefusals(t *testing.T) {
	resolver := newFakeResolver(map[string]string{
		"hooks.example.com":     "93.184.215.14, 2606:2800:21f:cb07:6820:80da:af6b:8b2c",
		"loopback.example":      "127.0.0.1",
		"loopback8.example":     "127.9.9.9",
		"loopback6.example":     "::1",
		"ten.example":           "10.1.2.3",
		"oneseventwo.example":   "172.16.5.4",
		"oneninetwo.example":    "192.168.1.10",
		"ula.example":           "fd12:3456::1",
		"linklocal.example":     "169.254.10.20",
		"linklocal6.example":    "fe80::1",
		"metadata.example":      "169.254.169.254",
		"metadata6.example":     "fd00:ec2::254",
		"alibaba.example":       "100.100.100.200",
		"cgnat.example":         "100.64.0.1",
		"zero.example":          "0.0.0.0",
		"zero6.example":         "::",
		"multicast.example":     "224.0.0.251",
		"multicast6.example":    "ff02::fb",
		"mapped.example":        "::ffff:10.0.0.1",
		"nat64.example":         "64:ff9b::a00:1",
		"sixtofour.example":     "2002:c0a8:101::1",
		"benchmark.example":     "198.18.0.1",
		"mixed.example":         "93.184.215.14, 10.0.0.7",
		"localhost":             "127.0.0.1, ::1",
		"internal.corp.example": "10.20.30.40",
	})
	cases := []struct {
		url     string
		allow   []string
		refused string // "" when the URL is accepted; else a word of the refusal
	}{
		{"https://hooks.example.com/steward", nil, ""},
		{"https://hooks.example.com:8443/steward?token=x", nil, ""},
		{"https://93.184.215.14/steward", nil, ""},
		{"http://hooks.example.com/steward", nil, "https"},
		{"https://loopback.example/", nil, "loopback"},
		{"https://loopback8.example/", nil, "loopback"},
		{"https://loopback6.example/", nil, "loopback"},
		{"https://127.0.0.1/", nil, "loopback"},
		{"https://[::1]/", nil, "loopback"},
		{"https://ten.example/", nil, "private"},
		{"https://oneseventwo.example/", nil, "private"},
		{"https://oneninetwo.example/", nil, "private"},
		{"https://ula.example/", nil, "private"},
		{"https://linklocal.example/", nil, "link-local"},
		{"https://linklocal6.example/", nil, "link-local"},
		{"https://metadata.example/latest/meta-data/", nil, "metadata"},
		{"https://169.254.169.254/latest/meta-data/", nil, "metadata"},
		{"https://metadata6.example/", nil, "metadata"},
		{"https://alibaba.example/", nil, "metadata"},
		{"https://cgnat.example/", nil, "CGNAT"},
		{"https://zero.example/", nil, "unspecified"},
		{"https://zero6.example/", nil, "unspecified"},
		{"https://multicast.example/", nil, "multicast"},
		{"https://multicast6.example/", nil, "multicast"},
		{"https://mapped.example/", nil, "private"},
		{"https://nat64.example/", nil, "private"},
		{"https://sixtofour.example/", nil, "private"},
		{"https://benchmark.example/", nil, "reserved"},
		{"https://mixed.example/", nil, "private"},
		{"https://nowhere.example/", nil, "does not resolve"},
		// The allow-list, for operators and tests.
		{"http://127.0.0.1:8080/hooks", []string{"127.0.0.1"}, ""},
		{"https://loopback.example/", []string{"127.0.0.1"}, ""},
		{"http://localhost:8080/hooks", []string{"localhost"}, ""},
		{"http://127.0.0.2/hooks", []string{"127.0.0.1"}, "https"},
		{"https://127.0.0.2/hooks", []string{"127.0.0.1"}, "loopback"},
		{"https://internal.corp.example/hooks", []string{"10.0.0.0/8"}, ""},
		{"http://internal.corp.example/hooks", []string{"internal.corp.example"}, ""},
		{"https://ten.example/", []string{"internal.corp.example"}, "private"},
		{"https://metadata.example/", []string{"169.254.0.0/16", "metadata.example"}, "metadata"},
		{"http://169.254.169.254/", []string{"169.254.169.254"}, "metadata"},
	}
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		box := newBox(t, store)
		for _, c := range cases {
			name := strings.Join(c.allow, "+") + " " + c.url
			t.Run(name, func(t *testing.T) {
				svc := newService(t, store, withBox(box), func(cfg *outbox.Config) { cfg.Resolver = resolver; cfg.AllowHosts = c.allow })
				ep, _, err := svc.CreateEndpoint(ctx, outbox.Endpoint{URL: c.url})
				if c.refused == "" {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					if err := svc.DeleteEndpoint(ctx, ep.ID); err != nil {
						t.Fatal(err)
					}
					return
				}
				if !errs.Is(err, errs.CodeInvalid) || !strings.Contains(err.Error(), c.refused) {
					t.Fatalf("err = %v; want invalid, saying %q", err, c.refused)
				}
				if strings.Contains(err.Error(), "/latest/meta-data") {
					t.Errorf("the refusal quotes the URL's path: %v", err)
				}
			})
		}
	})
}

// TestSSRFAtDelivery changes what a host resolves to after the endpoint
// was accepted (as DNS rebinding does): the delivery is refused before any
// connection, and retried until the horizon like any failure.
func TestSSRFAtDelivery(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		resolver := newFakeResolver(map[string]string{"rebind.example": "93.184.215.14"})
		svc := newService(t, store, func(cfg *outbox.Config) {
			cfg.Resolver = resolver
			cfg.AllowHosts = nil
			cfg.Backoff = outbox.Backoff{Base: 20 * time.Millisecond, Max: 50 * time.Millisecond, Horizon: 200 * time.Millisecond}
		})
		startRunner(t, store, svc, 2)
		// A receiver on loopback, which the rebinding host will point to.
		rc := newReceiver(t, nil)
		port := rc.Listener.Addr().String()[strings.LastIndex(rc.Listener.Addr().String(), ":"):]
		ep, _, err := svc.CreateEndpoint(ctx, outbox.Endpoint{URL: "https://rebind.example" + port + "/hooks"})
		if err != nil {
			t.Fatal(err)
		}
		resolver.set("rebind.example", "127.0.0.1")
		out := emit(t, store, svc, outbox.Event{Type: outbox.SubjectErased, SubjectID: "sub_1"})
		m, attempts := waitSettled(t, svc, out.MessageIDs[0])
		if m.State != outbox.Dead || m.DeadReason != outbox.DeadExpired {
			t.Errorf("message %+v; want a dead letter", m)
		}
		for _, a := range attempts {
			if a.ErrorClass != "address_refused" {
				t.Errorf("attempt %+v; want address_refused", a)
			}
		}
		if !strings.Contains(m.LastError, "loopback") || strings.Contains(m.LastError, "/hooks") {
			t.Errorf("last error %q; want the refusal, without the URL", m.LastError)
		}
		if got := rc.received(); len(got) != 0 {
			t.Errorf("the loopback receiver got %d requests", len(got))
		}
		// Updating the URL is checked as creating it is.
		bad := "https://rebind.example/other"
		if _, err := svc.UpdateEndpoint(ctx, ep.ID, outbox.EndpointUpdate{URL: &bad}); !errs.Is(err, errs.CodeInvalid) {
			t.Errorf("update to a loopback host: %v, want invalid", err)
		}
	})
}
