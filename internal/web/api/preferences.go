package api

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/i18n"
	"github.com/steward-dev/steward/internal/preference"
	"github.com/steward-dev/steward/internal/web/httpx"
)

// OneClickBody is the value of List-Unsubscribe-Post (RFC 8058), and the
// body a mail receiver posts to the one-click link.
const OneClickBody = "List-Unsubscribe=One-Click"

// preferenceLinks is the answer of HandlePreferenceLinks: what the
// company's mailer puts in one message to the subject.
type preferenceLinks struct {
	// PreferencesURL opens the subject's communication preferences, with
	// no sign-in, until PreferencesExpiresAt.
	PreferencesURL       string    `json:"preferences_url"`
	PreferencesExpiresAt time.Time `json:"preferences_expires_at"`
	// ListUnsubscribe and ListUnsubscribePost are the values of the
	// List-Unsubscribe and List-Unsubscribe-Post headers (RFC 2369, RFC
	// 8058); UnsubscribeURL is the URL inside the angle brackets.
	ListUnsubscribe      string    `json:"list_unsubscribe"`
	ListUnsubscribePost  string    `json:"list_unsubscribe_post"`
	UnsubscribeURL       string    `json:"unsubscribe_url"`
	UnsubscribeExpiresAt time.Time `json:"unsubscribe_expires_at"`
}

// HandlePreferenceLinks makes the links of one message to a subject about
// one or more communication topics: the preference page's and the
// one-click unsubscribe's. A back end's record key (or an admin key) asks:
// it may record the subject's choices already, and a link gives no more.
// Links are sealed and stored nowhere (package preference).
func (d *Deps) HandlePreferenceLinks() http.Handler {
	type request struct {
		Property string   `json:"property"`
		Topics   []string `json:"topics"`
		// Language, when set, is the page's language (else the reader's
		// browser chooses).
		Language string `json:"language"`
		// Channel is how the message is sent; the one-click link
		// withdraws the topics by this channel only. Email when omitted:
		// List-Unsubscribe is an email header.
		Channel consent.Channel `json:"channel"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := httpx.Decode[request](w, r, smallBody)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		subject := r.PathValue("id")
		problems := errs.Problems{}
		if !consent.ValidID(subject) {
			problems.Add("id", "subject_id_chars")
		}
		if _, err := d.Consent.Property(in.Property); err != nil {
			problems.Add("property", "unknown_property", "property", in.Property)
		}
		switch {
		case len(in.Topics) == 0:
			problems.Add("topics", "required")
		case len(in.Topics) > preference.MaxTopics:
			problems.Add("topics", "at_most", "max", preference.MaxTopics)
		}
		for i, key := range in.Topics {
			field := "topics[" + strconv.Itoa(i) + "]"
			p, err := d.Consent.Purpose(key)
			switch {
			case err != nil:
				problems.Add(field, "unknown_purpose", "purpose", key)
			case !p.Communication():
				problems.Add(field, "not_a_topic", "purpose", key)
			case slices.Contains(in.Topics[:i], key):
				problems.Add(field, "listed_twice", "value", key, "list", "topics")
			}
		}
		if in.Channel != "" && !slices.Contains(consent.Channels, in.Channel) {
			problems.Add("channel", "channel")
		}
		if in.Language != "" && !slices.Contains(i18n.Default().Languages(), in.Language) {
			problems.Add("language", "page_language", "languages", strings.Join(i18n.Default().Languages(), ", "))
		}
		if len(problems) > 0 {
			d.fail(w, r, errs.FieldsKeyed(problems))
			return
		}
		if erased, err := d.Vault.Erased(r.Context(), subject); err != nil || erased {
			if err == nil {
				err = errs.New(errs.CodeConflict, "the subject was erased: write to them no more")
			}
			d.fail(w, r, err)
			return
		}
		issued, err := d.Preferences.IssueFor(subject, in.Property, in.Topics, string(in.Channel))
		if err != nil {
			d.fail(w, r, errs.Invalid("topics", "cannot make a link of these"))
			return
		}
		base := strings.TrimSuffix(d.PublicURL, "/")
		pageURL := base + "/privacy/preferences/" + issued.Page
		if in.Language != "" {
			pageURL += "?" + url.Values{"lang": {in.Language}}.Encode()
		}
		unsubscribeURL := base + "/privacy/unsubscribe/" + issued.Unsubscribe
		w.Header().Set("Cache-Control", "no-store")
		httpx.Encode(w, http.StatusOK, preferenceLinks{
			PreferencesURL: pageURL, PreferencesExpiresAt: issued.PageExpires,
			ListUnsubscribe: "<" + unsubscribeURL + ">", ListUnsubscribePost: OneClickBody,
			UnsubscribeURL: unsubscribeURL, UnsubscribeExpiresAt: issued.UnsubscribeExpires,
		})
	})
}
