package openai

import (
	"encoding/json"
	"testing"
)

// FuzzResponsesRequest: whatever the body, the Responses parser and the chat translation behind it
// never panic, refuse only with a client error, and what they accept encodes as a Gemini request.
func FuzzResponsesRequest(f *testing.F) {
	for _, seed := range []string{
		`{"model":"gemini-2.5-flash","input":"hi"}`,
		`{"model":"gemini-2.5-flash","instructions":"be brief","reasoning":{"effort":"low","summary":"auto"},"max_output_tokens":50,
		  "tools":[{"type":"function","name":"f","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}],"tool_choice":{"type":"function","name":"f"},
		  "text":{"format":{"type":"json_schema","name":"x","schema":{"type":"object"}}},
		  "input":[{"role":"user","content":[{"type":"input_text","text":"call f"},{"type":"input_image","image_url":"data:image/png;base64,AAAA"}]},
		  {"type":"reasoning","encrypted_content":"c2ln","summary":[]},{"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},
		  {"type":"function_call_output","call_id":"c1","output":[{"type":"input_text","text":"done"}]}]}`,
	} {
		f.Add([]byte(seed))
	}
	snap := chatTestSnap(f, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		chat, _, err := parseResponsesRequest(body)
		if err != nil {
			checkRequestError(t, err)
			return
		}
		model, err := resolveChatModel(snap, chat.Model)
		if err != nil {
			return
		}
		tr, err := translateRequest(snap, model, chat)
		if err != nil {
			checkRequestError(t, err)
			return
		}
		if _, err := json.Marshal(tr.body); err != nil {
			t.Fatalf("translated request does not encode: %v", err)
		}
	})
}
