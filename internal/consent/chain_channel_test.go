package consent

import (
	"encoding/hex"
	"testing"
	"time"
)

// TestEventHashWithoutChannelUnchanged: an event without a channel hashes
// exactly as it did before events had channels, so the chains of existing
// ledgers still verify. The hashes were computed by the code before
// channels (commit 1f157a7).
func TestEventHashWithoutChannelUnchanged(t *testing.T) {
	at := time.Date(2026, 5, 3, 10, 0, 0, 0, time.UTC)
	base := Event{ID: "e1", Property: "shop", Subject: "cust-1", Purpose: "newsletter", Action: ActionGrant, Source: SourcePreferences,
		NoticeVersion: "v1", Jurisdiction: "DE", At: at, RecordedAt: at, Seq: 42}
	withGPP := base
	withGPP.GPPString = "DBABMA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"
	prev, mac, receipt := []byte("previous hash"), []byte("principal mac"), []byte("receipt hash")
	for name, tt := range map[string]struct {
		e    Event
		want string
	}{
		"no gpp": {base, "0b99e6c56da12d4190cec4170580a1d819ab975823f6a7d9ce357bbd586b8850"},
		"gpp":    {withGPP, "00dddfe4973b9473cca2b5fdc5ae6d83154bf154f17ad26010aa4162b555e16e"},
	} {
		if got := hex.EncodeToString(eventHash(prev, 41, &tt.e, mac, receipt)); got != tt.want {
			t.Errorf("%s: hash %s, want %s as before channels", name, got, tt.want)
		}
	}
	// A channel changes the hash, and cannot pass for a GPP string.
	email := base
	email.Channel = ChannelEmail
	gppEmail := base
	gppEmail.GPPString = "email"
	seen := map[string]string{}
	for name, e := range map[string]Event{"base": base, "email": email, "gpp email": gppEmail, "gpp": withGPP} {
		h := hex.EncodeToString(eventHash(prev, 41, &e, mac, receipt))
		if other, dup := seen[h]; dup {
			t.Errorf("%s and %s hash alike", name, other)
		}
		seen[h] = name
	}
}
