package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/gemini"
)

func TestResponsesRequestMapping(t *testing.T) {
	body := `{"model":"gemini-2.5-flash","instructions":"be brief","reasoning":{"effort":"low"},"max_output_tokens":50,
	  "temperature":0.3,"top_p":0.8,
	  "tools":[{"type":"function","name":"f","description":"d","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}],
	  "tool_choice":{"type":"function","name":"f"},
	  "text":{"format":{"type":"json_schema","name":"x","schema":{"type":"object","properties":{"n":{"type":"integer"}}}}},
	  "input":[{"role":"user","content":[{"type":"input_text","text":"call f"},{"type":"input_image","image_url":"data:image/png;base64,AAAA"}]},
	  {"type":"reasoning","encrypted_content":"c2ln","summary":[]},{"type":"function_call","call_id":"c1","name":"f","arguments":"{\"a\":\"b\"}"},
	  {"type":"function_call_output","call_id":"c1","output":[{"type":"input_text","text":"done"},{"type":"input_image","image_url":"data:image/gif;base64,R0lG"}]}]}`
	chat, _, err := parseResponsesRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	snap := chatTestSnap(t, nil)
	model, _ := resolveChatModel(snap, chat.Model)
	tr, err := translateRequest(snap, model, chat)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(tr.body)
	for _, want := range []string{
		`"systemInstruction":{"parts":[{"text":"be brief"}]}`,
		`{"role":"user","parts":[{"text":"call f"},{"inlineData":{"mimeType":"image/png","data":"AAAA"}}]}`,
		`{"role":"model","parts":[{"thoughtSignature":"c2ln","functionCall":{"name":"f","args":{"a":"b"}}}]}`,
		`{"functionResponse":{"name":"f","response":{"content":"done"}}},{"inlineData":{"mimeType":"image/gif","data":"R0lG"}}`,
		`"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}}`,
		`"responseMimeType":"application/json","responseJsonSchema":{"properties":{"n":{"type":"integer"}},"type":"object"}`,
		`"maxOutputTokens":50,"temperature":0.3,"topP":0.8`,
		`"thinkingBudget":1024`,
	} {
		if !strings.Contains(string(got), want) {
			t.Fatalf("%s\nlacks %s", got, want)
		}
	}
}

func TestResponsesOutput(t *testing.T) {
	req := &responsesRequest{Model: "gemini-2.5-flash", Include: []string{"reasoning.encrypted_content"}}
	for _, tc := range []struct {
		finish, status, reason string
	}{{"STOP", "completed", ""}, {"MAX_TOKENS", "incomplete", "max_output_tokens"}, {"SAFETY", "incomplete", "content_filter"}} {
		ra := newResponseAnswer(req, false, true)
		ra.blocks.Response(&gemini.GenerateContentResponse{
			Candidates: []gemini.Candidate{{FinishReason: tc.finish, Content: &gemini.Content{Parts: []gemini.Part{
				{Text: "hmm", Thought: true}, {FunctionCall: &gemini.FunctionCall{Name: "f", Args: json.RawMessage(`{}`)}, ThoughtSignature: "c2ln"}, {Text: "ok"},
			}}}},
			UsageMetadata: &gemini.UsageMetadata{PromptTokenCount: 10, CandidatesTokenCount: 4, ThoughtsTokenCount: 3, CachedContentTokenCount: 2, TotalTokenCount: 17},
		})
		ra.blocks.Close()
		out := ra.appendObject(nil, ra.finalStatus(), nil)
		var o struct {
			Status            string
			IncompleteDetails *struct{ Reason string } `json:"incomplete_details"`
		}
		if err := json.Unmarshal(out, &o); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if o.Status != tc.status || (tc.reason != "" && (o.IncompleteDetails == nil || o.IncompleteDetails.Reason != tc.reason)) {
			t.Fatalf("%s: %s", tc.finish, out)
		}
		for _, want := range []string{
			`{"type":"reasoning","id":"rs_`, `"summary":[{"type":"summary_text","text":"hmm"}],"encrypted_content":"c2ln"}`,
			`"type":"function_call","id":"fc_`, `"status":"completed","call_id":"call_`, `"name":"f","arguments":"{}"}`,
			`"role":"assistant","content":[{"type":"output_text","text":"ok","annotations":[],"logprobs":[]}]}`,
			`"usage":{"input_tokens":10,"input_tokens_details":{"cached_tokens":2},"output_tokens":7,"output_tokens_details":{"reasoning_tokens":3},"total_tokens":17}`,
		} {
			if !strings.Contains(string(out), want) {
				t.Fatalf("%s\nlacks %s", out, want)
			}
		}
	}
}
