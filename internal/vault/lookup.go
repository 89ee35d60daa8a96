package vault

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/steward-dev/steward/internal/db"
	"github.com/steward-dev/steward/internal/errs"
)

// lookupFields are the field names whose values staff may search by exact
// match, each with how a value is normalised before it is hashed. Staff
// find a customer by the address they wrote from; nobody browses a list.
var lookupFields = map[string]func(string) string{
	"email": func(s string) string { return strings.ToLower(strings.TrimSpace(s)) },
}

// Searchable reports whether a field name has a lookup index.
func Searchable(name string) bool { _, ok := lookupFields[name]; return ok }

// lookupHash is the blind index value of a field: HMAC-SHA256 under the
// sealed lookup key, so equal values match and the table reveals nothing.
func (v *Vault) lookupHash(ctx context.Context, name string, value []byte) ([]byte, error) {
	normalise, ok := lookupFields[name]
	if !ok {
		return nil, nil
	}
	key, err := v.lookupKey(ctx)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(name))
	mac.Write([]byte{0})
	mac.Write([]byte(normalise(string(value))))
	return mac.Sum(nil), nil
}

// BlindIndex returns the lookup hash of value for a searchable field name
// (such as "email"): equal values after normalisation give equal hashes,
// and the hash tells nothing without the vault's key. Other packages use it
// to match a person they hold no plaintext for (a request filed from an
// email address).
func (v *Vault) BlindIndex(ctx context.Context, name, value string) ([]byte, error) {
	if _, err := v.ring(); err != nil {
		return nil, err
	}
	if !Searchable(name) {
		return nil, errs.Invalid("field", "%q has no lookup index", name)
	}
	return v.lookupHash(ctx, name, []byte(value))
}

// Find returns the subjects whose field name holds value exactly (after
// normalisation, such as case for an email address). Only searchable
// fields can be found; the answer never lists more than 20 subjects.
func (v *Vault) Find(ctx context.Context, name, value string) ([]string, error) {
	if _, err := v.ring(); err != nil {
		return nil, err
	}
	if !Searchable(name) {
		return nil, errs.Invalid("field", "%q has no lookup index", name)
	}
	hash, err := v.lookupHash(ctx, name, []byte(value))
	if err != nil {
		return nil, err
	}
	rows, err := v.db.QueryContext(ctx, `SELECT subject_id FROM vault_lookups WHERE name = $1 AND hash = $2 ORDER BY subject_id LIMIT 20`, name, hash)
	if err != nil {
		return nil, db.Classify(fmt.Errorf("vault: find: %w", err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("vault: find: %w", err)
		}
		out = append(out, id)
	}
	return out, db.Classify(rows.Err())
}
