// Package target is where backups and the erasure journal are kept: a
// directory (removable media, a mount) or S3-compatible object storage
// (s3.go). Every target is write-once: Put refuses a name that exists, so a
// backup or a journal entry, once written, is never replaced in place.
//
//	t, err := target.Open(ctx, "/mnt/offline/steward")
//	err = t.Put(ctx, "2026-12-07T0543Z/manifest.json", r)
package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// ErrExists is returned by Put for a name that is already stored.
var ErrExists = errors.New("already exists")

// ErrNotFound is returned by Get and Delete for a name that is not stored.
var ErrNotFound = errors.New("not found")

// Object is one stored object, as List reports it.
type Object struct {
	Name     string
	Size     int64
	Modified time.Time
}

// Target is a write-once store of named objects. Names are slash-separated
// relative paths of letters, digits and "-_.", never starting with a dot.
type Target interface {
	// Put stores everything read from r under name. It fails with ErrExists
	// when name is already stored, and leaves nothing under name when it
	// fails (a reader's error included): a half-written object never shows.
	Put(ctx context.Context, name string, r io.Reader) error
	// Get opens the object stored under name (ErrNotFound when absent).
	Get(ctx context.Context, name string) (io.ReadCloser, error)
	// List returns the objects whose names start with prefix, sorted by name.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Delete removes the object stored under name (ErrNotFound when absent).
	Delete(ctx context.Context, name string) error
	// String names the target for messages, without any credential.
	String() string
}

// Open returns the target that spec names: a directory path (created if
// missing), or s3://BUCKET/PREFIX with the options S3OptionsFromEnv reads.
func Open(ctx context.Context, spec string) (Target, error) {
	switch {
	case spec == "":
		return nil, errors.New("target: no location given")
	case strings.HasPrefix(spec, "s3://"):
		opts, err := S3OptionsFromEnv(os.Getenv)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", spec, err)
		}
		return OpenS3(ctx, spec, opts)
	case strings.Contains(spec, "://"):
		return nil, fmt.Errorf("target %s: unknown scheme (want a directory or s3://bucket/prefix)", spec)
	}
	return OpenDir(spec)
}

// CheckName refuses a name that could leave the target or hide an object.
func CheckName(name string) error {
	if name == "" || len(name) > 512 {
		return fmt.Errorf("object name %q: empty or too long", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part[0] == '.' {
			return fmt.Errorf("object name %q: empty part or part starting with a dot", name)
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
				return fmt.Errorf("object name %q: character %q not allowed", name, r)
			}
		}
	}
	return nil
}
