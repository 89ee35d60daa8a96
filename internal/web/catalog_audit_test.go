package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/app/apptest"
	"github.com/steward-dev/steward/internal/audit/audittest"
	"github.com/steward-dev/steward/internal/db"
)

// TestCatalogWritesWithoutAudit: with the audit log unwritable, catalog
// writes answer 503 (try again later), not 500, on both stores, and change
// nothing.
func TestCatalogWritesWithoutAudit(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			srv := apptest.Start(t, dialect)
			audittest.MakeUnwritable(t, srv.App.DB)
			do := func(method, path, body string) (int, string) {
				t.Helper()
				req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+srv.Keys.Admin)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			for _, w := range []struct{ method, path, body string }{
				{"POST", "/v1/purposes", `{"key":"research","name":{"en":"Research"},"legal_basis":"consent"}`},
				{"POST", "/v1/properties", `{"key":"blog","name":"Blog","domains":["blog.example"]}`},
				{"POST", "/v1/vendors", `{"key":"new-co","name":"New Co","purposes":["analytics"]}`},
				{"POST", "/v1/notices", `{"version":"2027-01","text":{"en":"New notice"}}`},
			} {
				if code, body := do(w.method, w.path, w.body); code != http.StatusServiceUnavailable || !strings.Contains(body, "audit log") {
					t.Errorf("%s %s with the audit log unwritable: %d %s", w.method, w.path, code, body)
				}
			}
			if code, _ := do("GET", "/v1/purposes/research", ""); code != http.StatusNotFound {
				t.Errorf("the purpose was created without its audit entry: %d", code)
			}
		})
	}
}
