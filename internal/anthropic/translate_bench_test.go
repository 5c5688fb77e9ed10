package anthropic

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/translate"
)

// messages20 is the conversation of the OpenAI package's request20 in Messages form: a system prompt,
// three tools, 7 question/answer pairs, a tool round trip (two tool_use blocks, two tool_result
// blocks) and a last question.
func messages20() []byte {
	var msgs []map[string]any
	for i := range 7 {
		msgs = append(msgs,
			map[string]any{"role": "user", "content": fmt.Sprintf("Question %d: what should I see in city number %d? Please give a detailed answer.", i, i)},
			map[string]any{"role": "assistant", "content": strings.Repeat(fmt.Sprintf("Answer %d is long. ", i), 15)})
	}
	msgs = append(msgs,
		map[string]any{"role": "user", "content": "What is the weather in Paris and Rome?"},
		map[string]any{"role": "assistant", "content": []any{
			map[string]any{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": map[string]any{"city": "Paris", "unit": "C"}},
			map[string]any{"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": map[string]any{"city": "Rome", "unit": "C"}},
		}},
		map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "tool_result", "tool_use_id": "toolu_1", "content": `{"temperature":21,"sky":"clear"}`},
			map[string]any{"type": "tool_result", "tool_use_id": "toolu_2", "content": `{"temperature":18,"sky":"rain"}`},
			map[string]any{"type": "text", "text": "Thanks. Which one is better for a walk today?"},
		}},
	)
	tool := func(name, desc string, props map[string]any, required ...string) map[string]any {
		return map[string]any{"name": name, "description": desc, "input_schema": map[string]any{
			"type": "object", "properties": props, "required": required,
		}}
	}
	req := map[string]any{
		"model": "claude-sonnet-4-5", "max_tokens": 1024, "temperature": 0.4, "stream": true,
		"system":   "You are a helpful travel assistant. " + strings.Repeat("Follow the house rules. ", 20),
		"messages": msgs,
		"tools": []any{
			tool("get_weather", "Current weather for a city.", map[string]any{
				"city": map[string]any{"type": "string", "description": "City name"},
				"unit": map[string]any{"type": "string", "enum": []any{"C", "F"}},
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

// BenchmarkTranslateMessages20 is the request side of a Messages call, as the handler runs it: parse
// the body, resolve the model, translate, encode the Gemini body.
func BenchmarkTranslateMessages20(b *testing.B) {
	body := messages20()
	snap := snapshot(b, nil)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req, err := parseRequest(body, false)
		if err != nil {
			b.Fatal(err)
		}
		model, err := translate.ResolveModel(snap, geminiModel(snap, req.Model))
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
