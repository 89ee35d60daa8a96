package vault

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// TokenPrefix starts every token.
const TokenPrefix = "tok_"

// tokenBytes is the token's randomness: 192 bits, so tokens cannot be
// guessed, and 32 characters of unpadded base64url.
const tokenBytes = 24

var tokenLen = len(TokenPrefix) + base64.RawURLEncoding.EncodedLen(tokenBytes)

// ErrTokenNotFound is returned for a token that does not exist (never
// issued, revoked, or its field deleted, expired and purged, or its subject
// erased). The message does not repeat the token.
var ErrTokenNotFound = errs.New(errs.CodeNotFound, "token not found")

// Tokenize issues a new opaque token that stands for a field of subject:
// "tok_" and 32 random base64url characters. Only the token's SHA-256 is
// stored, so a copy of the database yields no usable token. A token
// survives KEK rotation and updates of the field; deleting the field or
// erasing the subject kills it. Each call issues a new token, recorded in
// the audit log (ActionTokenize) in the same transaction.
func (v *Vault) Tokenize(ctx context.Context, subject, name string) (string, error) {
	if _, err := v.ring(); err != nil {
		return "", err
	}
	if err := checkSubject(subject); err != nil {
		return "", err
	}
	if err := checkName(name); err != nil {
		return "", err
	}
	random := make([]byte, tokenBytes)
	rand.Read(random) // never fails (crypto/rand panics on an unusable source)
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(random)
	now := v.now()
	var found bool
	err := v.db.Tx(ctx, func(tx *sql.Tx) error {
		var expires sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT expires_at FROM vault_fields WHERE subject_id = $1 AND name = $2`, subject, name).Scan(&expires)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("vault: read field %q: %w", name, err)
		}
		if expires.Valid && expires.Int64 <= micros(now) {
			return nil
		}
		found = true
		// The foreign key on (subject_id, name) makes this fail if the field
		// is deleted concurrently.
		if _, err := tx.ExecContext(ctx, `INSERT INTO vault_tokens (token_hash, subject_id, name, created_at) VALUES ($1, $2, $3, $4)`,
			tokenHash(token), subject, name, micros(now)); err != nil {
			return fmt.Errorf("vault: store token: %w", err)
		}
		return v.record(ctx, tx, ActionTokenize, subject, map[string]any{"field": name})
	})
	if err != nil {
		return "", err
	}
	if !found {
		return "", v.missing(ctx, subject, errs.NotFound("field", name))
	}
	return token, nil
}

// Detokenize returns the field a token stands for, decrypted. The record
// names the subject and field, for the caller's audit entry.
func (v *Vault) Detokenize(ctx context.Context, token string) (Record, error) {
	ring, err := v.ring()
	if err != nil {
		return Record{}, err
	}
	subject, name, err := v.resolveToken(ctx, token)
	if err != nil {
		return Record{}, err
	}
	return v.get(ctx, ring, subject, name)
}

// RevokeToken deletes a token; the field stays.
func (v *Vault) RevokeToken(ctx context.Context, token string) error {
	if _, err := v.ring(); err != nil {
		return err
	}
	if !wellFormedToken(token) {
		return ErrTokenNotFound
	}
	return v.db.Tx(ctx, func(tx *sql.Tx) error {
		var subject, name string
		err := tx.QueryRowContext(ctx, `DELETE FROM vault_tokens WHERE token_hash = $1 RETURNING subject_id, name`, tokenHash(token)).Scan(&subject, &name)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrTokenNotFound
		}
		if err != nil {
			return fmt.Errorf("vault: revoke token: %w", err)
		}
		return v.record(ctx, tx, ActionRevokeToken, subject, map[string]any{"field": name})
	})
}

func (v *Vault) resolveToken(ctx context.Context, token string) (subject, name string, err error) {
	if !wellFormedToken(token) {
		return "", "", ErrTokenNotFound
	}
	err = v.db.QueryRowContext(ctx, `SELECT subject_id, name FROM vault_tokens WHERE token_hash = $1`, tokenHash(token)).Scan(&subject, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", ErrTokenNotFound
	}
	if err != nil {
		return "", "", db.Classify(fmt.Errorf("vault: read token: %w", err))
	}
	return subject, name, nil
}

func wellFormedToken(token string) bool {
	if len(token) != tokenLen || !strings.HasPrefix(token, TokenPrefix) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token[len(TokenPrefix):])
	return err == nil
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
