package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/app"
	"github.com/steward-dev/steward/internal/config"
	"github.com/steward-dev/steward/internal/receipt"
)

func runReceipt(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(env.stderr, "Usage: steward receipt verify [--jwks URL|FILE] FILE|-")
		return errUsage
	}
	fs := newFlags(env, "receipt verify", "receipt verify [--jwks URL|FILE] FILE|-")
	jwksFrom := fs.String("jwks", "", "JWKS to verify against: a URL such as https://steward.example/.well-known/jwks.json, or a file (default: the signing key in the data directory)")
	loader := config.RegisterOnly(fs, "data-dir", "signing-key")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	var raw []byte
	var err error
	if name := fs.Arg(0); name == "-" {
		raw, err = io.ReadAll(io.LimitReader(env.stdin, 1<<20))
	} else {
		raw, err = os.ReadFile(name)
	}
	if err != nil {
		return fmt.Errorf("read receipt: %w", err)
	}
	jwks, err := loadJWKS(ctx, env, *jwksFrom, loader)
	if err != nil {
		return err
	}
	// A saved breach notice is signed by the same key: one command checks
	// both, told apart by the version the payload names.
	doc, err := receipt.VerifyDocument(strings.TrimSpace(string(raw)), jwks)
	if err != nil {
		return err
	}
	out, _ := json.MarshalIndent(doc, "", "  ")
	fmt.Fprintf(env.stdout, "%s\n", out)
	if _, ok := doc.(*receipt.Notice); ok {
		fmt.Fprintln(env.stderr, "notice verifies")
	} else {
		fmt.Fprintln(env.stderr, "receipt verifies")
	}
	return nil
}

func loadJWKS(ctx context.Context, env *environment, from string, loader *config.Loader) ([]byte, error) {
	switch {
	case strings.HasPrefix(from, "http://"), strings.HasPrefix(from, "https://"):
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, from, nil)
		if err != nil {
			return nil, fmt.Errorf("--jwks: %w", err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetch JWKS: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("fetch JWKS: %s answered %s", from, resp.Status)
		}
		return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	case from != "":
		data, err := os.ReadFile(from)
		if err != nil {
			return nil, fmt.Errorf("--jwks: %w", err)
		}
		return data, nil
	}
	cfg, err := loader.Load(env.getenv)
	if err != nil {
		return nil, err
	}
	if cfg.SigningKeyFile == "" {
		if _, err := os.Stat(cfg.DataDir + "/" + receipt.KeyFile); err != nil {
			return nil, fmt.Errorf("no --jwks given and no signing key in %s", cfg.DataDir)
		}
	}
	key, err := app.LoadSigningKey(cfg)
	if err != nil {
		return nil, err
	}
	signer, err := receipt.NewSigner(key)
	if err != nil {
		return nil, err
	}
	return signer.JWKS(), nil
}
