package native

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/models"
)

func testSnap(t *testing.T, env map[string]string) *config.Snapshot {
	t.Helper()
	env2 := map[string]string{"SAFETY_SETTINGS": "[]"}
	for k, v := range env {
		env2[k] = v
	}
	s, err := config.FromEnv(env2)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPrepareVariants(t *testing.T) {
	snap := testSnap(t, map[string]string{"THINKING_BUDGET_MAP": `{"gemini-2.5-pro": 512}`, "SHOW_THINKING_PROCESS": "false"})
	contents := `"contents":[{"parts":[{"text":"hi"}]}]`
	cases := []struct {
		name, model, body, want string
	}{
		{"plain model untouched", "gemini-2.5-flash",
			`{ ` + contents + `, "generationConfig": {"temperature": 0.2}}`,
			`{ ` + contents + `, "generationConfig": {"temperature": 0.2}}`},
		{"search adds a tool", "gemini-2.5-flash-search",
			`{` + contents + `}`,
			`{"tools":[{"googleSearch":{}}],` + contents + `}`},
		{"search appends to client tools in place", "gemini-2.5-flash-search",
			`{"tools": [ {"codeExecution": {}} ],` + contents + `}`,
			`{"tools": [{"codeExecution":{}},{"googleSearch":{}}],` + contents + `}`},
		{"search leaves function declarations alone", "gemini-2.5-flash-search",
			`{"tools":[{"functionDeclarations":[{"name":"f"}]}],` + contents + `}`,
			`{"tools":[{"functionDeclarations":[{"name":"f"}]}],` + contents + `}`},
		{"search not doubled", "gemini-2.5-flash-search",
			`{"tools":[{"google_search":{}}],` + contents + `}`,
			`{"tools":[{"google_search":{}}],` + contents + `}`},
		{"non-thinking merges into generationConfig", "gemini-2.5-flash-non-thinking",
			`{` + contents + `,"generationConfig":{"temperature":0.2,"brandNew":{"x":1}},"z":[1, 2]}`,
			`{` + contents + `,"generationConfig":{"brandNew":{"x":1},"temperature":0.2,"thinkingConfig":{"thinkingBudget":0}},"z":[1, 2]}`},
		{"client thinkingConfig wins", "gemini-2.5-pro-non-thinking",
			`{` + contents + `,"generation_config":{"thinking_config":{"includeThoughts":true}}}`,
			`{` + contents + `,"generation_config":{"thinking_config":{"includeThoughts":true}}}`},
		{"snake_case generation_config is merged", "gemini-2.5-pro-non-thinking",
			`{` + contents + `,"generation_config":{"temperature":1}}`,
			`{` + contents + `,"generation_config":{"temperature":1,"thinkingConfig":{"thinkingBudget":128}}}`},
		{"budget map by real name", "gemini-2.5-pro-search",
			`{` + contents + `}`,
			`{"generationConfig":{"thinkingConfig":{"thinkingBudget":512}},"tools":[{"googleSearch":{}}],` + contents + `}`},
		{"image asks for both modalities", "gemini-2.0-flash-exp-image",
			`{` + contents + `,"generationConfig":null}`,
			`{` + contents + `,"generationConfig":{"responseModalities":["TEXT","IMAGE"]}}`},
		{"client modalities win", "gemini-2.0-flash-exp-image",
			`{` + contents + `,"generationConfig":{"responseModalities":["IMAGE"]}}`,
			`{` + contents + `,"generationConfig":{"responseModalities":["IMAGE"]}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := models.Resolve(snap, c.model)
			got, err := prepare(snap, res, "generateContent", []byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Fatalf("\n got %s\nwant %s", got, c.want)
			}
			if !json.Valid(got) {
				t.Fatal("invalid JSON")
			}
		})
	}
}

// TestPrepareSettingsAdditions: the settings GB users know from the OpenAI routes (SHOW_THINKING_PROCESS,
// TOOLS_CODE_EXECUTION_ENABLED, URL_CONTEXT_ENABLED) apply to native requests too, only as additions:
// whatever the client said itself is kept.
func TestPrepareSettingsAdditions(t *testing.T) {
	snap := testSnap(t, map[string]string{"TOOLS_CODE_EXECUTION_ENABLED": "true", "URL_CONTEXT_ENABLED": "true"})
	contents := `"contents":[{"parts":[{"text":"hi"}]}]`
	cases := []struct {
		name, model, body, want string
	}{
		{"thoughts, code execution and url context added", "gemini-2.5-flash",
			`{` + contents + `}`,
			`{"generationConfig":{"thinkingConfig":{"includeThoughts":true}},"tools":[{"codeExecution":{}},{"urlContext":{}}],` + contents + `}`},
		{"client includeThoughts false wins", "gemini-2.5-flash",
			`{` + contents + `,"generationConfig":{"thinkingConfig":{"includeThoughts":false}},"tools":[]}`,
			`{` + contents + `,"generationConfig":{"thinkingConfig":{"includeThoughts":false}},"tools":[{"codeExecution":{}},{"urlContext":{}}]}`},
		{"client budget kept, includeThoughts added", "gemini-2.5-flash",
			`{` + contents + `,"generationConfig":{"thinkingConfig":{"thinkingBudget":100}}}`,
			`{"tools":[{"codeExecution":{}},{"urlContext":{}}],` + contents + `,"generationConfig":{"thinkingConfig":{"includeThoughts":true,"thinkingBudget":100}}}`},
		{"thinking off gets no thoughts", "gemini-2.5-flash",
			`{` + contents + `,"generationConfig":{"thinkingConfig":{"thinkingBudget":0}},"tools":[{"urlContext":{}}]}`,
			`{` + contents + `,"generationConfig":{"thinkingConfig":{"thinkingBudget":0}},"tools":[{"urlContext":{}},{"codeExecution":{}}]}`},
		{"function declarations: no tools added", "gemini-2.5-flash",
			`{"tools":[{"functionDeclarations":[{"name":"f"}]}],` + contents + `,"generationConfig":{"thinkingConfig":{"includeThoughts":false}}}`,
			`{"tools":[{"functionDeclarations":[{"name":"f"}]}],` + contents + `,"generationConfig":{"thinkingConfig":{"includeThoughts":false}}}`},
		{"function calls in the history: no tools added", "gemini-2.5-flash",
			`{"contents":[{"role":"model","parts":[{"functionCall":{"name":"f"}}]}],"generationConfig":{"thinkingConfig":{"includeThoughts":false}}}`,
			`{"contents":[{"role":"model","parts":[{"functionCall":{"name":"f"}}]}],"generationConfig":{"thinkingConfig":{"includeThoughts":false}}}`},
		{"JSON output: no tools added", "gemini-2.5-flash",
			`{` + contents + `,"generationConfig":{"responseMimeType":"application/json","thinkingConfig":{"includeThoughts":false}}}`,
			`{` + contents + `,"generationConfig":{"responseMimeType":"application/json","thinkingConfig":{"includeThoughts":false}}}`},
		{"media: no code execution", "gemini-2.0-flash",
			`{"contents":[{"parts":[{"inlineData":{"mimeType":"image/png","data":"AA=="}}]}]}`,
			`{"tools":[{"urlContext":{}}],"contents":[{"parts":[{"inlineData":{"mimeType":"image/png","data":"AA=="}}]}]}`},
		{"legacy model: no thoughts, not in URL_CONTEXT_MODELS", "gemini-1.5-flash",
			`{` + contents + `}`,
			`{"tools":[{"codeExecution":{}}],` + contents + `}`},
		{"cached context: no tools", "gemini-2.5-flash",
			`{` + contents + `,"cachedContent":"cachedContents/x","generationConfig":{"thinkingConfig":{"includeThoughts":false}}}`,
			`{` + contents + `,"cachedContent":"cachedContents/x","generationConfig":{"thinkingConfig":{"includeThoughts":false}}}`},
		{"speech model: nothing", "gemini-2.5-flash-preview-tts",
			`{` + contents + `}`,
			`{` + contents + `}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := prepare(snap, models.Resolve(snap, c.model), "generateContent", []byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Fatalf("\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestPrepareBatchEmbedAlias(t *testing.T) {
	snap := testSnap(t, map[string]string{"MODEL_ALIASES": `{"emb":"gemini-embedding-001"}`})
	body := `{"requests":[{"model":"models/emb","content":{"parts":[{"text":"a"}]}},{"model":"models/other","content":{}}],"x":1}`
	got, err := prepare(snap, models.Resolve(snap, "emb"), "batchEmbedContents", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), `"model":"models/gemini-embedding-001"`) || !strings.Contains(string(got), `"model":"models/other"`) ||
		!strings.HasSuffix(string(got), `],"x":1}`) {
		t.Fatalf("batch model not renamed: %s", got)
	}
	same := `{"requests":[{"model":"models/gemini-embedding-001"}]}`
	if got, _ := prepare(snap, models.Resolve(snap, "gemini-embedding-001"), "batchEmbedContents", []byte(same)); string(got) != same {
		t.Fatalf("plain batch changed: %s", got)
	}
}

func TestReplaceValuesKeepsOtherBytes(t *testing.T) {
	obj := []byte("{\n  \"a\" : [1,  2],\n  \"b\":\t{\"x\": \"y:z\"} , \"c\":\"s\"\n}")
	got, err := replaceValues(obj, map[string]json.RawMessage{"b": json.RawMessage(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"a\" : [1,  2],\n  \"b\":\t{} , \"c\":\"s\"\n}"; string(got) != want {
		t.Fatalf("got %q", got)
	}
}

func TestTopLevelKeepsDecodingErrors(t *testing.T) {
	for body, want := range map[string]string{
		`[1]`:      "Invalid JSON payload received: expected a JSON object, got array",
		`{"a"`:     "Invalid JSON payload received: unexpected end of JSON input",
		`{"a":1,}`: "Invalid JSON payload received: invalid character '}' looking for beginning of object key string",
	} {
		if _, err := topLevel([]byte(body), nil); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %s", body, err, want)
		}
	}
	if top, err := topLevel([]byte(`null`), nil); err != nil || len(top) != 0 {
		t.Errorf("null: %v %v", top, err)
	}
}

// A generationConfig a client sends with every call is rewritten once: the same body prepares to the
// same bytes, the second time without decoding the config again; a different budget is not mixed up
// with it.
func TestPrepareRemembersRewrittenConfigs(t *testing.T) {
	body := []byte(`{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"temperature":0.3,"topK":7}}`)
	want := `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"temperature":0.3,"thinkingConfig":{"thinkingBudget":77},"topK":7}}`
	snap := testSnap(t, map[string]string{"THINKING_BUDGET_MAP": `{"gemini-2.5-pro": 77}`, "SHOW_THINKING_PROCESS": "false"})
	res := models.Resolve(snap, "gemini-2.5-pro")
	for range 2 {
		out, err := prepare(snap, res, "generateContent", body)
		if err != nil || string(out) != want {
			t.Fatalf("got %s (%v), want %s", out, err, want)
		}
	}
	if n := testing.AllocsPerRun(50, func() { _, _ = prepare(snap, res, "generateContent", body) }); n > 12 {
		t.Fatalf("a generationConfig seen before costs %.0f allocations to prepare", n)
	}
	other := testSnap(t, map[string]string{"THINKING_BUDGET_MAP": `{"gemini-2.5-pro": 78}`, "SHOW_THINKING_PROCESS": "false"})
	out, err := prepare(other, models.Resolve(other, "gemini-2.5-pro"), "generateContent", body)
	if err != nil || string(out) != strings.Replace(want, "77", "78", 1) {
		t.Fatalf("another budget: %s (%v)", out, err)
	}
}
