package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/keypool"
)

const keysUsage = `Usage:
  gemgate keys import [--db FILE] FILE   add every Gemini key found in FILE ("-" reads standard input)
  gemgate keys export [--db FILE] [--status usable|disabled|all]
                                         print the keys, one per line

import finds keys in any text (a list, a CSV, a log, a JSON array): anything shaped like AIzaSy and 33
more letters, digits, '-' or '_'. Keys already configured are counted, not added twice. The keys are
stored in API_KEYS in the database; a running gemgate picks them up within 15 seconds.
`

func keys(args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("keys needs a command: import or export\n\n" + keysUsage)
	}
	if isHelp(args[0]) {
		fmt.Fprint(out, keysUsage)
		return nil
	}
	switch args[0] {
	case "import":
		return keysImport(args[1:], out)
	case "export":
		return keysExport(args[1:], out)
	}
	return fmt.Errorf("unknown keys command %q\n\n%s", args[0], keysUsage)
}

func keysImport(args []string, out io.Writer) error {
	fs := newFlags("keys import", keysUsage, out)
	db := dbFlag(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("keys import needs exactly one FILE (or - for standard input)")
	}
	text, err := readInput(pos[0])
	if err != nil {
		return err
	}
	found := keypool.ExtractKeys(text)
	if len(found) == 0 {
		return fmt.Errorf("no Gemini API key found in %s (a key is AIzaSy followed by 33 characters)", pos[0])
	}
	ctx := context.Background()
	mgr, st, err := openSettings(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	next, added, dups := keypool.MergeKeys(config.APIKeys.Get(mgr.Current()), found)
	if added > 0 {
		if err := mgr.Update(ctx, map[string]string{config.APIKeys.Name(): config.APIKeys.Def().Format(next)}); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "Found %d keys: %d added, %d duplicates. API_KEYS now holds %d keys.\n", len(found), added, dups, len(next))
	announceGenerated(out, mgr)
	if added > 0 {
		fmt.Fprintln(out, "A running gemgate picks them up within 15 seconds.")
	}
	return nil
}

func readInput(name string) (string, error) {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(io.LimitReader(os.Stdin, 256<<20))
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return "", fmt.Errorf("reading keys: %w", err)
	}
	return string(b), nil
}

func keysExport(args []string, out io.Writer) error {
	fs := newFlags("keys export", keysUsage, out)
	db := dbFlag(fs)
	status := fs.String("status", "all", "which keys: usable, disabled or all")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *status != "usable" && *status != "disabled" && *status != "all" {
		return fmt.Errorf("--status %q: want usable, disabled or all", *status)
	}
	ctx := context.Background()
	mgr, st, err := openExisting(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	states, err := st.LoadKeyStates(ctx)
	if err != nil {
		return err
	}
	disabled := map[string]bool{}
	for _, s := range states {
		disabled[s.Key] = s.Disabled
	}
	for _, k := range config.APIKeys.Get(mgr.Current()) {
		if *status == "all" || (*status == "disabled") == disabled[k] {
			fmt.Fprintln(out, k)
		}
	}
	return nil
}
