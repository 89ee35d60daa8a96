package drift

import (
	"testing"
	"time"
)

func TestClassifyName(t *testing.T) {
	for _, tc := range []struct {
		name, want string
	}{
		// English
		{"email", Contact}, {"EMAIL", Contact}, {"e_mail", Contact}, {"customerEmail", Contact}, {"email_address", Contact},
		{"contact_mail", Contact}, {"phone_number", Contact}, {"mobile", Contact}, {"tel", Contact},
		{"first_name", Contact}, {"lastName", Contact}, {"surname", Contact}, {"FullName", Contact},
		{"street_address", Location}, {"zip_code", Location}, {"postcode", Location},
		{"iban", Financial}, {"card_number", Financial}, {"payout_iban", Financial},
		{"ssn", GovernmentID}, {"national_id", GovernmentID}, {"passport_number", GovernmentID}, {"tax_id", GovernmentID},
		{"dob", Demographic}, {"date_of_birth", Demographic}, {"birthDate", Demographic}, {"gender", Demographic},
		{"ip", Identifier}, {"ip_address", Identifier}, {"IPAddress", Identifier}, {"last_ipv6", Identifier}, {"remote_addr", Identifier},
		// German
		{"telefon", Contact}, {"Telefonnummer", Contact}, {"handy", Contact}, {"vorname", Contact}, {"nachname", Contact},
		{"kundentelefon", Contact}, {"straße", Location}, {"plz", Location}, {"steuer_id", GovernmentID},
		{"Steuernummer", GovernmentID}, {"geburtsdatum", Demographic}, {"Geburtstag", Demographic},
		{"staatsangehörigkeit", Demographic}, {"kontonummer", Financial},
		// French
		{"courriel", Contact}, {"prenom", Contact}, {"prénom", Contact}, {"nom_de_famille", Contact},
		{"date_de_naissance", Demographic}, {"code_postal", Location}, {"numero_secu", GovernmentID}, {"nir", GovernmentID},
		// Spanish
		{"correo_electronico", Contact}, {"telefono", Contact}, {"teléfono", Contact}, {"apellidos", Contact},
		{"fecha_nacimiento", Demographic}, {"nif", GovernmentID}, {"dni", GovernmentID}, {"codigo_postal", Location},
		// Not personal data: a flag or a count about the value, or words
		// that merely contain a pattern.
		{"email_verified", ""}, {"email_sent_at", ""}, {"mail_count", ""}, {"phone_confirmed", ""}, {"is_email", ""},
		{"hotel", ""}, {"ship_date", ""}, {"created_at", ""}, {"status", ""}, {"name", ""}, {"product_name", ""},
		{"zipper", ""}, {"description", ""}, {"total", ""}, {"tip", ""}, {"", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ClassifyName(tc.name); got != tc.want {
				t.Errorf("ClassifyName(%q) = %q, want %q (words %q)", tc.name, got, tc.want, nameWords(tc.name))
			}
		})
	}
}

func TestValueChecks(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		check func(string) bool
		value string
		want  bool
	}{
		{IsEmail, "ada@example.org", true},
		{IsEmail, "a.b+c@sub.example.co.uk", true},
		{IsEmail, "ada@example", false},
		{IsEmail, "ada example@example.org", false},
		{IsEmail, "@example.org", false},
		{IsEmail, "ada@@example.org", false},
		{IsEmail, "ada@-example.org", false},
		{IsEmail, "ada@example.123", false},
		{IsPhone, "+49 30 1234567", true},
		{IsPhone, "+1 (555) 010-0199", true},
		{IsPhone, "0049 171 2345678", true},
		{IsPhone, "030 1234567", false}, // national: too much like an order number
		{IsPhone, "+0 123 4567", false},
		{IsPhone, "+49 30 12 ext 3", false},
		{IsPhone, "+123", false},
		{IsPhone, "+1234567890123456", false},
		{IsIBAN, "DE89370400440532013000", true},
		{IsIBAN, "DE89 3704 0044 0532 0130 00", true},
		{IsIBAN, "GB82WEST12345698765432", true},
		{IsIBAN, "fr1420041010050500013m02606", true},
		{IsIBAN, "DE89370400440532013001", false}, // one digit off: the checksum fails
		{IsIBAN, "DE98370400440532013000", false}, // check digits swapped
		{IsIBAN, "GB82WEST12345698765433", false},
		{IsIBAN, "DE8937040044", false},
		{IsIBAN, "1289370400440532013000", false},
		{IsIP, "192.0.2.10", true},
		{IsIP, "2001:db8::1", true},
		{IsIP, "::ffff:192.0.2.1", true},
		{IsIP, "256.1.1.1", false},
		{IsIP, "1.2", false},
		{IsIP, "example.org", false},
		{func(v string) bool { return IsBirthDate(v, now) }, "1985-04-12", true},
		{func(v string) bool { return IsBirthDate(v, now) }, "12.04.1985", true},
		{func(v string) bool { return IsBirthDate(v, now) }, "2026-11-30", false}, // an order date
		{func(v string) bool { return IsBirthDate(v, now) }, "1850-01-01", false},
		{func(v string) bool { return IsBirthDate(v, now) }, "1985-04-12T10:00:00Z", false},
	} {
		if got := tc.check(tc.value); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.value, got, tc.want)
		}
	}
}

func TestClassifyValues(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		values []string
		want   ValueKind
		ratio  float64
		ok     bool
	}{
		{"emails", []string{"a@example.org", "b@example.net", " c@example.com "}, ValueEmail, 1, true},
		{"emails with a blank and a typo", []string{"a@example.org", "b@example.net", "c@example.com", "d@example.com", "n/a", ""}, ValueEmail, 0.8, true},
		{"too few emails", []string{"a@example.org", "hello", "world"}, ValueEmail, 1.0 / 3, false},
		{"ibans", []string{"DE89370400440532013000", "GB82WEST12345698765432"}, ValueIBAN, 1, true},
		{"bad checksums", []string{"DE89370400440532013001", "GB82WEST12345698765433"}, "", 0, false},
		{"phones", []string{"+49 30 1234567", "+33 1 23 45 67 89"}, ValuePhone, 1, true},
		{"addresses", []string{"192.0.2.1", "2001:db8::2", "198.51.100.7"}, ValueIP, 1, true},
		{"birth dates", []string{"1985-04-12", "1990-01-31", "1979-12-01"}, ValueBirthDate, 1, true},
		{"order dates", []string{"2026-11-30", "2026-12-01"}, "", 0, false},
		{"words", []string{"red", "green", "blue"}, "", 0, false},
		{"nothing", []string{"", "  "}, "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ClassifyValues(tc.values, now)
			if ok != tc.ok || got.Kind != tc.want || got.Ratio != tc.ratio {
				t.Errorf("ClassifyValues = %+v, %v; want %s %v, %v", got, ok, tc.want, tc.ratio, tc.ok)
			}
		})
	}
}
