package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/receipt"
	"github.com/steward-dev/steward/internal/report"
	"github.com/steward-dev/steward/internal/review"
	"github.com/steward-dev/steward/internal/staff"
)

// runReport makes or checks the signed monthly report: `steward report
// monthly --month 2027-01 [--out FILE]` and `steward report verify [--jwks
// URL|FILE] FILE|-`.
func runReport(ctx context.Context, env *environment, args []string) error {
	switch {
	case len(args) > 0 && args[0] == "monthly":
		return runReportMonthly(ctx, env, args[1:])
	case len(args) > 0 && args[0] == "verify":
		return runReportVerify(ctx, env, args[1:])
	}
	fmt.Fprintln(env.stderr, "Usage: steward report monthly --month YYYY-MM [--out FILE] | steward report verify [--jwks URL|FILE] FILE|-")
	return errUsage
}

func runReportMonthly(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "report monthly", "report monthly --month YYYY-MM [--out FILE] [flags]\n\n"+
		"Prints the signed monthly report of a calendar month (UTC) as JSON: {\"jws\": ..., \"document\": ...},\n"+
		"the document counted from the audit log and signed with the server's receipt key. Check it with\n"+
		"'steward report verify'.")
	loader := config.RegisterOnly(fs, config.StoreSettings("signing-key")...)
	monthFlag := fs.String("month", "", "the month to report, such as 2027-01 (required)")
	out := fs.String("out", "", "write the report to this file instead of standard output")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("report monthly: unexpected argument %q", fs.Arg(0))
	}
	if *monthFlag == "" {
		return errors.New("--month: required, such as --month 2027-01")
	}
	month, err := report.ParseMonth(*monthFlag)
	if err != nil {
		return fmt.Errorf("--month: %q is not a month such as 2027-01", *monthFlag)
	}
	store, cfg, err := openStore(ctx, env, loader)
	if err != nil {
		return err
	}
	defer store.Close()
	key, err := app.LoadSigningKey(cfg)
	if err != nil {
		return err
	}
	signer, err := receipt.NewSigner(key)
	if err != nil {
		return err
	}
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		return err
	}
	// The command reads the programme and the reviews; it signs nobody in,
	// so the staff service gets no TOTP key.
	accounts, err := staff.NewService(staff.Config{DB: store, Secrets: noSecrets{}, Audit: log})
	if err != nil {
		return err
	}
	reviews, err := review.New(review.Config{DB: store, Audit: log, Staff: accounts})
	if err != nil {
		return err
	}
	reports, err := report.New(report.Config{Audit: log, DB: store, Signer: signer, Training: accounts.Programme, Names: accounts.List, Reviews: reviews})
	if err != nil {
		return err
	}
	signed, err := reports.Signed(ctx, month)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = env.stdout.Write(signed.Body)
		return err
	}
	if err := os.WriteFile(*out, signed.Body, 0o600); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	fmt.Fprintf(env.stderr, "monthly report %s written to %s\n", month, *out)
	return nil
}

func runReportVerify(ctx context.Context, env *environment, args []string) error {
	raw, jwks, err := signedInput(ctx, env, "report verify", "report verify [--jwks URL|FILE] FILE|-", "report", 16<<20, args)
	if err != nil {
		return err
	}
	r, err := report.Verify([]byte(strings.TrimSpace(string(raw))), jwks)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "monthly report %s, generated %s, audit log up to entry %d: verifies\n", r.Month, r.GeneratedAt.Format("2006-01-02 15:04:05 UTC"), r.AuditHead.Seq)
	return nil
}

// noSecrets is the staff service's secret box in commands that sign no one
// in: it opens and seals nothing.
type noSecrets struct{}

func (noSecrets) Seal(context.Context, []byte, []byte) ([]byte, error) {
	return nil, errors.New("this command holds no TOTP key")
}

func (noSecrets) Open(context.Context, []byte, []byte) ([]byte, error) {
	return nil, errors.New("this command holds no TOTP key")
}
