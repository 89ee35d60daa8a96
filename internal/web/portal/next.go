package portal

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// nextTargets are the pages a customer may be sent back to after signing
// in: those an email links to (a request, with its thread, export or
// report), a receipt, and the home page. Anything else falls back to the
// home page, so that "next" can never send anyone off the portal.
var nextTargets = regexp.MustCompile(`^/privacy/(home|requests/req_[A-Za-z0-9_-]{1,64}|receipts/[A-Za-z0-9._@+=-]{1,128}/[A-Za-z0-9._@+=-]{1,128})$`)

// safeNext returns raw when it is a portal page a customer may return to
// after signing in, or "" (the home page). It takes only a path of this
// portal, written plainly: one leading slash, no second one, no backslash,
// no scheme, no query, no control character, and no percent-encoding (the
// portal's own paths need none, so an encoded one is someone hiding
// something: "%2F%2Fevil.example" decodes to "//evil.example").
func safeNext(raw string) string {
	if raw == "" || len(raw) > 300 || !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") ||
		strings.ContainsAny(raw, `\%:?#`) || strings.ContainsFunc(raw, unicode.IsControl) {
		return ""
	}
	decoded, err := url.PathUnescape(raw)
	if err != nil || decoded != raw || strings.Contains(raw, "/.") {
		return ""
	}
	if !nextTargets.MatchString(raw) {
		return ""
	}
	return raw
}

// nextOf returns the safe target a request carries in "next" (query or
// form), or "".
func nextOf(r *http.Request) string {
	if next := r.URL.Query().Get("next"); next != "" {
		return safeNext(next)
	}
	if r.Method == http.MethodPost {
		return safeNext(r.PostFormValue("next"))
	}
	return ""
}

// landing is where a signed-in customer goes: the safe target, or home;
// in the page's language either way.
func landing(next, lang string) string {
	if next == "" {
		next = "/privacy/home"
	}
	return next + "?" + url.Values{"lang": {lang}}.Encode()
}

// withNext adds a safe target to a portal address's query.
func withNext(path string, q url.Values, next string) string {
	if next != "" {
		q.Set("next", next)
	}
	return path + "?" + q.Encode()
}
