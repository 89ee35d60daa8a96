package staff

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/steward-dev/steward/internal/errs"
	"github.com/steward-dev/steward/internal/ratelimit"
)

// Argon2Params are the cost parameters of new password hashes. Hashes
// carry their own parameters, so raising them later keeps old hashes valid.
type Argon2Params struct {
	Time    uint32
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultArgon2 follows RFC 9106's second recommended option (64 MiB, 3
// passes), with the parallelism of a small server.
var DefaultArgon2 = Argon2Params{Time: 3, Memory: 64 * 1024, Threads: 2}

const argonKeyLen = 32

// MinPasswordLength is the shortest password accepted (NIST SP 800-63B
// asks for at least 8; staff guard personal data, so more).
const MinPasswordLength = 12

// hashPassword returns a PHC-format argon2id hash.
func hashPassword(password string, p Argon2Params) (string, error) {
	var salt [16]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt[:], p.Time, p.Memory, p.Threads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		enc.EncodeToString(salt[:]), enc.EncodeToString(key)), nil
}

var errBadHash = errors.New("malformed password hash")

// checkPassword reports whether password matches a PHC argon2id hash,
// reading the parameters from the hash so that they can be raised later.
func checkPassword(encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil {
		return false, errBadHash
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(password), salt, time, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// ErrBusy refuses a sign-in (or a password change) when the server is
// already running as many password hashes as it can afford and the short
// queue in front of them is full: the caller answers 503 with Retry-After.
var ErrBusy = errs.New(errs.CodeUnavailable, "the server is busy checking other sign-ins; please try again in a few seconds").Keyed("busy")

// RetryAfter is how long a caller refused with ErrBusy should wait.
func (s *Service) RetryAfter() time.Duration {
	return max(s.hashes.Wait().Round(time.Second), time.Second)
}

// HashStats returns the counters of the password hashing gate.
func (s *Service) HashStats() ratelimit.GateStats { return s.hashes.Stats() }

// hash hashes a new password in one of the service's hash slots.
func (s *Service) hash(ctx context.Context, password string) (string, error) {
	var hash string
	var err error
	if gateErr := s.hashes.Do(ctx, func() {
		if s.hashHook != nil {
			s.hashHook()
		}
		hash, err = hashPassword(password, s.argon)
	}); gateErr != nil {
		return "", gateError(gateErr)
	}
	return hash, err
}

// check checks a password against a hash in one of the service's hash slots.
func (s *Service) check(ctx context.Context, encoded, password string) (bool, error) {
	var ok bool
	var err error
	if gateErr := s.hashes.Do(ctx, func() {
		if s.hashHook != nil {
			s.hashHook()
		}
		ok, err = checkPassword(encoded, password)
	}); gateErr != nil {
		return false, gateError(gateErr)
	}
	return ok, err
}

func gateError(err error) error {
	if errors.Is(err, ratelimit.ErrBusy) {
		return ErrBusy
	}
	return fmt.Errorf("password check: %w", err)
}

// checkNewPassword puts what is wrong with a new password under
// "password" in problems.
func checkNewPassword(problems errs.Problems, password, email string) {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLength:
		problems.Add("password", "password_too_short", "min", MinPasswordLength)
	case len(password) > 1024:
		problems.Add("password", "password_too_long", "max", 1024)
	case strings.EqualFold(password, email):
		problems.Add("password", "password_is_email")
	}
}
