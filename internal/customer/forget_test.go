package customer_test

import (
	"context"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/db/dbtest"
)

// TestForget: after an erasure no sign-in code or session of the address
// remains (each holds the address sealed, and its blind index), and the
// erased customer's session no longer signs them in; another address's
// code is untouched.
func TestForget(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		s, v, _ := newService(t, store)
		binding := strings.Repeat("a", 64)
		c, err := s.RequestCode(ctx, "ada@example.org", binding, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		session, err := s.SignIn(ctx, binding, c.Code, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RequestCode(ctx, "ada@example.org", binding, "192.0.2.1"); err != nil { // an unused code
			t.Fatal(err)
		}
		if _, err := s.RequestCode(ctx, "bob@example.org", strings.Repeat("b", 64), "192.0.2.2"); err != nil {
			t.Fatal(err)
		}
		hash, _ := v.BlindIndex(ctx, "email", "ada@example.org")
		n, err := s.Forget(ctx, "", hash)
		if err != nil || n != 3 {
			t.Fatalf("Forget = %d, %v; want 3 (two codes, one session)", n, err)
		}
		if _, err := s.Session(ctx, session.Token); err == nil {
			t.Fatal("the erased customer's session still signs in")
		}
		var left int
		if err := store.QueryRowContext(ctx, `SELECT count(*) FROM customer_codes`).Scan(&left); err != nil || left != 1 {
			t.Fatalf("codes left: %d, %v; want bob's", left, err)
		}
	})
}
