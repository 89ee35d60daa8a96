package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// This file is the minimal HTTP/1.1 client used by the workers.

// Limits of the client.
const (
	// readBufferSize is the size of each worker's read buffer, and so also
	// the longest status, header, or chunk-size line accepted.
	readBufferSize = 16 << 10
	// maxHeaderLines bounds the header lines of one response.
	maxHeaderLines = 1024
	// maxBodySize bounds a response body, so that a bogus Content-Length or
	// chunk size fails cleanly instead of exhausting memory.
	maxBodySize = 256 << 20
	// writeCopyLimit is the largest request body that is copied behind the
	// head and sent with a single write; larger bodies are sent with writev.
	writeCopyLimit = 32 << 10
	// dialTimeout bounds one connection attempt.
	dialTimeout = 5 * time.Second
)

// target is the parsed, validated destination and the pre-rendered start of
// every request.
type target struct {
	addr string // host:port to dial
	// head is the request line, Host, User-Agent and Config.Header, each
	// line terminated by CRLF; Content-Length and the blank line follow per
	// request.
	head []byte
	// sendLength: send "Content-Length: 0" for an empty body, as net/http
	// does for methods that usually carry one.
	sendLength bool
	// noBody: responses never have a body (HEAD).
	noBody bool
	// replayable: a request that failed because a reused connection had been
	// closed by the server before any response arrived may be sent once more
	// on a new connection (idempotent methods, or an Idempotency-Key header,
	// the same rule as net/http).
	replayable bool
}

// skipHeaders are Config.Header keys that the client sets itself.
var skipHeaders = []string{"Host", "Content-Length", "Transfer-Encoding", "Trailer"}

func newTarget(u *url.URL, method string, header http.Header) (*target, error) {
	if !isToken(method) {
		return nil, fmt.Errorf("loadgen: invalid method %q", method)
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	t := &target{
		addr:       net.JoinHostPort(u.Hostname(), port),
		sendLength: method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch,
		noBody:     method == http.MethodHead,
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		t.replayable = true
	}

	h := append([]byte(nil), method...)
	h = append(h, ' ')
	h = append(h, u.RequestURI()...)
	h = append(h, " HTTP/1.1\r\nHost: "...)
	h = append(h, u.Host...)
	h = append(h, "\r\n"...)
	keys := make([]string, 0, len(header))
	for k := range header {
		if !isToken(k) {
			return nil, fmt.Errorf("loadgen: invalid header name %q", k)
		}
		if !slices.Contains(skipHeaders, http.CanonicalHeaderKey(k)) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if header.Get("User-Agent") == "" {
		h = append(h, "User-Agent: steward-loadgen\r\n"...)
	}
	for _, k := range keys {
		switch http.CanonicalHeaderKey(k) {
		case "Idempotency-Key", "X-Idempotency-Key":
			t.replayable = true
		}
		for _, v := range header[k] {
			if !isFieldValue(v) {
				return nil, fmt.Errorf("loadgen: invalid value for header %q", k)
			}
			h = append(h, k...)
			h = append(h, ": "...)
			h = append(h, v...)
			h = append(h, "\r\n"...)
		}
	}
	t.head = h
	return t, nil
}

// isToken reports whether s is a non-empty RFC 9110 token (method, header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// isFieldValue reports whether v can be sent as a header value: no control
// characters other than tab, in particular no CR or LF.
func isFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// newDialer returns a dialer that can only connect to loopback addresses.
func newDialer() *net.Dialer {
	return &net.Dialer{
		Timeout:   dialTimeout,
		KeepAlive: -1, // connections are busy all the time
		// Re-check after name resolution so that "localhost" can never
		// reach a non-loopback address.
		Control: func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("loadgen: refusing to dial non-loopback address %s", address)
			}
			return nil
		},
	}
}

var errInterrupted = errors.New("interrupted")

// dial opens the worker's connection; its deadline is the end of the run.
func (w *worker) dial(ctx context.Context) error {
	conn, err := w.st.dialer.DialContext(ctx, "tcp", w.st.tgt.addr)
	if err != nil {
		return err
	}
	if err := conn.SetDeadline(w.st.hardEnd); err != nil {
		conn.Close()
		return err
	}
	w.mu.Lock()
	stopped := w.stopped
	if !stopped {
		w.conn = conn
	}
	w.mu.Unlock()
	if stopped {
		conn.Close()
		return errInterrupted
	}
	w.br.Reset(conn)
	w.served = 0
	return nil
}

// interrupt makes any blocked read or write of the worker return at once and
// prevents new connections. It may be called from any goroutine.
func (w *worker) interrupt() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	if w.conn != nil {
		w.conn.SetDeadline(time.Unix(1, 0))
	}
}

func (w *worker) closeConn() {
	w.mu.Lock()
	c := w.conn
	w.conn = nil
	w.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// do sends one request with the given body and reads the whole response, its
// body into w.buf. After an error the connection is closed; the next request
// dials a new one.
func (w *worker) do(ctx context.Context, body []byte) (int, error) {
	status, retry, err := w.roundTrip(ctx, body)
	if err != nil {
		w.closeConn()
		if retry && ctx.Err() == nil {
			status, _, err = w.roundTrip(ctx, body)
			if err != nil {
				w.closeConn()
			}
		}
	}
	return status, err
}

// roundTrip is one attempt of do. retry reports that the request failed only
// because the server had closed a reused connection, before any response
// arrived, and may be sent again.
func (w *worker) roundTrip(ctx context.Context, body []byte) (status int, retry bool, err error) {
	if w.conn == nil {
		if err := w.dial(ctx); err != nil {
			return 0, false, err
		}
	}
	reused := w.served > 0
	tgt := w.st.tgt

	req := w.req[:len(tgt.head)]
	if len(body) > 0 || tgt.sendLength {
		req = append(req, "Content-Length: "...)
		req = strconv.AppendInt(req, int64(len(body)), 10)
		req = append(req, "\r\n"...)
	}
	req = append(req, "\r\n"...)
	if len(body) <= writeCopyLimit {
		req = append(req, body...)
		w.req = req
		_, err = w.conn.Write(req)
	} else {
		w.req = req
		w.iov = [2][]byte{req, body}
		w.bufs = w.iov[:]
		_, err = w.bufs.WriteTo(w.conn)
		w.iov = [2][]byte{}
	}
	if err != nil {
		// Nothing complete reached the server, so it cannot have acted on
		// the request.
		return 0, reused && peerClosed(err), fmt.Errorf("writing request: %w", err)
	}
	if _, err := w.br.Peek(1); err != nil {
		return 0, reused && tgt.replayable && peerClosed(err), fmt.Errorf("reading response: %w", err)
	}
	status, err = w.readResponse()
	if err != nil {
		return status, false, err
	}
	w.served++
	return status, false, nil
}

// peerClosed reports whether err means that the server closed the connection.
func peerClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// readResponse reads a response (after any 1xx interim responses), leaves its
// body in w.buf and closes the connection if it cannot be reused.
func (w *worker) readResponse() (status int, err error) {
	var (
		keepAlive, closing bool
		length             int64 = -1
		te, chunked        bool
	)
	for {
		line, err := w.readLine()
		if err != nil {
			return 0, fmt.Errorf("reading response: %w", err)
		}
		var minor byte
		if status, minor, err = parseStatusLine(line); err != nil {
			return 0, err
		}
		keepAlive, closing = minor != '0', false
		length, te, chunked = -1, false, false
		for n := 0; ; n++ {
			if line, err = w.readLine(); err != nil {
				return status, fmt.Errorf("reading response header: %w", err)
			}
			if len(line) == 0 {
				break
			}
			if n == maxHeaderLines {
				return status, fmt.Errorf("response has more than %d header lines", maxHeaderLines)
			}
			if line[0] == ' ' || line[0] == '\t' {
				continue // obsolete line folding of a header we ignore
			}
			i := bytes.IndexByte(line, ':')
			if i <= 0 {
				return status, fmt.Errorf("malformed response header line %.100q", line)
			}
			name, value := line[:i], bytes.Trim(line[i+1:], " \t")
			switch {
			case equalFold(name, "content-length"):
				n, ok := parseLength(value)
				if !ok || length >= 0 && n != length {
					return status, fmt.Errorf("bad Content-Length %.100q", value)
				}
				length = n
			case equalFold(name, "transfer-encoding"):
				te = true
				chunked = lastToken(value, "chunked")
			case equalFold(name, "connection"):
				if hasToken(value, "close") {
					closing = true
				} else if hasToken(value, "keep-alive") {
					keepAlive = true
				}
			}
		}
		if status >= 200 {
			break
		}
		if status == http.StatusSwitchingProtocols {
			return status, errors.New("unexpected 101 Switching Protocols")
		}
		// Any other 1xx is an interim response; the final one follows.
	}
	keepAlive = keepAlive && !closing

	w.buf = w.buf[:0]
	switch {
	case w.st.tgt.noBody || status == http.StatusNoContent || status == http.StatusNotModified:
	case te && chunked:
		err = w.readChunked()
		if length >= 0 {
			keepAlive = false // RFC 9112 section 6.3: both framings is suspicious
		}
	case te: // not chunked: the body lasts until the server closes
		err, keepAlive = w.readUntilClose(), false
	case length >= 0:
		err = w.readFixed(length)
	default:
		err, keepAlive = w.readUntilClose(), false
	}
	if err != nil {
		return status, fmt.Errorf("reading response body: %w", err)
	}
	if !keepAlive {
		w.closeConn()
	}
	return status, nil
}

var errLineTooLong = fmt.Errorf("line longer than %d bytes", readBufferSize)

// readLine returns the next line without its line ending. It is valid only
// until the next read. Any EOF is unexpected.
func (w *worker) readLine() ([]byte, error) {
	line, err := w.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return nil, errLineTooLong
	case err == io.EOF:
		return nil, io.ErrUnexpectedEOF
	case err != nil:
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// parseStatusLine parses "HTTP/1.x NNN[ reason]".
func parseStatusLine(line []byte) (status int, minor byte, err error) {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' || len(line) > 12 && line[12] != ' ' {
		return 0, 0, fmt.Errorf("malformed status line %.100q", line)
	}
	minor = line[7]
	if minor < '0' || minor > '9' {
		return 0, 0, fmt.Errorf("malformed status line %.100q", line)
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, 0, fmt.Errorf("malformed status line %.100q", line)
		}
		status = status*10 + int(c-'0')
	}
	if status < 100 {
		return 0, 0, fmt.Errorf("malformed status line %.100q", line)
	}
	return status, minor, nil
}

// readFixed reads a body of n bytes.
func (w *worker) readFixed(n int64) error {
	if n > maxBodySize {
		return fmt.Errorf("Content-Length %d exceeds the limit of %d bytes", n, maxBodySize)
	}
	if int64(cap(w.buf)) < n {
		w.buf = make([]byte, 0, n)
	}
	w.buf = w.buf[:n]
	_, err := io.ReadFull(w.br, w.buf)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// readChunked reads a chunked body and discards any trailer.
func (w *worker) readChunked() error {
	for {
		line, err := w.readLine()
		if err != nil {
			return err
		}
		size, ok := parseChunkSize(line)
		if !ok {
			return fmt.Errorf("malformed chunk size line %.100q", line)
		}
		if size == 0 {
			for n := 0; ; n++ {
				if line, err = w.readLine(); err != nil {
					return err
				}
				if len(line) == 0 {
					return nil
				}
				if n == maxHeaderLines {
					return fmt.Errorf("response has more than %d trailer lines", maxHeaderLines)
				}
			}
		}
		start := int64(len(w.buf))
		if start+size > maxBodySize {
			return fmt.Errorf("chunked body exceeds the limit of %d bytes", maxBodySize)
		}
		w.buf = slices.Grow(w.buf, int(size))[:start+size]
		if _, err := io.ReadFull(w.br, w.buf[start:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if line, err = w.readLine(); err != nil {
			return err
		}
		if len(line) != 0 {
			return errors.New("chunk data not followed by CRLF")
		}
	}
}

// parseChunkSize parses a chunk-size line: hex digits, then optionally
// whitespace and chunk extensions, which are ignored.
func parseChunkSize(line []byte) (int64, bool) {
	var size int64
	i := 0
	for ; i < len(line); i++ {
		d := unhex(line[i])
		if d < 0 {
			break
		}
		if size > maxBodySize {
			return 0, false
		}
		size = size<<4 | int64(d)
	}
	if i == 0 {
		return 0, false
	}
	ext := bytes.TrimLeft(line[i:], " \t")
	return size, len(ext) == 0 || ext[0] == ';'
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// readUntilClose reads a body that ends when the server closes the connection.
func (w *worker) readUntilClose() error {
	for {
		if len(w.buf) == cap(w.buf) {
			w.buf = slices.Grow(w.buf, 4096)
		}
		n, err := w.br.Read(w.buf[len(w.buf):cap(w.buf)])
		w.buf = w.buf[:len(w.buf)+n]
		if len(w.buf) > maxBodySize {
			return fmt.Errorf("body exceeds the limit of %d bytes", maxBodySize)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// parseLength parses a Content-Length value: decimal digits only.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// equalFold reports whether b equals the lower-case ASCII string s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// hasToken reports whether the comma-separated list v contains token.
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		var elem []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			elem, v = v[:i], v[i+1:]
		} else {
			elem, v = v, nil
		}
		if equalFold(bytes.Trim(elem, " \t"), token) {
			return true
		}
	}
	return false
}

// lastToken reports whether the last element of the comma-separated list v
// is token.
func lastToken(v []byte, token string) bool {
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return equalFold(bytes.Trim(v, " \t"), token)
}
