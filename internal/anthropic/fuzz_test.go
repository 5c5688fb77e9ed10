package anthropic

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/gemgate/gemgate/internal/translate"
)

// FuzzParseRequest: whatever the body, parsing and translation never panic, refuse only with a
// client error, and what they accept encodes as a Gemini request.
func FuzzParseRequest(f *testing.F) {
	for _, seed := range []string{
		`{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"claude-opus-4","max_tokens":10,"system":[{"type":"text","text":"s"}],"thinking":{"type":"enabled","budget_tokens":1024},
		  "tools":[{"name":"f","input_schema":{"type":"object","properties":{"a":{"$ref":"#/$defs/x"}},"$defs":{"x":{"type":"string"}}}}],
		  "tool_choice":{"type":"tool","name":"f"},
		  "messages":[{"role":"user","content":"call f"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},
		  {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","is_error":true,"content":[{"type":"text","text":"x"}]}]}]}`,
	} {
		f.Add([]byte(seed))
	}
	snap := snapshot(f, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseRequest(body, false)
		if err != nil {
			checkClientError(t, err)
			return
		}
		model, err := translate.ResolveModel(snap, geminiModel(snap, req.Model))
		if err != nil {
			return
		}
		tr, err := translateRequest(snap, model, req)
		if err != nil {
			checkClientError(t, err)
			return
		}
		if _, err := json.Marshal(tr.body); err != nil {
			t.Fatalf("translated request does not encode: %v", err)
		}
	})
}

func checkClientError(t *testing.T, err error) {
	t.Helper()
	var re *requestError
	if !errors.As(err, &re) || re.status != 400 || re.msg == "" {
		t.Fatalf("not a client error: %#v", err)
	}
}
