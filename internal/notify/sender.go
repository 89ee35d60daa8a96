package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Sender sends a rendered message. Mailer sends over SMTP; DemoDrop writes
// to a directory, for the demo.
type Sender interface {
	Send(ctx context.Context, msg Message) error
}

var (
	_ Sender = (*Mailer)(nil)
	_ Sender = (*DemoDrop)(nil)
)

// DemoDrop "sends" each message by writing its text part to a file in Dir,
// so that `serve --demo` works without an SMTP server. The files hold
// sign-in codes: a demo only, never real customers.
type DemoDrop struct {
	Dir string
	Now func() time.Time
}

// Send writes msg to Dir/TIME-RANDOM.txt.
func (d *DemoDrop) Send(_ context.Context, msg Message) error {
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return fmt.Errorf("demo mail: %w", err)
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:]) + ".txt"
	text := fmt.Sprintf("To: %s\nSubject: %s\n\n%s", msg.To, msg.Subject, strings.TrimSpace(msg.Text)+"\n")
	if err := os.WriteFile(filepath.Join(d.Dir, name), []byte(text), 0o600); err != nil {
		return fmt.Errorf("demo mail: %w", err)
	}
	return nil
}
