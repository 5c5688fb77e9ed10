package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/importer"
)

const importUsage = `Usage: gemgate import --from SOURCE [--db FILE]

Copies a Gemini Balance database into gemgate's: its settings (keys, tokens, AUTH_TOKEN and the rest;
they replace gemgate's values), its error and request logs and its file records (keys masked). Run it
again to copy only what Gemini Balance wrote since; nothing in the source is changed.

SOURCE is Gemini Balance's SQLite file (e.g. data/default_db; a bare name is looked up under data/) or
its MySQL database as user:password@tcp(host:3306)/dbname or mysql://user:password@host:3306/dbname.
gemgate's own database comes from the usual settings (DATABASE_TYPE, SQLITE_DATABASE, MYSQL_*, ...).

A Gemini Balance database that gemgate itself runs on needs no import: it is adopted at start.
`

func importCmd(args []string, out io.Writer) error {
	fs := newFlags("import", importUsage, out)
	from := fs.String("from", "", "the Gemini Balance database: a SQLite file or a MySQL DSN")
	db := dbFlag(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("import takes no arguments, got %q (use --from SOURCE)", pos)
	}
	if *from == "" {
		return errors.New("import needs --from SOURCE: Gemini Balance's SQLite file or MySQL DSN")
	}
	ctx := context.Background()
	src, err := importer.OpenSource(ctx, *from)
	if err != nil {
		return err
	}
	defer src.Close()
	mgr, st, err := openSettings(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	before := config.AuthToken.Get(mgr.Current())
	history, err := importer.NewHistory(mgr.Current(), st)
	if err != nil {
		return err
	}
	sum, err := importer.Import(ctx, src, st, mgr, history)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, sum)
	for _, s := range sum.Skipped {
		fmt.Fprintln(out, "  skipped", s)
	}
	if config.AuthToken.Get(mgr.Current()) != before {
		fmt.Fprintln(out, "The admin token (AUTH_TOKEN) is now Gemini Balance's; log in with it.")
	}
	announceGenerated(out, mgr)
	fmt.Fprintln(out, "A running gemgate picks up the settings within 15 seconds.")
	return nil
}
