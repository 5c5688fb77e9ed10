package anthropic

import (
	"encoding/json"
	"testing"

	"github.com/gemgate/gemgate/internal/testutil"
)

// messages20 is testutil.Conversation20 as a Messages request: the system prompt, the three tools, the
// question/answer pairs, a tool round trip (two tool_use blocks, two tool_result blocks) and a last
// question.
func messages20() []byte {
	c := testutil.Conversation20()
	var msgs []map[string]any
	for _, t := range c.Turns {
		msgs = append(msgs, map[string]any{"role": "user", "content": t[0]}, map[string]any{"role": "assistant", "content": t[1]})
	}
	var uses, results []any
	for _, call := range c.Calls {
		uses = append(uses, map[string]any{"type": "tool_use", "id": call.ID, "name": call.Name, "input": call.Args})
		results = append(results, map[string]any{"type": "tool_result", "tool_use_id": call.ID, "content": call.Result})
	}
	msgs = append(msgs,
		map[string]any{"role": "user", "content": c.Question},
		map[string]any{"role": "assistant", "content": uses},
		map[string]any{"role": "user", "content": append(results, map[string]any{"type": "text", "text": c.Last})})
	var tools []any
	for _, t := range c.Tools {
		tools = append(tools, map[string]any{"name": t.Name, "description": t.Description, "input_schema": t.Schema})
	}
	b, _ := json.Marshal(map[string]any{
		"model": "claude-sonnet-4-5", "max_tokens": 1024, "temperature": 0.4, "stream": true,
		"system": c.System, "messages": msgs, "tools": tools,
	})
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
		p, err := translateBody(snap, body, false)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(p.tr.body); err != nil {
			b.Fatal(err)
		}
	}
}
