package portal

import (
	"html/template"
	"io/fs"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/web/pages"
)

// TestAddingALanguageIsAddingOneFile: with one more locale file and no
// other change (internal/i18n/testdata/it.json, which translates only the
// sign-in page), the portal offers the language in its switch, picks it
// from the browser's Accept-Language, and serves the sign-in page in it.
func TestAddingALanguageIsAddingOneFile(t *testing.T) {
	fsys := fstest.MapFS{}
	names, _ := fs.Glob(i18n.Files(), "*.json")
	for _, name := range names {
		b, _ := fs.ReadFile(i18n.Files(), name)
		fsys[name] = &fstest.MapFile{Data: b}
	}
	italian, err := os.ReadFile("../../i18n/testdata/it.json")
	if err != nil {
		t.Fatal(err)
	}
	fsys["it.json"] = &fstest.MapFile{Data: italian}
	withItalian, err := i18n.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	savedCatalog, savedMessages := catalog, messages
	catalog, messages = withItalian, portalWords(withItalian)
	t.Cleanup(func() { catalog, messages = savedCatalog, savedMessages })

	p := &Portal{Deps: Deps{Now: time.Now}, css: pages.NewStylesheet("/privacy/assets/portal", []byte("body{}"))}
	if p.pages, err = pages.Load(files, "templates", template.FuncMap{
		"date": func(time.Time) string { return "" }, "when": func(time.Time) string { return "" },
		"dots": func(int) string { return "" }, "say": say,
	}); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/privacy", nil)
	r.Header.Set("Accept-Language", "it-IT, it;q=0.9, en;q=0.5")
	w := httptest.NewRecorder()
	p.render(w, r, 200, "start", page{Title: "signin_title"})
	body := w.Body.String()
	for _, want := range []string{`<html lang="it"`, "Accedi per vedere e gestire i tuoi dati", "Inviami un codice", ">Italiano<", ">Deutsch<"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Send me a code") {
		t.Error("an English word the Italian file holds")
	}
}
