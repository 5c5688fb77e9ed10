package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/gemgate/gemgate/internal/fakeupstream"
)

func anthropicClient(h *harness) anthropic.Client {
	return anthropic.NewClient(option.WithBaseURL(h.srv.URL), option.WithAPIKey(clientToken), option.WithMaxRetries(0))
}

// lastGenerate is the body of the last generateContent (or stream) call the fake received.
func lastGenerate(t *testing.T, h *harness) map[string]any {
	t.Helper()
	rec, ok := h.fake.LastRequest()
	if !ok {
		t.Fatal("the fake received no request")
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body, &body); err != nil {
		t.Fatalf("upstream body: %v", err)
	}
	return body
}

func TestAnthropicPlainMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	c := anthropicClient(h)
	msg, err := c.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5-20250929", MaxTokens: 256,
		System:   []anthropic.TextBlockParam{{Text: "Be brief."}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello there"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(msg.ID, "msg_") || msg.Model != "claude-sonnet-4-5-20250929" || msg.StopReason != anthropic.StopReasonEndTurn {
		t.Fatalf("message: %+v", msg)
	}
	if len(msg.Content) != 1 || msg.Content[0].Type != "text" || msg.Content[0].Text != "echo: hello there" {
		t.Fatalf("content: %+v", msg.Content)
	}
	if msg.Usage.InputTokens == 0 || msg.Usage.OutputTokens == 0 || msg.Usage.CacheReadInputTokens != 0 {
		t.Fatalf("usage: %+v", msg.Usage)
	}
	rec, _ := h.fake.LastRequest()
	if rec.Model != "gemini-2.5-flash" || rec.Action != "generateContent" {
		t.Fatalf("served by %s %s, want gemini-2.5-flash (ANTHROPIC_MODEL_MAP sonnet)", rec.Model, rec.Action)
	}
	body := lastGenerate(t, h)
	if si, _ := json.Marshal(body["systemInstruction"]); !strings.Contains(string(si), "Be brief.") {
		t.Fatalf("system prompt not sent: %s", si)
	}
}

func TestAnthropicStreamAccumulates(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	c := anthropicClient(h)
	stream := c.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
		Model: "claude-haiku-4-5", MaxTokens: 256,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("stream this answer please"))},
	})
	var msg anthropic.Message
	var types []string
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		if err := msg.Accumulate(ev); err != nil {
			t.Fatalf("accumulate: %v", err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "echo: stream this answer please" || msg.StopReason != anthropic.StopReasonEndTurn {
		t.Fatalf("accumulated: %+v", msg)
	}
	got := strings.Join(types, ",")
	if !strings.HasPrefix(got, "message_start,content_block_start,content_block_delta") ||
		!strings.HasSuffix(got, "content_block_stop,message_delta,message_stop") {
		t.Fatalf("event sequence: %s", got)
	}
	if msg.Usage.OutputTokens == 0 || msg.Usage.InputTokens == 0 {
		t.Fatalf("usage: %+v", msg.Usage)
	}
	if rec, _ := h.fake.LastRequest(); rec.Model != "gemini-2.5-flash-lite" || rec.Action != "streamGenerateContent" {
		t.Fatalf("served by %s %s", rec.Model, rec.Action)
	}
	// The SDK swallows pings; the wire shows the one that follows message_start.
	raw := h.do("POST", "/v1/messages", `{"model":"claude-haiku-4-5","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"x-api-key": clientToken, "anthropic-version": "2023-06-01"})
	if !strings.Contains(string(raw.body), "\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\nevent: content_block_start\n") ||
		!strings.HasPrefix(string(raw.body), "event: message_start\ndata: ") {
		t.Fatalf("raw stream: %s", raw.body)
	}
}

func weatherTool() anthropic.ToolUnionParam {
	return anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{
		Properties: map[string]any{"location": map[string]any{"type": "string"}},
		Required:   []string{"location"},
	}, "get_weather")
}

func TestAnthropicToolUseRoundTrip(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	c := anthropicClient(h)
	ctx := context.Background()
	tools := []anthropic.ToolUnionParam{weatherTool()}
	first := []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("call get_weather"))}
	msg, err := c.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-opus-4-1", MaxTokens: 256, Tools: tools, Messages: first})
	if err != nil {
		t.Fatal(err)
	}
	if msg.StopReason != anthropic.StopReasonToolUse || len(msg.Content) != 1 || msg.Content[0].Type != "tool_use" {
		t.Fatalf("want one tool_use: %+v", msg)
	}
	use := msg.Content[0]
	if !strings.HasPrefix(use.ID, "toolu_") || use.Name != "get_weather" || string(use.Input) != `{"location":"Paris"}` {
		t.Fatalf("tool_use: %+v", use)
	}
	history := append(first, msg.ToParam(),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock(use.ID, `{"temperature": 21}`, false)))
	msg, err = c.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-opus-4-1", MaxTokens: 256, Tools: tools, Messages: history})
	if err != nil {
		t.Fatal(err)
	}
	if msg.StopReason != anthropic.StopReasonEndTurn {
		t.Fatalf("second answer: %+v", msg)
	}
	body := lastGenerate(t, h)
	contents, _ := json.Marshal(body["contents"])
	for _, want := range []string{`"functionCall":{"args":{"location":"Paris"},"name":"get_weather"}`,
		`"functionResponse":{"name":"get_weather","response":{"content":{"temperature":21}}}`} {
		if !strings.Contains(string(contents), want) {
			t.Fatalf("upstream contents lack %s: %s", want, contents)
		}
	}
	if rec, _ := h.fake.LastRequest(); rec.Model != "gemini-2.5-pro" {
		t.Fatalf("opus served by %s", rec.Model)
	}
}

func TestAnthropicImageInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	c := anthropicClient(h)
	png := base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\nnot really a picture"))
	_, err := c.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(
			anthropic.NewImageBlockBase64("image/png", png), anthropic.NewTextBlock("what is this?"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	contents, _ := json.Marshal(lastGenerate(t, h)["contents"])
	if !strings.Contains(string(contents), `"inlineData":{"data":"`+png+`","mimeType":"image/png"}`) {
		t.Fatalf("image not sent inline: %s", contents)
	}
}

func TestAnthropicThinking(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	c := anthropicClient(h)
	msg, err := c.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 4096, Thinking: anthropic.ThinkingConfigParamOfEnabled(2048),
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("think first"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 2 || msg.Content[0].Type != "thinking" || msg.Content[0].Thinking == "" || msg.Content[1].Text != "echo: think first" {
		t.Fatalf("want a thinking block then the text: %+v", msg.Content)
	}
	cfg, _ := json.Marshal(lastGenerate(t, h)["generationConfig"])
	if !strings.Contains(string(cfg), `"thinkingConfig":{"includeThoughts":true,"thinkingBudget":2048}`) {
		t.Fatalf("thinking budget not sent: %s", cfg)
	}
	// Without the option no thinking block comes back.
	msg, err = c.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("no thoughts"))},
	})
	if err != nil || len(msg.Content) != 1 || msg.Content[0].Type != "text" {
		t.Fatalf("%v %+v", err, msg)
	}
}

func TestAnthropicCountTokens(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	c := anthropicClient(h)
	n, err := c.Messages.CountTokens(context.Background(), anthropic.MessageCountTokensParams{
		Model:    "claude-sonnet-4-5",
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("count these words for me"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n.InputTokens != 6 {
		t.Fatalf("input_tokens = %d, want 6 (24 characters)", n.InputTokens)
	}
	if rec, _ := h.fake.LastRequest(); rec.Action != "countTokens" || rec.Model != "gemini-2.5-flash" {
		t.Fatalf("upstream call: %s %s", rec.Action, rec.Model)
	}
}

func TestAnthropicErrorsAndModels(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	body := `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	res := h.do("POST", "/v1/messages", body, map[string]string{"x-api-key": "wrong", "anthropic-version": "2023-06-01"})
	assertAnthropicError(t, res, http.StatusUnauthorized, "authentication_error")
	res = h.do("POST", "/anthropic/v1/messages", `{"model":"claude-sonnet-4-5","messages":[]}`, map[string]string{"x-api-key": clientToken})
	assertAnthropicError(t, res, http.StatusBadRequest, "invalid_request_error")
	res = h.do("POST", "/v1/messages", `{"model":"nonesuch","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"Authorization": "Bearer " + clientToken})
	assertAnthropicError(t, res, http.StatusNotFound, "not_found_error")

	res = h.do("GET", "/v1/models", nil, map[string]string{"x-api-key": clientToken, "anthropic-version": "2023-06-01"})
	page := res.json(t)
	data, _ := page["data"].([]any)
	if res.status != 200 || len(data) == 0 || page["has_more"] != false || data[0].(map[string]any)["type"] != "model" {
		t.Fatalf("Anthropic model list: %d %s", res.status, res.body)
	}
	res = h.do("GET", "/v1/models", nil, map[string]string{"Authorization": "Bearer " + clientToken})
	if res.json(t)["object"] != "list" {
		t.Fatalf("OpenAI clients keep OpenAI's list: %s", res.body)
	}
}

// With no key at all, waiting does not help: a 503 api_error with x-should-retry: false, which the
// Anthropic SDK and Claude Code decline to retry (a 529, or any overloaded_error, has Claude Code retry
// for minutes).
func TestAnthropicNoKeyIsFinal(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"API_KEYS": ""})
	body := `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	res := h.do("POST", "/v1/messages", body, map[string]string{"x-api-key": clientToken})
	assertAnthropicError(t, res, http.StatusServiceUnavailable, "api_error")
	if res.header.Get("x-should-retry") != "false" || !strings.Contains(string(res.body), "no Gemini API key") {
		t.Fatalf("no-key answer does not stop retries or say why: %v %s", res.header, res.body)
	}
}

func assertAnthropicError(t *testing.T, res result, status int, typ string) {
	t.Helper()
	var env struct {
		Type  string
		Error struct{ Type, Message string }
	}
	if res.status != status || json.Unmarshal(res.body, &env) != nil || env.Type != "error" || env.Error.Type != typ || env.Error.Message == "" {
		t.Fatalf("want %d %s, got %d %s", status, typ, res.status, res.body)
	}
}
