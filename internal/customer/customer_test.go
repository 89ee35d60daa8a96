package customer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/customer"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newService(t *testing.T, store *db.DB) (*customer.Service, *vault.Vault, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	v := vaulttest.Open(t, store, func(cfg *vault.Config) { cfg.Now = c.now })
	box, _ := v.SecretBox("customer-email")
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		t.Fatal(err)
	}
	s, err := customer.New(customer.Config{DB: store, Secrets: box, Directory: v, Audit: log, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return s, v, c
}

func TestCodeSignIn(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		s, v, clk := newService(t, store)
		if _, err := v.Put(ctx, "cust-1", vault.Field{Name: "email", Category: "contact", Value: []byte("ada@example.org")}); err != nil {
			t.Fatal(err)
		}
		browser, other := customer.Binding("cookie-a"), customer.Binding("cookie-b")

		known, err := s.RequestCode(ctx, " Ada@Example.org", browser, "ip1")
		if err != nil || len(known.Code) != 6 || strings.Trim(known.Code, "0123456789") != "" {
			t.Fatalf("RequestCode = %+v, %v", known, err)
		}
		if strings.Contains(strings.ToLower(dumpTables(t, store)), "ada@example.org") || strings.Contains(dumpTables(t, store), known.Code) {
			t.Fatal("the address or the code is stored in clear")
		}
		if _, err := s.SignIn(ctx, other, known.Code, "ip1"); err != customer.ErrCode {
			t.Fatalf("another browser signed in with the code: %v", err)
		}
		session, err := s.SignIn(ctx, browser, known.Code, "ip1")
		if err != nil || session.SubjectID != "cust-1" {
			t.Fatalf("SignIn = %+v, %v", session, err)
		}
		if email, err := s.Email(ctx, session); err != nil || email != "ada@example.org" {
			t.Fatalf("Email = %q, %v", email, err)
		}
		if _, err := s.SignIn(ctx, browser, known.Code, "ip1"); err != customer.ErrCode {
			t.Fatalf("a used code signed in again: %v", err)
		}
		got, err := s.Session(ctx, session.Token)
		if err != nil || got.SubjectID != "cust-1" || string(got.EmailHash) != string(session.EmailHash) {
			t.Fatalf("Session = %+v, %v", got, err)
		}
		if email, err := s.Email(ctx, got); err != nil || email != "ada@example.org" {
			t.Fatalf("Email of a read session = %q, %v", email, err)
		}

		t.Run("an unknown address gets a code and a session without a subject", func(t *testing.T) {
			c, err := s.RequestCode(ctx, "nobody@example.org", customer.Binding("cookie-c"), "ip2")
			if err != nil {
				t.Fatal(err)
			}
			session, err := s.SignIn(ctx, customer.Binding("cookie-c"), c.Code, "ip2")
			if err != nil || session.SubjectID != "" {
				t.Fatalf("SignIn = %+v, %v", session, err)
			}
		})
		t.Run("five wrong attempts spend the code", func(t *testing.T) {
			b := customer.Binding("cookie-d")
			c, _ := s.RequestCode(ctx, "grace@example.org", b, "ip3")
			wrong := "000000"
			if c.Code == wrong {
				wrong = "111111"
			}
			for range 5 {
				if _, err := s.SignIn(ctx, b, wrong, "ip3"); err != customer.ErrCode {
					t.Fatal(err)
				}
			}
			if _, err := s.SignIn(ctx, b, c.Code, "ip3"); err != customer.ErrCode {
				t.Fatalf("the right code after five wrong ones: %v", err)
			}
		})
		t.Run("codes expire after ten minutes", func(t *testing.T) {
			b := customer.Binding("cookie-e")
			c, _ := s.RequestCode(ctx, "hal@example.org", b, "ip4")
			clk.add(10*time.Minute + time.Second)
			if _, err := s.SignIn(ctx, b, c.Code, "ip4"); err != customer.ErrCode {
				t.Fatalf("an expired code: %v", err)
			}
		})
		t.Run("codes per address are limited per client address and in all", func(t *testing.T) {
			// Issue 11: three requests from an attacker's address used to
			// stop the customer getting a code from their own.
			for i := range 4 {
				_, err := s.RequestCode(ctx, "ivy@example.org", customer.Binding("cookie-attacker"), "203.0.113.66")
				if (i < 3) != (err == nil) {
					t.Fatalf("attacker's request %d: %v", i+1, err)
				}
				var limit *customer.LimitError
				if i == 3 && (!errors.As(err, &limit) || !errors.Is(err, customer.ErrTooMany) || errs.CodeOf(err) != errs.CodeUnauthorized ||
					!limit.Until.Equal(clk.now().Add(15*time.Minute)) || !strings.Contains(err.Error(), "try again after 09:25 UTC")) {
					t.Fatalf("the refusal does not say when to retry: %v", err)
				}
			}
			if _, err := s.RequestCode(ctx, "ivy@example.org", customer.Binding("cookie-ivy"), "192.0.2.10"); err != nil {
				t.Fatalf("the customer cannot get a code from their own address: %v", err)
			}
			// The mail an address receives stays bounded, from any number
			// of client addresses.
			sent := 4
			for i := range 20 {
				if _, err := s.RequestCode(ctx, "ivy@example.org", customer.Binding("cookie-bot"), fmt.Sprintf("198.51.100.%d", i)); err == nil {
					sent++
				}
			}
			if sent != 10 {
				t.Fatalf("%d codes sent to one address in 15 minutes, want the cap of 10", sent)
			}
			if _, err := s.RequestCode(ctx, "not an address", customer.Binding("x"), "ip9"); errs.CodeOf(err) != errs.CodeInvalid {
				t.Fatalf("bad address: %v", err)
			}
		})
		t.Run("sign-out and expiry end sessions", func(t *testing.T) {
			if err := s.SignOut(ctx, session.Token); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Session(ctx, session.Token); err != customer.ErrSignedOut {
				t.Fatalf("a signed-out session: %v", err)
			}
		})
	})
}

// dumpTables returns every row of the customer tables as text.
func dumpTables(t *testing.T, store *db.DB) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"customer_codes", "customer_sessions"} {
		rows, err := store.Query(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			for _, v := range vals {
				if raw, ok := v.([]byte); ok {
					b.Write(raw)
				} else {
					fmt.Fprint(&b, v)
				}
				b.WriteByte(' ')
			}
		}
		rows.Close()
	}
	return b.String()
}
