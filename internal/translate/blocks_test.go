package translate

import (
	"encoding/json"
	"testing"

	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/models"
)

func TestBlocksAssembly(t *testing.T) {
	b := &Blocks{ShowThoughts: true, CarrySignatures: true, NewCallID: func() string { return "id1" }}
	ev := func(parts ...gemini.Part) []BlockEvent {
		return b.Response(&gemini.GenerateContentResponse{Candidates: []gemini.Candidate{{Content: &gemini.Content{Parts: parts}}}})
	}
	kinds := func(evs []BlockEvent) (out []EventKind) {
		for _, e := range evs {
			out = append(out, e.Kind)
		}
		return out
	}
	if got := kinds(ev(gemini.Part{Text: "a", Thought: true}, gemini.Part{Text: "b", Thought: true})); len(got) != 3 || got[0] != BlockStart || got[2] != BlockDelta {
		t.Fatalf("thoughts: %v", got)
	}
	got := kinds(ev(gemini.Part{Text: "x"}, gemini.Part{FunctionCall: &gemini.FunctionCall{Name: "f", Args: json.RawMessage(` { "k" : 1 } `)}, ThoughtSignature: "S"}))
	want := []EventKind{BlockStop, BlockStart, BlockDelta, BlockStop, BlockStart, BlockSignature, BlockStop, BlockStart, BlockStop}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
	list := b.List()
	if len(list) != 4 || list[0].Text != "ab" || list[1].Text != "x" || list[2].Kind != ThinkingBlock || list[2].Signature != "S" ||
		list[3].Args != `{"k":1}` || list[3].CallID != "id1" || b.End() != EndToolUse {
		t.Fatalf("blocks: %+v %+v %+v %+v", list[0], list[1], list[2], list[3])
	}
}

func TestBlocksHideThoughtsAndOtherCandidates(t *testing.T) {
	b := &Blocks{NewCallID: func() string { return "" }}
	one := 1
	b.Response(&gemini.GenerateContentResponse{Candidates: []gemini.Candidate{
		{Index: &one, Content: &gemini.Content{Parts: []gemini.Part{{Text: "other"}}}},
		{Content: &gemini.Content{Parts: []gemini.Part{{Text: "secret", Thought: true}, {Text: "shown"}}}, FinishReason: "MAX_TOKENS"},
	}})
	b.Close()
	if l := b.List(); len(l) != 1 || l[0].Text != "shown" || b.End() != EndMaxTokens {
		t.Fatalf("%+v end %v", l, b.End())
	}
}

func TestBudgetConfig(t *testing.T) {
	for _, tc := range []struct {
		model  string
		budget int
		want   string
	}{
		{"gemini-2.5-flash", 50000, `{"thinkingBudget":24576}`}, {"gemini-2.5-flash", 0, `{"thinkingBudget":0}`},
		{"gemini-2.5-pro", 10, `{"thinkingBudget":128}`}, {"gemini-2.5-pro", 99999, `{"thinkingBudget":32768}`},
		{"gemini-2.5-flash-lite", 1, `{"thinkingBudget":512}`}, {"gemini-3-pro-preview", 1024, `{"thinkingLevel":"LOW"}`},
		{"gemini-3-flash-preview", 8000, `{"thinkingLevel":"MEDIUM"}`}, {"gemini-3-flash-preview", 100, `{"thinkingLevel":"MINIMAL"}`},
	} {
		var cfg gemini.ThinkingConfig
		BudgetConfig(&cfg, tc.model, tc.budget)
		if got, _ := json.Marshal(cfg); string(got) != tc.want {
			t.Errorf("%s %d: %s, want %s", tc.model, tc.budget, got, tc.want)
		}
	}
}

func TestConversationMergesAndSigns(t *testing.T) {
	c := Conversation{Model: models.Resolved{Real: "gemini-3-pro-preview"}}
	c.AddSystem(gemini.Part{Text: "sys"})
	c.Add("user", []gemini.Part{{Text: "a"}})
	c.Add("user", []gemini.Part{{Text: "b"}})
	c.Add("model", []gemini.Part{{FunctionCall: &gemini.FunctionCall{Name: "f"}}, {FunctionCall: &gemini.FunctionCall{Name: "g"}}})
	c.NoteCall("id", "f")
	body := c.Request()
	got, _ := json.Marshal(body)
	want := `{"contents":[{"role":"user","parts":[{"text":"a"},{"text":"b"}]},{"role":"model","parts":[{"thoughtSignature":"skip_thought_signature_validator","functionCall":{"name":"f"}},{"functionCall":{"name":"g"}}]}],"systemInstruction":{"parts":[{"text":"sys"}]}}`
	if string(got) != want {
		t.Fatalf("%s\nwant %s", got, want)
	}
	if name, ok := c.CallName("id"); !ok || name != "f" {
		t.Fatal("call name lost")
	}
}

func TestWrapResults(t *testing.T) {
	if got := string(ErrorResponse("boom")); got != `{"error":"boom"}` {
		t.Fatal(got)
	}
	if got := string(FunctionResponse(` {"a": 1} `)); got != `{"content":{"a":1}}` {
		t.Fatal(got)
	}
}
