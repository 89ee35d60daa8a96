// Package export builds the archive a customer receives for an access or
// portability request, and keeps it encrypted until it is downloaded or
// expires.
//
// The archive is a zip file: JSON per source (consents, protected fields,
// accesses), CSV per table of the company's own systems, a README that
// explains each file in plain language, the GDPR Article 15 information
// (purposes, categories, recipients, retention, source, rights), and a
// manifest with the size and SHA-256 of every file. It is written as a
// stream: rows go from a connector to the zip to the encrypted store
// without being collected, so memory does not grow with the data.
//
//	a := export.NewArchive(w)
//	_ = a.JSON("consents.json", "Your consent choices, newest last.", events)
//	_ = conn.Access(ctx, subject, a.Tables("shop-db")) // CSV per table
//	_ = a.Close(about)                                 // README, about.json, manifest.json
package export

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/connector"
)

// Archive writes one export archive.
type Archive struct {
	zip      *zip.Writer
	files    []File
	open     *counting
	openName string
	openNote string
	closed   bool
	// modified dates every entry: when the archive was made.
	modified time.Time
}

// File is one entry of the manifest.
type File struct {
	Name   string `json:"name"`
	Note   string `json:"description"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	Rows   *int64 `json:"rows,omitempty"`
}

// NewArchive starts an archive written to w, its entries dated now.
func NewArchive(w io.Writer) *Archive { return NewArchiveAt(w, time.Now()) }

// NewArchiveAt starts an archive written to w whose entries are dated at
// made (the time the archive is generated), so that unzipping shows the
// date of the export instead of 1970.
func NewArchiveAt(w io.Writer, made time.Time) *Archive {
	return &Archive{zip: zip.NewWriter(w), modified: made.UTC().Truncate(time.Second)}
}

// counting hashes and counts what goes into the current zip entry.
type counting struct {
	w     io.Writer
	hash  hash.Hash
	bytes int64
}

func (c *counting) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.hash.Write(p[:n])
	c.bytes += int64(n)
	return n, err
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,200}$`)

// create begins the entry name, ending the one before.
func (a *Archive) create(name, note string) (io.Writer, error) {
	if a.closed {
		return nil, errors.New("export: archive closed")
	}
	if !safeName.MatchString(name) || strings.Contains(name, "..") {
		return nil, fmt.Errorf("export: unsafe file name %q", name)
	}
	a.finish(nil)
	w, err := a.zip.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: a.modified})
	if err != nil {
		return nil, fmt.Errorf("export: %s: %w", name, err)
	}
	a.open, a.openName, a.openNote = &counting{w: w, hash: sha256.New()}, name, note
	return a.open, nil
}

// finish records the open entry in the manifest.
func (a *Archive) finish(rows *int64) {
	if a.open == nil {
		return
	}
	a.files = append(a.files, File{Name: a.openName, Note: a.openNote, Bytes: a.open.bytes, SHA256: hex.EncodeToString(a.open.hash.Sum(nil)), Rows: rows})
	a.open = nil
}

// JSON writes v as an indented JSON file, described by note in the README.
func (a *Archive) JSON(name, note string, v any) error {
	w, err := a.create(name, note)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("export: %s: %w", name, err)
	}
	a.finish(nil)
	return nil
}

// Tables returns a connector sink that writes each table of system as a
// CSV file, systems/SYSTEM/TABLE.csv, one row at a time.
func (a *Archive) Tables(system string) connector.Sink {
	return &tableSink{a: a, system: system}
}

type tableSink struct {
	a       *Archive
	system  string
	csv     *csv.Writer
	strings []string
}

func (s *tableSink) StartTable(table string, columns []connector.Column) error {
	names := make([]string, len(columns))
	categories := make([]string, len(columns))
	for i, c := range columns {
		names[i], categories[i] = c.Name, c.Category
	}
	note := fmt.Sprintf("Your rows in the table %q of our system %q, one line each; the columns hold: %s.",
		table, s.system, describeColumns(names, categories))
	w, err := s.a.create(path.Join("systems", s.system, table+".csv"), note)
	if err != nil {
		return err
	}
	s.csv = csv.NewWriter(w)
	s.strings = make([]string, len(columns))
	return s.csv.Write(names)
}

func describeColumns(names, categories []string) string {
	parts := make([]string, len(names))
	for i := range names {
		parts[i] = names[i] + " (" + categories[i] + ")"
	}
	return strings.Join(parts, ", ")
}

func (s *tableSink) Row(values []any) error {
	for i, v := range values {
		s.strings[i] = cell(v)
	}
	return s.csv.Write(s.strings)
}

// cell writes a value the way a spreadsheet reads it back.
func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		return "base64:" + base64.StdEncoding.EncodeToString(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

func (s *tableSink) EndTable(_ string, rows int64) error {
	s.csv.Flush()
	if err := s.csv.Error(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	s.a.finish(&rows)
	return nil
}

// About is the information GDPR Article 15 gives the customer with their
// data.
type About struct {
	Company     string      `json:"controller"`
	Contact     string      `json:"contact,omitempty"`
	Subject     string      `json:"subject,omitempty"`
	GeneratedAt time.Time   `json:"generated_at"`
	RequestID   string      `json:"request"`
	Purposes    []Purpose   `json:"purposes"`
	Categories  []string    `json:"categories"`
	Recipients  []Recipient `json:"recipients"`
	Retention   string      `json:"retention"`
	Source      string      `json:"source"`
	// Consents say, per purpose, where and when the customer's latest
	// choice was given, from the ledger (the README lists them under
	// ConsentsTitle, both in the customer's language).
	Consents      []ConsentOrigin `json:"consents,omitempty"`
	ConsentsTitle string          `json:"-"`
	Rights        []string        `json:"rights"`
}

// ConsentOrigin is where and when the customer's latest choice for a
// purpose of a property was given: the ledger's source and time, and Given,
// the sentence that says it ("Given on 3 May 2026 in form “Checkout”").
type ConsentOrigin struct {
	Property string `json:"property"`
	Purpose  string `json:"purpose"`
	Name     string `json:"purpose_name"`
	// Channel, for a communication topic, is the channel the choice is
	// of ("" for every channel); Channels says so in the customer's
	// language ("by email", "by every channel").
	Channel  string    `json:"channel,omitempty"`
	Channels string    `json:"channels,omitempty"`
	Action   string    `json:"action"`
	Source   string    `json:"source"`
	At       time.Time `json:"at"`
	Given    string    `json:"given"`
}

// Purpose is a purpose of processing with its legal basis.
type Purpose struct {
	Key        string `json:"key"`
	Name       string `json:"name"`
	LegalBasis string `json:"legal_basis"`
}

// Recipient is a vendor that may receive data.
type Recipient struct {
	Name     string   `json:"name"`
	Country  string   `json:"country,omitempty"`
	Purposes []string `json:"purposes"`
}

// DefaultRights are the rights GDPR gives the customer, in plain words.
var DefaultRights = []string{
	"See the data we hold about you and get a copy (Article 15).",
	"Have wrong data corrected (Article 16).",
	"Have your data erased (Article 17).",
	"Have its use restricted (Article 18).",
	"Take it to another company in a machine-readable form (Article 20).",
	"Object to its use, including for direct marketing (Article 21).",
	"Withdraw a consent at any time, as easily as you gave it (Article 7).",
	"Complain to a data protection authority (Article 77).",
}

// Close writes about.json, the README and the manifest, and ends the zip.
func (a *Archive) Close(about About) error {
	if a.closed {
		return nil
	}
	if len(about.Rights) == 0 {
		about.Rights = DefaultRights
	}
	if err := a.JSON("about.json", "Why and how we use your data: purposes with their legal basis, categories, recipients, retention, where the data came from, and your rights.", about); err != nil {
		return err
	}
	readme := readme(about, a.files)
	w, err := a.create("README.txt", "This explanation.")
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, readme); err != nil {
		return fmt.Errorf("export: README: %w", err)
	}
	a.finish(nil)
	files := append([]File(nil), a.files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	w, err = a.create("manifest.json", "")
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"request": about.RequestID, "generated_at": about.GeneratedAt, "files": files}); err != nil {
		return fmt.Errorf("export: manifest: %w", err)
	}
	a.open = nil
	a.closed = true
	if err := a.zip.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

func readme(about About, files []File) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Your data at %s\n", about.Company)
	b.WriteString(strings.Repeat("=", len("Your data at ")+len(about.Company)) + "\n\n")
	fmt.Fprintf(&b, "This archive answers your request %s, made on %s. It holds every piece of data\n", about.RequestID, about.GeneratedAt.UTC().Format("2 January 2006"))
	b.WriteString("about you that we found in our systems, and what we do with it.\n\n")
	b.WriteString("The files\n---------\n\n")
	for _, f := range files {
		fmt.Fprintf(&b, "%s\n    %s\n", f.Name, f.Note)
		if f.Rows != nil {
			fmt.Fprintf(&b, "    %d rows.\n", *f.Rows)
		}
		b.WriteString("\n")
	}
	b.WriteString("manifest.json\n    The size and SHA-256 checksum of every file, so that you can check that nothing was changed.\n\n")
	b.WriteString("JSON files open in any text editor; CSV files open in any spreadsheet program.\n\n")
	b.WriteString("Why we use your data\n--------------------\n\n")
	for _, p := range about.Purposes {
		fmt.Fprintf(&b, "- %s (legal basis: %s)\n", p.Name, strings.ReplaceAll(p.LegalBasis, "_", " "))
	}
	if len(about.Recipients) > 0 {
		b.WriteString("\nWho may receive it\n------------------\n\n")
		for _, r := range about.Recipients {
			fmt.Fprintf(&b, "- %s (%s), for: %s\n", r.Name, r.Country, strings.Join(r.Purposes, ", "))
		}
	}
	fmt.Fprintf(&b, "\nHow long we keep it\n-------------------\n\n%s\n", about.Retention)
	fmt.Fprintf(&b, "\nWhere it came from\n------------------\n\n%s\n", about.Source)
	if len(about.Consents) > 0 {
		fmt.Fprintf(&b, "\n%s:\n\n", about.ConsentsTitle)
		for _, c := range about.Consents {
			name := c.Name
			if c.Channels != "" {
				name += " " + c.Channels
			}
			fmt.Fprintf(&b, "- %s (%s): %s.\n", name, c.Property, c.Given)
		}
	}
	b.WriteString("\nYour rights\n-----------\n\n")
	for _, r := range about.Rights {
		fmt.Fprintf(&b, "- %s\n", r)
	}
	if about.Contact != "" {
		fmt.Fprintf(&b, "\nQuestions: %s\n", about.Contact)
	}
	return b.String()
}
