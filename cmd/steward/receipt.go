package main

import (
	"bytes"
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
		fmt.Fprintln(env.stderr, "Usage: steward receipt verify [--jwks URL|FILE] FILE|-   (a consent receipt, or a saved /transparency.json)")
		return errUsage
	}
	raw, jwks, err := signedInput(ctx, env, "receipt verify", "receipt verify [--jwks URL|FILE] FILE|-   (a consent receipt, or a saved /transparency.json)",
		"receipt", 1<<20, args[1:])
	if err != nil {
		return err
	}
	// A saved breach notice and a saved /transparency.json are signed by
	// the same key: one command checks all three, told apart by their form
	// (the transparency document is JSON holding a JWS) and by the version
	// the payload names.
	text := strings.TrimSpace(string(raw))
	if strings.HasPrefix(text, "{") {
		return verifyTransparency(env, []byte(text), jwks)
	}
	doc, err := receipt.VerifyDocument(text, jwks)
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

// verifyTransparency checks a saved /transparency.json: its JWS verifies
// against the key set, and its document is exactly what the JWS signs.
func verifyTransparency(env *environment, raw, jwks []byte) error {
	var saved struct {
		JWS      string          `json:"jws"`
		Document json.RawMessage `json:"document"`
	}
	if err := json.Unmarshal(raw, &saved); err != nil || saved.JWS == "" {
		return fmt.Errorf("%w: not a transparency document (want {\"jws\": ..., \"document\": ...})", receipt.ErrInvalid)
	}
	payload, err := receipt.VerifyPayload(saved.JWS, jwks)
	if err != nil {
		return err
	}
	if !bytes.Equal(payload, saved.Document) {
		return fmt.Errorf("%w: the document differs from what its JWS signs", receipt.ErrInvalid)
	}
	var doc struct {
		Version     int       `json:"version"`
		GeneratedAt time.Time `json:"generated_at"`
	}
	if err := json.Unmarshal(payload, &doc); err != nil || doc.Version < 1 {
		return fmt.Errorf("%w: the signed payload is not a transparency document", receipt.ErrInvalid)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, payload, "", "  "); err != nil {
		return fmt.Errorf("transparency document: %w", err)
	}
	fmt.Fprintf(env.stdout, "%s\n", out.Bytes())
	fmt.Fprintf(env.stderr, "transparency page version %d, generated %s, verifies\n", doc.Version, doc.GeneratedAt.UTC().Format(time.RFC3339))
	return nil
}

// signedInput parses a verify command's flags (--jwks, and the data
// directory's signing key as the default key set) and reads the one signed
// document it names, a file or - for standard input (at most limit bytes),
// with the key set to check it against.
func signedInput(ctx context.Context, env *environment, name, usage, what string, limit int64, args []string) (raw, jwks []byte, err error) {
	fs := newFlags(env, name, usage)
	jwksFrom := fs.String("jwks", "", "JWKS to verify against: a URL such as https://steward.example/.well-known/jwks.json, or a file (default: the signing key in the data directory)")
	loader := config.RegisterOnly(fs, "data-dir", "signing-key")
	if err := parse(fs, args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return nil, nil, errUsage
	}
	if file := fs.Arg(0); file == "-" {
		raw, err = io.ReadAll(io.LimitReader(env.stdin, limit))
	} else {
		raw, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", what, err)
	}
	jwks, err = loadJWKS(ctx, env, *jwksFrom, loader)
	return raw, jwks, err
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
