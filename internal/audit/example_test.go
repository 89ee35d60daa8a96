package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/db"
)

// Example records a staff member revealing a customer's bank account (fail
// closed: the value is shown only once the entry is written) and a role
// change made in the same transaction as its entry, then answers "who
// accessed customer X", checkpoints the log to a file and verifies it.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "audit-example")
	defer os.RemoveAll(dir)
	store, err := db.Open(ctx, "", dir)
	if err != nil {
		panic(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		panic(err)
	}
	clock := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	log, _ := audit.New(audit.Config{DB: store, Now: func() time.Time { clock = clock.Add(time.Minute); return clock }})

	details, err := audit.NewDetails(map[string]any{"field": "iban", "purpose": "refund, ticket 7"})
	if err != nil {
		panic(err)
	}
	if _, err := log.Append(ctx, audit.Entry{Actor: audit.Staff("42"), Action: "vault.reveal",
		Target: audit.Subject("cust-42"), Details: details}); err != nil {
		return // no entry, no value: answer 503
	}
	fmt.Println("revealed")

	_, err = log.Do(ctx, audit.Entry{Actor: audit.Staff("1"), Action: "staff.role",
		Target: audit.Target{Kind: audit.KindStaff, ID: "42"}, Details: audit.MustDetails(map[string]any{"role": "support"})},
		func(ctx context.Context, tx *sql.Tx) error { return nil /* the role change, through tx */ })
	if err != nil {
		panic(err)
	}

	// A value never goes into the log.
	_, err = audit.NewDetails(map[string]any{"value": "DE89 3704 0044 0532 0130 00"})
	fmt.Println(err != nil)

	page, _ := log.Accesses(ctx, "cust-42", 0, 50)
	for _, e := range page.Entries {
		fmt.Println(e.Seq, e.At.Format(time.TimeOnly), e.Actor, e.Action, e.Target, e.Details)
	}

	seed := sha256.Sum256([]byte("example"))
	signer, _ := audit.NewSigner("shop.example/steward-audit", ed25519.NewKeyFromSeed(seed[:]))
	file := filepath.Join(dir, "audit-checkpoints")
	cp, _ := audit.OpenCheckpointer(ctx, audit.CheckpointerConfig{DB: store, Signer: signer, File: file, Poll: -1})
	latest, _ := cp.Checkpoint(ctx)
	cp.Close()
	fmt.Println("checkpoint", latest.Size)

	var out bytes.Buffer
	err = audit.VerifyCommand(ctx, store, audit.VerifyOptions{CheckpointFile: file, VerifierKeys: []string{signer.VerifierKey()}}, &out)
	fmt.Println(strings.Join(strings.Fields(out.String())[:6], " "), err)
	// Output:
	// revealed
	// true
	// 1 09:01:00 staff:42 vault.reveal subject:cust-42 {"field":"iban","purpose":"refund, ticket 7"}
	// checkpoint 2
	// audit log OK: 2 entries verified, <nil>
}
