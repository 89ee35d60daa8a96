package drift

import (
	"strings"
	"unicode"
)

// The categories a finding suggests: keys of the data map's vocabulary
// (consent.Category, seeded by migration 0028) that a dataset file accepts
// (connector.Categories).
const (
	Contact      = "contact"
	Identifier   = "identifier"
	Financial    = "financial"
	GovernmentID = "government_id"
	Demographic  = "demographic"
	Location     = "location"
)

// namePatterns are column names that hold personal data, written without
// separators and in lower case; a name matches when one to three of its
// words, run together, are one of these ("first_name", "FirstName" and
// "firstname" are "firstname"). English, German, French and Spanish, with
// umlauts and accents folded (ß → ss, é → e).
var namePatterns = func() map[string]string {
	out := map[string]string{}
	for category, words := range map[string][]string{
		Contact: {
			"email", "emailaddress", "mail", "mailaddress", "emailadresse", "mailadresse", "courriel", "adressemail",
			"correo", "correoelectronico",
			"phone", "phonenumber", "telephone", "tel", "telno", "telefon", "telefonnummer", "telefono", "numerotelephone",
			"mobile", "mobilephone", "mobil", "mobilnummer", "handy", "handynummer", "cell", "cellphone", "movil", "portable", "fax",
			"firstname", "givenname", "forename", "lastname", "surname", "familyname", "fullname", "middlename", "maidenname",
			"vorname", "nachname", "familienname", "geburtsname", "prenom", "nomdefamille", "nomcomplet",
			"apellido", "apellidos", "nombrecompleto", "primerapellido", "segundoapellido",
		},
		Location: {
			"address", "streetaddress", "homeaddress", "postaladdress", "street", "adresse", "anschrift", "strasse",
			"hausnummer", "direccion", "calle", "domicilio",
			"postcode", "postalcode", "zip", "zipcode", "plz", "postleitzahl", "codepostal", "codigopostal",
			"latitude", "longitude", "geolocation", "geoposition",
		},
		Financial: {
			"iban", "accountnumber", "bankaccount", "kontonummer", "bankverbindung", "cardnumber", "creditcard",
			"creditcardnumber", "ccnumber", "kreditkarte", "kreditkartennummer", "numerodecompte", "numerocuenta",
			"numerodecuenta", "tarjeta", "numerotarjeta",
		},
		GovernmentID: {
			"ssn", "socialsecurity", "socialsecuritynumber", "nationalid", "nationalidnumber", "nationalinsurance",
			"nationalinsurancenumber", "nino", "taxid", "taxnumber", "steuerid", "steueridentifikationsnummer",
			"steuernummer", "steuernr", "sozialversicherungsnummer", "svnr", "personalausweis", "ausweisnummer",
			"reisepass", "passport", "passportnumber", "idcard", "idcardnumber", "nif", "nie", "dni", "nir",
			"numerosecu", "numerodesecuritesociale", "securitesociale", "insee", "nss", "curp", "pasaporte",
		},
		Demographic: {
			"dob", "birth", "birthday", "birthdate", "dateofbirth", "geburtsdatum", "geburtstag", "geburt",
			"naissance", "datenaissance", "datedenaissance", "fechanacimiento", "fechadenacimiento", "nacimiento",
			"gender", "sex", "geschlecht", "sexe", "sexo", "genero", "nationality", "staatsangehorigkeit",
			"staatsangehoerigkeit", "nationalite", "nacionalidad",
		},
		Identifier: {
			"ip", "ipaddress", "ipaddr", "ipv4", "ipv6", "remoteaddr", "remoteip", "clientip", "lastip", "signupip",
		},
	} {
		for _, w := range words {
			if _, dup := out[w]; dup {
				panic("drift: name pattern " + w + " has two categories")
			}
			out[w] = category
		}
	}
	return out
}()

// strongEndings make a word personal data even inside a compound:
// "kundenemail", "customerphone", "kundentelefon".
var strongEndings = []struct{ ending, category string }{
	{"email", Contact}, {"phone", Contact}, {"telefon", Contact}, {"iban", Financial},
	{"geburtsdatum", Demographic}, {"birthdate", Demographic}, {"birthday", Demographic},
}

// flagWords, as a name's last word, say the column holds something about
// the value (when it was sent, whether it was verified), not the value:
// "email_verified", "phone_confirmed_at", "mail_count".
var flagWords = map[string]bool{
	"at": true, "on": true, "count": true, "verified": true, "confirmed": true, "enabled": true, "sent": true,
	"flag": true, "status": true, "type": true, "optin": true, "opt": true, "consent": true, "format": true,
	"template": true, "provider": true, "bounced": true, "bounces": true, "visible": true, "public": true,
	"required": true, "allowed": true, "is": true, "has": true,
}

// ClassifyName returns the category a column name suggests, or "" when it
// suggests none.
func ClassifyName(name string) string {
	words := nameWords(name)
	if len(words) == 0 {
		return ""
	}
	if flagWords[words[len(words)-1]] || words[0] == "is" || words[0] == "has" {
		return ""
	}
	// Longest runs first, so that "email_address" is an email (contact),
	// not an address, and "ip_address" an IP address.
	for n := min(3, len(words)); n >= 1; n-- {
		for i := 0; i+n <= len(words); i++ {
			if category, ok := namePatterns[strings.Join(words[i:i+n], "")]; ok {
				return category
			}
		}
	}
	for _, w := range words {
		for _, s := range strongEndings {
			if len(w) > len(s.ending) && strings.HasSuffix(w, s.ending) {
				return s.category
			}
		}
	}
	return ""
}

// nameWords splits a column name into lower-case words at separators and
// camel-case humps, folding accents: "customerEMail_Adresse" → customer,
// e, mail, adresse.
func nameWords(name string) []string {
	var words []string
	var word strings.Builder
	flush := func() {
		if word.Len() > 0 {
			words = append(words, word.String())
			word.Reset()
		}
	}
	runes := []rune(name)
	for i, r := range runes {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			continue
		case unicode.IsUpper(r) && i > 0 && (unicode.IsLower(runes[i-1]) ||
			unicode.IsUpper(runes[i-1]) && i+1 < len(runes) && unicode.IsLower(runes[i+1])):
			// "firstName" and "IPAddress": a capital after a small letter,
			// or the last capital of a run before a small letter.
			flush()
		case unicode.IsDigit(r) && i > 0 && unicode.IsLetter(runes[i-1]) && !isIPVersion(runes, i):
			flush()
		}
		word.WriteString(fold(unicode.ToLower(r)))
	}
	flush()
	return words
}

// isIPVersion keeps "ipv4" and "ipv6" one word.
func isIPVersion(runes []rune, i int) bool {
	return i >= 3 && strings.EqualFold(string(runes[i-3:i]), "ipv")
}

// fold spells a letter without its accent, the way column names are
// usually written in ASCII.
func fold(r rune) string {
	switch r {
	case 'ä':
		return "ae"
	case 'ö':
		return "oe"
	case 'ü':
		return "ue"
	case 'ß':
		return "ss"
	case 'é', 'è', 'ê', 'ë':
		return "e"
	case 'á', 'à', 'â':
		return "a"
	case 'í', 'î', 'ï':
		return "i"
	case 'ó', 'ô':
		return "o"
	case 'ú', 'ù', 'û':
		return "u"
	case 'ñ':
		return "n"
	case 'ç':
		return "c"
	}
	return string(r)
}
