package config_test

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/config"
)

func load(t *testing.T, args []string, env map[string]string) (config.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := config.Register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return l.Load(func(k string) string { return env[k] })
}

func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "steward.yaml")
	if err := os.WriteFile(file, []byte("listen: 127.0.0.1:7000\ndata-dir: /from/file\nlog-level: warn\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name               string
		args               []string
		env                map[string]string
		listen, dir, level string
	}{
		{"defaults", nil, nil, "127.0.0.1:8080", "./steward-data", "info"},
		{"file", []string{"--config", file}, nil, "127.0.0.1:7000", "/from/file", "warn"},
		{"env beats file", []string{"--config", file}, map[string]string{"STEWARD_LISTEN": "127.0.0.1:7001"}, "127.0.0.1:7001", "/from/file", "warn"},
		{"flag beats env", []string{"--config", file, "--listen", "127.0.0.1:7002"}, map[string]string{"STEWARD_LISTEN": "127.0.0.1:7001"}, "127.0.0.1:7002", "/from/file", "warn"},
		{"config from env", nil, map[string]string{"STEWARD_CONFIG": file}, "127.0.0.1:7000", "/from/file", "warn"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := load(t, c.args, c.env)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Listen != c.listen || cfg.DataDir != c.dir || cfg.LogLevel != c.level {
				t.Fatalf("got listen=%s dir=%s level=%s", cfg.Listen, cfg.DataDir, cfg.LogLevel)
			}
		})
	}
}

func TestDatabaseURLFallback(t *testing.T) {
	cfg, err := load(t, nil, map[string]string{"DATABASE_URL": "postgres://a@b/c"})
	if err != nil || cfg.Database != "postgres://a@b/c" {
		t.Fatalf("DATABASE_URL: %q, %v", cfg.Database, err)
	}
	cfg, _ = load(t, nil, map[string]string{"DATABASE_URL": "postgres://a@b/c", "STEWARD_DATABASE": "postgres://x@y/z"})
	if cfg.Database != "postgres://x@y/z" {
		t.Fatalf("STEWARD_DATABASE should win, got %q", cfg.Database)
	}
	if cfg.FollowInterval != time.Second {
		t.Fatalf("follow interval %v", cfg.FollowInterval)
	}
}

func TestTrustedProxies(t *testing.T) {
	cfg, err := load(t, nil, map[string]string{"STEWARD_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.10,fd00::/8"})
	if err != nil || strings.Join(cfg.TrustedProxies, " ") != "10.0.0.0/8 192.0.2.10 fd00::/8" {
		t.Fatalf("TrustedProxies = %q, %v", cfg.TrustedProxies, err)
	}
	if cfg, _ := load(t, nil, nil); len(cfg.TrustedProxies) != 0 {
		t.Fatalf("trusted proxies by default: %q", cfg.TrustedProxies)
	}
}

func TestCorrectableFields(t *testing.T) {
	cfg, err := load(t, []string{"--correctable-fields", "phone, address:auto"}, nil)
	if err != nil || len(cfg.CorrectableFields) != 2 || cfg.CorrectableFields["phone"] || !cfg.CorrectableFields["address"] {
		t.Fatalf("CorrectableFields = %v, %v", cfg.CorrectableFields, err)
	}
	if cfg, _ := load(t, nil, nil); len(cfg.CorrectableFields) != 0 {
		t.Fatalf("correctable fields by default: %v", cfg.CorrectableFields)
	}
}

func TestErrorsNameTheSetting(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(file, []byte("colour: blue\n"), 0o600)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"listen", []string{"--listen", "nonsense"}, "--listen"},
		{"database", []string{"--database", "mysql://x"}, "--database"},
		{"log level", []string{"--log-level", "loud"}, "--log-level"},
		{"duration", []string{"--follow-interval", "soon"}, "--follow-interval"},
		{"unknown file key", []string{"--config", file}, `unknown setting "colour"`},
		{"missing file", []string{"--config", "/nonexistent.yaml"}, "config file"},
		{"checkpoint file is a directory", []string{"--audit-checkpoint-file", t.TempDir()}, "--audit-checkpoint-file"},
		{"checkpoint file ends in a slash", []string{"--audit-checkpoint-file", "/mnt/witness/"}, "--audit-checkpoint-file"},
		{"trusted proxy", []string{"--trusted-proxies", "10.0.0.0/8,proxy.example"}, "--trusted-proxies"},
		// The controller's name goes into mail headers and receipts: a line
		// break would add a header (Bcc:) or a forged line.
		{"controller name with a line break", []string{"--controller-name", "Shop\r\nBcc: attacker@evil.example"}, "--controller-name: must be one line"},
		{"controller name with a line separator", []string{"--controller-name", "Shop\u2028Evil"}, "--controller-name: must be one line"},
		{"controller email with a line break", []string{"--controller-email", "privacy@shop.example\nX-Evil: 1"}, "--controller-email: must be one line"},
		{"smtp-allow-plain-auth", []string{"--smtp-allow-plain-auth", "maybe"}, "--smtp-allow-plain-auth"},
		{"metrics-listen", []string{"--metrics-listen", "nonsense"}, "--metrics-listen"},
		{"correctable field name", []string{"--correctable-fields", "phone,Bad Name"}, "--correctable-fields"},
		{"correctable field mode", []string{"--correctable-fields", "phone:always"}, "--correctable-fields"},
		{"metrics-listen on the public listener", []string{"--listen", "127.0.0.1:9", "--metrics-listen", "127.0.0.1:9"}, "--metrics-listen: must differ"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := load(t, c.args, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v does not name %s", err, c.want)
			}
		})
	}
}

func TestAuditCheckpointFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "witness", "audit-checkpoints.txt")
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"default", nil, nil, ""},
		{"flag", []string{"--audit-checkpoint-file", file}, nil, file},
		{"env", nil, map[string]string{"STEWARD_AUDIT_CHECKPOINT_FILE": file}, file},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := load(t, c.args, c.env)
			if err != nil || cfg.AuditCheckpointFile != c.want {
				t.Fatalf("AuditCheckpointFile = %q, %v; want %q", cfg.AuditCheckpointFile, err, c.want)
			}
		})
	}
}

// TestRegisterOnly: a command registers only the settings it reads (its
// --help lists only those); the others still come from the environment.
func TestRegisterOnly(t *testing.T) {
	fs := flag.NewFlagSet("keys status", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := config.RegisterOnly(fs, config.VaultSettings()...)
	for name, want := range map[string]bool{"config": true, "data-dir": true, "database": true, "master-key-file": true, "smtp-host": false, "listen": false} {
		if got := fs.Lookup(name) != nil; got != want {
			t.Errorf("flag --%s registered: %v, want %v", name, got, want)
		}
	}
	if err := fs.Parse([]string{"--data-dir", "/tmp/x", "--smtp-host", "mail"}); err == nil {
		t.Fatal("--smtp-host was accepted")
	}
	env := map[string]string{"STEWARD_ACCESS_LOG": "true"}
	cfg, err := l.Load(func(k string) string { return env[k] })
	if err != nil || cfg.DataDir != "/tmp/x" || !cfg.AccessLog {
		t.Fatalf("Load = %+v, %v", cfg, err)
	}
	env["STEWARD_ACCESS_LOG"] = "loud"
	if _, err := l.Load(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "--access-log") {
		t.Fatalf("a bad --access-log: %v", err)
	}
}

// TestAccessLogSwitch: --access-log alone turns the access log on;
// --access-log=false and the default leave it off.
func TestAccessLogSwitch(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{{nil, false}, {[]string{"--access-log"}, true}, {[]string{"--access-log=false"}, false}, {[]string{"--access-log=true"}, true}} {
		cfg, err := load(t, c.args, nil)
		if err != nil || cfg.AccessLog != c.want {
			t.Errorf("%v: AccessLog %v, %v; want %v", c.args, cfg.AccessLog, err, c.want)
		}
	}
}
