package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/fakeupstream"
)

// These reproduce, over HTTP, what the agent CLIs send in their default configuration (issue 16); the
// CLIs themselves run in clients_e2e_test.go when they are installed.

var (
	anthropicHeader = map[string]string{"x-api-key": clientToken, "anthropic-version": "2023-06-01"}
	bearerHeader    = map[string]string{"Authorization": "Bearer " + clientToken}
)

// Claude Code's default model sends system turns after the first one (anthropic-beta
// mid-conversation-system-…); they join Gemini's system instruction.
func TestAnthropicMidConversationSystemTurns(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	body := `{"model":"claude-sonnet-4-5","max_tokens":100,"system":"be brief","messages":[
		{"role":"user","content":"hello"},
		{"role":"system","content":[{"type":"text","text":"tools changed"}]},
		{"role":"assistant","content":"hi"},
		{"role":"user","content":"again"}]}`
	header := map[string]string{"x-api-key": clientToken, "anthropic-version": "2023-06-01", "anthropic-beta": "mid-conversation-system-2026-04-07"}
	res := h.do("POST", "/v1/messages", body, header)
	if res.status != 200 || !strings.Contains(string(res.body), "echo: again") {
		t.Fatalf("%d %s", res.status, res.body)
	}
	rec, _ := h.fake.LastRequest()
	var sent struct {
		SystemInstruction struct{ Parts []struct{ Text string } }
		Contents          []struct{ Role string }
	}
	_ = json.Unmarshal(rec.Body, &sent)
	parts := sent.SystemInstruction.Parts
	if len(parts) != 2 || parts[0].Text != "be brief" || parts[1].Text != "tools changed" || len(sent.Contents) != 3 {
		t.Fatalf("upstream got %s", rec.Body)
	}
}

// Codex sends its sub-agent tools in a namespace; Gemini sees flat functions, the client its own names.
func TestResponsesNamespaceTools(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	tools := `[{"type":"function","name":"exec_command","parameters":{"type":"object","properties":{"cmd":{"type":"string"}}}},
		{"type":"namespace","name":"multi_agent_v1","description":"Sub-agents.","tools":[
			{"type":"function","name":"spawn_agent","description":"Start one.","parameters":{"type":"object","properties":{"task":{"type":"string"}},"required":["task"]}}]}]`
	res := h.do("POST", "/v1/responses", `{"model":"gemini-2.5-flash","input":"call multi_agent_v1__spawn_agent","tools":`+tools+`}`, bearerHeader)
	var out struct {
		Output []struct {
			Type, Name, Namespace, Arguments string
			CallID                           string `json:"call_id"`
		}
	}
	if err := json.Unmarshal(res.body, &out); err != nil || res.status != 200 || len(out.Output) == 0 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	call := out.Output[len(out.Output)-1]
	if call.Type != "function_call" || call.Name != "spawn_agent" || call.Namespace != "multi_agent_v1" {
		t.Fatalf("call not mapped back to the namespace: %s", res.body)
	}
	rec, _ := h.fake.LastRequest()
	if !strings.Contains(string(rec.Body), `"name":"multi_agent_v1__spawn_agent"`) || !strings.Contains(string(rec.Body), `"name":"exec_command"`) {
		t.Fatalf("upstream declarations: %s", rec.Body)
	}
	// The call comes back in the next turn's input as the client holds it, with its namespace.
	next := `{"model":"gemini-2.5-flash","tools":` + tools + `,"input":[{"role":"user","content":"go"},
		{"type":"function_call","call_id":"` + call.CallID + `","name":"spawn_agent","namespace":"multi_agent_v1","arguments":"{\"task\":\"x\"}"},
		{"type":"function_call_output","call_id":"` + call.CallID + `","output":"started"}]}`
	if res := h.do("POST", "/v1/responses", next, bearerHeader); res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	rec, _ = h.fake.LastRequest()
	if strings.Count(string(rec.Body), `"name":"multi_agent_v1__spawn_agent"`) < 3 {
		t.Fatalf("the namespaced call and its response are not under the declared name: %s", rec.Body)
	}
	// A namespace member of another kind is refused by name.
	bad := `{"model":"gemini-2.5-flash","input":"hi","tools":[{"type":"namespace","name":"ns","tools":[{"type":"code_interpreter"}]}]}`
	if res := h.do("POST", "/v1/responses", bad, bearerHeader); res.status != 400 || !strings.Contains(string(res.body), "tools[0].tools[0].type") {
		t.Fatalf("%d %s", res.status, res.body)
	}
}

// Every output item is complete at every event: a message has content: [] and a reasoning item
// summary: [] from response.output_item.added on (the openai SDK's stream helper and Codex index them).
func TestResponsesStreamItemsComplete(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	body := `{"model":"gemini-2.5-flash","stream":true,"input":"hello","reasoning":{"effort":"low","summary":"auto"}}`
	res := h.do("POST", "/v1/responses", body, bearerHeader)
	kinds := map[string]bool{}
	for line := range strings.Lines(string(res.body)) {
		data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: ")
		if !ok || !strings.Contains(data, `"response.output_item.added"`) {
			continue
		}
		var ev struct{ Item map[string]json.RawMessage }
		_ = json.Unmarshal([]byte(data), &ev)
		var typ string
		_ = json.Unmarshal(ev.Item["type"], &typ)
		kinds[typ] = true
		switch typ {
		case "message":
			if string(ev.Item["content"]) != "[]" {
				t.Fatalf("message item without content: []: %s", data)
			}
		case "reasoning":
			if string(ev.Item["summary"]) != "[]" {
				t.Fatalf("reasoning item without summary: []: %s", data)
			}
		}
	}
	if !kinds["message"] || !kinds["reasoning"] {
		t.Fatalf("items seen %v:\n%s", kinds, res.body)
	}
}

// The Vercel AI SDK assumes store:true and refers back to reasoning and message items by id; those
// gemgate made are skipped, anyone else's are refused with the reason.
func TestResponsesOwnItemReferences(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	first := h.do("POST", "/v1/responses", `{"model":"gemini-2.5-flash","input":"hello","reasoning":{"summary":"auto"}}`, bearerHeader)
	var out struct{ Output []struct{ Type, ID string } }
	_ = json.Unmarshal(first.body, &out)
	var refs []string
	for _, it := range out.Output {
		refs = append(refs, `{"type":"item_reference","id":"`+it.ID+`"}`)
	}
	if len(refs) < 2 {
		t.Fatalf("want a reasoning and a message item: %s", first.body)
	}
	next := `{"model":"gemini-2.5-flash","input":[{"role":"user","content":"hello"},` + strings.Join(refs, ",") + `,{"role":"user","content":"more"}]}`
	if res := h.do("POST", "/v1/responses", next, bearerHeader); res.status != 200 || !strings.Contains(string(res.body), "more") {
		t.Fatalf("%d %s", res.status, res.body)
	}
	foreign := `{"model":"gemini-2.5-flash","input":[{"type":"item_reference","id":"rs_68af1c2e9d8881a0b4c5d6e7f8091a2b3c4d5e6f"}]}`
	if res := h.do("POST", "/v1/responses", foreign, bearerHeader); res.status != 400 || !strings.Contains(string(res.body), "does not store responses") {
		t.Fatalf("%d %s", res.status, res.body)
	}
}

// Anthropic's model retrieve knows every name /v1/messages accepts.
func TestAnthropicModelRetrieveByAcceptedName(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	for _, name := range []string{"claude-sonnet-4-5", "claude-opus-4-1-20250805", "gemini-2.5-flash"} {
		res := h.do("GET", "/v1/models/"+name, nil, anthropicHeader)
		var m struct{ Type, ID string }
		if err := json.Unmarshal(res.body, &m); err != nil || res.status != 200 || m.ID != name || m.Type != "model" {
			t.Fatalf("%s: %d %s", name, res.status, res.body)
		}
	}
	if res := h.do("GET", "/v1/models/no-such-model", nil, anthropicHeader); res.status != 404 {
		t.Fatalf("%d %s", res.status, res.body)
	}
}

// A wrong token is never worth retrying; Claude Code retries a bare 401 ten times.
func TestWrongTokenSaysDoNotRetry(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeupstream.Config{}, nil)
	wrong := "sk-wrong-token-000000000000000000"
	for _, c := range []struct {
		path   string
		body   string
		header map[string]string
		status int
	}{
		{"/v1/messages", `{}`, map[string]string{"x-api-key": wrong, "anthropic-version": "2023-06-01"}, http.StatusUnauthorized},
		{"/v1/chat/completions", `{}`, map[string]string{"Authorization": "Bearer " + wrong}, http.StatusUnauthorized},
		{"/v1beta/models/gemini-2.5-flash:generateContent", `{}`, map[string]string{"x-goog-api-key": wrong}, http.StatusForbidden},
		{"/v1beta/files", "", map[string]string{"x-goog-api-key": wrong}, http.StatusForbidden},
	} {
		method := "POST"
		if c.body == "" {
			method = "GET"
		}
		res := h.do(method, c.path, c.body, c.header)
		if res.status != c.status || res.header.Get("x-should-retry") != "false" {
			t.Fatalf("%s: %d %v", c.path, res.status, res.header)
		}
	}
}
