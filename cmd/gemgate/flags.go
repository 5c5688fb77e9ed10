package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gemgate/gemgate/internal/app"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/store"
)

// newFlags returns a subcommand's flag set. --help prints usage (the command line and what it does) and
// the flags to out; run treats the resulting flag.ErrHelp as success.
func newFlags(name, usage string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fmt.Fprintln(fs.Output(), "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags placed before, between or after the positional arguments, and returns those.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// parseNoArgs parses flags for a command that takes no positional arguments.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	pos, err := parseArgs(fs, args)
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("%s takes no arguments, got %q", fs.Name(), pos)
	}
	return err
}

func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", "", "SQLite database file (setting "+config.SQLiteDatabase.Name()+")")
}

// openSettings opens the database as the server does, with --db applied.
func openSettings(ctx context.Context, db string) (*config.Manager, *store.Store, error) {
	env, err := readEnv(map[string]string{config.SQLiteDatabase.Name(): db})
	if err != nil {
		return nil, nil, err
	}
	return app.OpenSettings(ctx, env)
}

// openExisting is openSettings for commands that only read: a mistyped SQLite path must be an error,
// not a new empty database.
func openExisting(ctx context.Context, db string) (*config.Manager, *store.Store, error) {
	env, err := readEnv(map[string]string{config.SQLiteDatabase.Name(): db})
	if err != nil {
		return nil, nil, err
	}
	boot, err := config.FromEnv(env)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid setting: %w", err)
	}
	if cfg := app.StoreConfig(boot); cfg.Type == "" || cfg.Type == "sqlite" {
		path := store.SQLiteFile(cfg.SQLitePath)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("no database at %s; run this in gemgate's working folder, or pass --db", path)
		}
	}
	return app.OpenSettings(ctx, env)
}

// announceGenerated prints the admin token that opening a new database generated: it is shown only once,
// and a command that created the database is the only one that can show it.
func announceGenerated(out io.Writer, mgr *config.Manager) {
	if t := mgr.GeneratedAuthToken; t != "" && config.AuthToken.Get(mgr.Current()) == t {
		fmt.Fprintf(out, "\nNo AUTH_TOKEN was set, so one was generated and stored (gemgate shows it again at each start until someone logs in):\n\n    %s\n\n", t)
	}
}
