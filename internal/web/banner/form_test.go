package banner_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/web/banner"
)

// formBudget is the most the form snippet may weigh gzipped, configuration
// included: it loads on the company's checkout and sign-up pages.
const formBudget = 2600

// TestFormScript serves the snippet of a declared form (its purposes only,
// gzipped within budget, cacheable) and refuses a form nobody declared with
// a problem naming f.
func TestFormScript(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		f := newFixture(t, store)
		if _, err := f.svc.PutForm(context.Background(), consent.Form{Property: "shop", ID: "signup", Name: "Sign-up", Purposes: []string{"sale"}}, true); err != nil {
			t.Fatal(err)
		}
		served, err := banner.New(banner.Deps{Consent: f.svc, Keys: f.keys, VendorLists: f.gvl, PublicURL: "https://consent.shop.example"})
		if err != nil {
			t.Fatal(err)
		}
		get := func(query string, gzipped bool) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodGet, "/form.js?"+query, nil)
			if gzipped {
				req.Header.Set("Accept-Encoding", "gzip")
			}
			rec := httptest.NewRecorder()
			served.HandleFormScript().ServeHTTP(rec, req)
			return rec
		}
		rec := get("p=shop&f=signup", false)
		body := rec.Body.String()
		if rec.Code != 200 || !strings.HasPrefix(body, "/*! Steward consent form */") || !strings.Contains(body, `"form":"signup"`) ||
			!strings.Contains(body, `"key":"sale"`) || strings.Contains(body, `"key":"analytics"`) || strings.Contains(body, "deviceKey") {
			t.Fatalf("snippet %d: %.400s", rec.Code, body)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=60" {
			t.Errorf("Cache-Control %q", cc)
		}
		zipped := get("p=shop&f=signup", true)
		if zipped.Header().Get("Content-Encoding") != "gzip" {
			t.Fatal("not gzipped")
		}
		size := zipped.Body.Len()
		zr, err := gzip.NewReader(zipped.Body)
		if err != nil {
			t.Fatal(err)
		}
		if plain, _ := io.ReadAll(zr); string(plain) != body {
			t.Fatal("the gzipped snippet differs")
		}
		t.Logf("form snippet: %d bytes, %d gzipped", len(body), size)
		if size > formBudget {
			t.Errorf("the snippet is %d bytes gzipped, over its budget of %d", size, formBudget)
		}
		for _, c := range []struct{ query, field string }{
			{"p=shop&f=newsletter", "f"},
			{"p=shop", "f"},
			{"p=nope&f=signup", "p"},
		} {
			rec := get(c.query, false)
			var problem struct {
				Errors []struct{ Field string } `json:"errors"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &problem)
			if rec.Code != http.StatusNotFound || len(problem.Errors) != 1 || problem.Errors[0].Field != c.field {
				t.Errorf("%s: %d %s, want 404 naming %s", c.query, rec.Code, rec.Body, c.field)
			}
		}
	})
}
