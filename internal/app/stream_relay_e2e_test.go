package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/gemgate/gemgate/internal/fakeupstream"
)

// streamRoute is one API's streaming request and how to read the answer text out of its events.
type streamRoute struct {
	name   string
	path   string
	header map[string]string
	body   func(text string) any
	// text returns the answer text an event carries, if it carries any.
	text func(event map[string]any) (string, bool)
	// keepAlive recognises a keep-alive line, given the stream before it.
	keepAlive func(before, line string) bool
}

var streamRoutes = []streamRoute{
	{
		name: "chat", path: chatPath, header: chatHeader,
		body: func(text string) any { return chatBody(true, text) },
		text: func(ev map[string]any) (string, bool) {
			s, ok := chatDig(ev, "choices", 0, "delta", "content").(string)
			return s, ok && s != ""
		},
		keepAlive: func(_, line string) bool { return line == ": keep-alive" },
	},
	{
		name: "anthropic", path: "/v1/messages",
		header: map[string]string{"x-api-key": clientToken, "anthropic-version": "2023-06-01"},
		body: func(text string) any {
			return map[string]any{"model": "gemini-2.5-flash", "max_tokens": 256, "stream": true,
				"messages": []any{map[string]any{"role": "user", "content": text}}}
		},
		text: func(ev map[string]any) (string, bool) {
			s, ok := chatDig(ev, "delta", "text").(string)
			return s, ok && ev["type"] == "content_block_delta"
		},
		// The ping right after message_start opens every stream; any other is a keep-alive.
		keepAlive: func(before, line string) bool {
			i := strings.LastIndex(before, "event: ")
			return line == "event: ping" && (i < 0 || !strings.HasPrefix(before[i:], "event: message_start"))
		},
	},
	{
		name: "responses", path: "/v1/responses", header: chatHeader,
		body: func(text string) any {
			return map[string]any{"model": "gemini-2.5-flash", "input": text, "stream": true}
		},
		text: func(ev map[string]any) (string, bool) {
			s, ok := ev["delta"].(string)
			return s, ok && ev["type"] == "response.output_text.delta"
		},
		keepAlive: func(_, line string) bool { return line == ": keep-alive" },
	},
	{
		name: "native", path: "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", header: tokenHeader,
		body: func(text string) any { return hello(text) },
		text: func(ev map[string]any) (string, bool) {
			var out strings.Builder
			parts, _ := chatDig(ev, "candidates", 0, "content", "parts").([]any)
			for _, p := range parts {
				if m, _ := p.(map[string]any); m["thought"] != true {
					s, _ := m["text"].(string)
					out.WriteString(s)
				}
			}
			return out.String(), out.Len() > 0
		},
		keepAlive: func(_, line string) bool {
			return strings.HasPrefix(line, `data: {"candidates":[{"content":{"parts":[{"text":""}]`)
		},
	},
}

// streamText reads an event stream: its answer text, the events that carried text, and the last
// event's data.
func (sr streamRoute) streamText(t *testing.T, body []byte) (text string, pieces int, last string) {
	t.Helper()
	var b strings.Builder
	for _, data := range sseEvents(body) {
		last = data
		var ev map[string]any
		if json.Unmarshal([]byte(data), &ev) != nil {
			continue
		}
		if s, ok := sr.text(ev); ok {
			b.WriteString(s)
			pieces++
		}
	}
	return b.String(), pieces, last
}

// TestStreamOptimizerOnEveryRoute: STREAM_OPTIMIZER_* cuts the text into pieces on every API's
// stream, not only chat's.
func TestStreamOptimizerOnEveryRoute(t *testing.T) {
	h := newHarness(t, fakeupstream.Config{StreamChunks: 1}, map[string]string{
		"SHOW_THINKING_PROCESS": "false", "STREAM_OPTIMIZER_ENABLED": "true", "STREAM_MIN_DELAY": "0", "STREAM_MAX_DELAY": "0",
		"STREAM_SHORT_TEXT_THRESHOLD": "1", "STREAM_LONG_TEXT_THRESHOLD": "1000", "STREAM_CHUNK_SIZE": "1",
	})
	for _, sr := range streamRoutes {
		t.Run(sr.name, func(t *testing.T) {
			r := h.do("POST", sr.path, sr.body("abcdefgh"), sr.header)
			text, pieces, _ := sr.streamText(t, r.body)
			if r.status != http.StatusOK || text != "echo: abcdefgh" || pieces != len(text) {
				t.Fatalf("%d: text %q in %d pieces, want one per character:\n%s", r.status, text, pieces, r.body)
			}
		})
	}
}

// TestFakeStreamingOnEveryRoute: FAKE_STREAM_ENABLED makes one non-streamed call upstream for every
// API's stream, the native one included.
func TestFakeStreamingOnEveryRoute(t *testing.T) {
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"SHOW_THINKING_PROCESS": "false", "FAKE_STREAM_ENABLED": "true"})
	for _, sr := range streamRoutes {
		t.Run(sr.name, func(t *testing.T) {
			r := h.do("POST", sr.path, sr.body("hi"), sr.header)
			text, _, _ := sr.streamText(t, r.body)
			if r.status != http.StatusOK || text != "echo: hi" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") {
				t.Fatalf("%d %v: text %q\n%s", r.status, r.header, text, r.body)
			}
			if rec, _ := h.fake.LastRequest(); rec.Action != "generateContent" {
				t.Fatalf("upstream call %q, want one generateContent", rec.Action)
			}
		})
	}
}

// TestStreamCutOnEveryRoute: a stream that breaks after its first event keeps what was sent and ends
// with each API's error event, paced or not.
func TestStreamCutOnEveryRoute(t *testing.T) {
	h := newHarness(t, fakeupstream.Config{StreamChunks: 4, UnknownKeys: fakeupstream.StreamCut}, map[string]string{
		"SHOW_THINKING_PROCESS": "false", "STREAM_OPTIMIZER_ENABLED": "true", "STREAM_MIN_DELAY": "0", "STREAM_MAX_DELAY": "0",
	})
	ends := map[string]func(last string, body []byte) bool{
		"chat": func(last string, body []byte) bool {
			return last == "[DONE]" && strings.Contains(string(body), `data: {"error":{`)
		},
		"anthropic": func(last string, body []byte) bool { return strings.Contains(last, `"type":"error"`) },
		"responses": func(last string, body []byte) bool { return strings.Contains(last, `"type":"response.failed"`) },
		"native":    func(last string, body []byte) bool { return strings.HasPrefix(last, `{"error":{"code":502`) },
	}
	for _, sr := range streamRoutes {
		t.Run(sr.name, func(t *testing.T) {
			r := h.do("POST", sr.path, sr.body("a prompt long enough to be cut"), sr.header)
			text, _, last := sr.streamText(t, r.body)
			if r.status != http.StatusOK || text == "" || !ends[sr.name](last, r.body) {
				t.Fatalf("%d: text %q, last event %q\n%s", r.status, text, last, r.body)
			}
		})
	}
}

// heldUpstream stands in for Google and holds every answer until release is closed: a stream sends its
// first event at once (the executor waits for it) and the rest after the release, a whole answer comes
// after the release.
func heldUpstream(release <-chan struct{}) http.Handler {
	const first = `{"candidates":[{"content":{"parts":[{"text":"held "}],"role":"model"},"index":0}]}`
	const answer = `{"candidates":[{"content":{"parts":[{"text":"held answer"}],"role":"model"},"finishReason":"STOP","index":0}],` +
		`"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":2,"totalTokenCount":3}}`
	const rest = `{"candidates":[{"content":{"parts":[{"text":"answer"}],"role":"model"},"finishReason":"STOP","index":0}]}`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		stream := strings.HasSuffix(r.URL.Path, ":streamGenerateContent")
		if !stream && !strings.HasSuffix(r.URL.Path, ":generateContent") {
			http.NotFound(w, r)
			return
		}
		if stream {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "data: "+first+"\r\n\r\n")
			_ = http.NewResponseController(w).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		if stream {
			_, _ = io.WriteString(w, "data: "+rest+"\r\n\r\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	})
}

// TestKeepAlivesOnEveryRoute: while Gemini is silent (a fake stream's whole call, or a pause in a real
// stream), every API's stream carries its keep-alive every FAKE_STREAM_EMPTY_DATA_INTERVAL_SECONDS,
// then the answer. Upstream goes on only once the client has seen a keep-alive, so a route without
// them never gets its answer.
func TestKeepAlivesOnEveryRoute(t *testing.T) {
	for _, fake := range []bool{false, true} {
		for _, sr := range streamRoutes {
			if sr.name == "native" && !fake {
				continue // Google's own stream passes as it comes
			}
			name := sr.name + map[bool]string{false: "/stream", true: "/fake"}[fake]
			t.Run(name, func(t *testing.T) {
				release := make(chan struct{})
				h := newHarnessWith(t, heldUpstream(release), map[string]string{
					"FAKE_STREAM_ENABLED": map[bool]string{false: "false", true: "true"}[fake], "FAKE_STREAM_EMPTY_DATA_INTERVAL_SECONDS": "1",
				})
				body := h.openStream(sr)
				defer body.Close()
				rd := bufio.NewReader(body)
				var seen strings.Builder
				for {
					line, err := rd.ReadString('\n')
					if err != nil {
						t.Fatalf("no keep-alive before the stream ended (%v): %s", err, seen.String())
					}
					before := seen.String()
					seen.WriteString(line)
					if sr.keepAlive(before, strings.TrimRight(line, "\r\n")) {
						break
					}
				}
				close(release)
				rest, _ := io.ReadAll(rd)
				text, _, _ := sr.streamText(t, append([]byte(seen.String()), rest...))
				if text != "held answer" {
					t.Fatalf("text %q after the keep-alives:\n%s%s", text, seen.String(), rest)
				}
			})
		}
	}
}

// openStream sends a streamed request and returns the answer's body as it arrives.
func (h *harness) openStream(sr streamRoute) io.ReadCloser {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // only a bound for a broken route
	h.t.Cleanup(cancel)
	b, _ := json.Marshal(sr.body("hi"))
	req, _ := http.NewRequestWithContext(ctx, "POST", h.srv.URL+sr.path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range sr.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		h.t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	return resp.Body
}

// TestNativeFakeStreamKeepAlivesSuitTheSDK: the genai SDK, which fails on SSE comments, reads the native
// keep-alive as an empty chunk and the answer after it.
func TestNativeFakeStreamKeepAlivesSuitTheSDK(t *testing.T) {
	release := make(chan struct{})
	h := newHarnessWith(t, heldUpstream(release), map[string]string{"FAKE_STREAM_ENABLED": "true", "FAKE_STREAM_EMPTY_DATA_INTERVAL_SECONDS": "1"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: clientToken, Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: h.srv.URL + "/gemini/"}})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	chunks := 0
	for resp, err := range client.Models.GenerateContentStream(ctx, "gemini-2.5-flash", genai.Text("hi"), nil) {
		if err != nil {
			t.Fatalf("after %d chunks: %v", chunks, err)
		}
		if chunks++; chunks == 1 {
			if resp.Text() != "" {
				t.Fatalf("first chunk %q, want the empty keep-alive", resp.Text())
			}
			close(release)
		}
		text.WriteString(resp.Text())
	}
	if text.String() != "held answer" || chunks < 2 {
		t.Fatalf("%d chunks, text %q", chunks, text.String())
	}
}
