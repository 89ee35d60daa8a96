package target

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 is a target in an S3-compatible bucket, under a prefix. Put is
// write-once: it checks that the name is free and sends If-None-Match: *, so
// a store that knows conditional writes refuses a second writer too. When
// the options ask for object lock, every object is stored under retention
// (write once, read many), and opening fails if the bucket cannot do it.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string // "" or ending in "/"
	lock   *ObjectLock
	now    func() time.Time
}

var _ Target = (*S3)(nil)

// S3Options say how to reach the store. Credentials never appear in
// messages.
type S3Options struct {
	Endpoint  string // host[:port]; default s3.amazonaws.com
	Region    string
	AccessKey string // empty: the machine's IAM role
	SecretKey string
	Token     string
	Insecure  bool        // plain http, for a store on a private network or a test
	Lock      *ObjectLock // nil: no retention
	// Transport, when set, carries the requests (tests).
	Transport http.RoundTripper
	Now       func() time.Time
}

// ObjectLock is the retention applied to every object Put stores.
type ObjectLock struct {
	Mode   string        // "GOVERNANCE" or "COMPLIANCE"
	Period time.Duration // objects are kept at least this long
}

// S3OptionsFromEnv reads the standard variables: AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, and Steward's
// STEWARD_S3_ENDPOINT (an S3-compatible store), STEWARD_S3_INSECURE=1 (http)
// and STEWARD_S3_LOCK_MODE with STEWARD_S3_LOCK_DAYS (object lock).
func S3OptionsFromEnv(getenv func(string) string) (S3Options, error) {
	opts := S3Options{
		Endpoint:  getenv("STEWARD_S3_ENDPOINT"),
		Region:    getenv("AWS_REGION"),
		AccessKey: getenv("AWS_ACCESS_KEY_ID"),
		SecretKey: getenv("AWS_SECRET_ACCESS_KEY"),
		Token:     getenv("AWS_SESSION_TOKEN"),
	}
	if opts.Region == "" {
		opts.Region = getenv("AWS_DEFAULT_REGION")
	}
	switch v := getenv("STEWARD_S3_INSECURE"); v {
	case "", "0", "false":
	case "1", "true":
		opts.Insecure = true
	default:
		return S3Options{}, fmt.Errorf("STEWARD_S3_INSECURE=%q: want 1 or 0", v)
	}
	mode, days := getenv("STEWARD_S3_LOCK_MODE"), getenv("STEWARD_S3_LOCK_DAYS")
	if mode != "" || days != "" {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 {
			return S3Options{}, fmt.Errorf("STEWARD_S3_LOCK_DAYS=%q: want a number of days", days)
		}
		opts.Lock = &ObjectLock{Mode: strings.ToUpper(mode), Period: time.Duration(n) * 24 * time.Hour}
	}
	return opts, nil
}

// OpenS3 opens the bucket that spec (s3://BUCKET/PREFIX) names. It checks
// that the bucket exists and, when opts.Lock is set, that it has object
// lock enabled.
func OpenS3(ctx context.Context, spec string, opts S3Options) (*S3, error) {
	bucket, prefix, err := parseS3Spec(spec)
	if err != nil {
		return nil, err
	}
	if opts.Lock != nil {
		if m := minio.RetentionMode(opts.Lock.Mode); !m.IsValid() || opts.Lock.Period < 24*time.Hour {
			return nil, fmt.Errorf("target %s: object lock wants mode GOVERNANCE or COMPLIANCE and at least a day", spec)
		}
	}
	endpoint := opts.Endpoint
	if endpoint == "" {
		endpoint = "s3.amazonaws.com"
	}
	var creds *credentials.Credentials
	if opts.AccessKey != "" || opts.SecretKey != "" {
		creds = credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, opts.Token)
	} else {
		creds = credentials.NewIAM("")
	}
	client, err := minio.New(endpoint, &minio.Options{
		Creds: creds, Secure: !opts.Insecure, Region: opts.Region, Transport: opts.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", spec, err)
	}
	s := &S3{client: client, bucket: bucket, prefix: prefix, lock: opts.Lock, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	exists, err := client.BucketExists(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", s, err)
	}
	if !exists {
		return nil, fmt.Errorf("target %s: no such bucket", s)
	}
	if opts.Lock != nil {
		enabled, _, _, _, err := client.GetObjectLockConfig(ctx, bucket)
		if err != nil || enabled != "Enabled" {
			return nil, fmt.Errorf("target %s: object lock asked for, but the bucket does not have it enabled", s)
		}
	}
	return s, nil
}

func parseS3Spec(spec string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(spec, "s3://")
	if !ok {
		return "", "", fmt.Errorf("target %s: not s3://bucket/prefix", spec)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if len(bucket) < 3 || len(bucket) > 63 || strings.Trim(bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
		return "", "", fmt.Errorf("target %s: bucket name %q is not valid", spec, bucket)
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		if err := CheckName(prefix); err != nil {
			return "", "", fmt.Errorf("target %s: prefix: %w", spec, err)
		}
		prefix += "/"
	}
	return bucket, prefix, nil
}

// String returns s3://BUCKET/PREFIX.
func (s *S3) String() string { return "s3://" + s.bucket + "/" + strings.TrimSuffix(s.prefix, "/") }

func (s *S3) key(name string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	return s.prefix + name, nil
}

// maxInMemoryPut is what Put reads into memory to learn an object's size;
// a larger object goes through a temporary file.
const maxInMemoryPut = 32 << 20

// Put stores everything read from r under name, once. The object is read
// whole (memory up to 32 MiB, a temporary file beyond) before anything is
// sent, so a reader that fails leaves nothing behind.
func (s *S3) Put(ctx context.Context, name string, r io.Reader) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	if _, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{}); err == nil {
		return fmt.Errorf("put %s: %w", name, ErrExists)
	} else if !isNotFound(err) {
		return fmt.Errorf("put %s: %w", name, err)
	}
	body, size, done, err := sized(ctx, r)
	if err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	defer done()
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream", SendContentMd5: true, DisableMultipart: true}
	opts.SetMatchETagExcept("*")
	if s.lock != nil {
		opts.Mode = minio.RetentionMode(s.lock.Mode)
		opts.RetainUntilDate = s.now().Add(s.lock.Period).UTC()
	}
	if _, err := s.client.PutObject(ctx, s.bucket, key, body, size, opts); err != nil {
		if resp := minio.ToErrorResponse(err); resp.StatusCode == http.StatusPreconditionFailed || resp.Code == "PreconditionFailed" {
			return fmt.Errorf("put %s: %w", name, ErrExists)
		}
		return fmt.Errorf("put %s: %w", name, err)
	}
	return nil
}

// sized returns r as a reader of known size, reading it whole first.
func sized(ctx context.Context, r io.Reader) (io.Reader, int64, func(), error) {
	r = contextReader{ctx, r}
	var buf bytes.Buffer
	n, err := io.CopyN(&buf, r, maxInMemoryPut+1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, nil, err
	}
	if n <= maxInMemoryPut {
		return bytes.NewReader(buf.Bytes()), n, func() {}, nil
	}
	tmp, err := os.CreateTemp("", "steward-put-*")
	if err != nil {
		return nil, 0, nil, err
	}
	done := func() { tmp.Close(); os.Remove(tmp.Name()) }
	size, err := io.Copy(tmp, io.MultiReader(&buf, r))
	if err == nil {
		_, err = tmp.Seek(0, io.SeekStart)
	}
	if err != nil {
		done()
		return nil, 0, nil, err
	}
	return tmp, size, done, nil
}

// Get opens the object stored under name.
func (s *S3) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	// GetObject is lazy: Stat makes the request, so absence shows here.
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		if isNotFound(err) {
			return nil, fmt.Errorf("get %s: %w", name, ErrNotFound)
		}
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	return obj, nil
}

// List returns the objects whose names start with prefix, sorted by name.
func (s *S3) List(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	for info := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if info.Err != nil {
			return nil, fmt.Errorf("list %s: %w", s, info.Err)
		}
		name := strings.TrimPrefix(info.Key, s.prefix)
		if CheckName(name) != nil {
			continue // not ours: a name Put could not have written
		}
		out = append(out, Object{Name: name, Size: info.Size, Modified: info.LastModified})
	}
	sortObjects(out)
	return out, nil
}

// Delete removes the object under name. Under object lock the store
// refuses until the retention ends.
func (s *S3) Delete(ctx context.Context, name string) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	if _, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{}); isNotFound(err) {
		return fmt.Errorf("delete %s: %w", name, ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	resp := minio.ToErrorResponse(err)
	return resp.StatusCode == http.StatusNotFound || resp.Code == "NoSuchKey"
}
