package i18n

// PluralCategory returns the CLDR plural category of the integer n in lang
// (https://www.unicode.org/cldr/charts/latest/supplemental/language_plural_rules.html),
// for the languages Steward speaks; a language without rules here counts
// like English (one for 1, other for the rest). Only integers are counted:
// Steward says amounts such as days and minutes. The sign does not count:
// "overdue by 1 day" is one.
func PluralCategory(lang string, n int) string {
	if n < 0 {
		n = -n
	}
	switch lang {
	case "fr":
		// French: 0 and 1 are singular; a multiple of a million takes
		// "many" ("1 000 000 de jours").
		switch {
		case n == 0 || n == 1:
			return "one"
		case n%1_000_000 == 0:
			return "many"
		}
		return "other"
	case "es", "it", "pt":
		switch {
		case n == 1:
			return "one"
		case n != 0 && n%1_000_000 == 0:
			return "many"
		}
		return "other"
	default:
		if n == 1 {
			return "one"
		}
		return "other"
	}
}
