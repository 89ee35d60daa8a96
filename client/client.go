// Package client is the Go client of Steward's HTTP API v1: the catalog
// (properties with their banner settings, purposes, vendors, privacy
// notices), the consent ledger and restrictions, decisions, the vault
// (fields, reveals, tokens, accesses, erasure), data subject requests,
// disclosures to third parties, the data map and record of processing, the
// incident register (with post-incident reviews, public accounts and the
// public transparency feed), webhook endpoints and their messages, API
// keys, and the operational endpoints an integrator needs. It also verifies
// the webhooks Steward sends (VerifyWebhook).
//
// A Client holds one API key; which calls succeed depends on its scope
// (ingest, record, decide, disclose, reveal or admin). Every method takes a
// context first. An answer other than 2xx becomes a *Error carrying the
// problem details Steward sent:
//
//	c := client.New("https://consent.shop.example", os.Getenv("STEWARD_API_KEY"))
//	answers, err := c.Decide(ctx, []client.Question{
//		{Subject: "customer-42", Purpose: "marketing", Vendor: "adnet", Property: "shop"},
//	}, client.WithGPCHeader(r.Header.Get("Sec-GPC") == "1"))
//	var apiErr *client.Error
//	if errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest {
//		log.Printf("refused: %s (fields %v)", apiErr.Detail, apiErr.Fields)
//	}
//	if err == nil && answers[0].Allowed {
//		// send the offer
//	}
//
// Recording consent is idempotent by event id: retrying AppendEvents with
// the same ids returns the same sequence numbers and receipts.
//
// The package is a small leaf: it imports the standard library and
// Steward's Standard Webhooks package (itself standard library only), never
// the server, so that a program that calls Steward stays about the size of
// one that uses net/http alone. A test holds it to that, and another runs
// every operation against a real server, failing when the server answers
// with a field these types lack. It does not verify receipts; fetch the key
// set with JWKS and check the compact JWS with a JOSE library (or "steward
// receipt verify").
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// DefaultUserAgent is sent when WithUserAgent is not given.
const DefaultUserAgent = "steward-go-client/1"

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 1 << 20

// Client calls one Steward server with one API key. It is safe for
// concurrent use.
type Client struct {
	baseURL   string
	apiKey    string
	http      *http.Client
	userAgent string
}

// Option adjusts a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client used for requests (http.DefaultClient
// by default), for timeouts, proxies or a custom transport.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithUserAgent sets the User-Agent header of requests.
func WithUserAgent(userAgent string) Option {
	return func(c *Client) { c.userAgent = userAgent }
}

// New returns a client of the Steward server at baseURL (such as
// "https://consent.shop.example") that authenticates with apiKey. An empty
// apiKey sends no credentials, which only public endpoints accept.
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{baseURL: strings.TrimRight(baseURL, "/"), apiKey: apiKey, http: http.DefaultClient, userAgent: DefaultUserAgent}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

// path joins fixed segments and escapes the variable ones:
// path("/v1/properties/", key).
func path(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 {
			p = url.PathEscape(p)
		}
		b.WriteString(p)
	}
	return b.String()
}

// do sends a request and decodes a 2xx JSON answer into out (when out is
// not nil); any other answer becomes an *Error.
func (c *Client) do(ctx context.Context, method, urlPath string, query url.Values, in, out any, header http.Header) error {
	return c.doWith(ctx, c.http, method, urlPath, query, in, out, header)
}

// doWith is do through hc (the Decider's, which waits longer than a
// client's timeout may allow).
func (c *Client) doWith(ctx context.Context, hc *http.Client, method, urlPath string, query url.Values, in, out any, header http.Header) error {
	var body io.Reader
	if in != nil {
		buf, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("steward: encode request: %w", err)
		}
		body = bytes.NewReader(buf)
	}
	u := c.baseURL + urlPath
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("steward: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	for name, values := range header {
		for _, v := range values {
			req.Header.Add(name, v)
		}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("steward: %s %s: %w", method, urlPath, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return readError(resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw, err = io.ReadAll(resp.Body)
		if err != nil {
			return fmt.Errorf("steward: %s %s: read answer: %w", method, urlPath, err)
		}
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("steward: %s %s: decode answer: %w", method, urlPath, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

// list is how Steward wraps collections.
type list[T any] struct {
	Items []T `json:"items"`
}

// Error is an answer other than 2xx, with the RFC 9457 problem details
// Steward sent in application/problem+json.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is Steward's error code: one of the Code... constants.
	Code string
	// Title is the short, generic description of the status.
	Title string
	// Detail explains this occurrence.
	Detail string
	// Fields maps each input at fault to its problem, by path:
	// "events[0].purpose" → `unknown purpose "ads"`.
	Fields map[string]string
	// Type is the problem type URI ("about:blank" for plain HTTP statuses).
	Type string
}

// The error codes Steward sends in problem details.
const (
	CodeInvalid      = "invalid"
	CodeNotFound     = "not_found"
	CodeConflict     = "conflict"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeUnavailable  = "unavailable"
	CodeInternal     = "internal"
)

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "steward: %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	switch {
	case e.Detail != "":
		b.WriteString(": " + e.Detail)
	case e.Title != "":
		b.WriteString(": " + e.Title)
	}
	if len(e.Fields) > 1 {
		fmt.Fprintf(&b, " (%d fields)", len(e.Fields))
	}
	return b.String()
}

// problem is the wire form of problem details.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Errors []struct {
		Field  string `json:"field"`
		Detail string `json:"detail"`
	} `json:"errors"`
}

func readError(resp *http.Response) error {
	e := &Error{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, resp.Body)
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var p problem
	if (mt == "application/problem+json" || mt == "application/json") && json.Unmarshal(body, &p) == nil {
		e.Type, e.Code, e.Detail = p.Type, p.Code, p.Detail
		if p.Title != "" {
			e.Title = p.Title
		}
		if len(p.Errors) > 0 {
			e.Fields = make(map[string]string, len(p.Errors))
			for _, f := range p.Errors {
				e.Fields[f.Field] = f.Detail
			}
		}
		return e
	}
	// Not problem details (a proxy, or a path Steward does not serve): keep
	// the start of the text as the detail.
	detail := strings.TrimSpace(string(body))
	if len(detail) > 200 {
		detail = detail[:200]
	}
	e.Detail = detail
	return e
}

// Ready reports whether the server can serve: its store is reachable and
// fully migrated. A server that is not ready answers with an *Error of
// status 503.
func (c *Client) Ready(ctx context.Context) (*Readiness, error) {
	var out Readiness
	if err := c.do(ctx, http.MethodGet, "/readyz", nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// Readiness is the answer of a ready server.
type Readiness struct {
	Status string `json:"status"`
	// LedgerSeq is the highest ledger sequence number this server has applied.
	LedgerSeq int64 `json:"ledger_seq"`
}

// JWKS returns the JSON Web Key Set (RFC 7517) whose keys sign consent
// receipts, as sent by the server.
func (c *Client) JWKS(ctx context.Context) ([]byte, error) {
	var out []byte
	if err := c.do(ctx, http.MethodGet, "/.well-known/jwks.json", nil, nil, &out, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// errEmpty reports a required argument left empty before any request is sent.
func errEmpty(what string) error { return errors.New("steward: " + what + " is required") }
