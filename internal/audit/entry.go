package audit

import (
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/steward-dev/steward/internal/errs"
)

// Hash is a SHA-256 value: an entry's hash, or a checkpoint's root.
type Hash [sha256.Size]byte

// GenesisHash is the previous hash of entry 1 and the root of the empty
// log: 32 zero bytes.
var GenesisHash Hash

// String returns the hash in lowercase hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Base64 returns the hash in standard base64, as checkpoints carry it.
func (h Hash) Base64() string { return base64.StdEncoding.EncodeToString(h[:]) }

// MarshalText encodes the hash in lowercase hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

var (
	_ encoding.TextMarshaler = Hash{}
	_ fmt.Stringer           = Hash{}
	_ fmt.Stringer           = Actor{}
	_ fmt.Stringer           = Target{}
)

// hashFrom copies b into a Hash; ok is false when b is not 32 bytes long,
// which a stored row can only be if it was tampered with.
func hashFrom(b []byte) (h Hash, ok bool) {
	copy(h[:], b)
	return h, len(b) == len(h)
}

// The kinds of actor and target that Steward itself records. Other packages
// may use other kinds that match [a-z][a-z0-9_]*.
const (
	KindStaff   = "staff"
	KindAPIKey  = "api_key"
	KindSystem  = "system"
	KindSubject = "subject"
)

// Actor is who did something: a staff member, an API key, a customer, or
// the system itself (Kind "system", no ID).
type Actor struct {
	Kind string
	ID   string
}

// Staff returns the actor for a staff member.
func Staff(id string) Actor { return Actor{Kind: KindStaff, ID: id} }

// APIKey returns the actor for an API key, named by its key id (never the
// secret).
func APIKey(id string) Actor { return Actor{Kind: KindAPIKey, ID: id} }

// System returns the actor for Steward's own jobs and start-up work.
func System() Actor { return Actor{Kind: KindSystem} }

// String returns "kind:id", or the kind alone when there is no id.
func (a Actor) String() string { return joinRef(a.Kind, a.ID) }

// Target is what an act was done to: a subject, a staff member, a key...
// The zero Target means the act has none (a sign-in attempt, say).
type Target struct {
	Kind string
	ID   string
}

// Subject returns the target for a data subject (a customer) by Steward's
// subject id.
func Subject(id string) Target { return Target{Kind: KindSubject, ID: id} }

// String returns "kind:id", the kind alone when there is no id, or "" for
// no target.
func (t Target) String() string { return joinRef(t.Kind, t.ID) }

// IsZero reports whether the target is empty.
func (t Target) IsZero() bool { return t.Kind == "" && t.ID == "" }

func joinRef(kind, id string) string {
	if id == "" {
		return kind
	}
	return kind + ":" + id
}

// Entry is an act to record. Append assigns the sequence number, the time and
// the hashes.
type Entry struct {
	Actor  Actor
	Action string // dotted verb: "vault.reveal", "staff.sign_in_failed", "keys.rotate"
	Target Target
	// Details holds facts about the act. It is built with NewDetails, which
	// refuses the obvious places for personal data; see Details.
	Details Details
}

// Stored is an entry as the log holds it.
type Stored struct {
	Seq int64
	At  time.Time // UTC, microsecond precision
	Entry
	PrevHash Hash
	Hash     Hash
}

// Limits on entry fields.
const (
	maxKindLen   = 32
	maxIDLen     = 256
	maxActionLen = 128
)

var (
	kindPattern   = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	actionPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)
)

// Validate checks the fields of e and names each one at fault.
func (e *Entry) Validate() error {
	problems := map[string]string{}
	checkRef(problems, "actor", e.Actor.Kind, e.Actor.ID, e.Actor.Kind == KindSystem)
	if e.Target != (Target{}) {
		checkRef(problems, "target", e.Target.Kind, e.Target.ID, false)
	}
	switch {
	case len(e.Action) > maxActionLen:
		problems["action"] = fmt.Sprintf("at most %d characters", maxActionLen)
	case !actionPattern.MatchString(e.Action):
		problems["action"] = `must be a dotted verb of lowercase words, such as "vault.reveal"`
	case !ActionRegistered(e.Action):
		// Refused rather than written: an action the registry does not
		// declare has no description for the reader of the log, and
		// the tests that pass through the act find it before a release.
		problems["action"] = fmt.Sprintf("%q is not a registered audit action: declare it in internal/audit/actions.go", e.Action)
	}
	if len(problems) > 0 {
		return errs.Fields(problems)
	}
	return nil
}

func checkRef(problems map[string]string, field, kind, id string, idOptional bool) {
	switch {
	case len(kind) > maxKindLen || !kindPattern.MatchString(kind):
		problems[field+".kind"] = fmt.Sprintf("must be 1 to %d lowercase letters, digits or _, starting with a letter", maxKindLen)
	}
	switch {
	case id == "" && !idOptional:
		problems[field+".id"] = "must not be empty"
	case len(id) > maxIDLen:
		problems[field+".id"] = fmt.Sprintf("at most %d bytes", maxIDLen)
	case !utf8.ValidString(id) || strings.ContainsFunc(id, unicode.IsControl):
		problems[field+".id"] = "must be UTF-8 text without control characters"
	}
}

// entryDomain starts every hashed encoding so that an entry hash can never
// be mistaken for a hash of anything else.
const entryDomain = "steward.audit.entry.v1\x00"

// ComputeHash returns the hash of s's fields and s.PrevHash, as the package
// comment defines it. s.Hash is not read.
func (s *Stored) ComputeHash() Hash { return s.hashAt(s.Seq) }

// hashAt is ComputeHash with another sequence number: what the hash would be
// had the entry been written at seq. Verify uses it to tell a moved entry
// from a changed one.
func (s *Stored) hashAt(seq int64) Hash {
	details := s.Details.String()
	n := len(entryDomain) + 8 + 8 + 6*4 + len(s.Actor.Kind) + len(s.Actor.ID) + len(s.Action) +
		len(s.Target.Kind) + len(s.Target.ID) + len(details) + len(s.PrevHash)
	var stack [512]byte
	buf := stack[:0]
	if n > len(stack) {
		buf = make([]byte, 0, n)
	}
	buf = append(buf, entryDomain...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(seq))
	buf = binary.BigEndian.AppendUint64(buf, uint64(s.At.UnixMicro()))
	for _, field := range [...]string{s.Actor.Kind, s.Actor.ID, s.Action, s.Target.Kind, s.Target.ID, details} {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(field)))
		buf = append(buf, field...)
	}
	buf = append(buf, s.PrevHash[:]...)
	return sha256.Sum256(buf)
}

type actorCtx struct{}

// WithActor returns ctx carrying who acts in it: the web layer sets the
// API key or staff member of a request, so that domain services can name
// them in the entries they write.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorCtx{}, a)
}

// ActorFrom returns the actor of ctx, or the system when none was set.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorCtx{}).(Actor); ok {
		return a
	}
	return System()
}
