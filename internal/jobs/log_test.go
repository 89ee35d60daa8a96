package jobs

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestRiverReportsAtDebug replays River's producer report (logged at INFO
// every five seconds per queue): at the default level it no longer
// reaches the log; at debug it does, as DEBUG; River's other messages keep
// their level.
func TestRiverReportsAtDebug(t *testing.T) {
	report := func(l *slog.Logger) {
		l.InfoContext(context.Background(), "producer: Producer job counts", slog.Int("num_completed_jobs", 0), slog.String("queue", "default"))
	}
	cases := []struct {
		name  string
		level slog.Level
		log   func(*slog.Logger)
		want  string // "" for nothing logged
	}{
		{"report at info", slog.LevelInfo, report, ""},
		{"report at debug", slog.LevelDebug, report, "level=DEBUG msg=\"producer: Producer job counts\""},
		{"other info", slog.LevelInfo, func(l *slog.Logger) { l.Info("client: River client started") }, "level=INFO msg=\"client: River client started\""},
		{"warning", slog.LevelWarn, func(l *slog.Logger) { l.With("queue", "default").Warn("producer: job failed") }, "level=WARN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			c.log(riverLogger(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: c.level}))))
			if c.want == "" && out.Len() > 0 {
				t.Fatalf("logged %q", out.String())
			}
			if c.want != "" && !strings.Contains(out.String(), c.want) {
				t.Fatalf("logged %q, want %q", out.String(), c.want)
			}
		})
	}
}
