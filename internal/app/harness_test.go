package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/app"
	"github.com/gemgate/gemgate/internal/fakeupstream"
)

const (
	clientToken = "sk-client-token-for-tests-000000"
	adminToken  = "sk-admin-token-for-tests-0000000"
)

// harness runs gemgate (its real handler on a real listener) in front of the fake Gemini.
type harness struct {
	t     *testing.T
	fake  *fakeupstream.Server
	up    *httptest.Server
	app   *app.App
	srv   *httptest.Server
	env   map[string]string
	dbDir string
	// logger, when set before start, receives gemgate's application log.
	logger *slog.Logger
}

func goodKey(i int) string { return "AIzaSyGood" + strings.Repeat("0", 28) + string(rune('a'+i)) }

// newHarness starts the fake upstream and gemgate with env on top of test defaults.
func newHarness(t *testing.T, fcfg fakeupstream.Config, env map[string]string) *harness {
	t.Helper()
	fake := fakeupstream.New(fcfg)
	return startHarness(t, fake, fake, nil, env)
}

// newHarnessWith starts gemgate in front of upstream, a handler standing in for Google (h.fake is nil).
func newHarnessWith(t *testing.T, upstream http.Handler, env map[string]string) *harness {
	t.Helper()
	return startHarness(t, nil, upstream, nil, env)
}

// newHarnessLogged is newHarnessWith with gemgate's application log written to logs.
func newHarnessLogged(t *testing.T, upstream http.Handler, logs *logBuffer, env map[string]string) *harness {
	t.Helper()
	return startHarness(t, nil, upstream, logs.logger(), env)
}

func startHarness(t *testing.T, fake *fakeupstream.Server, upstream http.Handler, logger *slog.Logger, env map[string]string) *harness {
	t.Helper()
	up := httptest.NewServer(upstream)
	t.Cleanup(up.Close)
	h := &harness{t: t, fake: fake, up: up, dbDir: t.TempDir(), logger: logger}
	h.env = map[string]string{
		"SQLITE_DATABASE": filepath.Join(h.dbDir, "gemgate.db"),
		"BASE_URL":        up.URL + "/v1beta",
		"ALLOWED_TOKENS":  `["` + clientToken + `"]`,
		"AUTH_TOKEN":      adminToken,
		"API_KEYS":        goodKey(0) + "," + goodKey(1),
	}
	for k, v := range env {
		h.env[k] = v
	}
	h.start()
	return h
}

func (h *harness) start() {
	h.t.Helper()
	a, err := app.New(context.Background(), app.Options{Env: h.env, Logger: h.logger, Backoff: func(int) time.Duration { return 0 }})
	if err != nil {
		h.t.Fatalf("app.New: %v", err)
	}
	h.app = a
	h.srv = httptest.NewServer(a.Handler)
	h.t.Cleanup(h.stop)
}

func (h *harness) stop() {
	if h.srv != nil {
		h.srv.Close()
		h.srv = nil
	}
	if h.app != nil {
		if err := h.app.Close(); err != nil {
			h.t.Errorf("close: %v", err)
		}
		h.app = nil
	}
}

// restart stops gemgate and starts it again on the same database with env.
func (h *harness) restart(env map[string]string) {
	h.t.Helper()
	h.stop()
	for k, v := range env {
		h.env[k] = v
	}
	h.start()
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, r.body)
	}
	return v
}

// googleError asserts Google's error envelope and returns its status name.
func (r result) googleError(t *testing.T, code int) string {
	t.Helper()
	if r.status != code {
		t.Fatalf("status %d, want %d: %s", r.status, code, r.body)
	}
	var env struct {
		Error struct {
			Code    int
			Message string
			Status  string
		}
	}
	if err := json.Unmarshal(r.body, &env); err != nil || env.Error.Code != code || env.Error.Message == "" || env.Error.Status == "" {
		t.Fatalf("not a Google error envelope (%v): %s", err, r.body)
	}
	return env.Error.Status
}

func (h *harness) do(method, path string, body any, header map[string]string) result {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: b}
}

var tokenHeader = map[string]string{"x-goog-api-key": clientToken}
var adminHeader = map[string]string{"Authorization": "Bearer " + adminToken}

func hello(text string) map[string]any {
	return map[string]any{"contents": []any{map[string]any{"role": "user", "parts": []any{map[string]any{"text": text}}}}}
}

func (h *harness) generate(model, text string) result {
	return h.do("POST", "/v1beta/models/"+model+":generateContent", hello(text), tokenHeader)
}

func answerText(t *testing.T, r result) string {
	t.Helper()
	var resp struct {
		Candidates []struct {
			Content struct{ Parts []struct{ Text string } }
		}
	}
	if err := json.Unmarshal(r.body, &resp); err != nil || len(resp.Candidates) == 0 || len(resp.Candidates[0].Content.Parts) == 0 {
		t.Fatalf("no answer (%d): %s", r.status, r.body)
	}
	return resp.Candidates[0].Content.Parts[len(resp.Candidates[0].Content.Parts)-1].Text
}
