package doccheck

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/gemgate/gemgate/internal/fakeupstream"
)

// squeeze drops every white space, so that a claim matches however the doc wraps its lines.
func squeeze(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// requireClaim fails unless the doc still says phrase: a reworded claim must be re-checked here.
func requireClaim(t *testing.T, file, phrase string) {
	t.Helper()
	if !strings.Contains(squeeze(readDoc(t, file)), squeeze(phrase)) {
		t.Errorf("%s no longer says %q: update this test so that the new wording is checked", file, phrase)
	}
}

// call sends one request the way a client of the given API would, with token (none when empty).
func call(t *testing.T, base, api, token string) (*http.Response, map[string]any) {
	t.Helper()
	var req *http.Request
	switch api {
	case "gemini":
		req, _ = http.NewRequest(http.MethodPost, base+"/v1beta/models/gemini-2.5-flash:generateContent",
			strings.NewReader(`{"contents":[{"parts":[{"text":"Hello"}]}]}`))
		if token != "" {
			req.Header.Set("x-goog-api-key", token)
		}
	case "openai":
		req, _ = http.NewRequest(http.MethodPost, base+"/v1/chat/completions",
			strings.NewReader(`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"Hello"}]}`))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
	case "anthropic":
		req, _ = http.NewRequest(http.MethodPost, base+"/v1/messages",
			strings.NewReader(`{"model":"gemini-2.5-flash","max_tokens":16,"messages":[{"role":"user","content":"Hello"}]}`))
		req.Header.Set("anthropic-version", "2023-06-01")
		if token != "" {
			req.Header.Set("x-api-key", token)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, body := get(t, req)
	var m map[string]any
	json.Unmarshal(body, &m)
	return resp, m
}

// errorType is the error's type (OpenAI, Anthropic) or status (Gemini).
func errorType(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	for _, k := range []string{"type", "status"} {
		if s, ok := e[k].(string); ok {
			return s
		}
	}
	return ""
}

// TestTokenStatuses: the statuses the READMEs give for a missing and a wrong client token, per API, and
// the Gemini error bodies the README shows.
func TestTokenStatuses(t *testing.T) {
	requireClaim(t, "README.md", "Missing token → 401; wrong token → 403 on the Gemini routes and 401 on the OpenAI and Anthropic routes")
	requireClaim(t, "README.zh-CN.md", "不带令牌返回 401；令牌错误时 Gemini 路由返回 403，OpenAI 与 Anthropic 路由返回 401")
	srv := demoServer(t)
	wrong := map[string]int{"gemini": 403, "openai": 401, "anthropic": 401}
	bodies := map[string]bool{}
	for api, want := range wrong {
		resp, _ := call(t, srv.base, api, "sk-not-a-gemgate-token")
		if resp.StatusCode != want {
			t.Errorf("%s route, wrong token: %d, the README says %d", api, resp.StatusCode, want)
		}
		if resp, _ := call(t, srv.base, api, ""); resp.StatusCode != 401 {
			t.Errorf("%s route, no token: %d, the README says 401", api, resp.StatusCode)
		}
	}
	for _, tok := range []string{"sk-not-a-gemgate-token", ""} {
		req, _ := http.NewRequest(http.MethodPost, srv.base+"/v1beta/models/gemini-2.5-flash:generateContent?key="+tok, strings.NewReader(`{}`))
		_, body := get(t, req)
		bodies[strings.TrimSpace(string(body))] = true
	}
	// Every Gemini error body a README shows is one gemgate sends.
	for _, f := range []string{"README.md", "README.zh-CN.md"} {
		shown := 0
		for _, line := range strings.Split(readDoc(t, f), "\n") {
			if strings.HasPrefix(line, `{"error":{"code":401`) || strings.HasPrefix(line, `{"error":{"code":403`) {
				shown++
				if !bodies[line] {
					t.Errorf("%s shows\n\t%s\nbut gemgate answers a wrong or missing token with one of\n\t%v", f, line, slices.Collect(mapKeys(bodies)))
				}
			}
		}
		if shown == 0 {
			t.Errorf("%s shows no token error body any more: update this test", f)
		}
	}
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestNoKeyStatuses: every key cooling down, and no usable key at all, as the READMEs describe them.
func TestNoKeyStatuses(t *testing.T) {
	requireClaim(t, "README.md", "when every key is cooling the client gets 429")
	requireClaim(t, "README.zh-CN.md", "所有密钥都在冷却时直接返回 429")
	requireClaim(t, "README.md", "No usable key at all (all disabled, none configured, none allowed for the model): 503 with `x-should-retry: false` on OpenAI and Anthropic routes (`api_error`, not the retried 529), and Google's `400 FAILED_PRECONDITION` on Gemini routes")
	requireClaim(t, "README.zh-CN.md", "（Anthropic 上是 `api_error`，而不是会被重试的 529）；Gemini 路由返回 Google 的 `400 FAILED_PRECONDITION`")

	fake := httptest.NewServer(fakeupstream.New(fakeupstream.Config{KeysByName: true}))
	t.Cleanup(fake.Close)
	start := func(keys string) *server {
		env := append(cleanEnv(), "AUTH_TOKEN="+docAdminToken, `ALLOWED_TOKENS=["`+docClientToken+`"]`,
			"BASE_URL="+fake.URL+"/v1beta", "API_KEYS="+keys)
		return startGemgate(t, t.TempDir(), env, "serve")
	}

	cooling := start("AIzaDocKey-0000000000000000000000-ratelimit")
	for _, api := range []string{"anthropic", "openai", "gemini"} {
		call(t, cooling.base, api, docClientToken) // Google's 429 cools the only key down
		resp, body := call(t, cooling.base, api, docClientToken)
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s route, every key cooling: %d, Retry-After %q; the READMEs say 429 with retry advice", api, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if api == "anthropic" && errorType(body) != "rate_limit_error" {
			t.Errorf("anthropic route, every key cooling: %s, want rate_limit_error", errorType(body))
		}
	}

	none := start("")
	for api, want := range map[string]struct {
		status int
		typ    string
	}{"anthropic": {503, "api_error"}, "openai": {503, ""}, "gemini": {400, "FAILED_PRECONDITION"}} {
		resp, body := call(t, none.base, api, docClientToken)
		if resp.StatusCode != want.status || (want.typ != "" && errorType(body) != want.typ) {
			t.Errorf("%s route, no usable key: %d %s; the READMEs say %d %s", api, resp.StatusCode, errorType(body), want.status, want.typ)
		}
		if api != "gemini" && resp.Header.Get("x-should-retry") != "false" {
			t.Errorf("%s route, no usable key: x-should-retry %q, the README says false", api, resp.Header.Get("x-should-retry"))
		}
	}
}

// migrationTables are the tables the embedded migrations create, in any dialect.
func migrationTables(t *testing.T) map[string]bool {
	t.Helper()
	create := regexp.MustCompile("(?i)create\\s+table\\s+(?:if\\s+not\\s+exists\\s+)?[`\"]?([a-z_0-9]+)")
	tables := map[string]bool{"gg_schema_migrations": true} // created by the migrator itself
	err := filepath.WalkDir(filepath.Join(root, "internal", "store", "migrations"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		for _, m := range create.FindAllStringSubmatch(string(b), -1) {
			tables[strings.ToLower(m[1])] = true
		}
		return err
	})
	if err != nil || len(tables) < 5 {
		t.Fatalf("reading the migrations: %v (%d tables)", err, len(tables))
	}
	return tables
}

// TestTableNames: every table a doc names exists, and each README's database section names every table.
func TestTableNames(t *testing.T) {
	tables := migrationTables(t)
	named := regexp.MustCompile("`((?:t|gg)_[a-z_0-9]+)(?:\\.[a-z_]+)?`")
	for _, f := range docFiles(t) {
		for _, m := range named.FindAllStringSubmatch(readDoc(t, f), -1) {
			if !tables[m[1]] {
				t.Errorf("%s names table %s, which no migration creates", f, m[1])
			}
		}
	}
	for _, f := range []string{"README.md", "README.zh-CN.md"} {
		doc := readDoc(t, f)
		for name := range tables {
			if !strings.Contains(doc, "`"+name+"`") {
				t.Errorf("%s does not name table %s", f, name)
			}
		}
	}
}

// TestRequestStatuses: the statuses the READMEs give for a request gemgate refuses itself, on every API
// they name: a body over MAX_REQUEST_BODY_MB, and Responses state gemgate does not keep.
func TestRequestStatuses(t *testing.T) {
	requireClaim(t, "README.md", "`MAX_REQUEST_BODY_MB` (413 above it)")
	requireClaim(t, "README.zh-CN.md", "`MAX_REQUEST_BODY_MB`（超过返回 413）")
	requireClaim(t, "README.md", "`previous_response_id` and `store: true` are refused with a 400 (\"gemgate does not store responses; send the full input\")")
	requireClaim(t, "README.zh-CN.md", "`previous_response_id` 与 `store: true` 会返回 400（\"gemgate does not store responses; send the full input\"")
	env := append(cleanEnv(), "AUTH_TOKEN="+docAdminToken, `ALLOWED_TOKENS=["`+docClientToken+`"]`, "MAX_REQUEST_BODY_MB=1")
	srv := startGemgate(t, t.TempDir(), env, "demo")
	big := `"` + strings.Repeat("x", 3<<19) + `"` // 1.5 MiB of text
	for path, body := range map[string]string{
		"/v1beta/models/gemini-2.5-flash:generateContent": `{"contents":[{"parts":[{"text":` + big + `}]}]}`,
		"/v1/chat/completions":                            `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":` + big + `}]}`,
		"/v1/messages":                                    `{"model":"gemini-2.5-flash","max_tokens":16,"messages":[{"role":"user","content":` + big + `}]}`,
		"/v1/responses":                                   `{"model":"gemini-2.5-flash","input":` + big + `}`,
	} {
		resp, _ := post(t, srv.base+path, body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s, a 1.5 MiB body with MAX_REQUEST_BODY_MB=1: %d, the READMEs say 413", path, resp.StatusCode)
		}
	}
	for _, body := range []string{
		`{"model":"gemini-2.5-flash","input":"Hello","previous_response_id":"resp_123"}`,
		`{"model":"gemini-2.5-flash","input":"Hello","store":true}`,
	} {
		resp, got := post(t, srv.base+"/v1/responses", body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(got), "gemgate does not store responses; send the full input") {
			t.Errorf("%s: %d %s, the READMEs say 400 \"gemgate does not store responses; send the full input\"", body, resp.StatusCode, got)
		}
	}
}

// post sends body with the docs' client token in every header an API reads it from.
func post(t *testing.T, url, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	if strings.Contains(url, "/v1beta/") {
		req.Header.Set("x-goog-api-key", docClientToken)
	} else if strings.HasSuffix(url, "/messages") {
		req.Header.Set("x-api-key", docClientToken)
	} else {
		req.Header.Set("Authorization", "Bearer "+docClientToken)
	}
	return get(t, req)
}
