package preference_test

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/preference"
)

var start = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func newLinks(t *testing.T, secret string, now *time.Time) *preference.Links {
	t.Helper()
	l, err := preference.New(preference.Config{Secret: []byte(strings.Repeat(secret, 32)), Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLinksOpenWhatTheyIssued(t *testing.T) {
	now := start
	l := newLinks(t, "a", &now)
	issued, err := l.Issue("cust-1", "shop", []string{"newsletter", "offers"})
	if err != nil {
		t.Fatal(err)
	}
	page, unsub, pageExp, unsubExp := issued.Page, issued.Unsubscribe, issued.PageExpires, issued.UnsubscribeExpires
	if pageExp != start.Add(preference.DefaultPageTTL) || unsubExp != start.Add(preference.DefaultUnsubscribeTTL) {
		t.Fatalf("expiries %v %v", pageExp, unsubExp)
	}
	got, err := l.Open(page, preference.ForPage)
	want := preference.Claims{Purpose: preference.ForPage, Subject: "cust-1", Property: "shop", Topics: []string{"newsletter", "offers"}, Expires: pageExp}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Open(page) = %+v, %v; want %+v", got, err, want)
	}
	if got, err := l.Open(unsub, preference.ForUnsubscribe); err != nil || got.Subject != "cust-1" || !got.Expires.Equal(unsubExp) {
		t.Fatalf("Open(unsubscribe) = %+v, %v", got, err)
	}
	if strings.Contains(page, "cust-1") {
		t.Fatal("the token shows the subject")
	}
	raw, _ := base64.RawURLEncoding.DecodeString(page)
	if strings.Contains(string(raw), "cust-1") || strings.Contains(string(raw), "newsletter") {
		t.Fatal("the sealed token holds the subject or topic in clear")
	}
}

func TestLinksRefuse(t *testing.T) {
	now := start
	l := newLinks(t, "a", &now)
	other := newLinks(t, "b", &now)
	issued, err := l.Issue("cust-1", "shop", []string{"newsletter"})
	if err != nil {
		t.Fatal(err)
	}
	page, unsub := issued.Page, issued.Unsubscribe
	foreign, _ := other.Issue("cust-1", "shop", []string{"newsletter"})
	otherPage := foreign.Page
	flip := func(token string, at int) string {
		raw, _ := base64.RawURLEncoding.DecodeString(token)
		raw[at] ^= 1
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	tests := []struct {
		name    string
		token   string
		purpose preference.Purpose
		after   time.Duration
		want    error
	}{
		{"page token for unsubscribe", page, preference.ForUnsubscribe, 0, preference.ErrInvalid},
		{"unsubscribe token for the page", unsub, preference.ForPage, 0, preference.ErrInvalid},
		{"another server's key", otherPage, preference.ForPage, 0, preference.ErrInvalid},
		{"a flipped bit in the sealed subject", flip(page, 20), preference.ForPage, 0, preference.ErrInvalid},
		{"a flipped bit in the nonce", flip(page, 3), preference.ForPage, 0, preference.ErrInvalid},
		{"a flipped version", flip(page, 0), preference.ForPage, 0, preference.ErrInvalid},
		{"truncated", page[:len(page)-4], preference.ForPage, 0, preference.ErrInvalid},
		{"not base64", "!!" + page, preference.ForPage, 0, preference.ErrInvalid},
		{"empty", "", preference.ForPage, 0, preference.ErrInvalid},
		{"page expired", page, preference.ForPage, preference.DefaultPageTTL, preference.ErrExpired},
		{"unsubscribe still works after the page expired", unsub, preference.ForUnsubscribe, preference.DefaultPageTTL + time.Hour, nil},
		{"unsubscribe expired", unsub, preference.ForUnsubscribe, preference.DefaultUnsubscribeTTL, preference.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = start.Add(tt.after)
			defer func() { now = start }()
			_, err := l.Open(tt.token, tt.purpose)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestIssueRefusesBadInput(t *testing.T) {
	now := start
	l := newLinks(t, "a", &now)
	many := make([]string, preference.MaxTopics+1)
	for i := range many {
		many[i] = "t"
	}
	for name, in := range map[string]struct {
		subject, property string
		topics            []string
	}{
		"no subject":      {"", "shop", []string{"n"}},
		"no property":     {"c", "", []string{"n"}},
		"no topic":        {"c", "shop", nil},
		"too many topics": {"c", "shop", many},
		"long subject":    {strings.Repeat("c", 256), "shop", []string{"n"}},
	} {
		if _, err := l.Issue(in.subject, in.property, in.topics); !errors.Is(err, preference.ErrInvalid) {
			t.Errorf("%s: Issue = %v, want invalid", name, err)
		}
	}
}

func TestFormTokens(t *testing.T) {
	now := start
	l := newLinks(t, "a", &now)
	first, _ := l.Issue("cust-1", "shop", []string{"newsletter"})
	second, _ := l.Issue("cust-2", "shop", []string{"newsletter"})
	page, otherPage := first.Page, second.Page
	form := l.FormToken(page)
	if !l.CheckForm(page, form) {
		t.Fatal("a fresh form token is refused")
	}
	if l.CheckForm(otherPage, form) {
		t.Fatal("a form token of one link passes for another")
	}
	for _, bad := range []string{"", "x", form + "x", "1." + strings.SplitN(form, ".", 2)[1]} {
		if l.CheckForm(page, bad) {
			t.Errorf("form token %q passes", bad)
		}
	}
	now = start.Add(3 * time.Hour)
	if l.CheckForm(page, form) {
		t.Fatal("a form shown three hours ago passes")
	}
}

// TestLinksNameTheirChannel: a one-click link made for a channel says so;
// one made without (as every link before channels) opens with none.
func TestLinksNameTheirChannel(t *testing.T) {
	now := start
	l := newLinks(t, "a", &now)
	for _, channel := range []string{"", "email", "sms"} {
		issued, err := l.IssueFor("cust-1", "shop", []string{"newsletter"}, channel)
		if err != nil {
			t.Fatal(err)
		}
		got, err := l.Open(issued.Unsubscribe, preference.ForUnsubscribe)
		if err != nil || got.Channel != channel || !reflect.DeepEqual(got.Topics, []string{"newsletter"}) {
			t.Errorf("channel %q: Open = %+v, %v", channel, got, err)
		}
		if page, err := l.Open(issued.Page, preference.ForPage); err != nil || page.Channel != "" {
			t.Errorf("channel %q: the page link = %+v, %v; want no channel", channel, page, err)
		}
	}
}
