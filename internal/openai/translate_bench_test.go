package openai

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// request20 is a typical agent request: a system prompt, three tool definitions, and a 19-message
// conversation with a tool round trip.
func request20() []byte {
	msgs := []map[string]any{{"role": "system", "content": "You are a helpful travel assistant. " + strings.Repeat("Follow the house rules. ", 20)}}
	for i := range 7 {
		msgs = append(msgs,
			map[string]any{"role": "user", "content": fmt.Sprintf("Question %d: what should I see in city number %d? Please give a detailed answer.", i, i)},
			map[string]any{"role": "assistant", "content": strings.Repeat(fmt.Sprintf("Answer %d is long. ", i), 15)})
	}
	msgs = append(msgs,
		map[string]any{"role": "user", "content": "What is the weather in Paris and Rome?"},
		map[string]any{"role": "assistant", "content": nil, "tool_calls": []map[string]any{
			{"id": "call_1", "type": "function", "function": map[string]any{"name": "get_weather", "arguments": `{"city":"Paris","unit":"C"}`}},
			{"id": "call_2", "type": "function", "function": map[string]any{"name": "get_weather", "arguments": `{"city":"Rome","unit":"C"}`}},
		}},
		map[string]any{"role": "tool", "tool_call_id": "call_1", "content": `{"temperature":21,"sky":"clear"}`},
		map[string]any{"role": "tool", "tool_call_id": "call_2", "content": `{"temperature":18,"sky":"rain"}`},
		map[string]any{"role": "user", "content": "Thanks. Which one is better for a walk today?"},
	)
	tool := func(name, desc string, props map[string]any, required ...string) map[string]any {
		return map[string]any{"type": "function", "function": map[string]any{"name": name, "description": desc, "parameters": map[string]any{
			"type": "object", "properties": props, "required": required, "additionalProperties": false,
		}}}
	}
	req := map[string]any{
		"model": "gemini-2.5-flash", "messages": msgs, "temperature": 0.4, "max_tokens": 1024, "stream": true,
		"stream_options": map[string]any{"include_usage": true},
		"tools": []any{
			tool("get_weather", "Current weather for a city.", map[string]any{
				"city": map[string]any{"type": "string", "description": "City name"},
				"unit": map[string]any{"type": []string{"string", "null"}, "enum": []any{"C", "F", nil}},
			}, "city"),
			tool("search_places", "Find places to visit.", map[string]any{
				"city":     map[string]any{"type": "string"},
				"category": map[string]any{"type": "string", "enum": []string{"museum", "park", "food"}},
				"limit":    map[string]any{"type": "integer", "minimum": 1, "maximum": 20},
			}, "city"),
			tool("book", "Book a ticket.", map[string]any{
				"place": map[string]any{"$ref": "#/$defs/Place"},
				"when":  map[string]any{"type": "string", "format": "date-time"},
			}, "place"),
		},
	}
	defs := req["tools"].([]any)[2].(map[string]any)["function"].(map[string]any)["parameters"].(map[string]any)
	defs["$defs"] = map[string]any{"Place": map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}, "id": map[string]any{"type": "string"}}}}
	b, _ := json.Marshal(req)
	return b
}

// BenchmarkTranslateRequest20 is the request side of a chat call: parse the OpenAI body, translate
// it, encode the Gemini body.
func BenchmarkTranslateRequest20(b *testing.B) {
	body := request20()
	snap := chatTestSnap(b, nil)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req, err := parseChatRequest(body)
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

// responses20 is request20's conversation as a Responses request: instructions, the same three
// tools, the question/answer pairs as input messages, the tool round trip as function_call and
// function_call_output items.
func responses20() []byte {
	var input []map[string]any
	for i := range 7 {
		input = append(input,
			map[string]any{"role": "user", "content": fmt.Sprintf("Question %d: what should I see in city number %d? Please give a detailed answer.", i, i)},
			map[string]any{"role": "assistant", "content": strings.Repeat(fmt.Sprintf("Answer %d is long. ", i), 15)})
	}
	input = append(input,
		map[string]any{"role": "user", "content": "What is the weather in Paris and Rome?"},
		map[string]any{"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": `{"city":"Paris","unit":"C"}`},
		map[string]any{"type": "function_call", "call_id": "call_2", "name": "get_weather", "arguments": `{"city":"Rome","unit":"C"}`},
		map[string]any{"type": "function_call_output", "call_id": "call_1", "output": `{"temperature":21,"sky":"clear"}`},
		map[string]any{"type": "function_call_output", "call_id": "call_2", "output": `{"temperature":18,"sky":"rain"}`},
		map[string]any{"role": "user", "content": "Thanks. Which one is better for a walk today?"},
	)
	tool := func(name, desc string, props map[string]any, required ...string) map[string]any {
		return map[string]any{"type": "function", "name": name, "description": desc, "parameters": map[string]any{
			"type": "object", "properties": props, "required": required, "additionalProperties": false,
		}}
	}
	req := map[string]any{
		"model": "gemini-2.5-flash", "input": input, "temperature": 0.4, "max_output_tokens": 1024, "stream": true,
		"instructions": "You are a helpful travel assistant. " + strings.Repeat("Follow the house rules. ", 20),
		"tools": []any{
			tool("get_weather", "Current weather for a city.", map[string]any{
				"city": map[string]any{"type": "string", "description": "City name"},
				"unit": map[string]any{"type": []string{"string", "null"}, "enum": []any{"C", "F", nil}},
			}, "city"),
			tool("search_places", "Find places to visit.", map[string]any{
				"city":     map[string]any{"type": "string"},
				"category": map[string]any{"type": "string", "enum": []string{"museum", "park", "food"}},
				"limit":    map[string]any{"type": "integer", "minimum": 1, "maximum": 20},
			}, "city"),
			tool("book", "Book a ticket.", map[string]any{
				"place": map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}},
				"when":  map[string]any{"type": "string", "format": "date-time"},
			}, "place"),
		},
	}
	b, _ := json.Marshal(req)
	return b
}

// BenchmarkTranslateResponses20 is the request side of a Responses call, as the handler runs it: parse
// the body into the chat form, resolve the model, translate, encode the Gemini body.
func BenchmarkTranslateResponses20(b *testing.B) {
	body := responses20()
	snap := chatTestSnap(b, nil)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		chat, _, err := parseResponsesRequest(body)
		if err != nil {
			b.Fatal(err)
		}
		model, err := resolveChatModel(snap, chat.Model)
		if err != nil {
			b.Fatal(err)
		}
		tr, err := translateRequest(snap, model, chat)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(tr.body); err != nil {
			b.Fatal(err)
		}
	}
}
