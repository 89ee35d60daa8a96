// Package auth carries the caller's identity through a request: the API key
// that authenticated it. The web layer puts it there after checking the
// route's permission; handlers read it to narrow what a key may touch.
package auth

import (
	"context"

	"github.com/steward-dev/steward/internal/apikey"
)

type keyCtx struct{}

// WithKey returns ctx carrying the caller's key.
func WithKey(ctx context.Context, k *apikey.Key) context.Context {
	return context.WithValue(ctx, keyCtx{}, k)
}

// Key returns the caller's key, nil for public routes.
func Key(ctx context.Context) *apikey.Key {
	k, _ := ctx.Value(keyCtx{}).(*apikey.Key)
	return k
}
