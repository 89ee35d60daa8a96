package consent

import "testing"

// TestChannelRule is the rule between choices of a topic by every channel
// and by one channel: the later in ledger order decides.
func TestChannelRule(t *testing.T) {
	type ev struct {
		channel  Channel
		action   Action
		imported bool  // source import, at the time below
		at       int64 // seconds; 0: its sequence number
	}
	type want struct {
		channel Channel
		action  Action // "" for nothing recorded
	}
	cases := []struct {
		name   string
		events []ev // in ledger order
		want   []want
	}{
		{"all channels granted", []ev{{"", ActionGrant, false, 0}},
			[]want{{ChannelEmail, ActionGrant}, {ChannelSMS, ActionGrant}, {"", ActionGrant}}},
		{"one channel granted", []ev{{ChannelEmail, ActionGrant, false, 0}},
			[]want{{ChannelEmail, ActionGrant}, {ChannelSMS, ""}, {"", ""}}},
		{"one channel withdrawn after all granted", []ev{{"", ActionGrant, false, 0}, {ChannelSMS, ActionWithdraw, false, 0}},
			[]want{{ChannelEmail, ActionGrant}, {ChannelSMS, ActionWithdraw}, {"", ActionGrant}}},
		{"withdrawal for all beats earlier channel grants", []ev{{ChannelEmail, ActionGrant, false, 0}, {ChannelSMS, ActionGrant, false, 0}, {"", ActionWithdraw, false, 0}},
			[]want{{ChannelEmail, ActionWithdraw}, {ChannelSMS, ActionWithdraw}, {ChannelPost, ActionWithdraw}}},
		{"channel grant after a withdrawal for all", []ev{{"", ActionWithdraw, false, 0}, {ChannelEmail, ActionGrant, false, 0}},
			[]want{{ChannelEmail, ActionGrant}, {ChannelSMS, ActionWithdraw}}},
		{"grant for all after a channel withdrawal", []ev{{ChannelEmail, ActionWithdraw, false, 0}, {"", ActionGrant, false, 0}},
			[]want{{ChannelEmail, ActionGrant}, {ChannelSMS, ActionGrant}}},
		{"latest of one channel", []ev{{ChannelPost, ActionGrant, false, 0}, {ChannelPost, ActionDeny, false, 0}, {ChannelPost, ActionGrant, false, 0}},
			[]want{{ChannelPost, ActionGrant}, {ChannelEmail, ""}}},
		{"an import older than a withdrawal for all does not replace it", []ev{{"", ActionWithdraw, false, 500}, {ChannelEmail, ActionGrant, true, 100}},
			[]want{{ChannelEmail, ActionWithdraw}}},
		{"an import newer than the choice for all replaces it", []ev{{"", ActionWithdraw, false, 100}, {ChannelEmail, ActionGrant, true, 500}},
			[]want{{ChannelEmail, ActionGrant}, {ChannelSMS, ActionWithdraw}}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			x := NewIndex()
			var events []indexedEvent
			for i, e := range tt.events {
				seq := int64(i + 1)
				at := e.at
				if at == 0 {
					at = seq
				}
				events = append(events, indexedEvent{seq: seq, ident: x.key("cust"), isSubject: true, purpose: "newsletter",
					channel: e.channel, action: e.action, at: timeAt(at), imported: e.imported})
			}
			x.apply(events)
			x.mu.RLock()
			defer x.mu.RUnlock()
			for _, w := range tt.want {
				s, found, _ := x.latest("cust", "", x.purposes["newsletter"], 0, channelCode(w.channel))
				got := Action("")
				if found {
					got = []Action{"", ActionGrant, ActionDeny, ActionWithdraw, ActionObject}[s.action]
				}
				if got != w.action {
					t.Errorf("channel %q: latest = %q, want %q", w.channel, got, w.action)
				}
			}
		})
	}
}

// TestChannelRuleIsLatestChoice: latestChoice, the rule itself, prefers the
// later state, and either when the other is missing.
func TestChannelRuleIsLatestChoice(t *testing.T) {
	early, late := state{seq: 1, action: actionGrant}, state{seq: 2, action: actionWithdraw}
	cases := []struct {
		name         string
		all          state
		allFound     bool
		byChannel    state
		channelFound bool
		want         state
		wantFound    bool
	}{
		{"neither", state{}, false, state{}, false, state{}, false},
		{"all only", early, true, state{}, false, early, true},
		{"channel only", state{}, false, early, true, early, true},
		{"all later", late, true, early, true, late, true},
		{"channel later", early, true, late, true, late, true},
	}
	for _, tt := range cases {
		got, found := latestChoice(tt.all, tt.allFound, tt.byChannel, tt.channelFound)
		if got != tt.want || found != tt.wantFound {
			t.Errorf("%s: latestChoice = %+v %v, want %+v %v", tt.name, got, found, tt.want, tt.wantFound)
		}
	}
}
