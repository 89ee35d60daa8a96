package main

import (
	"errors"
	"flag"
	"regexp"
	"strings"
	"testing"
)

// TestEveryCommandAnswersHelp asks every command, every group and every
// command of a group for --help: each answers on stdout with its own
// synopsis and flags and exit status 0 (flag.ErrHelp), and no command but
// serve lists the server's settings.
func TestEveryCommandAnswersHelp(t *testing.T) {
	t.Parallel()
	// A flag each command must list, where it has one of its own.
	ownFlag := map[string]string{
		"serve": "-demo", "migrate": "-database", "apikey create": "-scope", "receipt verify": "-jwks",
		"tcf gvl import": "-data-dir", "audit verify": "-checkpoint", "audit export": "-from", "keys status": "-master-key-file",
		"keys rotate": "-to", "staff create": "-email", "connector preview": "-external-id", "bench decide": "-batch",
		"inventory ropa": "-format",
	}
	type helpCase struct {
		name string
		args []string
		want []string
	}
	var cases []helpCase
	for _, c := range commands() {
		if len(c.subs) == 0 {
			cases = append(cases, helpCase{c.name, []string{c.name, "--help"}, []string{"Usage: steward " + c.name}})
			continue
		}
		group := helpCase{c.name + " (group)", []string{c.name, "--help"}, []string{"Usage: steward " + c.name + " COMMAND"}}
		for _, sub := range c.subs {
			group.want = append(group.want, "  "+sub.name+" ")
			name := c.name + " " + sub.name
			for _, help := range []string{"--help", "-h"} {
				cases = append(cases, helpCase{name + " " + help, append(strings.Fields(name), help), []string{"Usage: steward " + name}})
			}
		}
		cases = append(cases, group)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, err := runCLI(t, "", c.args...)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("err = %v, want flag.ErrHelp (exit 0); stderr %q", err, errOut)
			}
			if errOut != "" {
				t.Errorf("stderr %q, want help on stdout only", errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			name := strings.Join(c.args[:len(c.args)-1], " ")
			if f, ok := ownFlag[name]; ok && !regexp.MustCompile(`(?m)^  `+f+`( |$)`).MatchString(out) {
				t.Errorf("help of %s lacks its flag %s:\n%s", name, f, out)
			}
			if name != "serve" && (strings.Contains(out, "-smtp-host") || strings.Contains(out, "-brand-colour") || strings.Contains(out, "-listen")) {
				t.Errorf("help of %s lists the server's settings:\n%s", name, out)
			}
		})
	}
}

// TestGroupsNeedACommand: a group without a command, or with an unknown
// one, prints its commands on stderr and fails.
func TestGroupsNeedACommand(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"keys"}, {"keys", "frobnicate"}, {"tcf", "gvl"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, errOut, err := runCLI(t, "", args...)
			if err == nil || errors.Is(err, flag.ErrHelp) || out != "" || !strings.Contains(errOut, "Usage: steward "+args[0]) {
				t.Fatalf("err %v, stdout %q, stderr %q", err, out, errOut)
			}
		})
	}
}
