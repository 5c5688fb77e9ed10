package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/fakeupstream"
)

// Issue 15, item 1: a managed token's limits hold however the token is spelled. Before the front door,
// ?k%65y=TOKEN authenticated in the handler but carried no limits (the grant binder looked for a literal
// "key=").
func TestManagedTokenLimitsHoldForEverySpelling(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"TIMEZONE": "UTC"})
	pro := h.createToken(map[string]any{"name": "pro-only", "models": []string{"gemini-2.5-pro"}, "daily_quota": 1})
	enc := url.QueryEscape(pro.Token)
	spellings := []string{"key=" + enc, "k%65y=" + enc, "%6bey=" + enc, "%6B%65%79=" + enc, "key=" + strings.ReplaceAll(enc, "-", "%2D")}
	for _, q := range spellings {
		r := h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent?"+q, hello("hi"), nil)
		if r.status != http.StatusNotFound {
			t.Fatalf("?%s on a model off the list: %d %s", q, r.status, r.body)
		}
		if r := h.do("POST", "/v1/chat/completions?"+q, chatBody(false, "hi"), nil); r.status != http.StatusNotFound {
			t.Fatalf("OpenAI route ?%s: %d %s", q, r.status, r.body)
		}
	}
	if r := h.do("POST", "/v1beta/models/gemini-2.5-pro:generateContent?key="+enc, hello("hi"), nil); r.status != http.StatusOK {
		t.Fatalf("within the limits: %d %s", r.status, r.body)
	}
	for _, q := range spellings {
		r := h.do("POST", "/v1beta/models/gemini-2.5-pro:generateContent?"+q, hello("hi"), nil)
		if r.status != http.StatusTooManyRequests {
			t.Fatalf("?%s after the quota is spent: %d %s", q, r.status, r.body)
		}
	}
	list := h.do("GET", "/api/tokens", nil, adminHeader)
	if !strings.Contains(string(list.body), `"used_today":1`) {
		t.Fatalf("the quota was spent more than once: %s", list.body)
	}
}

// Two different tokens in one request cannot be told apart: refused, in each API's shape, and never
// sent upstream, even when one of them is valid.
func TestTwoDifferentTokensAreRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	limited := h.createToken(map[string]any{"name": "limited", "models": []string{"gemini-2.5-pro"}})
	calls := h.fake.TotalCalls()
	both := map[string]string{"x-goog-api-key": clientToken}
	if st := h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent?key="+limited.Token, hello("hi"), both).googleError(t, 400); st != "INVALID_ARGUMENT" {
		t.Fatalf("status %s", st)
	}
	openAIError(t, h.do("POST", chatPath, chatBody(false, "hi"),
		map[string]string{"Authorization": "Bearer " + clientToken, "x-goog-api-key": limited.Token}), http.StatusUnauthorized)
	r := h.do("POST", "/v1/messages", map[string]any{"model": "claude-sonnet-4-5", "max_tokens": 10,
		"messages": []any{map[string]any{"role": "user", "content": "hi"}}},
		map[string]string{"x-api-key": clientToken, "Authorization": "Bearer " + limited.Token, "anthropic-version": "2023-06-01"})
	if r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), `"authentication_error"`) {
		t.Fatalf("anthropic: %d %s", r.status, r.body)
	}
	// The same token in two places is one token.
	if r := h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent?key="+clientToken, hello("hi"), both); r.status != 200 {
		t.Fatalf("the same token twice: %d %s", r.status, r.body)
	}
	if h.fake.TotalCalls() != calls+1 {
		t.Fatal("a refused request reached Google")
	}
}

// loginAs posts the login form with token from the address xff claims (X-Forwarded-For).
func (h *harness) loginAs(token, xff string) result {
	h.t.Helper()
	page := h.do("GET", "/", nil, nil)
	lc := setCookie(page, "gemgate_login")
	m := loginPattern.FindSubmatch(page.body)
	if lc == "" || m == nil {
		h.t.Fatalf("login page: cookie %q, form token %v", lc, m)
	}
	form := url.Values{"auth_token": {token}, "login_csrf": {string(m[1])}}
	hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Cookie": "gemgate_login=" + lc}
	if xff != "" {
		hdr["X-Forwarded-For"] = xff
	}
	return h.doNoRedirect("POST", "/auth", form.Encode(), hdr)
}

// Issue 15, item 4: X-Forwarded-For is believed only from TRUSTED_PROXIES. Without it, a guesser
// writing a fresh address into the header gets no fresh budget; with a trusted proxy in front, a flood
// of wrong tokens from many addresses never locks out the admin who brings the right one.
func TestLoginThrottleTrustsOnlyTrustedProxies(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	for i := range 5 {
		if r := h.loginAs("wrong-token-guess", fmt.Sprintf("198.51.100.%d", i)); r.status != http.StatusSeeOther {
			t.Fatalf("guess %d: %d", i, r.status)
		}
	}
	if r := h.loginAs("wrong-token-guess", "198.51.100.200"); r.status != http.StatusTooManyRequests {
		t.Fatalf("a spoofed X-Forwarded-For bought a fresh budget: %d", r.status)
	}

	h = newHarness(t, fakeupstream.Config{}, map[string]string{"TRUSTED_PROXIES": `["127.0.0.1","::1"]`})
	for i := range 100 {
		h.loginAs("wrong-token-guess", fmt.Sprintf("203.0.113.%d", i))
	}
	r := h.loginAs(adminToken, "192.0.2.77")
	if r.status != http.StatusSeeOther || setCookie(r, "gemgate_session") == "" {
		t.Fatalf("the admin from a fresh address was locked out by others' guessing: %d", r.status)
	}
	// The guessers are slowed: one attempt a second among all of them (the exact rate is
	// TestThrottleGlobal's, on a fake clock; here a burst must meet it at least once).
	limited := 0
	for i := range 5 {
		if r := h.loginAs("wrong-token-guess", fmt.Sprintf("203.0.113.%d", i)); r.status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("a burst of guesses from failing addresses under pressure was not throttled")
	}
}
