package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/gemgate/gemgate/internal/testutil"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// A 1×1 PNG, as a client would attach a screenshot.
const chatTinyPNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

func chatE2EClient(h *harness, prefix string) *openai.Client {
	c := openai.NewClient(option.WithBaseURL(h.srv.URL+prefix+"/"), option.WithAPIKey(clientToken), option.WithMaxRetries(0))
	return &c
}

// sentToGemini is the last generate call the fake upstream received, decoded.
func chatSentRecord(t *testing.T, h *harness) (map[string]any, fakeupstream.Recorded) {
	t.Helper()
	reqs := h.fake.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Action == "generateContent" || reqs[i].Action == "streamGenerateContent" {
			var body map[string]any
			if err := json.Unmarshal(reqs[i].Body, &body); err != nil {
				t.Fatalf("upstream body is not JSON: %v", err)
			}
			return body, reqs[i]
		}
	}
	t.Fatal("no generate call reached the upstream")
	return nil, fakeupstream.Recorded{}
}

// dig walks decoded JSON by object keys and array indexes.
func chatDig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k < 0 {
				k += len(a)
			}
			if k < 0 || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func chatParams(model, text string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}}
}

func TestChatPlainCompletion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	client := chatE2EClient(h, "/v1")
	resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gemini-2.5-flash",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("Be brief."),
			openai.DeveloperMessage("Answer in English."),
			openai.UserMessage("hello there"),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.ID, "chatcmpl-") || resp.Object != "chat.completion" || resp.Model != "gemini-2.5-flash" || resp.Created == 0 {
		t.Fatalf("envelope: %s", resp.RawJSON())
	}
	c := resp.Choices[0]
	if c.Message.Role != "assistant" || c.Message.Content != "echo: hello there" || c.FinishReason != "stop" {
		t.Fatalf("choice: %s", c.RawJSON())
	}
	if resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens == 0 || resp.Usage.TotalTokens < resp.Usage.PromptTokens+1 {
		t.Fatalf("usage: %s", resp.Usage.RawJSON())
	}
	body, rec := chatSentRecord(t, h)
	if rec.Action != "generateContent" || rec.Model != "gemini-2.5-flash" {
		t.Fatalf("called %s on %s", rec.Action, rec.Model)
	}
	if parts := chatDig(body, "systemInstruction", "parts").([]any); len(parts) != 2 || chatDig(parts, 1, "text") != "Answer in English." {
		t.Fatalf("system and developer messages: %v", body["systemInstruction"])
	}
	// Nothing the client did not ask for: the reference sent temperature 0.7, topP 0.9 and topK 40.
	for _, k := range []string{"temperature", "topP", "topK", "maxOutputTokens", "candidateCount"} {
		if chatDig(body, "generationConfig", k) != nil {
			t.Errorf("generationConfig.%s sent although the client did not set it", k)
		}
	}
	if body["safetySettings"] == nil {
		t.Error("SAFETY_SETTINGS not added")
	}
}

func TestChatSamplingOptionsReachGemini(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	params := chatParams("gemini-2.5-flash", "hi")
	params.Temperature = openai.Float(0)
	params.TopP = openai.Float(0.5)
	params.MaxCompletionTokens = openai.Int(300)
	params.Seed = openai.Int(7)
	params.Stop = openai.ChatCompletionNewParamsStopUnion{OfString: openai.String("END")}
	params.PresencePenalty = openai.Float(0.25)
	if _, err := chatE2EClient(h, "/v1").Chat.Completions.New(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	body, _ := chatSentRecord(t, h)
	gc := body["generationConfig"].(map[string]any)
	want := map[string]any{"temperature": 0.0, "topP": 0.5, "maxOutputTokens": 300.0, "seed": 7.0, "presencePenalty": 0.25}
	for k, v := range want {
		if gc[k] != v {
			t.Errorf("generationConfig.%s = %v, want %v", k, gc[k], v)
		}
	}
	if stop := gc["stopSequences"].([]any); len(stop) != 1 || stop[0] != "END" {
		t.Errorf("stop string not wrapped in a list: %v", gc["stopSequences"])
	}
}

func TestChatMaxTokensFinishIsLength(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	params := chatParams("gemini-2.5-flash", "a long question about everything")
	params.MaxTokens = openai.Int(2)
	resp, err := chatE2EClient(h, "/v1").Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].FinishReason != "length" {
		t.Fatalf("finish_reason %q, want length", resp.Choices[0].FinishReason)
	}
}

func TestChatStreamWithUsage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{StreamChunks: 4}, nil)
	params := chatParams("gemini-2.5-flash", "stream this answer please")
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := chatE2EClient(h, "/v1").Chat.Completions.NewStreaming(context.Background(), params)
	var chunks []openai.ChatCompletionChunk
	for stream.Next() {
		chunks = append(chunks, stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(chunks) < 5 {
		t.Fatalf("%d chunks; want role, several text deltas, finish and usage", len(chunks))
	}
	if chunks[0].Choices[0].Delta.Role != "assistant" {
		t.Fatalf("first chunk has no role: %s", chunks[0].RawJSON())
	}
	var text strings.Builder
	id := chunks[0].ID
	for i, c := range chunks {
		if c.ID != id || c.Object != "chat.completion.chunk" || c.Model != "gemini-2.5-flash" {
			t.Fatalf("chunk %d envelope: %s", i, c.RawJSON())
		}
		for _, ch := range c.Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
	if text.String() != "echo: stream this answer please" {
		t.Fatalf("streamed text %q", text.String())
	}
	finish := chunks[len(chunks)-2]
	if len(finish.Choices) != 1 || finish.Choices[0].FinishReason != "stop" {
		t.Fatalf("no finish_reason before the usage chunk: %s", finish.RawJSON())
	}
	last := chunks[len(chunks)-1]
	if len(last.Choices) != 0 || last.Usage.TotalTokens == 0 || last.Usage.CompletionTokens == 0 {
		t.Fatalf("usage chunk: %s", last.RawJSON())
	}
	_, rec := chatSentRecord(t, h)
	if rec.Action != "streamGenerateContent" || !strings.Contains(rec.RawQuery, "alt=sse") {
		t.Fatalf("called %s?%s", rec.Action, rec.RawQuery)
	}
}

func TestChatStreamEventsArriveOneByOne(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{StreamChunks: 3}, nil)
	firstSeen := make(chan struct{})
	h.fake.SetStreamHook(func(ctx context.Context, event int) {
		if event == 1 {
			// Google holds its second event back until the client has the first one through gemgate.
			select {
			case <-firstSeen:
			case <-ctx.Done():
			}
		}
	})
	stream := chatE2EClient(h, "/v1").Chat.Completions.NewStreaming(context.Background(), chatParams("gemini-2.5-flash", "one by one please"))
	var text strings.Builder
	for stream.Next() {
		c := stream.Current()
		if len(c.Choices) > 0 && c.Choices[0].Delta.Content != "" && text.Len() == 0 {
			close(firstSeen)
		}
		for _, ch := range c.Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != "echo: one by one please" {
		t.Fatalf("streamed text %q", text.String())
	}
}

func TestChatStreamCutEndsWithErrorEvent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{StreamChunks: 3, Keys: map[string]fakeupstream.Behavior{goodKey(0): fakeupstream.StreamCut}},
		map[string]string{"API_KEYS": goodKey(0)})
	r := h.do("POST", "/v1/chat/completions", `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"cut me off"}]}`,
		map[string]string{"Authorization": "Bearer " + clientToken})
	body := string(r.body)
	if r.status != 200 || !strings.Contains(body, `"content":"echo:`) {
		t.Fatalf("%d %s", r.status, body)
	}
	if !strings.Contains(body, `data: {"error":{`) || !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Fatalf("a cut stream must end with an error event and [DONE]: %s", body)
	}
	if strings.Count(body, "echo:") != 1 || strings.Contains(body, `"finish_reason":"stop"`) {
		t.Fatalf("text repeated or the cut answer reported as complete: %s", body)
	}
}

func TestChatToolCallRoundTrip(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	client := chatE2EClient(h, "/v1")
	params := chatParams("gemini-2.5-flash", "call get_weather")
	params.Tools = []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name:        "get_weather",
		Description: openai.String("Current weather for a city."),
		Parameters: shared.FunctionParameters{
			"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": false,
			"properties": map[string]any{"location": map[string]any{"type": []string{"string", "null"}}},
			"required":   []string{"location"},
		},
	})}
	params.ParallelToolCalls = openai.Bool(false)
	resp, err := client.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	msg := resp.Choices[0].Message
	if resp.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 {
		t.Fatalf("want one tool call: %s", resp.RawJSON())
	}
	call := msg.ToolCalls[0]
	if call.Function.Name != "get_weather" || call.Function.Arguments != `{"location":"Paris"}` || !strings.HasPrefix(call.ID, "call_") {
		t.Fatalf("tool call: %s", call.RawJSON())
	}
	if !strings.Contains(resp.Choices[0].RawJSON(), `"content":null`) {
		t.Fatalf("content must be null when the answer is only tool calls: %s", resp.Choices[0].RawJSON())
	}
	decl := chatDig(chatSent(t, h), "tools", 0, "functionDeclarations", 0, "parameters")
	if raw, _ := json.Marshal(decl); strings.Contains(string(raw), "additionalProperties") || strings.Contains(string(raw), "$schema") ||
		chatDig(decl, "properties", "location", "nullable") != true {
		t.Fatalf("schema not cleaned for Gemini: %s", raw)
	}

	params.Messages = append(params.Messages, msg.ToParam(), openai.ToolMessage(`{"temperature": 21, "unit": "C"}`, call.ID))
	resp, err = client.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].FinishReason != "stop" || !strings.HasPrefix(resp.Choices[0].Message.Content, "echo:") {
		t.Fatalf("answer after the tool result: %s", resp.RawJSON())
	}
	body := chatSent(t, h)
	model := chatDig(body, "contents", -2)
	if chatDig(model, "role") != "model" || chatDig(model, "parts", 0, "functionCall", "name") != "get_weather" ||
		chatDig(model, "parts", 0, "functionCall", "args", "location") != "Paris" {
		t.Fatalf("assistant tool call not replayed: %v", model)
	}
	result := chatDig(body, "contents", -1)
	fr := chatDig(result, "parts", 0, "functionResponse")
	if chatDig(result, "role") != "user" || chatDig(fr, "name") != "get_weather" || chatDig(fr, "response", "content", "temperature") != 21.0 {
		t.Fatalf("tool result not sent as a named functionResponse: %v", result)
	}
}

func chatSent(t *testing.T, h *harness) map[string]any {
	t.Helper()
	body, _ := chatSentRecord(t, h)
	return body
}

func TestChatStreamedToolCall(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	params := chatParams("gemini-2.5-flash", "call lookup")
	params.Tools = []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name:       "lookup",
		Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"query": map[string]any{"type": "string"}}},
	})}
	stream := chatE2EClient(h, "/v1").Chat.Completions.NewStreaming(context.Background(), params)
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	calls := acc.Choices[0].Message.ToolCalls
	if len(calls) != 1 || calls[0].Function.Name != "lookup" || calls[0].Function.Arguments != `{"query":"test"}` || calls[0].ID == "" ||
		acc.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("accumulated: %+v", acc.Choices[0])
	}
}

func TestChatImageInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	params := openai.ChatCompletionNewParams{Model: "gemini-2.5-flash", Messages: []openai.ChatCompletionMessageParamUnion{
		openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.TextContentPart("what is in this picture?"),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: chatTinyPNG}),
		}),
	}}
	resp, err := chatE2EClient(h, "/v1").Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "echo: what is in this picture?" {
		t.Fatalf("answer %q", resp.Choices[0].Message.Content)
	}
	blob := chatDig(chatSent(t, h), "contents", 0, "parts", 1, "inlineData")
	if chatDig(blob, "mimeType") != "image/png" || !strings.HasPrefix(chatDig(blob, "data").(string), "iVBORw0KGgo") {
		t.Fatalf("image not sent as inlineData: %v", blob)
	}
}

func TestChatImageURLRefusedForPrivateAddress(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	params := openai.ChatCompletionNewParams{Model: "gemini-2.5-flash", Messages: []openai.ChatCompletionMessageParamUnion{
		openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: h.up.URL + "/secret.png"}),
		}),
	}}
	_, err := chatE2EClient(h, "/v1").Chat.Completions.New(context.Background(), params)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, h.up.URL) ||
		apiErr.Param != "messages[0].content[0].image_url.url" {
		t.Fatalf("want a 400 naming the URL, got %v", err)
	}
	if h.fake.TotalCalls() != 0 {
		t.Fatal("the loopback URL was fetched or the request was sent on")
	}
}

func TestChatJSONSchemaOutput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	schema := map[string]any{
		"type":                 "object",
		"properties":           map[string]any{"city": map[string]any{"type": "string"}, "population": map[string]any{"type": "integer"}},
		"required":             []string{"city"},
		"additionalProperties": false,
	}
	params := chatParams("gemini-2.5-flash-search", "give me JSON")
	params.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
		JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "city", Schema: schema, Strict: openai.Bool(true)},
	}}
	if _, err := chatE2EClient(h, "/v1").Chat.Completions.New(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	body := chatSent(t, h)
	gc := body["generationConfig"]
	if chatDig(gc, "responseMimeType") != "application/json" || chatDig(gc, "responseJsonSchema", "properties", "population", "type") != "integer" ||
		chatDig(gc, "responseJsonSchema", "additionalProperties") != false {
		t.Fatalf("structured output not requested: %v", gc)
	}
	if body["tools"] != nil {
		t.Fatalf("tools added to a structured-output request: %v", body["tools"])
	}
}

func TestChatErrorsAreOpenAIShaped(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"MAX_REQUEST_BODY_MB": "1"})
	client := chatE2EClient(h, "/v1")
	bearer := map[string]string{"Authorization": "Bearer " + clientToken}
	check := func(r result, status int, typ, param string) {
		t.Helper()
		var env struct{ Error chatErrorShape }
		if r.status != status || json.Unmarshal(r.body, &env) != nil || env.Error.Type != typ || env.Error.Message == "" {
			t.Fatalf("want %d %s: %d %s", status, typ, r.status, r.body)
		}
		if param != "" && (env.Error.Param == nil || *env.Error.Param != param) {
			t.Fatalf("param %v, want %s: %s", env.Error.Param, param, r.body)
		}
	}
	check(h.do("POST", "/v1/chat/completions", `{"model":"gemini-2.5-flash","messages":[`, bearer), 400, "invalid_request_error", "")
	check(h.do("POST", "/v1/chat/completions", `{"model":"gemini-2.5-flash","messages":[]}`, bearer), 400, "invalid_request_error", "messages")
	check(h.do("POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}]}`, bearer), 400, "invalid_request_error", "model")
	check(h.do("POST", "/v1/chat/completions", `{"model":"gemini-2.5-flash","temperature":"hot","messages":[{"role":"user","content":"x"}]}`, bearer),
		400, "invalid_request_error", "temperature")
	check(h.do("POST", "/v1/chat/completions", `{"model":"gemini-2.5-flash","messages":[{"role":"tool","tool_call_id":"nope","content":"x"}]}`, bearer),
		400, "invalid_request_error", "messages[0].tool_call_id")
	big := `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"` + strings.Repeat("x", 2<<20) + `"}]}`
	check(h.do("POST", "/v1/chat/completions", big, bearer), 413, "invalid_request_error", "")
	check(h.do("POST", "/v1/chat/completions", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"x"}]}`, nil), 401, "authentication_error", "")
	if n := h.fake.TotalCalls(); n != 0 {
		t.Fatalf("bad requests reached the upstream %d times", n)
	}

	for _, model := range []string{"gemini-9-ultra", "gemini-pro-vision", "gemini-2.0-flash-search", "../files"} {
		_, err := client.Chat.Completions.New(context.Background(), chatParams(model, "hi"))
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" || apiErr.Type != "not_found_error" {
			t.Fatalf("%s: want 404 model_not_found, got %v", model, err)
		}
	}
}

// chatErrorShape is OpenAI's error object as a client reads it.
type chatErrorShape struct {
	Message string
	Type    string
	Param   *string
	Code    *string
}

func TestChatAllKeysRateLimitedIs429(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{UnknownKeys: fakeupstream.RateLimitMinute}, nil)
	_, err := chatE2EClient(h, "/v1").Chat.Completions.New(context.Background(), chatParams("gemini-2.5-flash", "hi"))
	// Every key waits out Google's 37 s: longer than a client should sleep, so the 429 says to give up
	// (insufficient_quota, x-should-retry: false) with Retry-After capped.
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Type != "insufficient_quota" {
		t.Fatalf("want 429 insufficient_quota, got %v", err)
	}
	if apiErr.Response.Header.Get("Retry-After") != "5" || apiErr.Response.Header.Get("x-should-retry") != "false" {
		t.Fatalf("retry advice %v", apiErr.Response.Header)
	}
}

func TestChatReasoningContent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	params := chatParams("gemini-2.5-flash", "think first")
	params.ReasoningEffort = shared.ReasoningEffortLow
	resp, err := chatE2EClient(h, "/v1").Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	msg := resp.Choices[0].Message
	reasoning, ok := msg.JSON.ExtraFields["reasoning_content"]
	if !ok || reasoning.Raw() != `"thinking about it"` || msg.Content != "echo: think first" {
		t.Fatalf("reasoning must be apart from the content: %s", msg.RawJSON())
	}
	if resp.Usage.CompletionTokensDetails.ReasoningTokens == 0 {
		t.Fatalf("reasoning tokens not reported: %s", resp.Usage.RawJSON())
	}
	tc := chatDig(chatSent(t, h), "generationConfig", "thinkingConfig")
	if chatDig(tc, "includeThoughts") != true || chatDig(tc, "thinkingBudget") != 1024.0 {
		t.Fatalf("thinkingConfig %v", tc)
	}

	stream := chatE2EClient(h, "/v1").Chat.Completions.NewStreaming(context.Background(), chatParams("gemini-2.5-flash", "think first"))
	var streamed, text strings.Builder
	for stream.Next() {
		for _, ch := range stream.Current().Choices {
			if f, ok := ch.Delta.JSON.ExtraFields["reasoning_content"]; ok {
				var s string
				_ = json.Unmarshal([]byte(f.Raw()), &s)
				streamed.WriteString(s)
			}
			text.WriteString(ch.Delta.Content)
		}
	}
	if stream.Err() != nil || streamed.String() != "thinking about it" || strings.Contains(text.String(), "thinking") {
		t.Fatalf("streamed reasoning %q, text %q, err %v", streamed.String(), text.String(), stream.Err())
	}
}

func TestChatThoughtsDroppedWhenNotShown(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"SHOW_THINKING_PROCESS": "false"})
	resp, err := chatE2EClient(h, "/v1").Chat.Completions.New(context.Background(), chatParams("gemini-2.5-flash", "hi"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(resp.RawJSON(), "thinking about it") || resp.Choices[0].Message.Content != "echo: hi" {
		t.Fatalf("thoughts leaked: %s", resp.RawJSON())
	}
}

func TestChatSeveralChoices(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	params := chatParams("gemini-2.5-flash", "two please")
	params.N = openai.Int(2)
	resp, err := chatE2EClient(h, "/v1").Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 2 || resp.Choices[1].Index != 1 || resp.Choices[1].Message.Content != "echo: two please" {
		t.Fatalf("choices: %s", resp.RawJSON())
	}
	if chatDig(chatSent(t, h), "generationConfig", "candidateCount") != 2.0 {
		t.Fatal("n not sent as candidateCount")
	}

	stream := chatE2EClient(h, "/v1").Chat.Completions.NewStreaming(context.Background(), params)
	texts := map[int64]string{}
	finished := map[int64]string{}
	for stream.Next() {
		for _, ch := range stream.Current().Choices {
			texts[ch.Index] += ch.Delta.Content
			if ch.FinishReason != "" {
				finished[ch.Index] = ch.FinishReason
			}
		}
	}
	if stream.Err() != nil || texts[0] != "echo: two please" || texts[1] != "echo: two please" || finished[0] != "stop" || finished[1] != "stop" {
		t.Fatalf("streamed choices %v finish %v err %v", texts, finished, stream.Err())
	}
}

func TestChatHFPrefix(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	resp, err := chatE2EClient(h, "/hf/v1").Chat.Completions.New(context.Background(), chatParams("gemini-2.5-flash", "via hf"))
	if err != nil || resp.Choices[0].Message.Content != "echo: via hf" {
		t.Fatalf("%v %v", resp, err)
	}
}

func TestChatBlockedPrompt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	client := chatE2EClient(h, "/v1")
	resp, err := client.Chat.Completions.New(context.Background(), chatParams("gemini-2.5-flash", "block me"))
	if err != nil {
		t.Fatal(err)
	}
	if c := resp.Choices[0]; c.FinishReason != "content_filter" || c.Message.Content != "" {
		t.Fatalf("blocked prompt: %s", resp.RawJSON())
	}
	stream := client.Chat.Completions.NewStreaming(context.Background(), chatParams("gemini-2.5-flash", "block me"))
	finish := ""
	for stream.Next() {
		for _, ch := range stream.Current().Choices {
			if ch.FinishReason != "" {
				finish = ch.FinishReason
			}
		}
	}
	if stream.Err() != nil || finish != "content_filter" {
		t.Fatalf("streamed blocked prompt: finish %q err %v", finish, stream.Err())
	}
}

func TestChatImageModelReturnsMarkdownImage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"IMAGE_MODELS": `["gemini-2.0-flash-exp"]`})
	resp, err := chatE2EClient(h, "/v1").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gemini-2.0-flash-exp-image",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("You draw."), openai.UserMessage("draw a dot")},
	})
	if err != nil {
		t.Fatal(err)
	}
	// UPLOAD_PROVIDER=local (the default) hosts the picture; media_e2e_test.go follows the link.
	if !strings.Contains(resp.Choices[0].Message.Content, "![image]("+h.srv.URL+"/img/") {
		t.Fatalf("no image in the answer: %s", resp.Choices[0].Message.Content)
	}
	body := chatSent(t, h)
	if m := chatDig(body, "generationConfig", "responseModalities"); m == nil || len(m.([]any)) != 2 || body["systemInstruction"] != nil {
		t.Fatalf("image request: %v", body)
	}
}

func TestChatFakeStreamViaAdminSetting(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{Latency: 1300 * time.Millisecond}, nil)
	r := h.do("PUT", "/api/config", map[string]any{"FAKE_STREAM_ENABLED": true, "FAKE_STREAM_EMPTY_DATA_INTERVAL_SECONDS": 1}, adminHeader)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	params := chatParams("gemini-2.5-flash", "fake it")
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := chatE2EClient(h, "/v1").Chat.Completions.NewStreaming(context.Background(), params)
	var text strings.Builder
	finish, usage := "", int64(0)
	for stream.Next() {
		c := stream.Current()
		for _, ch := range c.Choices {
			text.WriteString(ch.Delta.Content)
			if ch.FinishReason != "" {
				finish = ch.FinishReason
			}
		}
		usage = max(usage, c.Usage.TotalTokens)
	}
	if stream.Err() != nil || text.String() != "echo: fake it" || finish != "stop" || usage == 0 {
		t.Fatalf("text %q finish %q usage %d err %v", text.String(), finish, usage, stream.Err())
	}
	if _, rec := chatSentRecord(t, h); rec.Action != "generateContent" {
		t.Fatalf("fake streaming called %s", rec.Action)
	}

	req, _ := http.NewRequest("POST", h.srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"raw"}]}`))
	req.Header.Set("Authorization", "Bearer "+clientToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if !strings.HasPrefix(string(raw), ": keep-alive\n\n") || !strings.HasSuffix(string(raw), "data: [DONE]\n\n") {
		t.Fatalf("fake stream: %s", raw)
	}
}

func TestChatClientDisconnectCancelsUpstream(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{StreamChunks: 3}, nil)
	release := make(chan struct{})
	defer close(release)
	h.fake.SetStreamHook(func(ctx context.Context, event int) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	stream := chatE2EClient(h, "/v1").Chat.Completions.NewStreaming(ctx, chatParams("gemini-2.5-flash", "leave early"))
	for stream.Next() {
		if c := stream.Current(); len(c.Choices) > 0 && c.Choices[0].Delta.Content != "" {
			cancel()
			break
		}
	}
	stream.Close()
	cancel()
	testutil.Eventually(t, "the upstream stream to be cancelled", func() bool { return h.fake.Cancelled() > 0 })
}
