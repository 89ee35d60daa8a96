package i18n_test

import (
	"html/template"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/steward-dev/steward/internal/i18n"
)

// TestCatalogComplete fails when a language lacks a key English has, has
// one English lacks, words a message with other placeholders, or lacks a
// plural form its language uses.
func TestCatalogComplete(t *testing.T) {
	c := i18n.Default()
	for _, problem := range c.Check() {
		t.Error(problem)
	}
	if got := c.Languages(); !slices.Equal(got, []string{"en", "de", "es", "fr"}) {
		t.Errorf("languages %v", got)
	}
	for _, ns := range []string{"portal.", "console.", "mail.", "banner."} {
		n := 0
		for _, key := range c.Keys("en") {
			if strings.HasPrefix(key, ns) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no %s keys", ns)
		}
		t.Logf("%s %d keys", ns, n)
	}
}

// TestCheckFindsWhatIsMissing: the check the test above relies on sees a
// missing key, a stray key, a changed placeholder and a missing plural form.
func TestCheckFindsWhatIsMissing(t *testing.T) {
	fsys := fstest.MapFS{
		"en.json": {Data: []byte(`{"a": "Hello {name}", "b": "Bye", "d": {"one": "{n} day", "other": "{n} days"}}`)},
		"de.json": {Data: []byte(`{"a": "Hallo {nom}", "c": "Extra", "d": {"other": "{n} Tage"}}`)},
	}
	c, err := i18n.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(c.Check(), "\n")
	for _, want := range []string{`de lacks "b"`, `de has "c", which English lacks`, `de "a" has placeholders [nom], English [name]`, `de "d" lacks the plural form "one"`} {
		if !strings.Contains(got, want) {
			t.Errorf("Check() lacks %q:\n%s", want, got)
		}
	}
}

func TestLoadRefuses(t *testing.T) {
	cases := map[string]fstest.MapFS{
		"no English":         {"de.json": {Data: []byte(`{}`)}},
		"bad name":           {"en.json": {Data: []byte(`{}`)}, "de-DE.json": {Data: []byte(`{}`)}},
		"not JSON":           {"en.json": {Data: []byte(`{"a": `)}},
		"unknown plural":     {"en.json": {Data: []byte(`{"a": {"single": "x", "other": "y"}}`)}},
		"plural lacks other": {"en.json": {Data: []byte(`{"a": {"one": "x"}}`)}},
	}
	for name, fsys := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := i18n.Load(fsys); err == nil {
				t.Error("loaded")
			}
		})
	}
}

func TestPluralCategory(t *testing.T) {
	cases := []struct {
		lang string
		n    int
		want string
	}{
		{"en", 0, "other"}, {"en", 1, "one"}, {"en", 2, "other"}, {"en", -1, "one"},
		{"de", 1, "one"}, {"de", 21, "other"},
		{"fr", 0, "one"}, {"fr", 1, "one"}, {"fr", 2, "other"}, {"fr", 1_000_000, "many"},
		{"es", 0, "other"}, {"es", 1, "one"}, {"es", 5, "other"}, {"es", 2_000_000, "many"},
		{"xx", 1, "one"}, {"xx", 3, "other"},
	}
	for _, c := range cases {
		if got := i18n.PluralCategory(c.lang, c.n); got != c.want {
			t.Errorf("PluralCategory(%s, %d) = %s, want %s", c.lang, c.n, got, c.want)
		}
	}
}

func TestMatch(t *testing.T) {
	c := i18n.Default()
	cases := map[string]string{
		"":                          "en",
		"de-AT":                     "de",
		"de_AT":                     "de",
		"FR":                        "fr",
		"fr-CH, fr;q=0.9, en;q=0.8": "fr",
		"it, es;q=0.5":              "es",
		"es;q=0, de;q=0.1":          "de",
		"zz, *":                     "en",
		"de;q=abc, fr;q=0.2":        "fr",
	}
	for accept, want := range cases {
		if got := c.Match(accept); got != want {
			t.Errorf("Match(%q) = %s, want %s", accept, got, want)
		}
	}
}

func TestPrinter(t *testing.T) {
	fsys := fstest.MapFS{
		"en.json": {Data: []byte(`{"greet": "Hello {name}", "only_en": "English", "days": {"one": "{n} day", "other": "{n} days"}, "link": "Write to {contact}."}`)},
		"fr.json": {Data: []byte(`{"greet": "Bonjour {name}", "days": {"one": "{n} jour", "other": "{n} jours"}, "link": "Écrivez à {contact}."}`)},
	}
	c, err := i18n.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	fr := c.Printer("fr-FR")
	cases := []struct{ got, want string }{
		{fr.T("greet", "name", "Ada"), "Bonjour Ada"},
		{fr.T("only_en"), "English"}, // falls back to English
		{fr.T("days", "n", 0), "0 jour"},
		{fr.T("days", "n", 2), "2 jours"},
		{c.Printer("en").T("days", "n", 0), "0 days"},
		{fr.T("missing"), "missing"},
		{fr.T("greet"), "Bonjour {name}"},
		{string(fr.HTML("greet", "name", `<b>"A" & B's+</b>`)), "Bonjour &lt;b&gt;&#34;A&#34; &amp; B&#39;s&#43;&lt;/b&gt;"},
		{string(fr.HTML("link", "contact", template.HTML(`<a href="mailto:x@y">x@y</a>`))), `Écrivez à <a href="mailto:x@y">x@y</a>.`},
		{fr.Map("")["greet"], "Bonjour {name}"},
		{fr.Map("")["only_en"], "English"},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("%d: %q, want %q", i, c.got, c.want)
		}
	}
	if fr.Lang() != "fr" || c.Printer("zz").Lang() != "en" {
		t.Error("language")
	}
}

// TestAddingALanguageIsAddingOneFile: a fifth file, and nothing else, gives
// a catalog that speaks it, negotiates it, and says in English what the
// file does not hold yet, while Check names each key it still lacks.
func TestAddingALanguageIsAddingOneFile(t *testing.T) {
	c := WithItalian(t)
	if !slices.Contains(c.Languages(), "it") || c.Match("it-CH, en;q=0.5") != "it" {
		t.Fatalf("languages %v", c.Languages())
	}
	it := c.Printer("it")
	if got := it.T("mail.days_left", "n", 3); got != "mancano 3 giorni" {
		t.Errorf("days left %q", got)
	}
	if got := it.T("portal.signin"); got != "Sign in" {
		t.Errorf("fallback %q", got)
	}
	if problems := c.Check(); !slices.Contains(problems, `it lacks "portal.signin"`) {
		t.Errorf("Check does not name the missing key: %d problems", len(problems))
	}
}

// WithItalian is the embedded catalog and testdata/it.json.
func WithItalian(tb testing.TB) *i18n.Catalog {
	tb.Helper()
	fsys := fstest.MapFS{}
	entries, err := fs.Glob(i18n.Files(), "*.json")
	if err != nil {
		tb.Fatal(err)
	}
	for _, name := range entries {
		b, _ := fs.ReadFile(i18n.Files(), name)
		fsys[name] = &fstest.MapFile{Data: b}
	}
	b, err := fs.ReadFile(testdataFS, "testdata/it.json")
	if err != nil {
		tb.Fatal(err)
	}
	fsys["it.json"] = &fstest.MapFile{Data: b}
	c, err := i18n.Load(fsys)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
