package jobs

import (
	"context"
	"log/slog"
	"strings"
)

// riverLogger is the logger River gets: log, except that River's periodic
// reports (each producer's "job counts", every few seconds and per queue)
// are lowered from INFO to DEBUG, so that an idle server's log stays quiet
// at the default level.
func riverLogger(log *slog.Logger) *slog.Logger {
	return slog.New(&quietHandler{next: log.Handler()})
}

// chatty reports whether a River message is a periodic report.
func chatty(msg string) bool {
	return strings.HasSuffix(msg, "Producer job counts")
}

type quietHandler struct{ next slog.Handler }

func (h *quietHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo && chatty(r.Message) {
		if !h.next.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return h.next.Handle(ctx, r)
}

func (h *quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &quietHandler{next: h.next.WithAttrs(attrs)}
}

func (h *quietHandler) WithGroup(name string) slog.Handler {
	return &quietHandler{next: h.next.WithGroup(name)}
}
