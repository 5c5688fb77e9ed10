package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/app"
	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/secret"
	"github.com/gemgate/gemgate/internal/store"
)

const testEncryptionKey = "b5wJ2rYv0m6Qy3r9eS1kVd8Lx7Hn4Zt2Ac6Pf0Ug1Ww=" // 32 bytes, base64

type managedToken struct {
	ID      int64  `json:"id"`
	Token   string `json:"token"`
	TokenID string `json:"token_id"`
}

func (h *harness) createToken(body map[string]any) managedToken {
	h.t.Helper()
	r := h.do("POST", "/api/tokens", body, adminHeader)
	if r.status != http.StatusCreated {
		h.t.Fatalf("creating a token: %d %s", r.status, r.body)
	}
	tok := r.json(h.t)["token"].(map[string]any)
	return managedToken{ID: int64(tok["id"].(float64)), Token: tok["token"].(string), TokenID: tok["token_id"].(string)}
}

func nativeAs(token string) map[string]string { return map[string]string{"x-goog-api-key": token} }
func openAIAs(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// Managed client tokens: names, on/off, expiry, model allow-list and daily quota, each refusal in the
// shape of the API it was sent to, and the usage per token in the statistics.
func TestClientTokensLifecycle(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"TIMEZONE": "UTC"})
	limited := h.createToken(map[string]any{"name": "alice", "models": []string{"gemini-2.5-*"}, "daily_quota": 3})
	if !strings.HasPrefix(limited.Token, "sk-") || len(limited.Token) < 40 {
		t.Fatalf("generated token %q", limited.Token)
	}
	// Within its limits the token works on every API.
	if r := h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", hello("hi"), nativeAs(limited.Token)); r.status != 200 {
		t.Fatalf("native: %d %s", r.status, r.body)
	}
	if r := h.do("POST", chatPath, chatBody(false, "hi"), openAIAs(limited.Token)); r.status != 200 {
		t.Fatalf("openai: %d %s", r.status, r.body)
	}
	// A model off its list: refused in each shape, before Google is called.
	calls := h.fake.TotalCalls()
	h.do("POST", "/v1beta/models/gemini-2.0-flash:generateContent", hello("hi"), nativeAs(limited.Token)).googleError(t, http.StatusNotFound)
	r := h.do("POST", chatPath, map[string]any{"model": "gemini-2.0-flash", "messages": []any{map[string]any{"role": "user", "content": "hi"}}}, openAIAs(limited.Token))
	if msg := openAIError(t, r, http.StatusNotFound); !strings.Contains(msg, "alice") {
		t.Fatalf("the refusal must name the token: %s", msg)
	}
	anthropic := map[string]string{"x-api-key": limited.Token, "anthropic-version": "2023-06-01"}
	claude := func(model string) map[string]any {
		return map[string]any{"model": model, "max_tokens": 16, "messages": []any{map[string]any{"role": "user", "content": "hi"}}}
	}
	anthropicError(t, h.do("POST", "/v1/messages", claude("gemini-2.0-flash"), anthropic), http.StatusNotFound)
	if h.fake.TotalCalls() != calls {
		t.Fatal("a refused model reached Google")
	}
	// The third request of the day is the last; the fourth gets 429 with Retry-After until midnight.
	if r := h.do("POST", nativeStream, hello("hi"), nativeAs(limited.Token)); r.status != 200 {
		t.Fatalf("third: %d", r.status)
	}
	r = h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", hello("hi"), nativeAs(limited.Token))
	if r.googleError(t, http.StatusTooManyRequests); r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	r = h.do("POST", chatPath, chatBody(true, "hi"), openAIAs(limited.Token))
	if openAIError(t, r, http.StatusTooManyRequests); r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After on the OpenAI route")
	}
	anthropicError(t, h.do("POST", "/v1/messages", claude("gemini-2.5-flash"), anthropic), http.StatusTooManyRequests)
	// ALLOWED_TOKENS keep working without limits.
	if r := h.generate("gemini-2.0-flash", "hi"); r.status != 200 {
		t.Fatalf("ALLOWED_TOKENS: %d", r.status)
	}

	list := h.do("GET", "/api/tokens", nil, adminHeader)
	if body := string(list.body); list.status != 200 || strings.Contains(body, limited.Token) || !strings.Contains(body, `"used_today":3`) ||
		!strings.Contains(body, `"source":"ALLOWED_TOKENS"`) {
		t.Fatalf("the list must mask tokens and show today's use: %s", body)
	}
	// Disabled, then expired, then deleted: refused as any unknown token, at once.
	path := "/api/tokens/" + strconv.FormatInt(limited.ID, 10)
	other := h.createToken(map[string]any{"name": "bob"})
	if r := h.do("PUT", path, map[string]any{"enabled": false}, adminHeader); r.status != 200 {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", hello("hi"), nativeAs(limited.Token)).googleError(t, http.StatusForbidden)
	openAIError(t, h.do("POST", chatPath, chatBody(false, "hi"), openAIAs(limited.Token)), http.StatusUnauthorized)
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	if r := h.do("PUT", path, map[string]any{"enabled": true, "expires_at": past}, adminHeader); r.status != 200 {
		t.Fatalf("expire: %d %s", r.status, r.body)
	}
	h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", hello("hi"), nativeAs(limited.Token)).googleError(t, http.StatusForbidden)
	if r := h.do("DELETE", path, nil, adminHeader); r.status != 200 {
		t.Fatalf("delete: %d", r.status)
	}
	h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", hello("hi"), nativeAs(limited.Token)).googleError(t, http.StatusForbidden)
	if r := h.do("POST", "/v1beta/models/gemini-2.0-flash:generateContent", hello("hi"), nativeAs(other.Token)); r.status != 200 {
		t.Fatalf("an unlimited managed token: %d", r.status)
	}

	// Bad input and duplicates are refused; ALLOWED_TOKENS cannot be shadowed by a limited copy.
	for _, bad := range []map[string]any{
		{}, {"name": ""}, {"name": "x", "daily_quota": -1}, {"name": "x", "models": []string{"[bad"}},
		{"name": "x", "token": "short"}, {"name": "x", "expires_at": "tomorrow"}, {"name": "x", "token": clientToken},
	} {
		if r := h.do("POST", "/api/tokens", bad, adminHeader); r.status != http.StatusBadRequest {
			t.Errorf("POST %v: %d %s", bad, r.status, r.body)
		}
	}
	if r := h.do("POST", "/api/tokens", map[string]any{"name": "dup", "token": other.Token}, adminHeader); r.status != http.StatusConflict {
		t.Errorf("duplicate token: %d", r.status)
	}

	// Usage per token lands in the statistics under the token's id.
	flushCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.app.LogWriter.Flush(flushCtx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := h.app.Store.DB().QueryRow(h.app.Store.Rebind("SELECT COALESCE(SUM(requests), 0) FROM gg_token_daily WHERE token_id = ?"), limited.TokenID).Scan(&n); err != nil || n < 3 {
		t.Fatalf("gg_token_daily has %d requests for the token (%v)", n, err)
	}

	// The limits survive a restart: today's count is read back, the quota stays spent.
	quotaed := h.createToken(map[string]any{"name": "carol", "daily_quota": 1})
	if r := h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", hello("hi"), nativeAs(quotaed.Token)); r.status != 200 {
		t.Fatalf("carol: %d", r.status)
	}
	h.restart(nil)
	h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", hello("hi"), nativeAs(quotaed.Token)).googleError(t, http.StatusTooManyRequests)
}

// With ENCRYPTION_KEY, no secret is in the database in plain text; the same database needs the key to
// start; and a database from before the key is encrypted at the first start with it.
func TestSecretsEncryptedAtRest(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	plainTok := h.createToken(map[string]any{"name": "before"})
	if r := h.generate("gemini-2.5-flash", "hi"); r.status != 200 {
		t.Fatal(r.status)
	}
	h.restart(map[string]string{"ENCRYPTION_KEY": testEncryptionKey})
	if r := h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", hello("hi"), nativeAs(plainTok.Token)); r.status != 200 {
		t.Fatalf("a token from before the key: %d %s", r.status, r.body)
	}
	if r := h.do("GET", "/api/config?reveal=1", nil, adminHeader); strings.Contains(string(r.body), testEncryptionKey) ||
		!strings.Contains(string(r.body), goodKey(0)) {
		t.Fatal("?reveal=1 must show the secrets in force but never ENCRYPTION_KEY, which would open every database copy")
	}
	sealedTok := h.createToken(map[string]any{"name": "after"})
	if r := h.generate("gemini-2.5-flash", "hi"); r.status != 200 {
		t.Fatal(r.status)
	}
	h.stop()

	db := h.env["SQLITE_DATABASE"]
	st := openRaw(t, db)
	var dump []string
	for _, q := range []string{"SELECT value FROM t_settings", "SELECT api_key FROM t_api_keys", "SELECT token FROM t_client_tokens"} {
		rows, err := st.DB().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v *string
			_ = rows.Scan(&v)
			if v != nil {
				dump = append(dump, *v)
			}
		}
		rows.Close()
	}
	st.Close()
	all := strings.Join(dump, "\n")
	for _, s := range []string{goodKey(0), goodKey(1), clientToken, adminToken, plainTok.Token, sealedTok.Token} {
		if strings.Contains(all, s) {
			t.Errorf("%s is stored in plain text", secret.Mask(s))
		}
	}
	if !strings.Contains(all, secret.SealedPrefix) || !strings.Contains(all, "gemini-2.5-flash") {
		t.Fatal("expected sealed secrets next to plain settings")
	}

	for _, c := range []struct{ key, want string }{
		{"", "ENCRYPTION_KEY is not set"},
		{"a different passphrase, long enough", "cannot be decrypted with this ENCRYPTION_KEY"},
		{"short", "ENCRYPTION_KEY"},
	} {
		env := map[string]string{}
		for k, v := range h.env {
			env[k] = v
		}
		env["ENCRYPTION_KEY"] = c.key
		a, err := app.New(context.Background(), app.Options{Env: env})
		if err == nil {
			a.Close()
			t.Fatalf("started with ENCRYPTION_KEY %q", c.key)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("with ENCRYPTION_KEY %q: %v", c.key, err)
		}
	}
	h.start()
	for _, tok := range []string{plainTok.Token, sealedTok.Token, clientToken} {
		if r := h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", hello("hi"), nativeAs(tok)); r.status != 200 {
			t.Fatalf("after restart with the key: %d %s", r.status, r.body)
		}
	}
	if total, _ := h.app.Pool.Counts(); total != 2 {
		t.Fatalf("%d keys after restart", total)
	}
}

func anthropicError(t *testing.T, r result, code int) {
	t.Helper()
	var env struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if r.status != code || json.Unmarshal(r.body, &env) != nil || env.Type != "error" || env.Error.Type == "" || env.Error.Message == "" {
		t.Fatalf("want Anthropic's error envelope with status %d, got %d: %s", code, r.status, r.body)
	}
}

// openRaw opens a gemgate SQLite file without ENCRYPTION_KEY: its DB() shows the rows as stored.
func openRaw(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Every response carries the security headers; pages forbid inline script; framing is allowed only
// for gemgate itself and FRAME_ANCESTORS: by default the Hugging Face Space page, not every Space
// (any *.hf.space app could otherwise frame the panel).
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	frame := "frame-ancestors 'self' https://huggingface.co"
	check := func(r result, what string, page bool) {
		t.Helper()
		csp := r.header.Get("Content-Security-Policy")
		if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Referrer-Policy") == "" ||
			!strings.HasSuffix(csp, frame) || strings.Contains(csp, "hf.space") {
			t.Errorf("%s: headers %v", what, r.header)
		}
		if page && (!strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval")) {
			t.Errorf("%s: CSP %q allows inline script", what, csp)
		}
		if xfo := r.header.Get("X-Frame-Options"); strings.EqualFold(xfo, "DENY") {
			t.Errorf("%s: X-Frame-Options DENY would break the Hugging Face embed", what)
		}
	}
	check(h.do("GET", "/health", nil, nil), "/health", false)
	check(h.generate("gemini-2.5-flash", "hi"), "generateContent", false)
	check(h.do("POST", nativeStream, hello("hi"), tokenHeader), "stream", false)
	check(h.do("POST", chatPath, chatBody(false, "hi"), chatHeader), "chat", false)
	check(h.do("GET", "/nope", nil, nil), "404", false)
	check(h.do("GET", "/api/config", nil, adminHeader), "admin API", false)
	check(h.do("GET", "/", nil, nil), "login page", true)
	s := h.login()
	check(h.do("GET", "/keys", nil, s.header("")), "keys page", true)

	// The policy is a setting, validated so that no value can break out of the directive.
	for _, bad := range []string{"*", "https://a.example; script-src *", "'unsafe-inline'", "javascript:x", "https://a b"} {
		if r := h.do("PUT", "/api/config", map[string]any{"FRAME_ANCESTORS": []string{bad}}, adminHeader); r.status != http.StatusBadRequest {
			t.Errorf("FRAME_ANCESTORS %q accepted: %d %s", bad, r.status, r.body)
		}
	}
	if r := h.do("PUT", "/api/config", map[string]any{"FRAME_ANCESTORS": []string{"https://*.example.com", "https://panel.example.org:8443"}}, adminHeader); r.status != http.StatusOK {
		t.Fatalf("FRAME_ANCESTORS: %d %s", r.status, r.body)
	}
	frame = "frame-ancestors 'self' https://*.example.com https://panel.example.org:8443"
	check(h.do("GET", "/health", nil, nil), "/health after the change", false)
	check(h.do("GET", "/keys", nil, s.header("")), "keys page after the change", true)
	if r := h.do("PUT", "/api/config", map[string]any{"FRAME_ANCESTORS": []string{}}, adminHeader); r.status != http.StatusOK {
		t.Fatalf("FRAME_ANCESTORS empty: %d %s", r.status, r.body)
	}
	frame = "frame-ancestors 'self'"
	check(h.do("GET", "/v1beta/models", nil, tokenHeader), "model list with no other site", false)
}

// CORS lets browser chat clients call the API with their token in a header, and never offers
// credentials: the admin cookie must not be usable from another site.
func TestCORSNeverAllowsCredentials(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	origin := map[string]string{"Origin": "https://evil.example"}
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1beta/models"}, {"GET", "/v1/models"}, {"POST", chatPath}, {"GET", "/api/config"},
		{"OPTIONS", "/v1/chat/completions"}, {"OPTIONS", "/api/tokens"}, {"GET", "/keys"},
	} {
		hdr := map[string]string{"Origin": origin["Origin"], "Access-Control-Request-Method": "POST"}
		r := h.do(c.method, c.path, nil, hdr)
		acao, creds := r.header.Get("Access-Control-Allow-Origin"), r.header.Get("Access-Control-Allow-Credentials")
		if creds != "" {
			t.Errorf("%s %s offers credentials (%q with origin %q)", c.method, c.path, creds, acao)
		}
		if acao != "" && acao != "*" {
			t.Errorf("%s %s reflects the origin: %q", c.method, c.path, acao)
		}
		switch {
		case strings.HasPrefix(c.path, "/api/"):
			if acao != "" {
				t.Errorf("%s %s: the admin API must not be readable cross-site", c.method, c.path)
			}
		case c.path == "/keys":
			// A page may say "*": without credentials a cross-site read gets the login redirect only.
		case acao != "*":
			t.Errorf("%s %s: browser clients need CORS", c.method, c.path)
		}
	}
}

// Login throttling as a browser meets it: after the free attempts, even the right token waits.
func TestLoginRateLimited(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	attempt := func(token string) result {
		page := h.do("GET", "/", nil, nil)
		lc := setCookie(page, "gemgate_login")
		m := loginPattern.FindSubmatch(page.body)
		form := url.Values{"auth_token": {token}, "login_csrf": {string(m[1])}}
		return h.doNoRedirect("POST", "/auth", form.Encode(), map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "Cookie": "gemgate_login=" + lc})
	}
	for i := range 5 {
		if r := attempt(fmt.Sprintf("wrong-%d", i)); r.status != http.StatusSeeOther {
			t.Fatalf("attempt %d: %d", i, r.status)
		}
	}
	r := attempt(adminToken)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || setCookie(r, "gemgate_session") != "" {
		t.Fatalf("after 5 wrong tokens: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	// The admin API's Bearer check is a plain comparison of a long token, not the guessable form.
	if r := h.do("GET", "/api/config", nil, map[string]string{"Authorization": "Bearer wrong"}); r.status != http.StatusUnauthorized {
		t.Fatalf("admin API with a wrong token: %d", r.status)
	}
}

// Every API that fetches a URL from a request goes through the SSRF guard: an address inside the
// server's network is refused before any byte is fetched, and Google is never called.
func TestSSRFGuardOnEveryURLFetch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	hit := make(chan string, 8)
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit <- r.URL.Path
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write([]byte("\x89PNG\r\n\x1a\n"))
	}))
	defer internal.Close()
	target := internal.URL + "/secret.png"
	for _, c := range []struct {
		path  string
		body  any
		hdr   map[string]string
		shape func(t *testing.T, r result, code int)
	}{
		{chatPath, map[string]any{"model": "gemini-2.5-flash", "messages": []any{map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "image_url", "image_url": map[string]any{"url": target}}}}}}, chatHeader,
			func(t *testing.T, r result, code int) { openAIError(t, r, code) }},
		{"/v1/responses", map[string]any{"model": "gemini-2.5-flash", "input": []any{map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "input_image", "image_url": target}}}}}, chatHeader,
			func(t *testing.T, r result, code int) { openAIError(t, r, code) }},
		{"/v1/messages", map[string]any{"model": "gemini-2.5-flash", "max_tokens": 9, "messages": []any{map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "image", "source": map[string]any{"type": "url", "url": target}}}}}},
			map[string]string{"x-api-key": clientToken, "anthropic-version": "2023-06-01"}, anthropicError},
	} {
		r := h.do("POST", c.path, c.body, c.hdr)
		c.shape(t, r, http.StatusBadRequest)
		if !strings.Contains(string(r.body), "private") {
			t.Errorf("%s: the refusal must say why: %s", c.path, r.body)
		}
	}
	// Numeric host forms are refused as such, and names answer alike whether they exist inside or
	// not at all, naming no resolver.
	port := internal.URL[strings.LastIndex(internal.URL, ":"):]
	image := func(u string) any {
		return map[string]any{"model": "gemini-2.5-flash", "messages": []any{map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "image_url", "image_url": map[string]any{"url": u}}}}}}
	}
	for _, host := range []string{"2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1"} {
		if msg := openAIError(t, h.do("POST", chatPath, image("http://"+host+port+"/secret.png"), chatHeader), http.StatusBadRequest); !strings.Contains(msg, "non-standard form") {
			t.Errorf("%s: %s", host, msg)
		}
	}
	inside := openAIError(t, h.do("POST", chatPath, image("http://localhost"+port+"/secret.png"), chatHeader), http.StatusBadRequest)
	nowhere := openAIError(t, h.do("POST", chatPath, image("http://no-such-host.invalid"+port+"/secret.png"), chatHeader), http.StatusBadRequest)
	if strings.ReplaceAll(inside, "localhost", "no-such-host.invalid") != nowhere || strings.Contains(nowhere, ":53") {
		t.Errorf("an internal name and an unknown one answer differently:\n%s\n%s", inside, nowhere)
	}
	select {
	case p := <-hit:
		t.Fatalf("gemgate fetched %s from an internal address", p)
	default:
	}
	if n := h.fake.TotalCalls(); n != 0 {
		t.Fatalf("%d requests with internal URLs reached Google", n)
	}
}
