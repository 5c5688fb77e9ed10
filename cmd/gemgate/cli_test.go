package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gemgate/gemgate/internal/importer/gbtest"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/store"
	"github.com/gemgate/gemgate/internal/testutil"
)

// The keys of the Gemini Balance fixture, also used as keys a user pastes.
const (
	key1 = gbtest.Key1
	key2 = gbtest.Key2
	key3 = gbtest.Key3
)

// inTempDir runs the test in an empty working folder (where .env and data/ would be) with no gemgate
// setting inherited from the environment.
func inTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "HOST", "PORT", "DATABASE_TYPE", "SQLITE_DATABASE", "AUTH_TOKEN", "API_KEYS", "ALLOWED_TOKENS",
			"BASE_URL", "RELAY_TARGET", "RELAY_SECRET", "REDIS_URL", "POSTGRES_DSN", "DATABASE_URL":
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	return dir
}

func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(args, &out); err != nil {
		t.Fatalf("gemgate %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func runErr(t *testing.T, want string, args ...string) {
	t.Helper()
	var out bytes.Buffer
	err := run(args, &out)
	if err == nil {
		t.Fatalf("gemgate %s succeeded, want an error containing %q\n%s", strings.Join(args, " "), want, out.String())
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("gemgate %s: %v, want %q", strings.Join(args, " "), err, want)
	}
}

func TestHelp(t *testing.T) {
	inTempDir(t)
	for _, args := range [][]string{
		{"help"}, {"relay", "--help"}, {"check", "-h"}, {"migrate", "--help"}, {"import", "--help"},
		{"keys", "--help"}, {"keys", "import", "--help"}, {"keys", "export", "-h"}, {"token", "show-hint", "--help"},
	} {
		out := runOK(t, args...)
		if !strings.Contains(out, "Usage") {
			t.Errorf("gemgate %s printed no usage:\n%s", strings.Join(args, " "), out)
		}
	}
	for _, arg := range []string{"help", "--help", "-h", "-help"} {
		out := runOK(t, arg)
		if !strings.Contains(out, "gemgate relay") || !strings.Contains(out, "gemgate keys import") || strings.Contains(out, "-port int") {
			t.Errorf("gemgate %s does not print the command list:\n%s", arg, out)
		}
	}
	if out := runOK(t, "serve", "--help"); !strings.Contains(out, "Usage: gemgate serve") || !strings.Contains(out, "-port int") {
		t.Errorf("gemgate serve --help does not print the serve flags:\n%s", out)
	}
}

// Every command answers --help and -h with its usage, and succeeds (exit status 0), without doing its work.
func TestEveryCommandHelp(t *testing.T) {
	inTempDir(t)
	for name := range commands {
		for _, flag := range []string{"--help", "-h"} {
			out := runOK(t, name, flag)
			if !strings.Contains(out, "Usage") || !strings.Contains(out, "gemgate "+name) {
				t.Errorf("gemgate %s %s printed no usage of %s:\n%s", name, flag, name, out)
			}
		}
	}
	if _, err := os.Stat("data"); err == nil {
		t.Error("a --help created the database")
	}
}

func TestBadArguments(t *testing.T) {
	dir := inTempDir(t)
	noKeys := filepath.Join(dir, "nokeys.txt")
	if err := os.WriteFile(noKeys, []byte("nothing to see"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		want string
		args []string
	}{
		{"unknown command", []string{"frobnicate"}},
		{"invalid value", []string{"relay", "--port", "x"}},
		{"takes no arguments", []string{"relay", "extra"}},
		{"absolute http", []string{"relay", "--target", "ftp://example.com"}},
		{"PORT", []string{"relay", "--port", "70000"}},
		{"not defined", []string{"check", "--bogus"}},
		{"takes no arguments", []string{"check", "extra"}},
		{"takes no arguments", []string{"migrate", "extra"}},
		{"needs --from", []string{"import"}},
		{"no such SQLite file", []string{"import", "--from", filepath.Join(dir, "missing.db")}},
		{"takes no arguments", []string{"import", "--from", "x", "y"}},
		{"needs a command", []string{"keys"}},
		{"unknown keys command", []string{"keys", "frob"}},
		{"exactly one FILE", []string{"keys", "import"}},
		{"exactly one FILE", []string{"keys", "import", "a", "b"}},
		{"no such file", []string{"keys", "import", filepath.Join(dir, "missing.txt")}},
		{"no Gemini API key found", []string{"keys", "import", noKeys}},
		{"--status", []string{"keys", "export", "--status", "broken"}},
		{"no database", []string{"keys", "export"}},
		{"no database", []string{"token", "show-hint"}},
		{"takes no arguments", []string{"token", "show-hint", "extra"}},
		{"unknown token command", []string{"token", "frob"}},
	} {
		runErr(t, tc.want, tc.args...)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("a failed command created a database")
	}
}

func TestVersion(t *testing.T) {
	inTempDir(t)
	if out := runOK(t, "version"); out != "gemgate "+version+"\n" {
		t.Fatalf("version printed %q", out)
	}
}

func TestKeysImportExport(t *testing.T) {
	dir := inTempDir(t)
	file := filepath.Join(dir, "keys.csv")
	text := "name,key\nfirst," + key1 + "\nsecond," + key2 + "\nagain," + key1 + "\n[\"" + key3 + "\"]\n"
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	out := runOK(t, "keys", "import", file, "--db", "gg.db")
	if !strings.Contains(out, "Found 4 keys: 3 added, 1 duplicates. API_KEYS now holds 3 keys.") {
		t.Fatalf("first import:\n%s", out)
	}
	// The command created the database, so it is the one that must show the generated admin token.
	if !strings.Contains(out, "No AUTH_TOKEN was set") {
		t.Fatalf("the generated admin token was not shown:\n%s", out)
	}
	out = runOK(t, "keys", "import", "--db", "gg.db", file)
	if !strings.Contains(out, "Found 4 keys: 0 added, 4 duplicates. API_KEYS now holds 3 keys.") || strings.Contains(out, "AUTH_TOKEN") {
		t.Fatalf("second import:\n%s", out)
	}
	if out := runOK(t, "keys", "export", "--db", "gg.db"); out != key1+"\n"+key2+"\n"+key3+"\n" {
		t.Fatalf("export:\n%s", out)
	}

	// Disable key2 as the gateway would, then filter by status.
	st, err := store.Open(context.Background(), store.Config{SQLitePath: filepath.Join("data", "gg.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveKeyStates(context.Background(), []store.KeyState{{Key: key2, Disabled: true, DisabledReason: "suspended"}, {Key: key1}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if out := runOK(t, "keys", "export", "--db", "gg.db", "--status", "usable"); out != key1+"\n"+key3+"\n" {
		t.Fatalf("usable keys:\n%s", out)
	}
	if out := runOK(t, "keys", "export", "--status", "disabled", "--db", "gg.db"); out != key2+"\n" {
		t.Fatalf("disabled keys:\n%s", out)
	}
}

func TestTokenResetAndShowHint(t *testing.T) {
	inTempDir(t)
	t.Setenv("AUTH_TOKEN", "sk-first-token-0000000000000001")
	out := runOK(t, "migrate", "--db", "gg.db")
	if !strings.Contains(out, "applied 0001_settings") {
		t.Fatalf("migrate:\n%s", out)
	}
	out = runOK(t, "token", "show-hint", "--db", "gg.db")
	if !strings.Contains(out, secret.Mask("sk-first-token-0000000000000001")) || strings.Contains(out, "0000000000000001") {
		t.Fatalf("show-hint on the first token:\n%s", out)
	}
	out = runOK(t, "token", "reset", "--db", "gg.db")
	i := strings.Index(out, "sk-")
	if i < 0 {
		t.Fatalf("reset printed no token:\n%s", out)
	}
	newToken := strings.TrimSpace(out[i:])
	out = runOK(t, "token", "show-hint", "--db", "gg.db")
	// FAQ 2: the token in env no longer works once the database holds another one; say so.
	if !strings.Contains(out, secret.Mask(newToken)) || !strings.Contains(out, "is not in force") {
		t.Fatalf("show-hint after a reset:\n%s", out)
	}
}

func TestMigrate(t *testing.T) {
	inTempDir(t)
	out := runOK(t, "migrate", "--db", "gg.db")
	for _, want := range []string{"sqlite database data/gg.db", "applied 0001_settings", "applied 0008_gemini_balance"} {
		if !strings.Contains(out, want) {
			t.Fatalf("first migrate lacks %q:\n%s", want, out)
		}
	}
	out = runOK(t, "migrate", "--db", "gg.db")
	if !strings.Contains(out, "Already up to date") || strings.Contains(out, "applied") {
		t.Fatalf("second migrate:\n%s", out)
	}
}

func TestMigrateAdoptsGeminiBalance(t *testing.T) {
	dir := inTempDir(t)
	gbtest.SQLite(t, filepath.Join(dir, "data", "default_db"))
	t.Setenv("SQLITE_DATABASE", "default_db") // Gemini Balance's setting, unchanged
	out := runOK(t, "migrate")
	if !strings.Contains(out, "Adopted Gemini Balance database: 33 settings, 3 keys, 2 tokens, 3 error logs, 5 request logs, 2 files") {
		t.Fatalf("migrate on a Gemini Balance database:\n%s", out)
	}
	if out := runOK(t, "keys", "export"); out != key1+"\n"+key2+"\n"+key3+"\n" {
		t.Fatalf("Gemini Balance's keys:\n%s", out)
	}
	if out := runOK(t, "migrate"); strings.Contains(out, "Adopted") {
		t.Fatalf("the adoption was reported twice:\n%s", out)
	}
}

func TestImportCommand(t *testing.T) {
	dir := inTempDir(t)
	gb := filepath.Join(dir, "old", "default_db")
	gbtest.SQLite(t, gb)
	out := runOK(t, "import", "--from", gb, "--db", "gg.db")
	for _, want := range []string{
		"Imported Gemini Balance database sqlite:" + gb + ": 29 settings, 3 keys, 2 tokens, 3 error logs, 5 request logs, 2 files",
		"skipped TZ (unknown to gemgate)", "skipped SQLITE_DATABASE (env only)", "AUTH_TOKEN) is now Gemini Balance's",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("import output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "No AUTH_TOKEN was set") {
		t.Fatalf("a generated token was announced though Gemini Balance's replaced it:\n%s", out)
	}
	if out := runOK(t, "keys", "export", "--db", "gg.db"); out != key1+"\n"+key2+"\n"+key3+"\n" {
		t.Fatalf("imported keys:\n%s", out)
	}
	if out := runOK(t, "token", "show-hint", "--db", "gg.db"); !strings.Contains(out, secret.Mask(gbtest.AdminToken)) {
		t.Fatalf("imported admin token:\n%s", out)
	}
	out = runOK(t, "import", "--from", gb, "--db", "gg.db")
	if !strings.Contains(out, "0 error logs, 0 request logs, 0 files") {
		t.Fatalf("second import copied rows again:\n%s", out)
	}
}

func TestCheck(t *testing.T) {
	inTempDir(t)
	status := http.StatusOK
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))

	if out := runOK(t, "check", "--url", srv.URL+"/health"); out != "ok\n" {
		t.Fatalf("check --url: %q", out)
	}
	runOK(t, "check", "--port", port)
	t.Setenv("PORT", port) // as in the container: the server's own setting
	runOK(t, "check")
	if err := os.WriteFile(".env", []byte("PORT=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runOK(t, "check") // the environment wins over .env, as for the server

	mu.Lock()
	status = http.StatusServiceUnavailable
	mu.Unlock()
	runErr(t, "503", "check")
	os.Unsetenv("PORT")
	runErr(t, "health check", "check") // .env's port 1: nothing listens
	runErr(t, "health check", "check", "--url", "http://127.0.0.1:"+strconv.Itoa(testutil.FreePort(t))+"/health")
}
