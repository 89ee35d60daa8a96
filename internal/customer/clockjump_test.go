package customer_test

import (
	"context"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	stwclock "github.com/steward-dev/steward/internal/clock"
	"github.com/steward-dev/steward/internal/customer"
	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
	"github.com/steward-dev/steward/internal/vault"
	"github.com/steward-dev/steward/internal/vault/vaulttest"
)

// jumpy is a wall clock that jumps and a monotonic clock that does not.
type jumpy struct {
	wall time.Time
	mono time.Duration
}

func (j *jumpy) pass(d time.Duration) { j.wall = j.wall.Add(d); j.mono += d }
func (j *jumpy) jump(d time.Duration) { j.wall = j.wall.Add(d) }

// TestClockJumpSessionsAndCodes rehearses the wall clock jumping back and
// forward by an hour (issue 19) under the steady clock Steward runs on
// (package clock): a session or a code that has ended stays ended when the
// clock goes back, a code keeps its ten minutes of real time across a jump
// back, and a jump forward ends codes and sessions early (it fails closed).
func TestClockJumpSessionsAndCodes(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, j *jumpy, s *customer.Service, signIn func(cookie string) (customer.Challenge, *customer.Session, error))
	}{
		{"an ended session stays ended when the clock goes back", func(t *testing.T, j *jumpy, s *customer.Service, signIn func(string) (customer.Challenge, *customer.Session, error)) {
			_, session, err := signIn("b1")
			if err != nil {
				t.Fatal(err)
			}
			j.pass(time.Hour + time.Minute)
			if _, err := s.Session(context.Background(), session.Token); err != customer.ErrSignedOut {
				t.Fatalf("a session after its hour: %v", err)
			}
			j.jump(-time.Hour)
			if _, err := s.Session(context.Background(), session.Token); err != customer.ErrSignedOut {
				t.Fatalf("an ended session is valid again after the clock went back: %v", err)
			}
		}},
		{"an ended code stays ended when the clock goes back", func(t *testing.T, j *jumpy, s *customer.Service, _ func(string) (customer.Challenge, *customer.Session, error)) {
			c, err := s.RequestCode(context.Background(), "ada@example.org", customer.Binding("b2"), "ip")
			if err != nil {
				t.Fatal(err)
			}
			j.pass(11 * time.Minute)
			j.jump(-time.Hour)
			if _, err := s.SignIn(context.Background(), customer.Binding("b2"), c.Code, "ip"); err != customer.ErrCode {
				t.Fatalf("an ended code signs in after the clock went back: %v", err)
			}
		}},
		{"a code keeps its ten minutes across a jump back", func(t *testing.T, j *jumpy, s *customer.Service, _ func(string) (customer.Challenge, *customer.Session, error)) {
			c, err := s.RequestCode(context.Background(), "ada@example.org", customer.Binding("b3"), "ip")
			if err != nil {
				t.Fatal(err)
			}
			j.jump(-time.Hour)
			j.pass(5 * time.Minute)
			if _, err := s.SignIn(context.Background(), customer.Binding("b3"), c.Code, "ip"); err != nil {
				t.Fatalf("a code five minutes old after a jump back: %v", err)
			}
		}},
		{"a session ends on time after a jump back", func(t *testing.T, j *jumpy, s *customer.Service, signIn func(string) (customer.Challenge, *customer.Session, error)) {
			_, session, err := signIn("b4")
			if err != nil {
				t.Fatal(err)
			}
			j.jump(-time.Hour)
			j.pass(30 * time.Minute)
			if _, err := s.Session(context.Background(), session.Token); err != nil {
				t.Fatalf("a session half an hour old after a jump back: %v", err)
			}
			j.pass(31 * time.Minute)
			if _, err := s.Session(context.Background(), session.Token); err != customer.ErrSignedOut {
				t.Fatalf("a session an hour and a minute old (the wall clock says two minutes): %v", err)
			}
		}},
		{"a jump forward ends codes and sessions early", func(t *testing.T, j *jumpy, s *customer.Service, signIn func(string) (customer.Challenge, *customer.Session, error)) {
			_, session, err := signIn("b5")
			if err != nil {
				t.Fatal(err)
			}
			c, err := s.RequestCode(context.Background(), "ada@example.org", customer.Binding("b6"), "ip")
			if err != nil {
				t.Fatal(err)
			}
			j.jump(time.Hour)
			if _, err := s.Session(context.Background(), session.Token); err != customer.ErrSignedOut {
				t.Fatalf("a session after a jump forward of its hour: %v", err)
			}
			if _, err := s.SignIn(context.Background(), customer.Binding("b6"), c.Code, "ip"); err != customer.ErrCode {
				t.Fatalf("a code after a jump forward of an hour: %v", err)
			}
		}},
	}
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		// One vault per store; each case gets a clock of its own.
		steady := stwclock.NewSteady(nil)
		now := func() time.Time { return steady.Now() }
		v := vaulttest.Open(t, store, func(cfg *vault.Config) { cfg.Now = now })
		box, _ := v.SecretBox("customer-email")
		log, err := audit.New(audit.Config{DB: store})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := store.ExecContext(context.Background(), `DELETE FROM customer_codes`); err != nil {
					t.Fatal(err)
				}
				j := &jumpy{wall: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
				steady = stwclock.NewSteadyWith(func() time.Time { return j.wall }, func() time.Duration { return j.mono })
				s, err := customer.New(customer.Config{DB: store, Secrets: box, Directory: v, Audit: log, Now: now})
				if err != nil {
					t.Fatal(err)
				}
				signIn := func(cookie string) (customer.Challenge, *customer.Session, error) {
					b := customer.Binding(cookie)
					c, err := s.RequestCode(context.Background(), "ada@example.org", b, "ip")
					if err != nil {
						return c, nil, err
					}
					session, err := s.SignIn(context.Background(), b, c.Code, "ip")
					return c, session, err
				}
				tc.run(t, j, s, signIn)
			})
		}
	})
}
