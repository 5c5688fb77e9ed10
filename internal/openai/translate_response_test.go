package openai

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/translate"
)

type answerCase struct {
	Options struct {
		Candidates   int  `json:"candidates"`
		ShowThinking bool `json:"showThinking"`
		SearchLinks  bool `json:"searchLinks"`
	} `json:"options"`
	Response json.RawMessage `json:"response"`
}

func (c *answerCase) answerOptions() *answerOptions {
	o := testAnswerOptions(c.Options.Candidates)
	o.showThinking, o.searchLinks = c.Options.ShowThinking, c.Options.SearchLinks
	return o
}

// TestTranslateResponseGolden maps each testdata/response/<case>.json (a generateContent answer and
// the answer options) to the chat completion in <case>.golden.json.
func TestTranslateResponseGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/response/*.json")
	ran := 0
	for _, file := range files {
		if strings.HasSuffix(file, ".golden.json") {
			continue
		}
		ran++
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			var tc answerCase
			if err := json.Unmarshal(chatReadFile(t, file), &tc); err != nil {
				t.Fatal(err)
			}
			answer, err := translate.DecodeAnswer(tc.Response)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := json.Marshal(tc.answerOptions().completion(answer))
			chatCheckGolden(t, strings.TrimSuffix(file, ".json")+".golden.json", chatIndentJSON(t, out))
		})
	}
	if ran < 10 {
		t.Fatalf("only %d golden cases found", ran)
	}
}

func TestFinishReasonMapping(t *testing.T) {
	for _, tc := range []struct {
		gemini string
		calls  bool
		want   string
	}{
		{"STOP", false, "stop"},
		{"STOP", true, "tool_calls"},
		{"", false, "stop"},
		{"", true, "tool_calls"},
		{"MAX_TOKENS", false, "length"},
		{"MAX_TOKENS", true, "length"},
		{"SAFETY", false, "content_filter"},
		{"RECITATION", false, "content_filter"},
		{"BLOCKLIST", false, "content_filter"},
		{"PROHIBITED_CONTENT", false, "content_filter"},
		{"SPII", false, "content_filter"},
		{"IMAGE_SAFETY", false, "content_filter"},
		{"IMAGE_PROHIBITED_CONTENT", false, "content_filter"},
		{"IMAGE_RECITATION", false, "content_filter"},
		{"MALFORMED_FUNCTION_CALL", false, "stop"},
		{"UNEXPECTED_TOOL_CALL", false, "stop"},
		{"TOO_MANY_TOOL_CALLS", false, "stop"},
		{"LANGUAGE", false, "stop"},
		{"OTHER", false, "stop"},
		{"NO_IMAGE", false, "stop"},
		{"FINISH_REASON_UNSPECIFIED", false, "stop"},
		{"SOMETHING_NEW", false, "stop"},
	} {
		if got := finishReason(tc.gemini, tc.calls); got != tc.want {
			t.Errorf("%s (calls %v) → %s, want %s", tc.gemini, tc.calls, got, tc.want)
		}
	}
}

func TestUsageMapping(t *testing.T) {
	for _, tc := range []struct {
		in   *gemini.UsageMetadata
		want chatUsage
	}{
		{nil, chatUsage{}},
		{&gemini.UsageMetadata{PromptTokenCount: 10, CandidatesTokenCount: 5, ThoughtsTokenCount: 7, CachedContentTokenCount: 3, TotalTokenCount: 22},
			chatUsage{PromptTokens: 10, CompletionTokens: 12, TotalTokens: 22, PromptTokensDetails: promptDetails{3}, CompletionTokensDetails: completionDetails{7}}},
		{&gemini.UsageMetadata{PromptTokenCount: 10, ToolUsePromptTokenCount: 90, CandidatesTokenCount: 5, TotalTokenCount: 105},
			chatUsage{PromptTokens: 100, CompletionTokens: 5, TotalTokens: 105}},
		{&gemini.UsageMetadata{PromptTokenCount: 4, CandidatesTokenCount: 2},
			chatUsage{PromptTokens: 4, CompletionTokens: 2, TotalTokens: 6}},
	} {
		if got := *toUsage(tc.in); got != tc.want {
			t.Errorf("%+v → %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestToolCallIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newToolCallID()
		if !strings.HasPrefix(id, "call_") || len(id) != 29 || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
	if id := newCompletionID(); !strings.HasPrefix(id, "chatcmpl-") || len(id) != 38 {
		t.Fatalf("completion id %q", id)
	}
}
