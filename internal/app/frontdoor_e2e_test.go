package app_test

import (
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
