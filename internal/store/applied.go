package store

import (
	"context"
	"fmt"
	"time"
)

// AppliedMigration is one row of gg_schema_migrations.
type AppliedMigration struct {
	Version   int
	Name      string
	AppliedAt time.Time // UTC
}

// Migrations lists the migrations applied to the database, oldest version first, for "gemgate migrate".
func (s *Store) Migrations(ctx context.Context) ([]AppliedMigration, error) {
	out, err := All(ctx, s, func(row Row) (m AppliedMigration, err error) {
		var at dbTime
		err = row.Scan(&m.Version, &m.Name, &at)
		m.AppliedAt = at.T
		return m, err
	}, "SELECT version, name, applied_at FROM gg_schema_migrations ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("store: reading gg_schema_migrations: %w", err)
	}
	return out, nil
}

// Describe names the database without its password, as errors do: "sqlite database data/gemgate.db".
func (s *Store) Describe() string { return s.where }

// SQLiteFile is the file a SQLITE_DATABASE value names, by Gemini Balance's rule that a bare name lives
// under data/; commands that must not create a database check it exists first.
func SQLiteFile(setting string) string { return resolveSQLitePath(setting) }
