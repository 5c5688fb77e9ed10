package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/gemgate/gemgate/internal/app"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/importer"
	"github.com/gemgate/gemgate/internal/store"
)

const migrateUsage = `Usage: gemgate migrate [--db FILE]

Brings the database's tables up to date and exits, without starting the server: for deployments that
upgrade the schema in a separate step. A Gemini Balance database is adopted as on a normal start. The
database comes from the same settings as the server's (DATABASE_TYPE, SQLITE_DATABASE, MYSQL_*,
POSTGRES_DSN, DATABASE_URL).
`

func migrate(args []string, out io.Writer) error {
	fs := newFlags("migrate", migrateUsage, out)
	db := dbFlag(fs)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	env, err := readEnv(map[string]string{config.SQLiteDatabase.Name(): *db})
	if err != nil {
		return err
	}
	boot, err := config.FromEnv(env)
	if err != nil {
		return fmt.Errorf("invalid setting: %w", err)
	}
	ctx := context.Background()
	// Everything this run applies is stamped at or after start (the store's clock, UTC, microseconds).
	start := time.Now().UTC().Truncate(time.Microsecond)
	st, err := store.Open(ctx, app.StoreConfig(boot))
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrations(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "Database:", st.Describe())
	n := 0
	for _, m := range applied {
		if !m.AppliedAt.Before(start) {
			fmt.Fprintf(out, "  applied %04d_%s\n", m.Version, m.Name)
			n++
		}
	}
	if len(applied) > 0 && n == 0 {
		last := applied[len(applied)-1]
		fmt.Fprintf(out, "Already up to date (migration %04d_%s).\n", last.Version, last.Name)
	}
	history, err := importer.NewHistory(boot, st)
	if err != nil {
		return err
	}
	sum, err := importer.Adopt(ctx, st, history)
	if err != nil {
		return err
	}
	if sum != nil {
		fmt.Fprintln(out, sum)
	}
	return nil
}
