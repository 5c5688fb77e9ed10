// Package storetest opens empty gemgate databases for tests of packages that keep tables in the store.
// SQLite always runs, in t.TempDir(). A server runs when its variable is set, and is skipped otherwise:
//
//	GEMGATE_TEST_MYSQL     a go-sql-driver/mysql DSN, e.g. root@tcp(127.0.0.1:3306)/test. Every test
//	                       works in its own database gg_test_<random>, dropped afterwards.
//	GEMGATE_TEST_POSTGRES  a pgx DSN, e.g. postgres://root@127.0.0.1:5432/test?sslmode=disable. Every
//	                       test works in its own schema gg_test_<random>, dropped afterwards.
//
// This is the scheme of the store package's own tests, so that parallel packages and repeated runs
// never meet.
package storetest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver for the admin connection

	"github.com/gemgate/gemgate/internal/store"
)

const (
	envMySQL    = "GEMGATE_TEST_MYSQL"
	envPostgres = "GEMGATE_TEST_POSTGRES"
)

// Dialects lists every engine, in the order tests run them.
var Dialects = []store.Dialect{store.SQLite, store.MySQL, store.Postgres}

// ForEach runs fn as a parallel subtest per engine, each with a fresh migrated store: fn must not share
// state across engines, and the caller must not expect the subtests to have run when ForEach returns.
func ForEach(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel() // each engine works in a database of its own
			fn(t, Open(t, d))
		})
	}
}

// Open returns a migrated store on an empty database of the test's own, closed at the end of the test.
func Open(t testing.TB, d store.Dialect) *store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), Config(t, d))
	if err != nil {
		t.Fatalf("opening %s store: %v", d, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Config returns the configuration of an empty database of the test's own (skipping the test when the
// engine's variable is not set).
func Config(t testing.TB, d store.Dialect) store.Config {
	t.Helper()
	switch d {
	case store.MySQL:
		return freshMySQL(t)
	case store.Postgres:
		return freshPostgres(t)
	}
	return store.Config{Type: "sqlite", SQLitePath: filepath.Join(t.TempDir(), "gemgate.db")}
}

func randomName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "gg_test_" + hex.EncodeToString(b)
}

func freshMySQL(t testing.TB) store.Config {
	dsn := os.Getenv(envMySQL)
	if dsn == "" {
		t.Skip(envMySQL + " is not set")
	}
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("%s: %v", envMySQL, err)
	}
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		t.Fatalf("%s: %v", envMySQL, err)
	}
	admin := sql.OpenDB(conn)
	name := randomName()
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4"); err != nil {
		admin.Close()
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
	})
	cfg := store.Config{Type: "mysql", MySQLUser: mc.User, MySQLPassword: mc.Passwd, MySQLDatabase: name}
	if mc.Net == "unix" {
		cfg.MySQLSocket = mc.Addr
	} else {
		host, port, _ := net.SplitHostPort(mc.Addr)
		cfg.MySQLHost = host
		cfg.MySQLPort, _ = strconv.Atoi(port)
	}
	return cfg
}

func freshPostgres(t testing.TB) store.Config {
	dsn := os.Getenv(envPostgres)
	if dsn == "" {
		t.Skip(envPostgres + " is not set")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("%s: %v", envPostgres, err)
	}
	name := randomName()
	if _, err := admin.Exec("CREATE SCHEMA " + name); err != nil {
		admin.Close()
		t.Fatalf("creating test schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA IF EXISTS " + name + " CASCADE"); err != nil {
			t.Errorf("dropping test schema %s: %v", name, err)
		}
	})
	return store.Config{Type: "postgres", PostgresDSN: withSearchPath(dsn, name)}
}

func withSearchPath(dsn, schema string) string {
	if strings.Contains(dsn, "://") {
		if u, err := url.Parse(dsn); err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}
