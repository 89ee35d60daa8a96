package portal

import (
	"sort"
	"strings"

	"github.com/steward-dev/steward/internal/i18n"
)

// catalog holds the portal's words: the keys portal.* of Steward's one
// message catalog (internal/i18n/locales), whose tests check that every
// language has every key.
var catalog = i18n.Default()

// messages are the portal's words by language, keyed without "portal.":
// what a page's template reads as {{.T.signin_title}}. A language lacking
// a key says it in English.
var messages = portalWords(catalog)

func portalWords(c *i18n.Catalog) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, lang := range c.Languages() {
		out[lang] = c.Printer(lang).Map("portal.")
	}
	return out
}

// EnglishPhrases returns, for each other language, the English catalog's
// phrases of three words or more that the language words differently: a
// page in that language that holds one was not translated (its tests look
// for them).
func EnglishPhrases() map[string][]string {
	out := map[string][]string{}
	for lang, m := range messages {
		if lang == i18n.English {
			continue
		}
		for key, phrase := range messages[i18n.English] {
			if len(strings.Fields(phrase)) >= 3 && m[key] != phrase && !strings.Contains(phrase, "{") {
				out[lang] = append(out[lang], phrase)
			}
		}
		sort.Strings(out[lang])
	}
	return out
}
