package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/audit"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/staff"
)

// runStaff manages staff accounts from the command line: the first
// administrator is made here, the others in the console.
func runStaff(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(env.stderr, "Usage: steward staff create --email EMAIL --name NAME [--role ROLE] [--password-stdin] [flags]")
		return errUsage
	}
	fs := newFlags(env, "staff create", "staff create --email EMAIL --name NAME [--role ROLE] [--password-stdin] [flags]")
	loader := config.RegisterOnly(fs, config.VaultSettings("password-memory", "password-time")...)
	email := fs.String("email", "", "the staff member's email address (their sign-in name)")
	name := fs.String("name", "", "the staff member's name")
	role := fs.String("role", string(staff.RoleAdmin), "admin, privacy_officer, security_officer, support or analyst")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input; without it a random password (130 bits) is generated and printed")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	password := rand.Text() // 26 base32 characters, 130 bits
	if *fromStdin {
		line, err := bufio.NewReader(env.stdin).ReadString('\n')
		if err != nil && line == "" {
			return errors.New("--password-stdin: no password on standard input")
		}
		password = strings.TrimRight(line, "\r\n")
	}
	cfg, err := loader.Load(env.getenv)
	if err != nil {
		return err
	}
	store, v, err := openVault(ctx, env, loader)
	if err != nil {
		return err
	}
	defer store.Close()
	defer v.Close()
	if v.Sealed() {
		return errors.New("the vault is sealed: staff TOTP secrets are sealed by the master key; set STEWARD_MASTER_KEY or --master-key-file")
	}
	log, err := audit.New(audit.Config{DB: store})
	if err != nil {
		return err
	}
	accounts, err := app.OpenStaff(cfg, store, v, log, nil)
	if err != nil {
		return err
	}
	created, err := accounts.Create(ctx, audit.System(), staff.NewAccount{Email: *email, Name: *name, Role: staff.Role(*role), Password: password})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "staff member %s (%s, %s) created\n", created.ID, created.Email, created.Role)
	if !*fromStdin {
		fmt.Fprintf(env.stdout, "password: %s\n", password)
	}
	fmt.Fprintf(env.stdout, "TOTP secret: %s\nTOTP URI: %s\n", created.TOTPSecret, created.TOTPURI)
	fmt.Fprintln(env.stdout, "Add the secret to an authenticator app, then sign in at /admin/signin. Neither is shown again.")
	return nil
}
