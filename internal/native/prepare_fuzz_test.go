package native

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/models"
)

// fuzzSnap enables every rewrite prepare can make: search, image and non-thinking variants, a
// thinking budget, aliases and the default safety settings.
func fuzzSnap(f *testing.F) *config.Snapshot {
	snap, err := config.FromEnv(map[string]string{
		"THINKING_MODELS":     `["gemini-2.5-flash"]`,
		"THINKING_BUDGET_MAP": `{"gemini-2.5-pro": 512}`,
		"MODEL_ALIASES":       `{"fast": "gemini-2.5-flash-search"}`,
	})
	if err != nil {
		f.Fatal(err)
	}
	return snap
}

// FuzzPrepare feeds client bodies to the native request preparation: it must never panic, and when it
// accepts a body, what it sends upstream is valid JSON that still has every member the client sent.
func FuzzPrepare(f *testing.F) {
	snap := fuzzSnap(f)
	for _, s := range []struct{ model, action, body string }{
		{"gemini-2.5-flash-search", "generateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`},
		{"gemini-2.5-flash-non-thinking", "streamGenerateContent", `{"generationConfig":{"temperature":0.2},"contents":[]}`},
		{"gemini-2.0-flash-exp-image", "generateContent", `{"generation_config":null}`},
		{"fast", "generateContent", `{"tools":[{"codeExecution":{}}],"tools":null}`},
		{"gemini-2.5-pro", "generateContent", " {\n\"a\" : [1,{\"b\":\"\\u00e9\"}] } "},
		{"fast", "batchEmbedContents", `{"requests":[{"model":"models/fast"},{"model":"fast"}]}`},
		{"gemini-2.5-flash", "countTokens", `not json`},
		{"gemini-2.5-flash-tts", "generateContent", `{}`},
	} {
		f.Add(s.model, s.action, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, model, action string, body []byte) {
		res := models.Resolve(snap, model)
		out, err := prepare(snap, res, action, body)
		if err != nil || !json.Valid(body) {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("valid body %q became invalid JSON %q", body, out)
		}
		var in, got map[string]json.RawMessage
		if json.Unmarshal(body, &in) != nil {
			return
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%q: output is not an object: %v", out, err)
		}
		for name := range in {
			if _, ok := got[name]; !ok {
				t.Fatalf("member %q of %q was dropped: %q", name, body, out)
			}
		}
	})
}

// FuzzTopLevelValues checks the in-place scan of replaceValues against the json.Decoder it replaced:
// the same members found at the same places, escaped and repeated names included.
func FuzzTopLevelValues(f *testing.F) {
	for _, s := range []string{`{"generationConfig":{"a":1},"contents":[]}`, ` { "tools" : null , "tools":[{}] } `,
		`{"gen\u0065rationConfig":1,"x":"}"}`, `{}`, `null`, `[1]`, `{"candidates":[{"content":{"parts":[]}}]}`} {
		f.Add([]byte(s), "generationConfig", "tools")
	}
	f.Fuzz(func(t *testing.T, obj []byte, a, b string) {
		repl := map[string]json.RawMessage{a: nil, b: nil, "candidates": nil}
		got, err := topLevelValues(obj, repl, nil)
		all, wantErr := decodedValues(obj)
		if (err != nil) != (wantErr != nil) {
			if json.Valid(obj) {
				t.Fatalf("%q: scan error %v, decoder error %v", obj, err, wantErr)
			}
			return // invalid JSON: prepare refuses it before, with json.Unmarshal's message
		}
		var want []span
		for _, s := range all {
			if _, ok := repl[s.name]; ok {
				want = append(want, s)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%q: spans %v, decoder %v", obj, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%q: spans %v, decoder %v", obj, got, want)
			}
		}
	})
}

// FuzzSpliceReplacing checks the one-copy rewrite against the two steps it stands for.
func FuzzSpliceReplacing(f *testing.F) {
	for _, s := range []string{
		`{"contents":[],"generationConfig":{"temperature":0.3}}`,
		`{"generationConfig":null,"tools":[],"generationConfig":{}}`,
		` { "a" : 1 , "tools" : [ {"x":"}"} ] } `,
		`{"generation\u0043onfig":{}}`,
	} {
		f.Add([]byte(s), "generationConfig", "tools", "safetySettings", byte(3))
	}
	f.Fuzz(func(t *testing.T, body []byte, a, b, name string, mask byte) {
		obj := bytes.TrimSpace(body)
		top, err := topLevel(obj, nil)
		if err != nil || len(top) == 0 || !json.Valid([]byte(`"`+name+`"`)) {
			return
		}
		repl := map[string]json.RawMessage{a: json.RawMessage(`{"x":1}`), b: json.RawMessage(`[]`)}
		add := []field{{name, json.RawMessage(`[{"k":"v"}]`)}, {"tools", json.RawMessage(`null`)}}
		if mask&1 == 0 {
			add = nil
		}
		if mask&2 == 0 {
			clear(repl)
		}
		replaced, err := replaceValues(obj, repl)
		if err != nil {
			t.Fatalf("%q: %v", obj, err)
		}
		want, _ := splice(replaced, false, add)
		if got := spliceReplacing(obj, top, add, repl); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", obj, got, want)
		}
	})
}
