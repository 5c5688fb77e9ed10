package anthropic

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/translate"
	"github.com/gemgate/gemgate/internal/upstream"
)

func snapshot(t testing.TB, env map[string]string) *config.Snapshot {
	t.Helper()
	snap, err := config.FromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// gemini translates a request body the way the handler does, short of media downloads.
func toGemini(t *testing.T, env map[string]string, body string) (*translation, string, error) {
	t.Helper()
	snap := snapshot(t, env)
	req, err := parseRequest([]byte(body), false)
	if err != nil {
		return nil, "", err
	}
	model, err := translate.ResolveModel(snap, geminiModel(snap, req.Model))
	if err != nil {
		return nil, "", err
	}
	tr, err := translateRequest(snap, model, req)
	if err != nil {
		return nil, "", err
	}
	out, err := json.Marshal(tr.body)
	if err != nil {
		t.Fatal(err)
	}
	return &tr, string(out), nil
}

func mustContain(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Fatalf("%s\nlacks %s", got, w)
		}
	}
}

func TestTranslateMessages(t *testing.T) {
	_, got, err := toGemini(t, nil, `{"model":"claude-3-5-haiku-latest","max_tokens":100,
		"system":[{"type":"text","text":"sys one","cache_control":{"type":"ephemeral"}},{"type":"text","text":"sys two"}],
		"metadata":{"user_id":"u1"},"temperature":0.2,"top_p":0.9,"top_k":5,"stop_sequences":["END",""],
		"messages":[
		 {"role":"user","content":[{"type":"text","text":"look"},
		   {"type":"image","source":{"type":"base64","media_type":"image/jpg","data":"AAAA"}},
		   {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}},
		   {"type":"document","source":{"type":"text","media_type":"text/plain","data":"plain doc"}}]},
		 {"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"SIG"},{"type":"text","text":"calling"},
		   {"type":"tool_use","id":"toolu_1","name":"read","input":{"path":"a"}},{"type":"tool_use","id":"toolu_2","name":"read","input":{}}]},
		 {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"file body"},
		   {"type":"tool_result","tool_use_id":"toolu_2","is_error":true,"content":[{"type":"text","text":"no such file"},
		     {"type":"image","source":{"type":"base64","media_type":"image/png","data":"BBBB"}}]}]}]}`)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, got,
		`"systemInstruction":{"parts":[{"text":"sys one"},{"text":"sys two"}]}`,
		`{"inlineData":{"mimeType":"image/jpeg","data":"AAAA"}}`,
		`{"inlineData":{"mimeType":"application/pdf","data":"JVBERi0="}}`,
		`{"text":"plain doc"}`,
		`{"role":"model","parts":[{"text":"calling"},{"thoughtSignature":"SIG","functionCall":{"name":"read","args":{"path":"a"}}},{"functionCall":{"name":"read","args":{}}}]}`,
		`{"functionResponse":{"name":"read","response":{"content":"file body"}}}`,
		`{"functionResponse":{"name":"read","response":{"error":"no such file"}}},{"inlineData":{"mimeType":"image/png","data":"BBBB"}}`,
		`"stopSequences":["END"],"maxOutputTokens":100,"temperature":0.2,"topP":0.9,"topK":5`,
		`"safetySettings":[`)
	if strings.Contains(got, "hm") || strings.Contains(got, "user_id") {
		t.Fatalf("thoughts or metadata leaked upstream: %s", got)
	}
}

// Claude Code sends system turns in the middle of the conversation (its mid-conversation-system beta);
// Gemini has one system instruction, so they join it in order and the turns around them stay as they are.
func TestMidConversationSystemMessages(t *testing.T) {
	_, got, err := toGemini(t, nil, `{"model":"gemini-2.5-flash","max_tokens":100,"system":"first",
		"messages":[{"role":"user","content":"hi"},{"role":"system","content":[{"type":"text","text":"second"}]},
		{"role":"assistant","content":"hello"},{"role":"system","content":"third"},{"role":"user","content":"again"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, got, `"systemInstruction":{"parts":[{"text":"first"},{"text":"second"},{"text":"third"}]}`,
		`{"role":"user","parts":[{"text":"hi"}]},{"role":"model","parts":[{"text":"hello"}]},{"role":"user","parts":[{"text":"again"}]}`)
}

func TestTranslateTools(t *testing.T) {
	base := `{"model":"gemini-2.5-flash","max_tokens":10,"messages":[{"role":"user","content":"hi"}],
		"tools":[{"name":"f","description":"does f","input_schema":{"type":"object","properties":{"a":{"type":"string","format":"uri"}},"additionalProperties":false,"$schema":"x"}},
		         {"name":"g","input_schema":{"type":"object","properties":{}}},{"name":"f","input_schema":{}}]`
	for choice, want := range map[string]string{
		``:                               `"functionDeclarations":[{"name":"f","description":"does f","parameters":{"properties":{"a":{"type":"string"}},"type":"object"}},{"name":"g"}]}]`,
		`,"tool_choice":{"type":"auto"}`: `"toolConfig":{"functionCallingConfig":{"mode":"AUTO"}}`,
		`,"tool_choice":{"type":"any"}`:  `"toolConfig":{"functionCallingConfig":{"mode":"ANY"}}`,
		`,"tool_choice":{"type":"none"}`: `"toolConfig":{"functionCallingConfig":{"mode":"NONE"}}`,
		`,"tool_choice":{"type":"tool","name":"g"}`: `"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["g"]}}`,
	} {
		_, got, err := toGemini(t, nil, base+choice+"}")
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, got, want)
	}
	_, got, err := toGemini(t, nil, `{"model":"gemini-2.5-flash","max_tokens":10,"messages":[{"role":"user","content":"hi"}],
		"tools":[{"type":"web_search_20250305","name":"web_search"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, got, `"tools":[{"googleSearch":{}}]`)
}

func TestTranslateThinking(t *testing.T) {
	msg := `,"messages":[{"role":"user","content":"hi"}]}`
	for _, tc := range []struct{ model, thinking, want string }{
		{"gemini-2.5-flash", `"thinking":{"type":"enabled","budget_tokens":2048}`, `"thinkingConfig":{"includeThoughts":true,"thinkingBudget":2048}`},
		{"gemini-2.5-flash", `"thinking":{"type":"enabled","budget_tokens":31999}`, `"includeThoughts":true,"thinkingBudget":24576`},
		{"gemini-2.5-pro", `"thinking":{"type":"enabled","budget_tokens":1024}`, `"includeThoughts":true,"thinkingBudget":1024`},
		{"gemini-2.5-pro", `"thinking":{"type":"disabled"}`, `"thinkingConfig":{"thinkingBudget":128}`},
		{"gemini-2.5-flash", `"thinking":{"type":"disabled"}`, `"thinkingConfig":{"thinkingBudget":0}`},
		{"gemini-2.5-flash-lite", `"thinking":{"type":"enabled","budget_tokens":100}`, `"includeThoughts":true,"thinkingBudget":512`},
		{"gemini-3-pro-preview", `"thinking":{"type":"enabled","budget_tokens":20000}`, `"thinkingConfig":{"includeThoughts":true,"thinkingLevel":"HIGH"}`},
		{"gemini-2.5-flash", `"thinking":{"type":"adaptive"}`, `"thinkingConfig":{"includeThoughts":true}`},
	} {
		tr, got, err := toGemini(t, nil, `{"model":"`+tc.model+`","max_tokens":40000,`+tc.thinking+msg)
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, got, tc.want)
		if on := strings.Contains(tc.want, "includeThoughts"); tr.thinking != on {
			t.Fatalf("%s %s: thinking %v", tc.model, tc.thinking, tr.thinking)
		}
	}
	_, got, _ := toGemini(t, nil, `{"model":"gemini-2.5-flash","max_tokens":10`+msg)
	if strings.Contains(got, "includeThoughts") {
		t.Fatalf("thoughts asked for without the option: %s", got)
	}
}

func TestRequestErrors(t *testing.T) {
	for body, want := range map[string]string{
		``:    "empty",
		`[1]`: "must be a JSON object",
		`{"model":"x","messages":[{"role":"user","content":"hi"}]}`:                                                                                               "max_tokens: Field required",
		`{"model":"gemini-2.5-flash","max_tokens":1,"messages":[{"role":"tool","content":"hi"}]}`:                                                                 "messages.0.role",
		`{"model":"gemini-2.5-flash","max_tokens":1,"messages":[{"role":"system","content":[{"type":"image","source":{"type":"url","url":"https://x"}}]}]}`:       "messages.0.content.0.type",
		`{"model":"gemini-2.5-flash","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"nope"}]}]}`:                        "tool_use_id",
		`{"model":"gemini-2.5-flash","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"bash_20250124","name":"bash"}]}`:                "not supported",
		`{"model":"gemini-2.5-flash","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"f"}],"tool_choice":{"type":"tool","name":"h"}}`: "not among the tools",
		`{"model":"gemini-2.5-flash","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"ftp://x"}}]}]}`:           "http(s)",
		`{"model":"gemini-2.5-flash","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"thinking":{"type":"sometimes"}}`:                                 "thinking.type",
	} {
		_, _, err := toGemini(t, nil, body)
		var re *requestError
		if !errors.As(err, &re) || re.status != 400 || re.typ != typeInvalidRequest || !strings.Contains(re.msg, want) {
			t.Fatalf("%s: %v, want a 400 containing %q", body, err, want)
		}
	}
}

func TestImageURLIsFetchedLater(t *testing.T) {
	tr, _, err := toGemini(t, nil, `{"model":"gemini-2.5-flash","max_tokens":1,"messages":[{"role":"user","content":[
		{"type":"image","source":{"type":"url","url":"https://example.com/cat.png"}}]}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.media) != 1 || tr.media[0].URL != "https://example.com/cat.png" || tr.media[0].Param != "messages.0.content.0.source.url" {
		t.Fatalf("media jobs: %+v", tr.media)
	}
}

func TestGeminiModel(t *testing.T) {
	snap := snapshot(t, map[string]string{"MODEL_ALIASES": `{"claude-custom":"gemini-2.5-pro"}`,
		"ANTHROPIC_MODEL_MAP": `{"opus":"gemini-2.5-pro","sonnet":"gemini-2.5-flash","haiku":"gemini-2.5-flash-lite","sonnet-4-5":"gemini-3-pro-preview"}`})
	for in, want := range map[string]string{
		"claude-sonnet-4-5-20250929": "gemini-3-pro-preview", // the longest part wins
		"claude-sonnet-4-20250514":   "gemini-2.5-flash",
		"claude-3-5-haiku-latest":    "gemini-2.5-flash-lite",
		"Claude-Opus-4-1":            "gemini-2.5-pro",
		"gemini-2.5-flash-search":    "gemini-2.5-flash-search",
		"claude-custom":              "claude-custom",
		"gpt-4o":                     "gpt-4o",
	} {
		if got := geminiModel(snap, in); got != want {
			t.Errorf("%s → %s, want %s", in, got, want)
		}
	}
}

func TestResponseMapping(t *testing.T) {
	for _, tc := range []struct {
		finish  string
		blocked bool
		call    bool
		want    string
	}{
		{"STOP", false, false, "end_turn"}, {"MAX_TOKENS", false, false, "max_tokens"}, {"STOP", false, true, "tool_use"},
		{"SAFETY", false, false, "refusal"}, {"", true, false, "refusal"}, {"MALFORMED_FUNCTION_CALL", false, false, "end_turn"},
	} {
		a := &answer{id: "msg_1", model: "claude-x", blocks: translate.Blocks{NewCallID: newToolUseID}}
		resp := &gemini.GenerateContentResponse{UsageMetadata: &gemini.UsageMetadata{PromptTokenCount: 7, CandidatesTokenCount: 3, ThoughtsTokenCount: 2}}
		if tc.blocked {
			resp.PromptFeedback = &gemini.PromptFeedback{BlockReason: "SAFETY"}
		} else {
			part := gemini.Part{Text: "hi"}
			if tc.call {
				part = gemini.Part{FunctionCall: &gemini.FunctionCall{Name: "f", Args: json.RawMessage(`{"a": 1}`)}}
			}
			resp.Candidates = []gemini.Candidate{{Content: &gemini.Content{Parts: []gemini.Part{part}}, FinishReason: tc.finish}}
		}
		a.blocks.Response(resp)
		a.blocks.Close()
		m := a.message()
		if *m.StopReason != tc.want || m.Usage != (usage{InputTokens: 7, OutputTokens: 5}) {
			t.Errorf("%+v: stop %s usage %+v", tc, *m.StopReason, m.Usage)
		}
		out, _ := json.Marshal(m)
		if tc.call && !strings.Contains(string(out), `"type":"tool_use","id":"toolu_`) || tc.call && !strings.Contains(string(out), `"name":"f","input":{"a":1}`) {
			t.Errorf("tool_use block: %s", out)
		}
	}
}

func TestThinkingBlockCarriesSignature(t *testing.T) {
	a := &answer{blocks: translate.Blocks{ShowThoughts: true, CarrySignatures: true, NewCallID: newToolUseID}}
	a.blocks.Response(&gemini.GenerateContentResponse{Candidates: []gemini.Candidate{{Content: &gemini.Content{Parts: []gemini.Part{
		{Text: "pondering", Thought: true},
		{FunctionCall: &gemini.FunctionCall{Name: "f"}, ThoughtSignature: "c2ln"},
	}}}}})
	a.blocks.Close()
	out, _ := json.Marshal(a.message().Content)
	if !strings.HasPrefix(string(out), `[{"type":"thinking","thinking":"pondering","signature":"c2ln"},{"type":"tool_use"`) {
		t.Fatalf("content: %s", out)
	}
}

func TestFailureMapping(t *testing.T) {
	local := func(code int) error {
		return &upstream.Error{StatusCode: code, Status: rpcstatus.Status{Code: code, Message: "m"}}
	}
	for _, tc := range []struct {
		err    error
		status int
		typ    string
	}{
		{local(503), 529, typeOverloaded}, {local(429), 429, typeRateLimit}, {local(500), 500, typeAPI},
		{local(401), 502, typeAPI}, {local(400), 400, typeInvalidRequest}, {local(504), 504, typeAPI},
		{&translate.Refused{Resp: &upstream.Response{StatusCode: 404, Body: []byte(`{"error":{"message":"gone"}}`)}}, 404, typeNotFound},
		{&translate.UpstreamFailure{Status: rpcstatus.Status{Code: 503, Message: "overloaded"}}, 529, typeOverloaded},
		{errors.New("connection reset"), 502, typeAPI},
	} {
		status, body, _ := failure(tc.err)
		if status != tc.status || body.Type != tc.typ || body.Message == "" {
			t.Errorf("%v: %d %+v, want %d %s", tc.err, status, body, tc.status, tc.typ)
		}
	}
	rec := httptest.NewRecorder()
	ue := local(429)
	ue.(*upstream.Error).RetryAfter = 1500_000_000
	writeFailure(rec, ue)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
}
