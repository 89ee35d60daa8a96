package portal

import (
	"maps"
	"slices"
	"testing"
)

// TestMessagesComplete: every language says everything English says, and
// nothing English does not.
func TestMessagesComplete(t *testing.T) {
	english := messages["en"]
	for lang, m := range messages {
		for key := range english {
			if m[key] == "" {
				t.Errorf("%s lacks %q", lang, key)
			}
		}
		for key := range m {
			if _, ok := english[key]; !ok {
				t.Errorf("%s has %q, which English lacks", lang, key)
			}
		}
	}
	if got := slices.Sorted(maps.Keys(messages)); !slices.Equal(got, []string{"de", "en", "es", "fr"}) {
		t.Errorf("languages %v", got)
	}
}
