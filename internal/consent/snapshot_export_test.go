package consent

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"testing"
)

// FollowForTest makes one pass of the follower.
func FollowForTest(s *Service) error {
	_, err := s.follow(context.Background(), readAll)
	return err
}

// SnapshotHoldsSubject reports whether the snapshot file at path holds
// the subject's key (under the file's SipHash key) anywhere in its bytes.
func SnapshotHoldsSubject(tb testing.TB, path, subject string) bool {
	tb.Helper()
	x, _, _, err := readSnapshot(path)
	if err != nil {
		tb.Fatalf("read snapshot: %v", err)
	}
	file, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	k := x.key(subject)
	return bytes.Contains(file, binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, k.A), k.B))
}
