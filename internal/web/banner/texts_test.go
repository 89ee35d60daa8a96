package banner

import (
	"bytes"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/i18n"
)

// TestScriptSpeaksTheCatalog: the served script holds the catalog's banner
// strings in every language (a string equal to English's only once), not
// the marker they replace.
func TestScriptSpeaksTheCatalog(t *testing.T) {
	script, _, err := Scripts()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(script, textsMarker) || !bytes.Contains(assetSource(t), textsMarker) {
		t.Fatal("assets/banner.js must hold the marker, and the served script must not")
	}
	c := i18n.Default()
	for _, lang := range c.Languages() {
		for _, key := range []string{"banner.accept", "banner.reject", "banner.title"} {
			text := c.Printer(lang).T(key)
			if !strings.Contains(string(script), text) {
				t.Errorf("%s %s %q is not in the script", lang, key, text)
			}
		}
	}
	if n := strings.Count(string(builtinTexts(c, "banner.")), `"ok":"OK"`); n != 1 {
		t.Errorf(`"ok":"OK" %d times: a word equal to English's is left out`, n)
	}
}

func assetSource(t *testing.T) []byte {
	t.Helper()
	b, err := assets.ReadFile("assets/banner.js")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
