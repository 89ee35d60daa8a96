// Package config turns flags, STEWARD_* environment variables, an optional
// YAML configuration file and defaults, in that order of precedence, into a
// validated Config value. Nothing here is global: each command builds its own.
//
//	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
//	loader := config.Register(fs)
//	if err := fs.Parse(args); err != nil { ... }
//	cfg, err := loader.Load(getenv)
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/goccy/go-yaml"

	"github.com/steward-dev/steward/internal/backup"
	"github.com/steward-dev/steward/internal/retention/period"
)

// Config is the validated configuration of a Steward process.
type Config struct {
	Listen         string
	DataDir        string
	Database       string
	SigningKeyFile string
	PublicURL      string
	Controller     Controller
	LogLevel       string
	LogFormat      string
	FollowInterval time.Duration
	// IndexSnapshotInterval is how often the consent index's snapshot is
	// written to the data directory (besides at shutdown and after an
	// erasure); 0 turns snapshots off.
	IndexSnapshotInterval time.Duration
	ShutdownTimeout       time.Duration
	GPCLastUpdate         string
	// MasterKey is the vault's key-encryption keyring text, from
	// STEWARD_MASTER_KEY (never a flag: flags show in process lists) or the
	// file --master-key-file names; empty leaves the vault sealed.
	MasterKey     string
	MasterKeyFile string
	// AuditCheckpointFile is where every signed audit checkpoint is
	// appended; empty means audit-checkpoints.txt in the data directory.
	// Outside the data directory (another disk, an append-only mount) it
	// survives a rollback or theft of the database and its directory.
	AuditCheckpointFile string
	// Mail is how Steward sends email (portal sign-in codes, reminders);
	// an empty SMTPHost turns email off.
	Mail Mail
	// Brand themes the privacy portal and its emails.
	Brand Brand
	// WebhookAllowHosts are internal hosts, addresses or ranges that
	// webhook endpoints may use (and over plain http); others must be
	// public https addresses.
	WebhookAllowHosts []string
	// TrustedProxies are the reverse proxies (CIDR ranges or addresses)
	// whose X-Forwarded-For or Forwarded header names the client address
	// that rate limits count by; from others the headers are ignored.
	TrustedProxies []string
	// PasswordMemoryMiB and PasswordTime are the argon2id cost of new staff
	// password hashes (RFC 9106's second recommendation: 64 MiB, 3 passes).
	PasswordMemoryMiB int
	PasswordTime      int
	// ShowStaffNames shows customers the name of each staff member who
	// accessed their data, not only the role.
	ShowStaffNames bool
	// PreferenceLinkDays and UnsubscribeLinkDays are how long the
	// preference centre's page link and one-click unsubscribe link of an
	// email stay valid (package preference).
	PreferenceLinkDays  int
	UnsubscribeLinkDays int
	// ConnectorsDir holds the dataset files (*.yaml) of the company's own
	// systems that requests reach into (internal/connector).
	ConnectorsDir string
	// ConnectorPoll is how often a request waiting for an HTTP system's
	// callback looks again.
	ConnectorPoll time.Duration
	// JobRetryBase is the wait before a failed job's first retry, doubled
	// at each further one (jobs.RetryPolicy.Base); zero is the default,
	// 10 s. No flag sets it: fault rehearsals shorten it.
	JobRetryBase time.Duration
	// DriftSample lets the daily drift scan of the connected SQL systems
	// read a few values of each undeclared text column (never kept).
	DriftSample bool
	// ScanChrome is Chromium's path for the tracker scanner ("" looks on
	// PATH, "off" turns the scans off); nothing else needs a browser.
	ScanChrome string
	// RetentionRequests is how long a closed request keeps what it quotes
	// of the person and its address, and its archives; zero keeps them.
	RetentionRequests period.Period
	// RetentionLedgerProof is how long the consent ledger keeps a subject's
	// choices under their id after their last one (the proof period); then
	// they are pseudonymised as an erasure does. Zero keeps them.
	RetentionLedgerProof period.Period
	// CorrectableFields are the vault fields customers may propose a new
	// value for, by name; true applies it without an officer's approval.
	CorrectableFields map[string]bool
	// Getenv is the process environment, for the variables that data files
	// name (a connector's dsn_env): they are read when used, never copied.
	Getenv func(string) string
	// Demo is set by "serve --demo": seed a demo catalog and show /demo.
	Demo bool
	// MetricsListen, when set, is the separate (internal) address that
	// serves /metrics; the public listener then does not serve it.
	MetricsListen string
	// AccessLog logs one line per HTTP request: route pattern, status,
	// duration and bytes (never the path, which can hold personal data).
	AccessLog bool
	// Identity configures the identity tiers of requests (dsr.IdentityPolicy).
	Identity Identity
	// ErasureJournal is where every erasure is also recorded, outside the
	// database (a directory or s3://BUCKET/PREFIX); empty means
	// <data-dir>.erasures, beside the data directory.
	ErasureJournal string
	// Backup schedules backups and restore drills (serve).
	Backup Backup
}

// Backup is the schedule of backups: where, to whom, how often, how many
// are kept, and how often a drill restores the newest.
type Backup struct {
	To         string   // a directory or s3://BUCKET/PREFIX; empty: no scheduled backups
	Recipients []string // age recipients (age1...)
	Every      time.Duration
	Keep       string // grandfather-father-son policy, such as 7d,4w,12m
	DrillEvery time.Duration
}

// Identity says which requests need a second proof of identity and what
// the customer may prove it with.
type Identity struct {
	// SensitiveCategories are the vault categories whose export or erasure
	// needs data points; SensitiveKinds the kinds of request concerned.
	SensitiveCategories []string
	SensitiveKinds      []string
	// DataPoints are what a customer may type, by name: a vault field, or
	// its last characters.
	DataPoints map[string]DataPoint
	// MaxAttempts bounds the tries per request; Wait follows every third
	// failure.
	MaxAttempts int
	Wait        time.Duration
	// AgentExpiry is how long a customer has to confirm an agent's request.
	AgentExpiry time.Duration
}

// DefaultDataPoints are the data points of --identity-data-points' default.
func DefaultDataPoints() map[string]DataPoint {
	return map[string]DataPoint{"iban_last4": {Field: "iban", Last: 4}, "birth_date": {Field: "birth_date"}, "postcode": {Field: "postcode"}}
}

// DataPoint is a vault field a customer may prove their identity with;
// Last > 0 takes its last Last characters.
type DataPoint struct {
	Field string
	Last  int
}

// Controller names the company (the data controller) in consent receipts.
type Controller struct {
	Name    string
	Email   string
	Address string
	Phone   string
	URL     string
}

// Mail configures the SMTP submission server. The password comes from
// STEWARD_SMTP_PASSWORD only (never a flag: flags show in process lists).
type Mail struct {
	SMTPHost      string
	SMTPPort      int
	SMTPTLS       string // starttls, tls or none
	SMTPUsername  string
	SMTPPassword  string
	From          string
	AllowInsecure bool
	// AllowPlainAuth lets the user name and password go without TLS to a
	// loopback relay (SMTPTLS none); without it, credentials need TLS.
	AllowPlainAuth bool
}

// Brand is the company's look in the portal and emails.
type Brand struct {
	LogoURL string
	Colour  string // #rrggbb
}

// Setting is one configuration entry: its flag name, environment variable
// and default.
type Setting struct {
	Name    string
	Env     string
	Default string
	Help    string
}

// Settings lists every setting, as the README's configuration table does.
var Settings = []Setting{
	{"listen", "STEWARD_LISTEN", "127.0.0.1:8080", "address to listen on"},
	{"data-dir", "STEWARD_DATA_DIR", "./steward-data", "directory for the SQLite database and the receipt signing key"},
	{"database", "STEWARD_DATABASE", "", "database URL: postgres://... for PostgreSQL (also read from DATABASE_URL); empty for SQLite in the data directory"},
	{"signing-key", "STEWARD_SIGNING_KEY", "", "PEM file of the Ed25519 receipt signing key (default: made at first start in the data directory)"},
	{"public-url", "STEWARD_PUBLIC_URL", "", "URL at which browsers and integrators reach Steward (default: http://LISTEN)"},
	{"controller-name", "STEWARD_CONTROLLER_NAME", "Example Company", "company name shown in consent receipts"},
	{"controller-email", "STEWARD_CONTROLLER_EMAIL", "", "privacy contact email shown in consent receipts"},
	{"controller-address", "STEWARD_CONTROLLER_ADDRESS", "", "postal address shown in consent receipts"},
	{"controller-phone", "STEWARD_CONTROLLER_PHONE", "", "phone number shown in consent receipts"},
	{"controller-url", "STEWARD_CONTROLLER_URL", "", "company web site shown in consent receipts"},
	{"log-level", "STEWARD_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"log-format", "STEWARD_LOG_FORMAT", "text", "text or json"},
	{"access-log", "STEWARD_ACCESS_LOG", "false", "log one line per HTTP request: the route pattern (never the path), status, duration and bytes"},
	{"follow-interval", "STEWARD_FOLLOW_INTERVAL", "1s", "how often to poll for ledger entries written by other replicas; on PostgreSQL a notification wakes the follower at once and polling is the fallback"},
	{"index-snapshot-interval", "STEWARD_INDEX_SNAPSHOT_INTERVAL", "15m", "how often to write the consent index's snapshot to the data directory (also at shutdown and within a minute of an erasure), from which the next start loads the index and replays only the ledger's tail; 0 turns snapshots off"},
	{"shutdown-timeout", "STEWARD_SHUTDOWN_TIMEOUT", "15s", "how long to drain requests on SIGTERM"},
	{"gpc-last-update", "STEWARD_GPC_LAST_UPDATE", "2026-11-28", "date served in /.well-known/gpc.json (YYYY-MM-DD)"},
	{"smtp-host", "STEWARD_SMTP_HOST", "", "SMTP server for email (portal codes, reminders); empty turns email off"},
	{"smtp-port", "STEWARD_SMTP_PORT", "587", "SMTP port (587 with starttls, 465 with tls)"},
	{"smtp-tls", "STEWARD_SMTP_TLS", "starttls", "starttls (required), tls (implicit, port 465) or none (localhost only, or with --smtp-allow-insecure)"},
	{"smtp-username", "STEWARD_SMTP_USERNAME", "", "SMTP user name; the password comes from STEWARD_SMTP_PASSWORD"},
	{"smtp-allow-insecure", "STEWARD_SMTP_ALLOW_INSECURE", "false", "allow smtp-tls none to a host other than localhost (no credentials are ever sent in clear)"},
	{"mail-from", "STEWARD_MAIL_FROM", "", "sender of Steward's email, such as \"Shop Privacy <privacy@shop.example>\""},
	{"brand-logo-url", "STEWARD_BRAND_LOGO_URL", "", "https URL of the company logo shown in the portal and emails"},
	{"brand-colour", "STEWARD_BRAND_COLOUR", "#0b57d0", "brand colour (#rrggbb) of the portal and emails; text on it keeps WCAG AA contrast"},
	{"webhook-allow-hosts", "STEWARD_WEBHOOK_ALLOW_HOSTS", "", "comma-separated internal hosts, addresses or ranges (10.20.0.0/16) webhook endpoints may use; by default only public https addresses"},
	{"trusted-proxies", "STEWARD_TRUSTED_PROXIES", "", "comma-separated CIDR ranges or addresses of reverse proxies whose X-Forwarded-For or Forwarded header gives the client address for rate limits; by default the connection's address"},
	{"password-memory", "STEWARD_PASSWORD_MEMORY", "64", "argon2id memory of new staff password hashes, in MiB (lower only on a small machine)"},
	{"password-time", "STEWARD_PASSWORD_TIME", "3", "argon2id passes of new staff password hashes"},
	{"portal-staff-names", "STEWARD_PORTAL_STAFF_NAMES", "false", "show customers the names of staff who accessed their data (default: the role only)"},
	{"preference-link-days", "STEWARD_PREFERENCE_LINK_DAYS", "60", "days an email's link to the preference page stays valid"},
	{"unsubscribe-link-days", "STEWARD_UNSUBSCRIBE_LINK_DAYS", "400", "days an email's one-click unsubscribe link (RFC 8058) stays valid; at least 30"},
	{"connectors", "STEWARD_CONNECTORS", "", "directory of dataset files (*.yaml) describing the company's own databases for data subject requests"},
	{"connector-poll", "STEWARD_CONNECTOR_POLL", "1m", "how often a request waiting for an HTTP system's callback looks again"},
	{"drift-sample", "STEWARD_DRIFT_SAMPLE", "false", "let the daily drift scan read up to 20 values of each undeclared text column whose name says nothing (never kept), to find personal data by its values"},
	{"scan-chrome", "STEWARD_SCAN_CHROME", "", "Chromium's path for the tracker scanner (the weekly scans, the console's \"Scan now\"); by default chromium or google-chrome on PATH, and without one the scans are off; off turns them off"},
	{"retention-requests", "STEWARD_RETENTION_REQUESTS", "", "how long after closing a request keeps the requester's address and details, and its archives (400d, 18m, 3y); empty keeps them"},
	{"retention-ledger-proof", "STEWARD_RETENTION_LEDGER_PROOF", "", "how long after a customer's last consent choice the ledger keeps their choices under their id before pseudonymising them (3y); empty keeps them"},
	{"correctable-fields", "STEWARD_CORRECTABLE_FIELDS", "", "comma-separated vault fields customers may correct in the portal (phone,address:auto; :auto applies a new value without an officer's approval)"},
	{"master-key-file", "STEWARD_MASTER_KEY_FILE", "", "file with the vault's key-encryption keys (\"VERSION:BASE64\" lines); STEWARD_MASTER_KEY may hold the same text; without either the vault is sealed"},
	{"audit-checkpoint-file", "STEWARD_AUDIT_CHECKPOINT_FILE", "", "file every signed audit checkpoint is appended to (default: audit-checkpoints.txt in the data directory); keep it outside the data directory, on another disk or an append-only mount"},
	{"smtp-allow-plain-auth", "STEWARD_SMTP_ALLOW_PLAIN_AUTH", "false", "send the SMTP user name and password without TLS to a loopback relay (smtp-tls none); without it credentials only travel over TLS"},
	{"metrics-listen", "STEWARD_METRICS_LISTEN", "", "separate internal address (host:port) serving /metrics; when set, /metrics is not served on --listen"},
	{"identity-sensitive-categories", "STEWARD_IDENTITY_SENSITIVE_CATEGORIES", "financial,government_id,health", "comma-separated vault categories whose export or erasure needs a second proof of identity (data points)"},
	{"identity-sensitive-kinds", "STEWARD_IDENTITY_SENSITIVE_KINDS", "export,erasure", "comma-separated kinds of request that need the second proof when they touch a sensitive category"},
	{"identity-data-points", "STEWARD_IDENTITY_DATA_POINTS", "iban_last4=iban:4,birth_date=birth_date,postcode=postcode", "comma-separated data points customers may prove their identity with: NAME=VAULT_FIELD, or NAME=VAULT_FIELD:N for its last N characters"},
	{"identity-max-attempts", "STEWARD_IDENTITY_MAX_ATTEMPTS", "10", "tries of the second proof per request; every third failure imposes --identity-wait"},
	{"identity-wait", "STEWARD_IDENTITY_WAIT", "15m", "wait after three failed tries of the second proof"},
	{"erasure-journal", "STEWARD_ERASURE_JOURNAL", "", "where every erasure is also recorded, outside the database, so that a restored backup forgets those erased after it: a directory or s3://BUCKET/PREFIX (default: DATA-DIR.erasures, beside the data directory)"},
	{"backup-to", "STEWARD_BACKUP_TO", "", "where scheduled backups go: a directory (removable media, a mount) or s3://BUCKET/PREFIX; empty: no scheduled backups"},
	{"backup-recipient", "STEWARD_BACKUP_RECIPIENT", "", "comma-separated age recipients (age1..., from backup keygen) that backups are encrypted to; the server cannot read its own backups"},
	{"backup-every", "STEWARD_BACKUP_EVERY", "24h", "how often a scheduled backup is taken"},
	{"backup-keep", "STEWARD_BACKUP_KEEP", "7d,4w,12m", "which backups are kept: the newest of each of the last N days (d), ISO weeks (w) and months (m)"},
	{"backup-drill-every", "STEWARD_BACKUP_DRILL_EVERY", "168h", "how often the newest backup is restored into a throwaway store and checked (0 turns drills off)"},
	{"agent-expiry", "STEWARD_AGENT_EXPIRY", "168h", "how long a customer has to confirm, by the emailed link, a request an authorised agent filed for them"},
}

// validProxy reports whether p is a CIDR range or an address.
func validProxy(p string) bool {
	if strings.Contains(p, "/") {
		_, err := netip.ParsePrefix(p)
		return err == nil
	}
	_, err := netip.ParseAddr(p)
	return err == nil
}

// fieldName is a vault field's name (vault.Field.Name).
var fieldName = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

var hexColour = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// oneLine reports whether v holds no line break (CR, LF, NEL, U+2028,
// U+2029) or other control character.
func oneLine(v string) bool {
	return !strings.ContainsFunc(v, func(r rune) bool {
		return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
	})
}

// Loader reads the configuration of one command.
type Loader struct {
	fs     *flag.FlagSet
	values map[string]*string
	file   *string
}

// Register adds every setting, and --config, as flags of fs.
func Register(fs *flag.FlagSet) *Loader {
	l := &Loader{fs: fs, values: map[string]*string{}}
	l.file = fs.String("config", "", "optional YAML configuration file (keys are the flag names) [STEWARD_CONFIG]")
	for _, s := range Settings {
		l.values[s.Name] = define(fs, s)
	}
	return l
}

// switches are the settings given as a bare flag (--access-log), like a
// boolean, as well as with a value (--access-log=false).
var switches = map[string]bool{"access-log": true}

// define adds the flag of one setting.
func define(fs *flag.FlagSet, s Setting) *string {
	help := s.Help + " [" + s.Env + "]"
	if !switches[s.Name] {
		return fs.String(s.Name, s.Default, help)
	}
	v := &switchValue{value: s.Default}
	fs.Var(v, s.Name, help)
	return &v.value
}

// switchValue is a setting's text that a bare flag sets to "true".
type switchValue struct{ value string }

func (v *switchValue) String() string     { return v.value }
func (v *switchValue) Set(s string) error { v.value = s; return nil }
func (v *switchValue) IsBoolFlag() bool   { return true }

// RegisterOnly adds --config and the named settings as flags of fs, for a
// command that reads only those (its --help then lists only them); the
// others still come from the environment, the file or their defaults.
func RegisterOnly(fs *flag.FlagSet, names ...string) *Loader {
	l := &Loader{fs: fs, values: map[string]*string{}}
	l.file = fs.String("config", "", "optional YAML configuration file (keys are the flag names) [STEWARD_CONFIG]")
	for _, s := range Settings {
		for _, n := range names {
			if n == s.Name {
				l.values[s.Name] = define(fs, s)
			}
		}
	}
	return l
}

// StoreSettings are the settings a command that opens the store reads,
// and more names to add to them.
func StoreSettings(more ...string) []string { return append([]string{"data-dir", "database"}, more...) }

// VaultSettings add the vault's master key to StoreSettings.
func VaultSettings(more ...string) []string {
	return StoreSettings(append([]string{"master-key-file"}, more...)...)
}

// Load resolves every setting: flag, then environment, then the
// configuration file, then the default; and validates the result.
func (l *Loader) Load(getenv func(string) string) (Config, error) {
	set := map[string]bool{}
	l.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	file := *l.file
	if !set["config"] {
		file = getenv("STEWARD_CONFIG")
	}
	fromFile := map[string]string{}
	if file != "" {
		var err error
		if fromFile, err = readFile(file); err != nil {
			return Config{}, err
		}
	}
	raw := map[string]string{}
	for _, s := range Settings {
		v := s.Default
		if fv, ok := fromFile[s.Name]; ok {
			v = fv
		}
		if s.Name == "database" {
			if env := getenv("DATABASE_URL"); env != "" {
				v = env
			}
		}
		if env, ok := lookup(getenv, s.Env); ok {
			v = env
		}
		if p, ok := l.values[s.Name]; ok && set[s.Name] {
			v = *p
		}
		raw[s.Name] = v
	}
	cfg, err := build(raw)
	cfg.MasterKey = getenv("STEWARD_MASTER_KEY")
	cfg.Mail.SMTPPassword = getenv("STEWARD_SMTP_PASSWORD")
	cfg.Getenv = getenv
	return cfg, err
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

func readFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	known := map[string]bool{}
	for _, s := range Settings {
		known[s.Name] = true
	}
	out := map[string]string{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !known[k] {
			return nil, fmt.Errorf("config file %s: unknown setting %q", path, k)
		}
		switch v := m[k].(type) {
		case string:
			out[k] = v
		case nil:
			out[k] = ""
		case map[string]any, []any:
			return nil, fmt.Errorf("config file %s: setting %q must be a single value", path, k)
		default:
			out[k] = fmt.Sprint(v)
		}
	}
	return out, nil
}

func build(raw map[string]string) (Config, error) {
	var problems []string
	bad := func(name, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("--%s: %s", name, fmt.Sprintf(format, args...)))
	}
	c := Config{
		Listen: raw["listen"], DataDir: raw["data-dir"], Database: raw["database"], SigningKeyFile: raw["signing-key"],
		PublicURL: strings.TrimRight(raw["public-url"], "/"), LogLevel: raw["log-level"], LogFormat: raw["log-format"],
		GPCLastUpdate: raw["gpc-last-update"], MasterKeyFile: raw["master-key-file"], AuditCheckpointFile: raw["audit-checkpoint-file"],
		Controller: Controller{Name: raw["controller-name"], Email: raw["controller-email"], Address: raw["controller-address"],
			Phone: raw["controller-phone"], URL: raw["controller-url"]},
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "%q is not host:port", c.Listen)
	}
	if c.DataDir == "" {
		bad("data-dir", "must not be empty")
	}
	if c.Database != "" && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") &&
		!strings.HasPrefix(c.Database, "sqlite:") && !strings.HasPrefix(c.Database, "file:") {
		bad("database", "must be a postgres:// URL, sqlite:PATH, or empty")
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Listen
	} else if !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		bad("public-url", "must start with http:// or https://")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level", "must be debug, info, warn or error")
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("log-format", "must be text or json")
	}
	var err error
	if c.FollowInterval, err = time.ParseDuration(raw["follow-interval"]); err != nil || c.FollowInterval < 10*time.Millisecond {
		bad("follow-interval", "must be a duration of at least 10ms, such as 1s")
	}
	if c.IndexSnapshotInterval, err = time.ParseDuration(raw["index-snapshot-interval"]); err != nil || c.IndexSnapshotInterval < 0 ||
		c.IndexSnapshotInterval > 0 && c.IndexSnapshotInterval < time.Minute {
		bad("index-snapshot-interval", "must be 0 (off) or a duration of at least 1m, such as 15m")
	}
	if c.ShutdownTimeout, err = time.ParseDuration(raw["shutdown-timeout"]); err != nil || c.ShutdownTimeout <= 0 {
		bad("shutdown-timeout", "must be a positive duration, such as 15s")
	}
	if _, err := time.Parse("2006-01-02", c.GPCLastUpdate); err != nil {
		bad("gpc-last-update", "must be a date YYYY-MM-DD")
	}
	c.Mail = Mail{SMTPHost: raw["smtp-host"], SMTPTLS: raw["smtp-tls"], SMTPUsername: raw["smtp-username"], From: raw["mail-from"]}
	if c.Mail.SMTPPort, err = strconv.Atoi(raw["smtp-port"]); err != nil || c.Mail.SMTPPort < 1 || c.Mail.SMTPPort > 65535 {
		bad("smtp-port", "must be a port number")
	}
	if c.Mail.AllowInsecure, err = strconv.ParseBool(raw["smtp-allow-insecure"]); err != nil {
		bad("smtp-allow-insecure", "must be true or false")
	}
	if c.Mail.AllowPlainAuth, err = strconv.ParseBool(raw["smtp-allow-plain-auth"]); err != nil {
		bad("smtp-allow-plain-auth", "must be true or false")
	}
	if c.MetricsListen = raw["metrics-listen"]; c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			bad("metrics-listen", "%q is not host:port", c.MetricsListen)
		} else if c.MetricsListen == c.Listen {
			bad("metrics-listen", "must differ from --listen: metrics belong on an internal address")
		}
	}
	if c.Mail.SMTPHost != "" && c.Mail.From == "" {
		bad("mail-from", "is needed when smtp-host is set")
	}
	c.Brand = Brand{LogoURL: raw["brand-logo-url"], Colour: raw["brand-colour"]}
	c.ConnectorsDir = raw["connectors"]
	c.ErasureJournal = raw["erasure-journal"]
	c.Backup = Backup{To: raw["backup-to"], Keep: raw["backup-keep"]}
	for _, r := range strings.Split(raw["backup-recipient"], ",") {
		if r = strings.TrimSpace(r); r != "" {
			c.Backup.Recipients = append(c.Backup.Recipients, r)
		}
	}
	if c.Backup.Every, err = time.ParseDuration(raw["backup-every"]); err != nil || c.Backup.Every < time.Minute {
		bad("backup-every", "must be a duration of at least 1m, such as 24h")
	}
	if c.Backup.DrillEvery, err = time.ParseDuration(raw["backup-drill-every"]); err != nil || c.Backup.DrillEvery < 0 ||
		c.Backup.DrillEvery > 0 && c.Backup.DrillEvery < time.Minute {
		bad("backup-drill-every", "must be 0 or a duration of at least 1m, such as 168h")
	}
	if _, err := backup.ParseKeepPolicy(c.Backup.Keep); err != nil {
		bad("backup-keep", "%v", err)
	}
	if c.Backup.To != "" && len(c.Backup.Recipients) == 0 {
		bad("backup-recipient", "is needed when backup-to is set: give the recipient that backup keygen printed")
	}
	for _, r := range c.Backup.Recipients {
		if !strings.HasPrefix(r, "age1") {
			bad("backup-recipient", "%q is not an age recipient (age1...)", r)
		}
	}
	for _, h := range strings.Split(raw["webhook-allow-hosts"], ",") {
		if h = strings.TrimSpace(h); h != "" {
			c.WebhookAllowHosts = append(c.WebhookAllowHosts, h)
		}
	}
	for _, p := range strings.Split(raw["trusted-proxies"], ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !validProxy(p) {
			bad("trusted-proxies", "%q is not a CIDR range (10.0.0.0/8) or an address", p)
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	if c.PasswordMemoryMiB, err = strconv.Atoi(raw["password-memory"]); err != nil || c.PasswordMemoryMiB < 8 || c.PasswordMemoryMiB > 4096 {
		bad("password-memory", "must be 8 to 4096 (MiB)")
	}
	if c.PasswordTime, err = strconv.Atoi(raw["password-time"]); err != nil || c.PasswordTime < 1 || c.PasswordTime > 20 {
		bad("password-time", "must be 1 to 20")
	}
	if c.AccessLog, err = strconv.ParseBool(raw["access-log"]); err != nil {
		bad("access-log", "must be true or false")
	}
	if c.ShowStaffNames, err = strconv.ParseBool(raw["portal-staff-names"]); err != nil {
		bad("portal-staff-names", "must be true or false")
	}
	if c.PreferenceLinkDays, err = strconv.Atoi(raw["preference-link-days"]); err != nil || c.PreferenceLinkDays < 1 || c.PreferenceLinkDays > 3660 {
		bad("preference-link-days", "must be a number of days from 1 to 3660")
	}
	// Unsubscribing must keep working well after the message was sent
	// (CAN-SPAM asks 30 days at least).
	if c.UnsubscribeLinkDays, err = strconv.Atoi(raw["unsubscribe-link-days"]); err != nil || c.UnsubscribeLinkDays < 30 || c.UnsubscribeLinkDays > 3660 {
		bad("unsubscribe-link-days", "must be a number of days from 30 to 3660")
	}
	c.ScanChrome = raw["scan-chrome"]
	if c.DriftSample, err = strconv.ParseBool(raw["drift-sample"]); err != nil {
		bad("drift-sample", "must be true or false")
	}
	if c.ConnectorPoll, err = time.ParseDuration(raw["connector-poll"]); err != nil || c.ConnectorPoll < 100*time.Millisecond {
		bad("connector-poll", "must be a duration of at least 100ms, such as 1m")
	}
	for name, target := range map[string]*period.Period{"retention-requests": &c.RetentionRequests, "retention-ledger-proof": &c.RetentionLedgerProof} {
		if raw[name] == "" {
			continue
		}
		if *target, err = period.Parse(raw[name]); err != nil {
			bad(name, "%v", err)
		}
	}
	c.CorrectableFields = map[string]bool{}
	for _, f := range strings.Split(raw["correctable-fields"], ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		name, mode, hasMode := strings.Cut(f, ":")
		if !fieldName.MatchString(name) || (hasMode && mode != "auto") {
			bad("correctable-fields", "must be vault field names, each optionally followed by :auto (phone,address:auto)")
			break
		}
		c.CorrectableFields[name] = hasMode
	}
	c.Identity = buildIdentity(raw, bad)
	if !hexColour.MatchString(c.Brand.Colour) {
		bad("brand-colour", "must be a #rrggbb colour")
	}
	if c.Brand.LogoURL != "" && !strings.HasPrefix(c.Brand.LogoURL, "https://") {
		bad("brand-logo-url", "must be an https:// URL")
	}
	if f := c.AuditCheckpointFile; f != "" {
		if strings.HasSuffix(f, "/") || strings.HasSuffix(f, string(os.PathSeparator)) {
			bad("audit-checkpoint-file", "must name a file, not a directory")
		} else if st, err := os.Stat(f); err == nil && !st.Mode().IsRegular() {
			bad("audit-checkpoint-file", "%s is not a regular file", f)
		}
	}
	if strings.TrimSpace(c.Controller.Name) == "" {
		bad("controller-name", "must not be empty")
	}
	// The controller's details go into receipts and mail headers: a line
	// break there could add a header or forge a line of a receipt.
	for _, f := range []struct{ name, value string }{{"controller-name", c.Controller.Name}, {"controller-email", c.Controller.Email},
		{"controller-address", c.Controller.Address}, {"controller-phone", c.Controller.Phone}, {"controller-url", c.Controller.URL}} {
		if !oneLine(f.value) {
			bad(f.name, "must be one line, without line breaks or control characters")
		}
	}
	if len(problems) > 0 {
		return c, errors.New(strings.Join(problems, "; "))
	}
	return c, nil
}

// buildIdentity reads the identity tier settings.
func buildIdentity(raw map[string]string, bad func(name, format string, args ...any)) Identity {
	id := Identity{DataPoints: map[string]DataPoint{}}
	list := func(name string) []string {
		var out []string
		for _, v := range strings.Split(raw[name], ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	id.SensitiveCategories = list("identity-sensitive-categories")
	id.SensitiveKinds = list("identity-sensitive-kinds")
	for _, k := range id.SensitiveKinds {
		switch k {
		case "access", "export", "rectification", "erasure", "restriction", "objection":
		default:
			bad("identity-sensitive-kinds", "%q is not a kind of request", k)
		}
	}
	for _, p := range list("identity-data-points") {
		name, spec, ok := strings.Cut(p, "=")
		field, last, hasLast := strings.Cut(spec, ":")
		n, err := strconv.Atoi(last)
		if !ok || !fieldName.MatchString(name) || !fieldName.MatchString(field) || (hasLast && (err != nil || n < 1 || n > 64)) {
			bad("identity-data-points", "must be NAME=VAULT_FIELD or NAME=VAULT_FIELD:N (iban_last4=iban:4,postcode=postcode)")
			break
		}
		id.DataPoints[name] = DataPoint{Field: field, Last: n}
	}
	if len(id.DataPoints) < 3 {
		bad("identity-data-points", "name at least three data points: a request for specific pieces of information needs three")
	}
	var err error
	if id.MaxAttempts, err = strconv.Atoi(raw["identity-max-attempts"]); err != nil || id.MaxAttempts < 1 || id.MaxAttempts > 100 {
		bad("identity-max-attempts", "must be 1 to 100")
	}
	if id.Wait, err = time.ParseDuration(raw["identity-wait"]); err != nil || id.Wait < time.Second {
		bad("identity-wait", "must be a duration of at least 1s, such as 15m")
	}
	if id.AgentExpiry, err = time.ParseDuration(raw["agent-expiry"]); err != nil || id.AgentExpiry < time.Hour {
		bad("agent-expiry", "must be a duration of at least 1h, such as 168h")
	}
	return id
}
