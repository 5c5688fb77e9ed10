package openai

import (
	"encoding/json"
	"testing"

	"github.com/gemgate/gemgate/internal/testutil"
)

// request20 is testutil.Conversation20 as a chat request: a system prompt, three tool definitions, and
// a 19-message conversation with a tool round trip.
func request20() []byte {
	c := testutil.Conversation20()
	msgs := []map[string]any{{"role": "system", "content": c.System}}
	for _, t := range c.Turns {
		msgs = append(msgs, map[string]any{"role": "user", "content": t[0]}, map[string]any{"role": "assistant", "content": t[1]})
	}
	var calls []map[string]any
	var results []map[string]any
	for _, call := range c.Calls {
		args, _ := json.Marshal(call.Args)
		calls = append(calls, map[string]any{"id": call.ID, "type": "function", "function": map[string]any{"name": call.Name, "arguments": string(args)}})
		results = append(results, map[string]any{"role": "tool", "tool_call_id": call.ID, "content": call.Result})
	}
	msgs = append(msgs, map[string]any{"role": "user", "content": c.Question}, map[string]any{"role": "assistant", "content": nil, "tool_calls": calls})
	msgs = append(append(msgs, results...), map[string]any{"role": "user", "content": c.Last})
	var tools []any
	for _, t := range c.Tools {
		tools = append(tools, map[string]any{"type": "function", "function": map[string]any{"name": t.Name, "description": t.Description, "parameters": t.Schema}})
	}
	b, _ := json.Marshal(map[string]any{
		"model": "gemini-2.5-flash", "messages": msgs, "temperature": 0.4, "max_tokens": 1024, "stream": true,
		"stream_options": map[string]any{"include_usage": true}, "tools": tools,
	})
	return b
}

// responses20 is the same conversation as a Responses request: instructions, the three tools, the
// question/answer pairs as input messages, the tool round trip as function_call and
// function_call_output items.
func responses20() []byte {
	c := testutil.Conversation20()
	var input []map[string]any
	for _, t := range c.Turns {
		input = append(input, map[string]any{"role": "user", "content": t[0]}, map[string]any{"role": "assistant", "content": t[1]})
	}
	input = append(input, map[string]any{"role": "user", "content": c.Question})
	for _, call := range c.Calls {
		args, _ := json.Marshal(call.Args)
		input = append(input, map[string]any{"type": "function_call", "call_id": call.ID, "name": call.Name, "arguments": string(args)})
	}
	for _, call := range c.Calls {
		input = append(input, map[string]any{"type": "function_call_output", "call_id": call.ID, "output": call.Result})
	}
	input = append(input, map[string]any{"role": "user", "content": c.Last})
	var tools []any
	for _, t := range c.Tools {
		tools = append(tools, map[string]any{"type": "function", "name": t.Name, "description": t.Description, "parameters": t.Schema})
	}
	b, _ := json.Marshal(map[string]any{
		"model": "gemini-2.5-flash", "input": input, "temperature": 0.4, "max_output_tokens": 1024, "stream": true,
		"instructions": c.System, "tools": tools,
	})
	return b
}

// benchTranslate is the request side of a call as the handler runs it: parse the body (into the chat
// form), resolve the model, translate, encode the Gemini body.
func benchTranslate(b *testing.B, body []byte, parse func([]byte) (*chatRequest, error)) {
	snap := chatTestSnap(b, nil)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req, err := parse(body)
		if err != nil {
			b.Fatal(err)
		}
		model, err := resolveChatModel(snap, req.Model)
		if err != nil {
			b.Fatal(err)
		}
		tr, err := translateRequest(snap, model, req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(tr.body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTranslateRequest20(b *testing.B) { benchTranslate(b, request20(), parseChatRequest) }

func BenchmarkTranslateResponses20(b *testing.B) {
	benchTranslate(b, responses20(), func(body []byte) (*chatRequest, error) {
		chat, _, err := parseResponsesRequest(body)
		return chat, err
	})
}
