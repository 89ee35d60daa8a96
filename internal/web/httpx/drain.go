package httpx

import "context"

// drainKey is the context key of the channel WithDrain sets.
type drainKey struct{}

// WithDrain returns ctx carrying drain, a channel the server closes when it
// begins to shut down. A server sets it as the base context of its
// connections, so that long-lived answers (a decision stream, a long poll)
// end at once and their clients reconnect elsewhere, instead of holding
// the graceful shutdown until its timeout. Other requests are left to
// finish: their contexts are not cancelled.
func WithDrain(ctx context.Context, drain <-chan struct{}) context.Context {
	return context.WithValue(ctx, drainKey{}, drain)
}

// Draining returns the channel closed when the server serving ctx's request
// begins to shut down; a nil channel (never ready) when the server set
// none.
func Draining(ctx context.Context) <-chan struct{} {
	drain, _ := ctx.Value(drainKey{}).(<-chan struct{})
	return drain
}
