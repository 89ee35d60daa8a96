// The preference centre: the page a signed link in one of the company's
// emails opens (/privacy/preferences/{token}), with no sign-in, that shows
// and changes the link's subject's communication topics and nothing else;
// and the one-click unsubscribe of RFC 8058 (/privacy/unsubscribe/{token}).
// Links are made and opened by package preference; what is chosen here is
// recorded in the ledger with source preferences.

package portal

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/steward-dev/steward/internal/consent"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/preference"
)

// topicRow is a communication topic with the subject's current answer,
// by each channel it declares.
type topicRow struct {
	Key, Name, Description string
	Channels               []consent.Channel
	// ByChannel is the subject's answer for each of Channels, in order.
	ByChannel []channelRow
	Frequency consent.Frequency
	// Allowed: the subject may be written to about the topic by at least
	// one channel (Reason is then that channel's, else the first's).
	Allowed bool
	Reason  consent.Reason
	// Locked: an objection or a restriction holds the topic, which this
	// page cannot lift (the privacy center can).
	Locked bool
	// InLink: the email that held the link was about this topic.
	InLink bool
	// Via, on the unsubscribe page, is the channel its button withdraws
	// the topic by ("" for every channel); Allowed is then by that channel.
	Via consent.Channel
	// Since and Receipt are the latest recorded choice of the topic, if any.
	Since    time.Time
	Property string
	Receipt  string
}

// channelRow is the subject's answer for a topic by one channel, and the
// latest recorded choice that decides it (a choice of the topic by every
// channel, or by this one), if any.
type channelRow struct {
	Channel  consent.Channel
	Allowed  bool
	Reason   consent.Reason
	Since    time.Time
	Property string
	Receipt  string
}

type preferencesData struct {
	Token  string
	Form   string
	Topics []topicRow
	Saved  bool
}

// topicRows lists the catalog's communication topics with the subject's
// answer for each, and the latest recorded choice of each (its receipt).
func (p *Portal) topicRows(r *http.Request, subject string, inLink []string) ([]topicRow, error) {
	events, err := p.Consent.Events(r.Context(), consent.EventFilter{Subject: subject, Limit: 10000})
	if err != nil {
		return nil, err
	}
	// The latest choice of each topic by every channel (channel "") and
	// by each channel.
	type topicChannel struct {
		topic   string
		channel consent.Channel
	}
	latest := map[topicChannel]consent.Event{}
	for _, e := range events {
		if e.Vendor != "" {
			continue
		}
		k := topicChannel{e.Purpose, e.Channel}
		if prev, ok := latest[k]; !ok || e.Supersedes(&prev) {
			latest[k] = e
		}
	}
	// deciding is the choice that decides the topic by channel: the later
	// of the two (consent.Decider's rule).
	deciding := func(topic string, channel consent.Channel) (consent.Event, bool) {
		all, allOK := latest[topicChannel{topic, ""}]
		one, oneOK := latest[topicChannel{topic, channel}]
		if oneOK && (!allOK || one.Supersedes(&all)) {
			return one, true
		}
		return all, allOK
	}
	lang := language(r)
	var rows []topicRow
	for _, purpose := range p.Consent.Purposes() {
		if !purpose.Communication() {
			continue
		}
		a, err := p.Consent.Decider().Decide(&consent.Question{Subject: subject, Purpose: purpose.Key}, false)
		if err != nil {
			return nil, err
		}
		row := topicRow{Key: purpose.Key, Name: localName(purpose.Names, lang, purpose.Key), Description: localName(purpose.Descriptions, lang, ""),
			Channels: purpose.Channels, Frequency: purpose.Frequency, Allowed: a.Allowed, Reason: a.Reason,
			Locked: a.Reason == consent.ReasonObjected || a.Reason == consent.ReasonRestricted, InLink: slices.Contains(inLink, purpose.Key)}
		for _, channel := range purpose.Channels {
			ca, err := p.Consent.Decider().Decide(&consent.Question{Subject: subject, Purpose: purpose.Key, Channel: channel}, false)
			if err != nil {
				return nil, err
			}
			c := channelRow{Channel: channel, Allowed: ca.Allowed, Reason: ca.Reason}
			if e, ok := deciding(purpose.Key, channel); ok {
				c.Since, c.Property, c.Receipt = e.At, e.Property, e.ID
				if e.At.After(row.Since) {
					row.Since, row.Property, row.Receipt = e.At, e.Property, e.ID
				}
			}
			if ca.Allowed && !row.Allowed {
				row.Allowed, row.Reason = true, ca.Reason
			}
			row.ByChannel = append(row.ByChannel, c)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// openLink opens the link token of the request's path for purpose, or
// renders why it cannot be opened (foreign, tampered, expired, or of an
// erased subject) and reports false.
func (p *Portal) openLink(w http.ResponseWriter, r *http.Request, purpose preference.Purpose) (preference.Claims, bool) {
	if p.Preferences == nil {
		p.fail(w, r, errs.New(errs.CodeUnavailable, "problem_unavailable"))
		return preference.Claims{}, false
	}
	claims, err := p.Preferences.Open(r.PathValue("token"), purpose)
	if err == nil {
		// An erased customer's old email must not bring them back into
		// the ledger: their links are dead.
		erased, erasedErr := p.Vault.Erased(r.Context(), claims.Subject)
		switch {
		case erasedErr != nil:
			p.fail(w, r, erasedErr)
			return claims, false
		case erased:
			err = preference.ErrExpired
		}
	}
	switch {
	case errors.Is(err, preference.ErrExpired):
		p.render(w, r, http.StatusGone, "error", page{Title: "pref_title", Problem: "pref_link_expired"})
		return claims, false
	case err != nil:
		p.render(w, r, http.StatusNotFound, "error", page{Title: "pref_title", Problem: "pref_link_invalid"})
		return claims, false
	}
	return claims, true
}

// HandlePreferences shows the link's subject's communication topics, each
// with its channels, frequency, current state and receipt, in one form.
func (p *Portal) HandlePreferences() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := p.openLink(w, r, preference.ForPage)
		if !ok {
			return
		}
		rows, err := p.topicRows(r, claims.Subject, claims.Topics)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		token := r.PathValue("token")
		d := preferencesData{Token: token, Form: p.Preferences.FormToken(token), Topics: rows, Saved: r.URL.Query().Get("saved") == "1"}
		pg := page{Title: "pref_title", Data: d}
		if d.Saved {
			pg.Notice = "pref_saved"
		}
		p.render(w, r, http.StatusOK, "preferences", pg)
	})
}

// HandleSavePreferences records the choices of the page's form, one box
// per topic and channel ("choice" = "topic:channel"): a grant by the
// channel for each box ticked that was not allowed, a withdrawal by the
// channel for each shown and not ticked that was. A topic left with no
// box ticked is withdrawn by every channel at once; "unsubscribe all"
// does that for every topic. Grants are by channel only, so that nobody
// is written to by a channel they never saw offered. A posted "topic"
// (the form before channels) ticks every channel of the topic.
func (p *Portal) HandleSavePreferences() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := p.openLink(w, r, preference.ForPage)
		if !ok {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		token := r.PathValue("token")
		if !p.Preferences.CheckForm(token, r.PostFormValue("form")) {
			p.render(w, r, http.StatusForbidden, "error", page{Title: "pref_title", Problem: "pref_form_expired"})
			return
		}
		rows, err := p.topicRows(r, claims.Subject, claims.Topics)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		all := r.PostFormValue("all") == "withdraw"
		wholeTopics := r.PostForm["topic"]
		choices := r.PostForm["choice"]
		shown := r.PostForm["shown"]
		var events []consent.Event
		for _, row := range rows {
			if row.Locked || !slices.Contains(shown, row.Key) && !all {
				continue
			}
			var grants []consent.Channel
			wantsAny := false
			for _, c := range row.ByChannel {
				want := !all && (slices.Contains(wholeTopics, row.Key) || slices.Contains(choices, row.Key+":"+string(c.Channel)))
				wantsAny = wantsAny || want
				if want && !c.Allowed {
					grants = append(grants, c.Channel)
				}
			}
			if !wantsAny {
				if row.Allowed {
					events = append(events, p.preferenceEvent(claims, row.Key, "", consent.ActionWithdraw))
				}
				continue
			}
			for _, c := range row.ByChannel {
				if c.Allowed && !slices.Contains(choices, row.Key+":"+string(c.Channel)) && !slices.Contains(wholeTopics, row.Key) {
					events = append(events, p.preferenceEvent(claims, row.Key, c.Channel, consent.ActionWithdraw))
				}
			}
			for _, channel := range grants {
				events = append(events, p.preferenceEvent(claims, row.Key, channel, consent.ActionGrant))
			}
		}
		if err := p.appendPreferences(r, events); err != nil {
			p.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/privacy/preferences/"+token+"?"+url.Values{"lang": {language(r)}, "saved": {"1"}}.Encode(), http.StatusSeeOther)
	})
}

// preferenceEvent is a choice of the link's subject of topic by channel
// ("" for every channel).
func (p *Portal) preferenceEvent(claims preference.Claims, topic string, channel consent.Channel, action consent.Action) consent.Event {
	e := consent.Event{ID: newEventID(), Property: claims.Property, Subject: claims.Subject, Purpose: topic, Channel: channel, Action: action,
		Source: consent.SourcePreferences}
	if notice, ok := p.Consent.CurrentNotice(); ok {
		e.NoticeVersion = notice.Version
	}
	return e
}

func (p *Portal) appendPreferences(r *http.Request, events []consent.Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := p.Consent.ValidateEvents(events, consent.Author{Kind: consent.AuthorPreferenceLink}); err != nil {
		return err
	}
	_, err := p.Consent.Append(r.Context(), events)
	return err
}

// HandlePreferenceReceipt shows the receipt of one of the link's
// subject's choices, as the privacy center does.
func (p *Portal) HandlePreferenceReceipt() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := p.openLink(w, r, preference.ForPage)
		if !ok {
			return
		}
		base := "/privacy/preferences/" + r.PathValue("token")
		p.showReceipt(w, r, claims.Subject, base+"/receipts/"+r.PathValue("property")+"/"+r.PathValue("id"), base)
	})
}

// HandleUnsubscribePage answers a GET of the one-click link (a mail
// program that does not speak RFC 8058 opens it in the browser): it never
// unsubscribes, as link scanners fetch every URL of a message, but offers
// the button that does.
func (p *Portal) HandleUnsubscribePage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := p.openLink(w, r, preference.ForUnsubscribe)
		if !ok {
			return
		}
		rows, err := p.topicRows(r, claims.Subject, claims.Topics)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		p.render(w, r, http.StatusOK, "unsubscribe", page{Title: "pref_unsubscribe_title", Data: preferencesData{Token: r.PathValue("token"),
			Topics: unsubscribeRows(claims, rows)}})
	})
}

// unsubscribeChannel is the channel a one-click link withdraws row's topic
// by: the channel the link names, else email, as List-Unsubscribe is an
// email header and the reader who presses "unsubscribe" in their mail
// program says they want no more of these emails, nothing about texts or
// letters they chose separately. A topic not sent by that channel (the
// company emailed about a topic it declares only for SMS or post) is
// withdrawn by every channel ("" is returned): the reader asked to hear no
// more of it, and there is no narrower choice that would honour that.
func unsubscribeChannel(claims preference.Claims, row topicRow) consent.Channel {
	channel := consent.Channel(claims.Channel)
	if channel == "" {
		channel = consent.ChannelEmail
	}
	if !slices.Contains(row.Channels, channel) {
		return ""
	}
	return channel
}

// unsubscribeState is the channel the one-click link withdraws row's
// topic by, and whether the topic is allowed by it now (by some channel,
// when it is withdrawn by every channel).
func unsubscribeState(claims preference.Claims, row topicRow) (consent.Channel, bool) {
	channel := unsubscribeChannel(claims, row)
	for _, c := range row.ByChannel {
		if c.Channel == channel {
			return channel, c.Allowed
		}
	}
	return channel, row.Allowed
}

// unsubscribeRows are the link's topics as its unsubscribe page shows them:
// each with the channel its button withdraws and the state by it.
func unsubscribeRows(claims preference.Claims, rows []topicRow) []topicRow {
	rows = slices.DeleteFunc(rows, func(row topicRow) bool { return !row.InLink })
	for i := range rows {
		rows[i].Via, rows[i].Allowed = unsubscribeState(claims, rows[i])
	}
	return rows
}

// HandleOneClick is the one-click unsubscribe of RFC 8058: a POST of
// "List-Unsubscribe=One-Click" with no cookie and no form token (the link
// is the credential) withdraws the link's topics by the link's channel
// (unsubscribeChannel). It is idempotent: a topic already not allowed by
// that channel records nothing new. A browser (the button of
// HandleUnsubscribePage) gets a page; a mail receiver, text.
func (p *Portal) HandleOneClick() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := p.openLink(w, r, preference.ForUnsubscribe)
		if !ok {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		if r.PostFormValue("List-Unsubscribe") != "One-Click" {
			p.render(w, r, http.StatusBadRequest, "error", page{Title: "pref_unsubscribe_title", Problem: "pref_one_click_body"})
			return
		}
		rows, err := p.topicRows(r, claims.Subject, claims.Topics)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		var events []consent.Event
		for _, row := range rows {
			if !row.InLink || row.Locked {
				continue
			}
			channel, allowed := unsubscribeState(claims, row)
			if allowed { // else already not written to: nothing new to record
				events = append(events, p.preferenceEvent(claims, row.Key, channel, consent.ActionWithdraw))
			}
		}
		if err := p.appendPreferences(r, events); err != nil {
			p.fail(w, r, err)
			return
		}
		if r.PostFormValue("page") == "1" {
			if rows, err = p.topicRows(r, claims.Subject, claims.Topics); err != nil {
				p.fail(w, r, err)
				return
			}
			p.render(w, r, http.StatusOK, "unsubscribe", page{Title: "pref_unsubscribe_title", Notice: "pref_unsubscribed",
				Data: preferencesData{Token: r.PathValue("token"), Topics: unsubscribeRows(claims, rows), Saved: true}})
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte("unsubscribed\n"))
	})
}
