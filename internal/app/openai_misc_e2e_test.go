package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/fakeupstream"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// openAIClient is the official SDK pointed at gemgate; extra options come last.
func (h *harness) openAIClient(prefix string, opts ...option.RequestOption) openai.Client {
	base := []option.RequestOption{option.WithBaseURL(h.srv.URL + prefix), option.WithAPIKey(clientToken), option.WithMaxRetries(0)}
	return openai.NewClient(append(base, opts...)...)
}

// captureBodies records the request bodies the SDK sends.
func captureBodies(into *[][]byte) option.RequestOption {
	return option.WithMiddleware(func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		if req.Body != nil {
			b, _ := io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(b))
			*into = append(*into, b)
		}
		return next(req)
	})
}

func modelIDs(t *testing.T, c openai.Client) []string {
	t.Helper()
	page, err := c.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	return ids
}

func TestOpenAIModelList(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"THINKING_MODELS": `["gemini-2.5-flash"]`})
	c := h.openAIClient("/v1/")
	ids := modelIDs(t, c)
	flash := slices.Index(ids, "gemini-2.5-flash")
	if flash < 0 || ids[flash+1] != "gemini-2.5-flash-search" || ids[flash+2] != "gemini-2.5-flash-non-thinking" {
		t.Fatalf("variants not right after their base: %v", ids)
	}
	if pro := slices.Index(ids, "gemini-2.5-pro"); pro < 0 || ids[pro+1] != "gemini-2.5-pro-search" {
		t.Fatalf("gemini-2.5-pro-search not after its base: %v", ids)
	}
	if slices.Contains(ids, "gemini-1.0-pro-vision-latest") || slices.Contains(ids, "embedding-gecko-001") {
		t.Fatalf("FILTERED_MODELS listed: %v", ids)
	}
	if ids[len(ids)-1] != "imagen-3.0-generate-002-chat" {
		t.Fatalf("image chat model not last: %v", ids)
	}

	calls := h.fake.TotalCalls()
	r := h.do("PUT", "/api/config", map[string]any{"MODEL_ALIASES": map[string]string{"gpt-4o-mini": "gemini-2.5-flash-search"}}, adminHeader)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if ids := modelIDs(t, h.openAIClient("/hf/v1/")); !slices.Contains(ids, "gpt-4o-mini") {
		t.Fatalf("alias not listed: %v", ids)
	}
	m, err := c.Models.Get(context.Background(), "gemini-2.5-pro-search")
	if err != nil || m.ID != "gemini-2.5-pro-search" || m.OwnedBy != "google" {
		t.Fatalf("get variant: %+v %v", m, err)
	}
	if h.fake.TotalCalls() != calls {
		t.Fatal("the cached model list was fetched again")
	}
	_, err = c.Models.Get(context.Background(), "gemini-1.0-pro-vision-latest")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
		t.Fatalf("filtered model get: %v", err)
	}
}

func TestOpenAIEmbeddingsFloatAndBase64(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"MODEL_ALIASES": `{"text-embedding-3-small":"gemini-embedding-001"}`})
	c := h.openAIClient("/v1/")
	ctx := context.Background()
	params := openai.EmbeddingNewParams{
		Input:      openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"first text", "second text", "third"}},
		Model:      "text-embedding-3-small",
		Dimensions: openai.Int(16),
	}
	float, err := c.Embeddings.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if len(float.Data) != 3 || float.Model != "text-embedding-3-small" || float.Usage.PromptTokens < 1 || float.Usage.TotalTokens != float.Usage.PromptTokens {
		t.Fatalf("answer: %+v", float)
	}
	for i, d := range float.Data {
		if d.Index != int64(i) || len(d.Embedding) != 16 {
			t.Fatalf("embedding %d: index %d, %d values", i, d.Index, len(d.Embedding))
		}
	}
	if h.fake.TotalCalls() != 1 {
		t.Fatalf("%d upstream calls for one request", h.fake.TotalCalls())
	}
	rec, _ := h.fake.LastRequest()
	if rec.Path != "/v1beta/models/gemini-embedding-001:batchEmbedContents" || !strings.Contains(string(rec.Body), `"outputDimensionality":16`) {
		t.Fatalf("upstream call %s %s", rec.Path, rec.Body)
	}

	params.EncodingFormat = openai.EmbeddingNewParamsEncodingFormatBase64
	b64, err := c.Embeddings.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b64.Data[0].JSON.Embedding.Raw(), `"`) {
		t.Fatalf("base64 not sent as a string: %s", b64.Data[0].JSON.Embedding.Raw())
	}
	for i := range b64.Data {
		if len(b64.Data[i].Embedding) != 16 {
			t.Fatalf("decoded base64 vector has %d values", len(b64.Data[i].Embedding))
		}
		for j, v := range b64.Data[i].Embedding {
			if math.Abs(v-float.Data[i].Embedding[j]) > 1e-6 {
				t.Fatalf("base64 value %d/%d = %v, float said %v", i, j, v, float.Data[i].Embedding[j])
			}
		}
	}

	bearer := map[string]string{"Authorization": "Bearer " + clientToken}
	for body, status := range map[string]int{
		`{"model":"gemini-embedding-001","input":[[1,2,3]]}`: 400,
		`{"model":"gemini-embedding-001","input":""}`:        400,
		`{"model":"embedding-gecko-001","input":"x"}`:        404,
	} {
		r := h.do("POST", "/v1/embeddings", body, bearer)
		var env struct {
			Error struct{ Message, Type string }
		}
		if r.status != status || json.Unmarshal(r.body, &env) != nil || env.Error.Message == "" || env.Error.Type == "" {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
}

func TestPassthroughChat(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{StreamChunks: 3}, map[string]string{"API_KEYS": goodKey(0)})
	var sent [][]byte
	c := h.openAIClient("/openai/v1/", captureBodies(&sent))
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{
		Model:    "gemini-2.5-flash",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	}
	resp, err := c.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 1 || resp.Choices[0].Message.Content == "" {
		t.Fatalf("answer: %+v", resp)
	}
	rec, _ := h.fake.LastRequest()
	if rec.Path != "/v1beta/openai/chat/completions" || rec.Header.Get("Authorization") != "Bearer "+goodKey(0) {
		t.Fatalf("upstream request %s auth %q", rec.Path, rec.Header.Get("Authorization"))
	}
	if !bytes.Equal(rec.Body, sent[0]) {
		t.Fatalf("body changed:\n got %s\nsent %s", rec.Body, sent[0])
	}

	stream := c.Chat.Completions.NewStreaming(ctx, params)
	var text strings.Builder
	chunks := 0
	for stream.Next() {
		chunks++
		if ch := stream.Current(); len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Delta.Content)
		}
	}
	if err := stream.Err(); err != nil || chunks != 3 || text.String() != resp.Choices[0].Message.Content {
		t.Fatalf("stream: %v, %d chunks, %q vs %q", err, chunks, text.String(), resp.Choices[0].Message.Content)
	}
	rec, _ = h.fake.LastRequest()
	if !bytes.Equal(rec.Body, sent[1]) || !strings.Contains(string(rec.Body), `"stream":true`) {
		t.Fatalf("stream body changed: %s", rec.Body)
	}

	// Fields outside OpenAI's schema and odd spacing reach Google byte for byte.
	raw := `{ "model": "gemini-2.5-flash", "messages": [{"role":"user","content":"hi"}], "reasoning_effort": "low",  "extra_body": {"google": {"thinking_config": {"include_thoughts": true}}} }`
	r := h.do("POST", "/openai/v1/chat/completions", raw, map[string]string{"Authorization": "Bearer " + clientToken})
	rec, _ = h.fake.LastRequest()
	if r.status != 200 || string(rec.Body) != raw {
		t.Fatalf("%d: body changed:\n got %s\nwant %s", r.status, rec.Body, raw)
	}
}

func TestPassthroughModelsAndEmbeddings(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	c := h.openAIClient("/openai/v1/")
	ids := modelIDs(t, c)
	if !slices.Contains(ids, "models/gemini-2.5-flash") {
		t.Fatalf("Google's list not relayed as is: %v", ids)
	}
	emb, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hello")}, Model: "text-embedding-004",
	})
	if err != nil || len(emb.Data) != 1 || len(emb.Data[0].Embedding) != 768 {
		t.Fatalf("%+v %v", emb, err)
	}
	if rec, _ := h.fake.LastRequest(); rec.Path != "/v1beta/openai/embeddings" {
		t.Fatalf("went to %s", rec.Path)
	}
}

func TestPassthroughErrorsBecomeOpenAIErrors(t *testing.T) {
	t.Parallel()
	bad0, bad1 := "AIzaSyBad000000000000000000000000000000", "AIzaSyBad000000000000000000000000000001"
	h := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{bad0: fakeupstream.Invalid, bad1: fakeupstream.Invalid}},
		map[string]string{"API_KEYS": bad0 + "," + bad1})
	c := h.openAIClient("/openai/v1/")
	_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gemini-2.5-flash", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode < 400 || !strings.Contains(apiErr.Message, "API key not valid") {
		t.Fatalf("not an OpenAI error: %v", err)
	}
	if strings.Contains(apiErr.RawJSON(), bad0) || strings.Contains(apiErr.RawJSON(), bad1) {
		t.Fatal("a key leaked into the error")
	}
	// (The second key, past the token's blame allowance of one key, was also checked once before it was
	// disabled: keysOf counts the chat calls only.)
	if chats := keysOf(h, "chat/completions"); len(chats) != 2 || chats[0] == chats[1] {
		t.Fatalf("not retried on the other key: %q", chats)
	}

	// A client error comes back array-wrapped from Google; the SDK must still read it.
	h2 := newHarness(t, fakeupstream.Config{}, nil)
	c2 := h2.openAIClient("/openai/v1/")
	_, err = c2.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gemini-2.5-flash", Messages: []openai.ChatCompletionMessageParamUnion{},
	})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "contents is not specified") ||
		apiErr.Type != "invalid_request_error" {
		t.Fatalf("client error: %v", err)
	}
	if h2.fake.TotalCalls() != 1 {
		t.Fatalf("a client error was retried: %d calls", h2.fake.TotalCalls())
	}
}

func TestNativeDerivedModels(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"THINKING_MODELS": `["gemini-2.5-flash"]`})
	r := h.do("GET", "/v1beta/models", nil, tokenHeader)
	var list struct {
		Models []struct{ Name, DisplayName string }
	}
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, m := range list.Models {
		names[m.Name] = m.DisplayName
	}
	if names["models/gemini-2.5-flash-search"] != "Gemini 2.5 Flash For Search" || names["models/gemini-2.5-flash-non-thinking"] == "" {
		t.Fatalf("derived models missing: %v", names)
	}
	calls := h.fake.TotalCalls()
	r = h.do("GET", "/v1beta/models/gemini-2.5-pro-search", nil, tokenHeader)
	if r.status != 200 || r.json(t)["displayName"] != "Gemini 2.5 Pro For Search" || h.fake.TotalCalls() != calls {
		t.Fatalf("get derived: %d %s", r.status, r.body)
	}

	r = h.generate("gemini-2.5-flash-search", "what happened today?")
	rec, _ := h.fake.LastRequest()
	if r.status != 200 || rec.Model != "gemini-2.5-flash" || rec.Path != "/v1beta/models/gemini-2.5-flash:generateContent" {
		t.Fatalf("%d %s: upstream got %s", r.status, r.body, rec.Path)
	}
	var sent struct {
		Tools            []map[string]any
		GenerationConfig map[string]any
	}
	if err := json.Unmarshal(rec.Body, &sent); err != nil || len(sent.Tools) != 1 || sent.Tools[0]["googleSearch"] == nil {
		t.Fatalf("googleSearch tool not sent: %s", rec.Body)
	}

	body := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"temperature":0.3}}`
	r = h.do("POST", "/v1beta/models/gemini-2.5-flash-non-thinking:generateContent", body, tokenHeader)
	rec, _ = h.fake.LastRequest()
	sent.GenerationConfig = nil
	if err := json.Unmarshal(rec.Body, &sent); r.status != 200 || err != nil || rec.Model != "gemini-2.5-flash" {
		t.Fatalf("%d %s", r.status, rec.Body)
	}
	tc, _ := sent.GenerationConfig["thinkingConfig"].(map[string]any)
	if tc == nil || tc["thinkingBudget"] != float64(0) || sent.GenerationConfig["temperature"] != 0.3 {
		t.Fatalf("thinkingBudget 0 not merged: %s", rec.Body)
	}

	calls = h.fake.TotalCalls()
	h.generate("gemini-2.0-flash-search", "hi").googleError(t, 400)
	h.generate("gemini-1.0-pro-vision-latest", "hi").googleError(t, 404)
	if h.fake.TotalCalls() != calls {
		t.Fatal("a refused model reached the upstream")
	}
}

func TestURLNormalization(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	bearer := map[string]string{"Authorization": "Bearer " + clientToken}
	embed := `{"model":"text-embedding-004","input":"hi"}`
	if r := h.do("POST", "/v1/v1/embeddings", embed, bearer); r.status != 404 {
		t.Fatalf("rewritten while off: %d %s", r.status, r.body)
	}
	if r := h.do("PUT", "/api/config", map[string]any{"URL_NORMALIZATION_ENABLED": true}, adminHeader); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if r := h.do("POST", "/v1/v1/embeddings", embed, bearer); r.status != 200 || len(r.json(t)["data"].([]any)) != 1 {
		t.Fatalf("doubled /v1: %d %s", r.status, r.body)
	}
	ids := modelIDs(t, h.openAIClient("/v1/v1/"))
	if !slices.Contains(ids, "gemini-2.5-flash") {
		t.Fatalf("list through /v1/v1: %v", ids)
	}
	r := h.do("POST", "/models/gemini-2.5-flash:countTokens", hello("count me"), tokenHeader)
	rec, _ := h.fake.LastRequest()
	if r.status != 200 || rec.Action != "countTokens" {
		t.Fatalf("countTokens kept? %d %s, upstream %s", r.status, r.body, rec.Action)
	}
	if r := h.do("GET", "/api/nothing", nil, adminHeader); r.status != 404 {
		t.Fatalf("admin path touched: %d", r.status)
	}
}
