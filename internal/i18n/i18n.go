// Package i18n is Steward's one message catalog: every word that a customer
// or a staff member reads, on the portal, in the console, in an email or in
// the consent banner, in every language Steward speaks.
//
// Each language is one JSON file in locales/, named by its language code
// (en.json, de.json). A file maps keys, namespaced by surface (portal.*,
// console.*, mail.*, banner.*), to a message. A message is a string with
// {name} placeholders, or an object of plural forms by CLDR category
// ({"one": "{n} day", "other": "{n} days"}). English is complete by
// definition; a test fails when another language lacks a key or words one
// with other placeholders. Adding a language is adding one file.
//
//	p := i18n.Default().Printer(r.Header.Get("Accept-Language"))
//	p.T("mail.days_left", "n", 3) // "3 days left"
package i18n

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// English is the language of the reader whose languages are all unknown,
// and the words of a key another language lacks.
const English = "en"

//go:embed locales/*.json
var localeFiles embed.FS

// Message is one entry of a catalog: a plain text, or plural forms by CLDR
// category ("zero", "one", "two", "few", "many", "other").
type Message struct {
	Text   string
	Plural map[string]string
}

// UnmarshalJSON reads a string or an object of plural forms.
func (m *Message) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		if err := json.Unmarshal(b, &m.Plural); err != nil {
			return err
		}
		for form := range m.Plural {
			if !slices.Contains(pluralCategories, form) {
				return fmt.Errorf("plural form %q is not a CLDR category", form)
			}
		}
		if m.Plural["other"] == "" {
			return fmt.Errorf(`plural forms lack "other"`)
		}
		return nil
	}
	return json.Unmarshal(b, &m.Text)
}

// text is the message's text in lang, its plural form picked by the
// argument "n" of args.
func (m Message) text(lang string, args []any) string {
	if m.Plural == nil {
		return m.Text
	}
	n := 0
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] == "n" {
			n, _ = args[i+1].(int)
		}
	}
	if form := m.Plural[PluralCategory(lang, n)]; form != "" {
		return form
	}
	return m.Plural["other"]
}

var pluralCategories = []string{"zero", "one", "two", "few", "many", "other"}

// Catalog holds the messages of every language.
type Catalog struct {
	langs    []string                      // English first, then by code
	messages map[string]map[string]Message // by language, then key
}

var (
	defaultOnce sync.Once
	defaultCat  *Catalog
)

// Default returns the catalog of the embedded locale files, parsed once.
// The files are part of the binary and tested, so a fault in them panics.
func Default() *Catalog {
	defaultOnce.Do(func() {
		sub, err := fs.Sub(localeFiles, "locales")
		if err != nil {
			panic(err)
		}
		defaultCat, err = Load(sub)
		if err != nil {
			panic(fmt.Sprintf("i18n: embedded catalog: %v", err))
		}
	})
	return defaultCat
}

var langCode = regexp.MustCompile(`^[a-z]{2,3}$`)

// Load reads every *.json file of fsys as the catalog of the language its
// name says ("it.json" is Italian). English must be there.
func Load(fsys fs.FS) (*Catalog, error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, fmt.Errorf("locales: %w", err)
	}
	c := &Catalog{messages: map[string]map[string]Message{}}
	for _, name := range names {
		lang := strings.TrimSuffix(path.Base(name), ".json")
		if !langCode.MatchString(lang) {
			return nil, fmt.Errorf("locales: %s: the name must be a lowercase language code such as de.json", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("locales: %w", err)
		}
		var m map[string]Message
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("locales: %s: %w", name, err)
		}
		c.messages[lang] = m
	}
	if c.messages[English] == nil {
		return nil, fmt.Errorf("locales: no %s.json", English)
	}
	c.langs = slices.Sorted(maps.Keys(c.messages))
	c.langs = slices.DeleteFunc(c.langs, func(l string) bool { return l == English })
	c.langs = append([]string{English}, c.langs...)
	return c, nil
}

// Languages returns the codes of the catalog's languages, English first.
func (c *Catalog) Languages() []string { return slices.Clone(c.langs) }

// Has reports whether the catalog speaks lang, a code such as "de".
func (c *Catalog) Has(lang string) bool { return c.messages[lang] != nil }

// Keys returns the keys of lang, sorted.
func (c *Catalog) Keys(lang string) []string { return slices.Sorted(maps.Keys(c.messages[lang])) }

// Lookup returns lang's message for key, without falling back.
func (c *Catalog) Lookup(lang, key string) (Message, bool) {
	m, ok := c.messages[lang][key]
	return m, ok
}

// Match returns the catalog's language that best fits accept: a language
// tag ("de-AT", "de_AT", "DE") or an Accept-Language header ("fr-CH,
// fr;q=0.9, en;q=0.8"). Only the primary subtag counts; a weight of 0
// refuses a language. It returns English when nothing fits.
func (c *Catalog) Match(accept string) string {
	best, bestQ := "", 0.0
	for entry := range strings.SplitSeq(accept, ",") {
		tag, params, _ := strings.Cut(entry, ";")
		primary, _, _ := strings.Cut(strings.ReplaceAll(strings.TrimSpace(tag), "_", "-"), "-")
		primary = strings.ToLower(primary)
		q := 1.0
		if p := strings.TrimSpace(params); p != "" {
			v, ok := strings.CutPrefix(strings.ReplaceAll(p, " ", ""), "q=")
			f, err := strconv.ParseFloat(v, 64)
			if !ok || err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		if q > bestQ && c.Has(primary) {
			best, bestQ = primary, q
		}
	}
	if best == "" {
		return English
	}
	return best
}

// Printer says the catalog's messages in one language.
type Printer struct {
	c    *Catalog
	lang string
}

// Printer returns the printer of the language that best fits accept (see
// Match).
func (c *Catalog) Printer(accept string) *Printer {
	return &Printer{c: c, lang: c.Match(accept)}
}

// Lang is the printer's language code.
func (p *Printer) Lang() string { return p.lang }

// message is the printer's message for key, else English's.
func (p *Printer) message(key string) (Message, bool) {
	if m, ok := p.c.messages[p.lang][key]; ok {
		return m, true
	}
	m, ok := p.c.messages[English][key]
	return m, ok
}

// Has reports whether the catalog holds key (in the printer's language or
// in English).
func (p *Printer) Has(key string) bool {
	_, ok := p.message(key)
	return ok
}

// T says the message key with its placeholders filled from args, pairs of
// a name and a value: T("mail.days_left", "n", 3). A plural message picks
// its form by the argument "n". A key the catalog lacks is said as itself,
// which the catalog's tests make sure never reaches a reader.
func (p *Printer) T(key string, args ...any) string {
	m, ok := p.message(key)
	if !ok {
		return key
	}
	return fill(m.text(p.lang, args), args, func(v any) string { return fmt.Sprint(v) })
}

// Date writes a date as a reader of the printer's language expects it in
// a sentence or a letter (the catalog's mail.date and mail.months):
// 2 December 2026, 2. Dezember 2026, 1er décembre 2026, 2 de diciembre de
// 2026. It is t's date in t's location.
func (p *Printer) Date(t time.Time) string {
	month := t.Month().String()
	if names := strings.Fields(p.T("mail.months")); len(names) == 12 {
		month = names[t.Month()-1]
	}
	return p.T("mail.date", "n", t.Day(), "day", t.Day(), "month", month, "year", t.Year())
}

// Map returns every message under prefix ("portal."), keyed without it,
// in the printer's language with English for what it lacks: the words of
// a page whose template says {{.T.signin_title}}. Plural messages are left
// out; say them with T.
func (p *Printer) Map(prefix string) map[string]string {
	out := map[string]string{}
	for _, lang := range []string{English, p.lang} {
		for key, m := range p.c.messages[lang] {
			if rest, ok := strings.CutPrefix(key, prefix); ok && m.Plural == nil {
				out[rest] = m.Text
			}
		}
	}
	return out
}

// fill replaces each {name} of text by the value of args named name,
// passed through quote; a placeholder without an argument stays as it is.
func fill(text string, args []any, quote func(any) string) string {
	if len(args) == 0 || !strings.Contains(text, "{") {
		return text
	}
	var b strings.Builder
	for {
		open := strings.IndexByte(text, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(text[open:], '}')
		if end < 0 {
			break
		}
		name, value, found := text[open+1:open+end], any(nil), false
		for i := 0; i+1 < len(args); i += 2 {
			if args[i] == name {
				value, found = args[i+1], true
				break
			}
		}
		b.WriteString(text[:open])
		if found {
			b.WriteString(quote(value))
		} else {
			b.WriteString(text[open : open+end+1])
		}
		text = text[open+end+1:]
	}
	b.WriteString(text)
	return b.String()
}

// Placeholders returns the names of a text's {name} placeholders, sorted
// and without repeats.
func Placeholders(text string) []string {
	var names []string
	for _, m := range placeholder.FindAllStringSubmatch(text, -1) {
		names = append(names, m[1])
	}
	slices.Sort(names)
	return slices.Compact(names)
}

var placeholder = regexp.MustCompile(`\{([a-z_][a-z0-9_]*)\}`)

// HTML says the message key like T, for an HTML template: the catalog's
// text is trusted but for &, < and >, which are escaped; every argument is
// escaped whole as html/template would, but for one of type template.HTML,
// which is markup its caller vouches for (a link built by a template).
func (p *Printer) HTML(key string, args ...any) template.HTML {
	text := key
	if m, ok := p.message(key); ok {
		text = m.text(p.lang, args)
	}
	return template.HTML(fill(textEscaper.Replace(text), args, func(v any) string {
		if h, ok := v.(template.HTML); ok {
			return string(h)
		}
		return argEscaper.Replace(fmt.Sprint(v))
	}))
}

var (
	textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	// argEscaper escapes as html/template does in text: what a value would
	// have looked like had the template printed it itself.
	argEscaper = strings.NewReplacer("\x00", "\uFFFD", "\"", "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;")
)

// Files returns the embedded locale files, one per language: what a test
// combines with a language of its own.
func Files() fs.FS {
	sub, err := fs.Sub(localeFiles, "locales")
	if err != nil {
		panic(err)
	}
	return sub
}

// Check returns what is wrong with the catalog, one line each: a key that
// English has and another language lacks, or the other way round; a message
// whose placeholders differ from English's; a plural message that lacks a
// form its language uses. The catalog's test fails on any.
func (c *Catalog) Check() []string {
	var problems []string
	english := c.messages[English]
	for _, lang := range c.langs {
		m := c.messages[lang]
		for _, key := range c.Keys(English) {
			msg, ok := m[key]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s lacks %q", lang, key))
				continue
			}
			if want, got := english[key].placeholders(), msg.placeholders(); !slices.Equal(want, got) {
				problems = append(problems, fmt.Sprintf("%s %q has placeholders %v, English %v", lang, key, got, want))
			}
			if msg.Plural != nil {
				for _, form := range usedCategories(lang) {
					if msg.Plural[form] == "" {
						problems = append(problems, fmt.Sprintf("%s %q lacks the plural form %q", lang, key, form))
					}
				}
			} else if msg.Text == "" {
				problems = append(problems, fmt.Sprintf("%s %q is empty", lang, key))
			}
		}
		for _, key := range c.Keys(lang) {
			if _, ok := english[key]; !ok {
				problems = append(problems, fmt.Sprintf("%s has %q, which English lacks", lang, key))
			}
		}
	}
	return problems
}

// placeholders are the names a message's texts hold, all forms together.
func (m Message) placeholders() []string {
	all := m.Text
	for _, form := range m.Plural {
		all += " " + form
	}
	return Placeholders(all)
}

// usedCategories are the plural categories lang gives the counts Steward
// says (0 to 1000): the forms a plural message of lang needs.
func usedCategories(lang string) []string {
	var forms []string
	for n := range 1001 {
		forms = append(forms, PluralCategory(lang, n))
	}
	slices.Sort(forms)
	return slices.Compact(forms)
}
