package app_test

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/app"
	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/importer/gbtest"
)

// gbHarness starts gemgate on a Gemini Balance SQLite database after edit ran on it, capturing the log.
func gbHarness(t *testing.T, env map[string]string, edit string) (*harness, *lockedBuffer) {
	t.Helper()
	fake := fakeupstream.New(fakeupstream.Config{})
	up := httptest.NewServer(fake)
	t.Cleanup(up.Close)
	dir := t.TempDir()
	path := filepath.Join(dir, "default_db")
	gbtest.SQLite(t, path)
	if edit != "" {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(edit); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	logs := &lockedBuffer{}
	h := &harness{t: t, fake: fake, up: up, dbDir: dir, logger: slog.New(slog.NewTextHandler(logs, nil)),
		env: map[string]string{"SQLITE_DATABASE": path}}
	for k, v := range env {
		h.env[k] = v
	}
	h.start()
	return h, logs
}

// TestGeminiBalanceEmptyAuthTokenKeepsAdminLogin: Gemini Balance let admins log in with the first of
// ALLOWED_TOKENS when AUTH_TOKEN was empty. After the switch that login still works, with a warning in
// the log and the panel.
func TestGeminiBalanceEmptyAuthTokenKeepsAdminLogin(t *testing.T) {
	t.Parallel()
	h, logs := gbHarness(t, nil, "UPDATE t_settings SET value = '' WHERE key = 'AUTH_TOKEN'")
	if !strings.Contains(logs.String(), "AUTH_TOKEN is empty: as in Gemini Balance, the admin token is the first of ALLOWED_TOKENS") {
		t.Fatalf("no warning in the log:\n%s", logs)
	}
	if strings.Contains(logs.String(), gbtest.ClientToken) {
		t.Fatal("the log shows the token")
	}
	if r := h.do("GET", "/api/config", nil, map[string]string{"Authorization": "Bearer " + gbtest.ClientToken}); r.status != 200 {
		t.Fatalf("admin API with ALLOWED_TOKENS[0]: %d %s", r.status, r.body)
	}
	s := h.loginWith(gbtest.ClientToken)
	page := h.do("GET", "/keys", nil, map[string]string{"Cookie": s.cookie})
	if !strings.Contains(string(page.body), "The admin token is the first of ALLOWED_TOKENS") {
		t.Fatalf("no notice on the panel: %s", page.body)
	}
	// Still the same after a restart: the token was stored.
	h.restart(nil)
	if r := h.do("GET", "/api/config", nil, map[string]string{"Authorization": "Bearer " + gbtest.ClientToken}); r.status != 200 {
		t.Fatalf("after restart: %d %s", r.status, r.body)
	}
}

// TestEnvAuthTokenMismatchAndOverride: an env AUTH_TOKEN that the stored one overrides is said loudly
// (log and panel); ENV_OVERRIDES=AUTH_TOKEN makes it win, the way to recover a token without a shell.
func TestEnvAuthTokenMismatchAndOverride(t *testing.T) {
	t.Parallel()
	newToken := "sk-new-admin-token-from-env-0001"
	h, logs := gbHarness(t, map[string]string{"AUTH_TOKEN": newToken}, "")
	if !strings.Contains(logs.String(), "AUTH_TOKEN in the environment") || !strings.Contains(logs.String(), "differs from the stored admin token") {
		t.Fatalf("no mismatch warning:\n%s", logs)
	}
	if strings.Contains(logs.String(), newToken) || strings.Contains(logs.String(), gbtest.AdminToken) {
		t.Fatal("the log shows a token in full")
	}
	if r := h.do("GET", "/api/config", nil, map[string]string{"Authorization": "Bearer " + newToken}); r.status != 401 {
		t.Fatalf("env token accepted while the stored one wins: %d", r.status)
	}
	s := h.loginWith(gbtest.AdminToken)
	if page := h.do("GET", "/config", nil, map[string]string{"Cookie": s.cookie}); !strings.Contains(string(page.body), "ENV_OVERRIDES=AUTH_TOKEN") {
		t.Fatalf("no mismatch notice on the panel: %s", page.body)
	}

	h.restart(map[string]string{"ENV_OVERRIDES": "AUTH_TOKEN"})
	if !strings.Contains(logs.String(), "ENV_OVERRIDES: AUTH_TOKEN taken from the environment") {
		t.Fatalf("override not logged:\n%s", logs)
	}
	if r := h.do("GET", "/api/config", nil, map[string]string{"Authorization": "Bearer " + newToken}); r.status != 200 {
		t.Fatalf("env token after ENV_OVERRIDES: %d %s", r.status, r.body)
	}
	if r := h.do("GET", "/api/config", nil, map[string]string{"Authorization": "Bearer " + gbtest.AdminToken}); r.status != 401 {
		t.Fatalf("old token still works: %d", r.status)
	}
	// Without the override the env token stays: it was stored.
	h.restart(map[string]string{"ENV_OVERRIDES": ""})
	if r := h.do("GET", "/api/config", nil, map[string]string{"Authorization": "Bearer " + newToken}); r.status != 200 {
		t.Fatalf("env token after removing ENV_OVERRIDES: %d %s", r.status, r.body)
	}
}

// TestEnvOverridesRejectsUnknownNames: a misspelt name must not silently override nothing.
func TestEnvOverridesRejectsUnknownNames(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SQLITE_DATABASE": filepath.Join(t.TempDir(), "x.db"), "ENV_OVERRIDES": "AUTH_TOKN"}
	a, err := app.New(context.Background(), app.Options{Env: env})
	if err == nil {
		a.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "AUTH_TOKN") {
		t.Fatalf("err = %v", err)
	}
}
