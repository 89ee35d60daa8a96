package consentrules

import "testing"

// TestChannelChoices is the rule between choices of a topic by every
// channel and by one channel, as the index applies it: the later in ledger
// order decides.
func TestChannelChoices(t *testing.T) {
	type ev struct {
		channel  string
		action   uint8
		imported bool   // source import, at the time below
		at       uint32 // seconds; 0: its sequence number
	}
	type want struct {
		channel string
		action  uint8 // ActionNone for nothing recorded
	}
	cases := []struct {
		name   string
		events []ev // in ledger order
		want   []want
	}{
		{"all channels granted", []ev{{"", ActionGrant, false, 0}},
			[]want{{"email", ActionGrant}, {"sms", ActionGrant}, {"", ActionGrant}}},
		{"one channel granted", []ev{{"email", ActionGrant, false, 0}},
			[]want{{"email", ActionGrant}, {"sms", ActionNone}, {"", ActionNone}}},
		{"one channel withdrawn after all granted", []ev{{"", ActionGrant, false, 0}, {"sms", ActionWithdraw, false, 0}},
			[]want{{"email", ActionGrant}, {"sms", ActionWithdraw}, {"", ActionGrant}}},
		{"withdrawal for all beats earlier channel grants", []ev{{"email", ActionGrant, false, 0}, {"sms", ActionGrant, false, 0}, {"", ActionWithdraw, false, 0}},
			[]want{{"email", ActionWithdraw}, {"sms", ActionWithdraw}, {"post", ActionWithdraw}}},
		{"channel grant after a withdrawal for all", []ev{{"", ActionWithdraw, false, 0}, {"email", ActionGrant, false, 0}},
			[]want{{"email", ActionGrant}, {"sms", ActionWithdraw}}},
		{"grant for all after a channel withdrawal", []ev{{"email", ActionWithdraw, false, 0}, {"", ActionGrant, false, 0}},
			[]want{{"email", ActionGrant}, {"sms", ActionGrant}}},
		{"latest of one channel", []ev{{"post", ActionGrant, false, 0}, {"post", ActionDeny, false, 0}, {"post", ActionGrant, false, 0}},
			[]want{{"post", ActionGrant}, {"email", ActionNone}}},
		{"an import older than a withdrawal for all does not replace it", []ev{{"", ActionWithdraw, false, 500}, {"email", ActionGrant, true, 100}},
			[]want{{"email", ActionWithdraw}}},
		{"an import newer than the choice for all replaces it", []ev{{"", ActionWithdraw, false, 100}, {"email", ActionGrant, true, 500}},
			[]want{{"email", ActionGrant}, {"sms", ActionWithdraw}}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			x := NewIndex(RefKey)
			var events []Event
			for i, e := range tt.events {
				seq := int64(i + 1)
				at := e.at
				if at == 0 {
					at = uint32(seq)
				}
				events = append(events, Event{Seq: seq, Ident: RefKey("cust"), IsSubject: true, Purpose: "newsletter",
					Channel: e.channel, Action: e.action, At: at, Imported: e.imported})
			}
			x.Apply(events)
			for _, w := range tt.want {
				s, found, _ := x.Latest("cust", "", x.PurposeID("newsletter"), 0, ChannelCode(w.channel))
				got := ActionNone
				if found {
					got = s.Action
				}
				if got != w.action {
					t.Errorf("channel %q: latest = %q, want %q", w.channel, ActionName(got), ActionName(w.action))
				}
			}
		})
	}
}

// TestLatestChoice: the rule itself prefers the later state, and either
// when the other is missing.
func TestLatestChoice(t *testing.T) {
	early, late := State{Seq: 1, Action: ActionGrant}, State{Seq: 2, Action: ActionWithdraw}
	cases := []struct {
		name         string
		all          State
		allFound     bool
		byChannel    State
		channelFound bool
		want         State
		wantFound    bool
	}{
		{"neither", State{}, false, State{}, false, State{}, false},
		{"all only", early, true, State{}, false, early, true},
		{"channel only", State{}, false, early, true, early, true},
		{"all later", late, true, early, true, late, true},
		{"channel later", early, true, late, true, late, true},
	}
	for _, tt := range cases {
		got, found := LatestChoice(tt.all, tt.allFound, tt.byChannel, tt.channelFound)
		if got != tt.want || found != tt.wantFound {
			t.Errorf("%s: LatestChoice = %+v %v, want %+v %v", tt.name, got, found, tt.want, tt.wantFound)
		}
	}
}

// TestDecideByChannel: Decide asks the channel named, and for a question
// naming none, every channel the topic declares (the first refused one
// answers); a channel the topic does not declare is the question's fault;
// a grant by one channel does not end an objection, one by every channel
// in the portal does.
func TestDecideByChannel(t *testing.T) {
	doc := RulesDocument{CurrentNotice: 1, DefaultRules: PropertyRules{Default: OptIn},
		Purposes: []PurposeRules{{Key: "newsletter", LegalBasis: BasisConsent, Communication: true, Channels: []string{"email", "sms"}, OpenUntil: AlwaysOpen}}}
	x := NewIndex(RefKey)
	cat := doc.Compile(x)
	seq := int64(0)
	apply := func(channel string, action uint8, portal bool) {
		seq++
		x.Apply([]Event{{Seq: seq, Ident: RefKey("cust"), IsSubject: true, Purpose: "newsletter", Channel: channel,
			Action: action, At: uint32(seq), Notice: 1, Portal: portal}})
	}
	ask := func(channel string) Answer {
		t.Helper()
		a, err := Decide(cat, cat.PurposeOpen, cat.VendorOpen, x, &Question{Subject: "cust", Purpose: "newsletter", Channel: channel}, false, 1)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	type want map[string]Reason
	check := func(step string, w want) {
		t.Helper()
		for channel, reason := range w {
			if a := ask(channel); a.Reason != reason || a.Allowed != (reason == ReasonConsentGranted) {
				t.Errorf("%s: channel %q = %+v, want %s", step, channel, a, reason)
			}
		}
	}
	apply("email", ActionGrant, false)
	check("email granted", want{"email": ReasonConsentGranted, "sms": ReasonNoConsentRecorded, "": ReasonNoConsentRecorded})
	apply("sms", ActionGrant, false)
	check("both granted", want{"email": ReasonConsentGranted, "sms": ReasonConsentGranted, "": ReasonConsentGranted})
	if a := ask(""); a.Event != 1 {
		t.Errorf("all allowed: answer rests on event %d, want the first channel's (1)", a.Event)
	}
	apply("", ActionWithdraw, false)
	check("all withdrawn", want{"email": ReasonConsentWithdrawn, "sms": ReasonConsentWithdrawn, "": ReasonConsentWithdrawn})
	apply("", ActionObject, false)
	apply("email", ActionGrant, true)
	check("objected, email granted in the portal", want{"email": ReasonObjected, "": ReasonObjected})
	apply("", ActionGrant, true)
	check("granted by every channel in the portal", want{"email": ReasonConsentGranted, "sms": ReasonConsentGranted, "": ReasonConsentGranted})
	if _, err := Decide(cat, cat.PurposeOpen, cat.VendorOpen, x, &Question{Subject: "cust", Purpose: "newsletter", Channel: "post"}, false, 1); err == nil {
		t.Error("a channel the topic does not declare was answered")
	} else if fe, ok := err.(*FieldError); !ok || fe.Field != "channel" {
		t.Errorf("undeclared channel: %v, want a problem with channel", err)
	}
}
