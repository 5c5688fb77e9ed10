package app_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/fakeupstream"
)

// upstreamBody is the last request gemgate sent to Google, decoded.
func (h *harness) upstreamBody() map[string]any {
	h.t.Helper()
	rec, ok := h.fake.LastRequest()
	if !ok {
		h.t.Fatal("no upstream request")
	}
	var v map[string]any
	if err := json.Unmarshal(rec.Body, &v); err != nil {
		h.t.Fatalf("upstream body: %v: %s", err, rec.Body)
	}
	return v
}

// TestNativeHonoursChatSettings: the settings GB users set for chat (thinking shown, code execution,
// URL context, search links, stream optimizer) act on the native routes too, as additions only.
func TestNativeHonoursChatSettings(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{StreamChunks: 2}, map[string]string{
		"TOOLS_CODE_EXECUTION_ENABLED": "true", "URL_CONTEXT_ENABLED": "true", "SHOW_THINKING_PROCESS": "true",
		"STREAM_OPTIMIZER_ENABLED": "true", "STREAM_MIN_DELAY": "0", "STREAM_MAX_DELAY": "0",
		"STREAM_SHORT_TEXT_THRESHOLD": "2", "STREAM_LONG_TEXT_THRESHOLD": "8", "STREAM_CHUNK_SIZE": "3",
	})

	r := h.generate("gemini-2.5-flash", "hello")
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	sent := h.upstreamBody()
	tools, _ := json.Marshal(sent["tools"])
	if string(tools) != `[{"codeExecution":{}},{"urlContext":{}}]` {
		t.Errorf("tools sent upstream: %s", tools)
	}
	if tc, _ := json.Marshal(sent["generationConfig"]); string(tc) != `{"thinkingConfig":{"includeThoughts":true}}` {
		t.Errorf("generationConfig sent upstream: %s", tc)
	}
	if !strings.Contains(string(r.body), `"thought":true`) {
		t.Errorf("no thought part in the answer: %s", r.body)
	}

	// The client's own choices stand: its tools and thinkingConfig go out as written.
	own := hello("hello")
	own["tools"] = []any{map[string]any{"functionDeclarations": []any{map[string]any{"name": "f"}}}}
	own["generationConfig"] = map[string]any{"thinkingConfig": map[string]any{"includeThoughts": false, "thinkingBudget": 64}}
	if r := h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", own, tokenHeader); r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	sent = h.upstreamBody()
	if got, _ := json.Marshal(map[string]any{"t": sent["tools"], "g": sent["generationConfig"]}); string(got) !=
		`{"g":{"thinkingConfig":{"includeThoughts":false,"thinkingBudget":64}},"t":[{"functionDeclarations":[{"name":"f"}]}]}` {
		t.Errorf("client's fields changed: %s", got)
	}

	// -search answers get their sources as text, like the OpenAI routes.
	r = h.generate("gemini-2.5-flash-search", "weather")
	if text := answerText(t, r); !strings.Contains(text, "【引用来源】") || !strings.Contains(text, "https://example.com/search?q=weather") {
		t.Errorf("no search sources in the native answer: %s", r.body)
	}

	// Streams are paced: the text arrives in pieces of at most STREAM_CHUNK_SIZE characters, and only
	// the last piece of an event carries the finish reason.
	s := h.do("POST", "/v1beta/models/gemini-2.5-flash-search:streamGenerateContent?alt=sse", hello("a long enough prompt"), tokenHeader)
	if s.status != 200 {
		t.Fatalf("stream status %d: %s", s.status, s.body)
	}
	var text strings.Builder
	events, finishes := 0, 0
	for _, ev := range strings.Split(string(s.body), "\r\n\r\n") {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok {
			continue
		}
		var e struct {
			Candidates []struct {
				Content struct {
					Parts []struct {
						Text    string
						Thought bool
					}
				}
				FinishReason string
			}
		}
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			t.Fatalf("bad event %q: %v", data, err)
		}
		events++
		for _, c := range e.Candidates {
			if c.FinishReason != "" {
				finishes++
			}
			for _, p := range c.Content.Parts {
				if !p.Thought {
					text.WriteString(p.Text)
				}
				if len(c.Content.Parts) == 1 && !p.Thought && len([]rune(p.Text)) > 3 {
					t.Errorf("piece %q is longer than STREAM_CHUNK_SIZE", p.Text)
				}
			}
		}
	}
	if !strings.HasPrefix(text.String(), "echo: a long enough prompt") || !strings.Contains(text.String(), "【引用来源】") {
		t.Errorf("streamed text %q", text.String())
	}
	if events < 8 || finishes != 1 {
		t.Errorf("%d events with %d finish reasons; want paced pieces and one finish", events, finishes)
	}
}

// TestNativeSettingsOff: with the settings off nothing is added to a native request.
func TestNativeSettingsOff(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"SHOW_THINKING_PROCESS": "false", "SHOW_SEARCH_LINK": "false"})
	if r := h.generate("gemini-2.5-flash", "hello"); r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	sent := h.upstreamBody()
	if _, ok := sent["tools"]; ok {
		t.Errorf("tools added: %v", sent["tools"])
	}
	if _, ok := sent["generationConfig"]; ok {
		t.Errorf("generationConfig added: %v", sent["generationConfig"])
	}
	if text := answerText(t, h.generate("gemini-2.5-flash-search", "weather")); strings.Contains(text, "【引用来源】") {
		t.Errorf("sources added with SHOW_SEARCH_LINK off: %s", text)
	}
}
