package app_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/importer/gbtest"
	"github.com/gemgate/gemgate/internal/secret"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestGeminiBalanceAdoptedInPlace starts gemgate on the database Gemini Balance left, with nothing but
// its database setting: settings, tokens and history carry over, and no full key is shown.
func TestGeminiBalanceAdoptedInPlace(t *testing.T) {
	t.Parallel()
	fake := fakeupstream.New(fakeupstream.Config{})
	up := httptest.NewServer(fake)
	defer up.Close()
	dir := t.TempDir()
	gbtest.SQLite(t, filepath.Join(dir, "default_db"))
	logs := &lockedBuffer{}
	h := &harness{t: t, fake: fake, up: up, dbDir: dir, logger: slog.New(slog.NewTextHandler(logs, nil)),
		env: map[string]string{"SQLITE_DATABASE": filepath.Join(dir, "default_db")}}
	h.start()

	if !strings.Contains(logs.String(), "Adopted Gemini Balance database: 33 settings, 3 keys, 2 tokens, 3 error logs, 5 request logs, 2 files") {
		t.Fatalf("no adoption summary in the log:\n%s", logs)
	}
	admin := map[string]string{"Authorization": "Bearer " + gbtest.AdminToken}
	// Gemini Balance's BASE_URL is stored and wins over env: point it at the fake Google through the API.
	if r := h.do("PUT", "/api/config", map[string]any{"BASE_URL": up.URL + "/v1beta"}, admin); r.status != 200 {
		t.Fatalf("Gemini Balance's admin token: %d %s", r.status, r.body)
	}
	r := h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", hello("hi"), map[string]string{"x-goog-api-key": gbtest.ClientToken})
	if r.status != 200 {
		t.Fatalf("Gemini Balance's client token: %d %s", r.status, r.body)
	}

	reqs := h.do("GET", "/api/logs/requests?limit=100&sort_order=asc", nil, admin)
	errs := h.do("GET", "/api/logs/errors?limit=100&sort_order=asc", nil, admin)
	suspended := h.do("GET", "/api/logs/errors/2", nil, admin) // its message quoted the key
	for _, res := range []result{reqs, errs, suspended} {
		if res.status != 200 {
			t.Fatalf("logs: %d %s", res.status, res.body)
		}
		for _, k := range []string{gbtest.Key1, gbtest.Key2, gbtest.Key3, gbtest.Key4} {
			if bytes.Contains(res.body, []byte(k)) {
				t.Fatalf("the logs show a full key: %s", res.body)
			}
		}
	}
	if !bytes.Contains(reqs.body, []byte(secret.Mask(gbtest.Key2))) || !bytes.Contains(reqs.body, []byte(secret.ID(gbtest.Key2))) {
		t.Fatalf("Gemini Balance's request rows are not shown with masked keys and ids: %s", reqs.body)
	}
	if !bytes.Contains(errs.body, []byte(secret.Mask(gbtest.Key3))) || !bytes.Contains(errs.body, []byte(`"total":3`)) ||
		!bytes.Contains(suspended.body, []byte("api_key:"+secret.Mask(gbtest.Key3)+"' has been suspended")) {
		t.Fatalf("Gemini Balance's error rows are not shown: %s\n%s", errs.body, suspended.body)
	}

	// GB's GITHUB_REPO_* (its own repository) means no update check; the route still answers.
	v := h.do("GET", "/api/version", nil, admin)
	var status map[string]any
	if err := json.Unmarshal(v.body, &status); v.status != 200 || err != nil || status["version"] != "dev" || status["repo"] != nil || status["update_available"] != false {
		t.Fatalf("/api/version: %d %s", v.status, v.body)
	}
	if r := h.do("GET", "/api/version", nil, nil); r.status != 401 {
		t.Fatalf("/api/version without a token: %d", r.status)
	}

	h.restart(nil)
	if n := strings.Count(logs.String(), "Adopted Gemini Balance database"); n != 1 {
		t.Fatalf("the adoption was reported %d times", n)
	}
}
