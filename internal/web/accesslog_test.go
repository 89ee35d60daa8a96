package web_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/web"
)

// TestAccessLog: with AccessLog (--access-log) each request is one line
// with the route's pattern, status, duration and bytes; a path naming a
// customer never reaches the log. Without it nothing is logged per request.
func TestAccessLog(t *testing.T) {
	srv := apptest.Start(t, db.SQLite)
	a := srv.App
	const email = "ada.lovelace@example.org"
	cases := []struct {
		name   string
		on     bool
		method string
		path   string
		want   []string
	}{
		{"subject in the path", true, "GET", "/v1/subjects/" + email + "/fields", []string{`route="GET /v1/subjects/{id}/fields"`, "status=200", "duration=", "bytes="}},
		{"refused", true, "GET", "/v1/subjects/" + email + "/accesses?key=nope", []string{`route="GET /v1/subjects/{id}/accesses"`, "status=401"}},
		{"unmatched", true, "GET", "/no/such/" + email, []string{"route=/", "status=404"}},
		{"off", false, "GET", "/v1/subjects/" + email + "/fields", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			h := web.NewServer(web.Deps{Consent: a.Consent, Keys: a.Keys, DB: a.DB, Vault: a.Vault, Audit: a.Audit,
				Log: slog.New(slog.NewTextHandler(&out, nil)), AccessLog: c.on})
			req := httptest.NewRequest(c.method, c.path, nil)
			if !strings.Contains(c.path, "key=") {
				req.Header.Set("Authorization", "Bearer "+srv.Keys.Admin)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			logged := out.String()
			if strings.Contains(logged, email) || strings.Contains(logged, "ada.lovelace") {
				t.Fatalf("the log names the customer: %s", logged)
			}
			if c.want == nil && strings.Contains(logged, `msg=request`) {
				t.Fatalf("logged without --access-log: %s", logged)
			}
			for _, w := range c.want {
				if !strings.Contains(logged, w) {
					t.Errorf("log %q lacks %q (answer %d)", logged, w, rec.Code)
				}
			}
			if c.on && rec.Code == http.StatusOK && strings.Contains(logged, "bytes=0") {
				t.Errorf("bytes not counted: %s", logged)
			}
		})
	}
}
