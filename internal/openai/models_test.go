package openai

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/gemgate/gemgate/internal/config"
)

func snapForTest(t *testing.T, env map[string]string) *config.Snapshot {
	t.Helper()
	s, err := config.FromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func geminiEntry(id string) map[string]json.RawMessage {
	name, _ := json.Marshal("models/" + id)
	return map[string]json.RawMessage{"name": name, "displayName": json.RawMessage(`"` + id + `"`)}
}

func TestOpenAIModelsOrder(t *testing.T) {
	snap := snapForTest(t, map[string]string{
		"THINKING_MODELS": `["gemini-2.5-pro"]`,
		"MODEL_ALIASES":   `{"gpt-4o":"gemini-2.5-pro"}`,
	})
	list := []map[string]json.RawMessage{
		geminiEntry("gemini-2.5-pro"), geminiEntry("embedding-gecko-001"), geminiEntry("gemini-2.0-flash-exp"),
		geminiEntry("text-embedding-004"),
	}
	got := openAIModels(snap, list, 42, nil)
	var ids []string
	for _, m := range got {
		if m.Object != "model" || m.OwnedBy != "google" || m.Created != 42 {
			t.Fatalf("entry %+v", m)
		}
		ids = append(ids, m.ID)
	}
	want := []string{
		"gemini-2.5-pro", "gemini-2.5-pro-search", "gemini-2.5-pro-non-thinking",
		"gemini-2.0-flash-exp", "gemini-2.0-flash-exp-image",
		"text-embedding-004", "gpt-4o", "imagen-3.0-generate-002-chat",
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("\n got %v\nwant %v", ids, want)
	}
}
