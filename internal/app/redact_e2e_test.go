package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// escaped writes every character of s as a JSON \u escape, as a hostile upstream may.
func escaped(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		fmt.Fprintf(&b, `\u%04x`, c)
	}
	return b.String()
}

// decodedLeak reports whether body, or any JSON string in it once decoded, holds secret.
func decodedLeak(body []byte, secret string) bool {
	if strings.Contains(string(body), secret) {
		return true
	}
	var v any
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "data: ")
		if json.Unmarshal([]byte(line), &v) == nil && strings.Contains(fmt.Sprint(v), secret) {
			return true
		}
	}
	if json.Unmarshal(body, &v) == nil && strings.Contains(fmt.Sprint(v), secret) {
		return true
	}
	return false
}

// Issue 15, item 3: an upstream that sends the key back JSON-escaped in an error message, or plainly
// inside a 200 stream, never gets it to a client, on any API.
func TestHostileUpstreamCannotLeakTheKey(t *testing.T) {
	t.Parallel()
	key := goodKey(0)
	hostile := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(r.URL.Path, "stream") || strings.Contains(r.URL.RawQuery, "alt=sse") {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"your key is %s and %s\"}]}}]}\r\n\r\n", key, escaped(key))
			fmt.Fprint(w, "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\".\"}]},\"finishReason\":\"STOP\"}]}\r\n\r\n")
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":{"code":400,"message":"Bad request for consumer %s","status":"INVALID_ARGUMENT"}}`, escaped(key))
	})
	h := newHarnessWith(t, hostile, map[string]string{"API_KEYS": key})
	checks := []struct {
		name   string
		method string
		path   string
		body   any
		header map[string]string
	}{
		{"native", "POST", "/v1beta/models/gemini-2.5-flash:generateContent", hello("hi"), tokenHeader},
		{"native stream", "POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", hello("hi"), tokenHeader},
		{"openai", "POST", chatPath, chatBody(false, "hi"), chatHeader},
		{"openai stream", "POST", chatPath, chatBody(true, "hi"), chatHeader},
		{"anthropic", "POST", "/v1/messages", map[string]any{"model": "claude-sonnet-4-5", "max_tokens": 10,
			"messages": []any{map[string]any{"role": "user", "content": "hi"}}}, map[string]string{"x-api-key": clientToken, "anthropic-version": "2023-06-01"}},
		{"anthropic stream", "POST", "/v1/messages", map[string]any{"model": "claude-sonnet-4-5", "max_tokens": 10, "stream": true,
			"messages": []any{map[string]any{"role": "user", "content": "hi"}}}, map[string]string{"x-api-key": clientToken, "anthropic-version": "2023-06-01"}},
	}
	for _, c := range checks {
		r := h.do(c.method, c.path, c.body, c.header)
		if decodedLeak(r.body, key) {
			t.Errorf("%s: the key reached the client: %s", c.name, r.body)
		}
		for name, vs := range r.header {
			if strings.Contains(strings.Join(vs, " "), key) {
				t.Errorf("%s: the key is in header %s", c.name, name)
			}
		}
	}
	logs := h.do("GET", "/api/logs/errors?limit=50", nil, adminHeader)
	if decodedLeak(logs.body, key) {
		t.Errorf("the key reached the error log: %s", logs.body)
	}
}
