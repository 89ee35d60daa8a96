package recovery

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// stateMagic opens the plaintext of every backup this package writes.
const stateMagic = "steward-state/1\n"

// The sections of a state stream, in order.
const (
	sectionErasures = "erasures"
	sectionSnapshot = "snapshot"
)

// maxBlock bounds one block of a section.
const maxBlock = 1 << 20

// errState is a state stream that is not what this package writes.
var errState = errors.New("backup contents: not a Steward state stream, or damaged")

// sectionWriter frames what is written to it as blocks of one section.
type sectionWriter struct {
	w   *bufio.Writer
	buf []byte
}

func newSection(w *bufio.Writer, name string) (*sectionWriter, error) {
	if _, err := fmt.Fprintf(w, "section %s\n", name); err != nil {
		return nil, err
	}
	return &sectionWriter{w: w, buf: make([]byte, 0, 64<<10)}, nil
}

func (s *sectionWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		take := min(cap(s.buf)-len(s.buf), len(p))
		s.buf = append(s.buf, p[:take]...)
		p = p[take:]
		if len(s.buf) == cap(s.buf) {
			if err := s.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (s *sectionWriter) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	var size [4]byte
	binary.BigEndian.PutUint32(size[:], uint32(len(s.buf)))
	if _, err := s.w.Write(size[:]); err != nil {
		return err
	}
	_, err := s.w.Write(s.buf)
	s.buf = s.buf[:0]
	return err
}

// Close writes what is buffered and the empty block that ends the section.
func (s *sectionWriter) Close() error {
	if err := s.flush(); err != nil {
		return err
	}
	_, err := s.w.Write([]byte{0, 0, 0, 0})
	return err
}

// stateReader reads a state stream section by section.
type stateReader struct{ r *bufio.Reader }

func newStateReader(r io.Reader) (*stateReader, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	magic := make([]byte, len(stateMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != stateMagic {
		return nil, errState
	}
	return &stateReader{r: br}, nil
}

// section returns a reader of the next section, which must be name; it
// ends (io.EOF) at the section's end, and fails on a damaged frame.
func (s *stateReader) section(name string) (io.Reader, error) {
	line, err := s.r.ReadString('\n')
	if err != nil || line != "section "+name+"\n" {
		return nil, fmt.Errorf("%w: want section %q", errState, name)
	}
	return &sectionReader{r: s.r}, nil
}

// end checks that nothing follows the last section.
func (s *stateReader) end() error {
	if _, err := s.r.ReadByte(); err != io.EOF {
		return fmt.Errorf("%w: data after the last section", errState)
	}
	return nil
}

type sectionReader struct {
	r    *bufio.Reader
	left int
	done bool
}

func (s *sectionReader) Read(p []byte) (int, error) {
	for s.left == 0 {
		if s.done {
			return 0, io.EOF
		}
		var size [4]byte
		if _, err := io.ReadFull(s.r, size[:]); err != nil {
			return 0, fmt.Errorf("%w: a section is cut short", errState)
		}
		n := binary.BigEndian.Uint32(size[:])
		if n > maxBlock {
			return 0, fmt.Errorf("%w: a block of %d bytes", errState, n)
		}
		if n == 0 {
			s.done = true
			continue
		}
		s.left = int(n)
	}
	if len(p) > s.left {
		p = p[:s.left]
	}
	n, err := s.r.Read(p)
	s.left -= n
	if err == io.EOF {
		return n, fmt.Errorf("%w: a section is cut short", errState)
	}
	return n, err
}

// drain reads r to its end, so that the stream can go on to the next
// section even when the section's reader stopped early.
func drain(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
