package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/fakeupstream"
	"google.golang.org/genai"
)

func settingOf(t *testing.T, h *harness, name string) map[string]any {
	t.Helper()
	for _, s := range h.do("GET", "/api/config?detailed=1", nil, adminHeader).json(t)["settings"].([]any) {
		m := s.(map[string]any)
		if m["name"] == name {
			return m
		}
	}
	t.Fatalf("setting %s not listed", name)
	return nil
}

func TestSavedSettingSurvivesRestartAndWinsOverEnv(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, map[string]string{"MAX_FAILURES": "7", "TEST_MODEL": "from-env"})
	if s := settingOf(t, h, "MAX_FAILURES"); s["value"].(float64) != 7 || s["source"] != "database" {
		t.Fatalf("first start must store env values: %v", s)
	}
	r := h.do("PUT", "/api/config", map[string]any{"MAX_FAILURES": 9, "TEST_MODEL": "from-panel"}, adminHeader)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	h.restart(map[string]string{"MAX_FAILURES": "4", "TEST_MODEL": "env-changed"})
	if s := settingOf(t, h, "MAX_FAILURES"); s["value"].(float64) != 9 {
		t.Fatalf("stored value lost or beaten by env: %v", s)
	}
	if s := settingOf(t, h, "TEST_MODEL"); s["value"] != "from-panel" {
		t.Fatalf("stored value lost: %v", s)
	}
	// Going back to the env value is one call away.
	h.do("POST", "/api/config/revert", map[string]any{"names": []string{"TEST_MODEL"}}, adminHeader)
	if s := settingOf(t, h, "TEST_MODEL"); s["value"] != "env-changed" {
		t.Fatalf("revert did not return to env: %v", s)
	}
}

func TestSettingsUpdateIsValidatedAndLive(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	for _, bad := range []map[string]any{
		{"MAX_RETRIES": "many"},
		{"AUTH_TOKEN": ""},
		{"NO_SUCH_SETTING": 1},
		{"PORT": 9000},
		{"MAX_RETRIES": 2, "MAX_FAILURES": 0},
	} {
		if r := h.do("PUT", "/api/config", bad, adminHeader); r.status != 400 {
			t.Errorf("%v accepted: %d %s", bad, r.status, r.body)
		}
	}
	if s := settingOf(t, h, "MAX_RETRIES"); s["value"].(float64) != 3 {
		t.Fatalf("a rejected update changed a value: %v", s)
	}
	// A new client token works at once, and the old one stops working.
	h.do("PUT", "/api/config", map[string]any{"ALLOWED_TOKENS": []string{"sk-new-token"}}, adminHeader)
	if r := h.do("GET", "/v1beta/models", nil, map[string]string{"x-goog-api-key": "sk-new-token"}); r.status != 200 {
		t.Fatalf("new token refused: %d", r.status)
	}
	if r := h.do("GET", "/v1beta/models", nil, tokenHeader); r.status != 403 {
		t.Fatalf("old token still accepted: %d", r.status)
	}
	// Keys too: a newly added key takes traffic without restart.
	h.do("PUT", "/api/config", map[string]any{"API_KEYS": []string{goodKey(5)}}, adminHeader)
	h.do("POST", "/v1beta/models/gemini-2.5-flash:generateContent", hello("hi"), map[string]string{"x-goog-api-key": "sk-new-token"})
	if h.fake.Calls(goodKey(5)) != 1 {
		t.Fatal("new key not used")
	}
}

func TestSecretsMaskedInAdminAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	body := string(h.do("GET", "/api/config", nil, adminHeader).body)
	if strings.Contains(body, goodKey(0)) || strings.Contains(body, clientToken) || strings.Contains(body, adminToken) {
		t.Fatal("secrets shown in clear")
	}
	if r := h.do("GET", "/api/config", nil, map[string]string{"Authorization": "Bearer " + clientToken}); r.status != 401 {
		t.Fatalf("a client token opened the admin API: %d", r.status)
	}
}

func TestKeyStateSurvivesRestart(t *testing.T) {
	t.Parallel()
	bad := "AIzaSyBad000000000000000000000000000000"
	h := newHarness(t, fakeupstream.Config{Keys: map[string]fakeupstream.Behavior{bad: fakeupstream.Invalid}},
		map[string]string{"API_KEYS": bad + "," + goodKey(0)})
	h.generate("gemini-2.5-flash", "hi")
	h.generate("gemini-2.5-flash", "hi")
	h.restart(nil)
	if st := h.do("GET", "/api/keys/status", nil, adminHeader).json(t); st["disabled"].(float64) != 1 {
		t.Fatalf("disabled key forgotten on restart: %v", st)
	}
}

func TestGoGenAISDK(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{StreamChunks: 3}, nil)
	ctx := context.Background()
	client, err := genai.NewClient(ctx, &genai.ClientConfig{
		APIKey:      clientToken,
		Backend:     genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: h.srv.URL + "/gemini/"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Models.GenerateContent(ctx, "gemini-2.5-flash", genai.Text("hello from the SDK"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.Text(), "hello from the SDK") {
		t.Fatalf("plain answer %q", resp.Text())
	}
	var streamed strings.Builder
	events := 0
	for chunk, err := range client.Models.GenerateContentStream(ctx, "gemini-2.5-flash", genai.Text("stream from the SDK"), nil) {
		if err != nil {
			t.Fatal(err)
		}
		events++
		streamed.WriteString(chunk.Text())
	}
	if events != 3 || !strings.Contains(streamed.String(), "stream from the SDK") {
		t.Fatalf("%d events: %q", events, streamed.String())
	}
	count, err := client.Models.CountTokens(ctx, "gemini-2.5-flash", genai.Text("count me"), nil)
	if err != nil || count.TotalTokens < 1 {
		t.Fatalf("count tokens %v %v", count, err)
	}
	emb, err := client.Models.EmbedContent(ctx, "text-embedding-004", genai.Text("embed me"), &genai.EmbedContentConfig{OutputDimensionality: genai.Ptr[int32](8)})
	if err != nil || len(emb.Embeddings) != 1 || len(emb.Embeddings[0].Values) != 8 {
		t.Fatalf("embed %v %v", emb, err)
	}
	rec, _ := h.fake.LastRequest()
	if rec.Action != "batchEmbedContents" {
		t.Fatalf("the SDK's embed went to %q", rec.Action)
	}
}
