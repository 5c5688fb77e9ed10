package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFiles embed.FS

// migrationLockWait bounds how long a starting instance waits for another one that is migrating.
const migrationLockWait = 120 * time.Second

// pgMigrationLock is the advisory lock key of the migration run ("gemgate" in ASCII).
const pgMigrationLock = 0x67656d67617465

type migration struct {
	version int
	name    string
	stmts   []string
}

var migrationFileName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

func loadMigrations(d Dialect) ([]migration, error) {
	dir := "migrations/" + string(d)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("reading embedded migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		m := migrationFileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("embedded migration %s/%s: name is not NNNN_name.sql", dir, e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		src, err := fs.ReadFile(migrationFiles, dir+"/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("reading embedded migration %s: %w", e.Name(), err)
		}
		stmts := splitStatements(string(src))
		if len(stmts) == 0 {
			return nil, fmt.Errorf("embedded migration %s/%s has no statement", dir, e.Name())
		}
		out = append(out, migration{version: v, name: m[2], stmts: stmts})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("embedded migrations %s: version %04d appears twice", dir, out[i].version)
		}
	}
	return out, nil
}

// splitStatements cuts a migration file at lines ending in ';'. MySQL runs one statement per call
// unless multiStatements is on, which would also let a single query string carry injected statements.
// Lines starting with -- are comments and dropped.
func splitStatements(src string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if st := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"); strings.TrimSpace(st) != "" {
			out = append(out, strings.TrimSpace(st))
		}
		cur.Reset()
	}
	for line := range strings.SplitSeq(src, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(strings.TrimRight(line, " \t\r"))
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			flush()
		}
	}
	flush()
	return out
}

// migrate applies the embedded migrations that the database has not recorded yet.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations(s.dialect)
	if err != nil {
		return err
	}
	// Server-side locks belong to a session, so the whole run stays on one connection.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("getting a connection: %w", err)
	}
	defer conn.Close()
	unlock, err := s.lockMigrations(ctx, conn)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := conn.ExecContext(ctx, s.q.createMigrations); err != nil {
		return fmt.Errorf("creating gg_schema_migrations: %w", err)
	}
	done, err := appliedVersions(ctx, conn)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if done[m.version] {
			continue
		}
		if err := s.apply(ctx, conn, m); err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
		}
	}
	return nil
}

func appliedVersions(ctx context.Context, conn *sql.Conn) (map[int]bool, error) {
	rows, err := conn.QueryContext(ctx, "SELECT version FROM gg_schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("reading gg_schema_migrations: %w", err)
	}
	defer rows.Close()
	done := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("reading gg_schema_migrations: %w", err)
		}
		done[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading gg_schema_migrations: %w", err)
	}
	return done, nil
}

func (s *Store) apply(ctx context.Context, conn *sql.Conn, m migration) error {
	ts := now()
	if s.dialect == MySQL {
		// MySQL commits implicitly around every DDL statement, so a transaction would only pretend.
		// MySQL migrations are written to be re-runnable instead, and the named lock keeps other
		// instances out meanwhile.
		for i, st := range m.stmts {
			if _, err := conn.ExecContext(ctx, st); err != nil && !alreadyThere(err) {
				return fmt.Errorf("statement %d: %w", i+1, err)
			}
		}
		_, err := conn.ExecContext(ctx, s.q.recordMigration, m.version, m.name, ts)
		if isDuplicateKey(err) {
			return nil
		}
		return err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer tx.Rollback()
	// SQLite has no lock outside the transaction: another instance may have applied this migration
	// between our first look and BEGIN IMMEDIATE.
	var n int
	if err := tx.QueryRowContext(ctx, s.q.countMigration, m.version).Scan(&n); err != nil {
		return fmt.Errorf("checking gg_schema_migrations: %w", err)
	}
	if n > 0 {
		return nil
	}
	for i, st := range m.stmts {
		if _, err := tx.ExecContext(ctx, st); err != nil && !alreadyThere(err) {
			return fmt.Errorf("statement %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q.recordMigration, m.version, m.name, ts); err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// lockMigrations keeps two instances starting at once from migrating the same database together.
// SQLite needs no lock here: each migration runs in a BEGIN IMMEDIATE transaction, which excludes
// every other writer of the file.
func (s *Store) lockMigrations(ctx context.Context, conn *sql.Conn) (func(), error) {
	var unlockQuery string
	switch s.dialect {
	case MySQL:
		// Lock names are server-wide; the database name keeps instances of different databases apart.
		const name = "CONCAT('gg_migrate_', MD5(DATABASE()))"
		var got sql.NullInt64
		err := conn.QueryRowContext(ctx, "SELECT GET_LOCK("+name+", ?)", int(migrationLockWait.Seconds())).Scan(&got)
		if err != nil {
			return nil, fmt.Errorf("taking the migration lock: %w", err)
		}
		if !got.Valid || got.Int64 != 1 {
			return nil, fmt.Errorf("another instance held the migration lock for over %s", migrationLockWait)
		}
		unlockQuery = "SELECT RELEASE_LOCK(" + name + ")"
	case Postgres:
		if err := pgLock(ctx, conn); err != nil {
			return nil, err
		}
		unlockQuery = fmt.Sprintf("SELECT pg_advisory_unlock(%d)", pgMigrationLock)
	default:
		return func() {}, nil
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, unlockQuery); err != nil {
			// The lock belongs to the session and Conn.Close only returns the connection to the pool;
			// discarding the connection is what surely releases it.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}, nil
}

// pgLock polls pg_try_advisory_lock so that the wait is bounded like MySQL's GET_LOCK timeout.
func pgLock(ctx context.Context, conn *sql.Conn) error {
	deadline := time.Now().Add(migrationLockWait)
	for {
		var got bool
		q := fmt.Sprintf("SELECT pg_try_advisory_lock(%d)", pgMigrationLock)
		if err := conn.QueryRowContext(ctx, q).Scan(&got); err != nil {
			return fmt.Errorf("taking the migration lock: %w", err)
		}
		if got {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("another instance held the migration lock for over %s", migrationLockWait)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the migration lock: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
