package main

import (
	"context"
	"fmt"

	"github.com/steward-dev/steward/internal/gpp"
)

func runGPP(_ context.Context, env *environment, args []string) error {
	switch {
	case len(args) >= 1 && args[0] == "decode":
		fs := newFlags(env, "gpp decode", "gpp decode STRING\n\nPrints the IAB GPP string STRING as JSON: its sections, each with its raw text and,\nfor tcfeuv2, usnat, usca, usva, usco, usut and usct, its fields.")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			fs.Usage()
			return errUsage
		}
		return gpp.DecodeCommand(env.stdout, fs.Arg(0))
	case len(args) >= 1 && args[0] == "encode":
		fs := newFlags(env, "gpp encode", "gpp encode < gpp.json\n\nReads a GPP string's sections as JSON (as gpp decode prints them) and prints the GPP string.\nA section's raw text is kept while it still says what its fields say.")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 0 {
			fs.Usage()
			return errUsage
		}
		return gpp.EncodeCommand(env.stdout, env.stdin)
	default:
		fmt.Fprintln(env.stderr, "Usage: steward gpp decode STRING | steward gpp encode < gpp.json")
		return errUsage
	}
}
