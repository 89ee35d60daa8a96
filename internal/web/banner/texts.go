package banner

import (
	"bytes"
	"encoding/json"

	"github.com/steward-dev/steward/internal/i18n"
)

// textsMarker is where assets/banner.js holds its built-in strings: an
// empty object that builtinTexts replaces when the script is loaded.
var textsMarker = []byte("/*builtin-texts*/{}")

// withBuiltinTexts writes the catalog's banner.* strings into the script in
// place of textsMarker. A script without the marker (a test's stub) stays
// as it is; TestScriptSpeaksTheCatalog makes sure the embedded one has it.
func withBuiltinTexts(src []byte, c *i18n.Catalog) []byte {
	return bytes.Replace(src, textsMarker, builtinTexts(c, "banner."), 1)
}

// withFormTexts is withBuiltinTexts for assets/form.js: the catalog's
// form.* strings.
func withFormTexts(src []byte, c *i18n.Catalog) []byte {
	return bytes.Replace(src, textsMarker, builtinTexts(c, "form."), 1)
}

// builtinTexts is a script's strings by language: the catalog's keys
// under prefix, keyed without it. A language's string that reads as the English one is left
// out: the script falls back to English word by word, and every visitor
// downloads the object.
func builtinTexts(c *i18n.Catalog, prefix string) []byte {
	english := c.Printer(i18n.English).Map(prefix)
	out := map[string]map[string]string{}
	for _, lang := range c.Languages() {
		words := c.Printer(lang).Map(prefix)
		if lang != i18n.English {
			for key, text := range words {
				if text == english[key] {
					delete(words, key)
				}
			}
		}
		out[lang] = words
	}
	b, err := json.Marshal(out) // escapes <, >, &, U+2028 and U+2029: safe in a script
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return b
}
