package openai

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/translate"
)

type translateCase struct {
	Env     map[string]string `json:"env"`
	Request json.RawMessage   `json:"request"`
}

// translateFor runs the whole request path short of the network: parse, resolve, translate, encode.
func translateFor(t testing.TB, env map[string]string, request string) (*requestTranslation, []byte, error) {
	t.Helper()
	snap := chatTestSnap(t, env)
	req, err := parseChatRequest([]byte(request))
	if err != nil {
		return nil, nil, err
	}
	model, err := resolveChatModel(snap, req.Model)
	if err != nil {
		return nil, nil, err
	}
	tr, err := translateRequest(snap, model, req)
	if err != nil {
		return nil, nil, err
	}
	body, err := json.Marshal(tr.body)
	if err != nil {
		t.Fatalf("the translated request does not encode: %v", err)
	}
	return &tr, body, nil
}

// TestTranslateRequestGolden maps each testdata/translate/<case>.json (settings and an OpenAI request)
// to the Gemini request in <case>.golden.json.
func TestTranslateRequestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/translate/*.json")
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, file := range files {
		if strings.HasSuffix(file, ".golden.json") {
			continue
		}
		ran++
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			var tc translateCase
			if err := json.Unmarshal(chatReadFile(t, file), &tc); err != nil {
				t.Fatal(err)
			}
			tr, body, err := translateFor(t, tc.Env, string(tc.Request))
			if err != nil {
				t.Fatalf("translate: %v", err)
			}
			var fetch []string
			for _, m := range tr.media {
				fetch = append(fetch, m.URL+" → "+m.Param)
			}
			out, _ := json.Marshal(map[string]any{"candidates": tr.candidates, "fetch": fetch, "body": json.RawMessage(body)})
			chatCheckGolden(t, strings.TrimSuffix(file, ".json")+".golden.json", chatIndentJSON(t, out))
		})
	}
	if ran < 10 {
		t.Fatalf("only %d golden cases found", ran)
	}
}

func TestTranslateRequestErrors(t *testing.T) {
	user := `"messages":[{"role":"user","content":"hi"}]`
	for _, tc := range []struct {
		name, body, param, msg string
		status                 int
	}{
		{"empty body", ``, "", "empty", 400},
		{"not an object", `[1]`, "", "JSON object", 400},
		{"syntax", `{"model":`, "", "parse", 400},
		{"wrong type", `{"model":"gemini-2.5-flash","n":"two",` + user + `}`, "n", "Invalid type", 400},
		{"no model", `{` + user + `}`, "model", "model", 400},
		{"no messages", `{"model":"gemini-2.5-flash","messages":[]}`, "messages", "non-empty", 400},
		{"unknown model suffix", `{"model":"gemini-2.0-flash-search",` + user + `}`, "model", "SEARCH_MODELS", 404},
		{"filtered model", `{"model":"gemini-pro-vision",` + user + `}`, "model", "FILTERED_MODELS", 404},
		{"path in model", `{"model":"../../files",` + user + `}`, "model", "does not exist", 404},
		{"bad role", `{"model":"gemini-2.5-flash","messages":[{"role":"robot","content":"x"}]}`, "messages[0].role", "robot", 400},
		{"no role", `{"model":"gemini-2.5-flash","messages":[{"content":"x"}]}`, "messages[0].role", "Missing", 400},
		{"content number", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":5}]}`, "messages[0].content", "string or an array", 400},
		{"bad part type", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"hologram"}]}]}`, "messages[0].content[0].type", "hologram", 400},
		{"image in system", `{"model":"gemini-2.5-flash","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}]}`,
			"messages[0].content[0].type", "only text", 400},
		{"image without url", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}`,
			"messages[0].content[0].image_url", "url", 400},
		{"ftp image", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}`,
			"messages[0].content[0].image_url.url", "http", 400},
		{"bad data url", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64"}}]}]}`,
			"messages[0].content[0].image_url.url", "comma", 400},
		{"audio format", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA==","format":"midi"}}]}]}`,
			"messages[0].content[0].input_audio.format", "midi", 400},
		{"audio data", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"format":"wav"}}]}]}`,
			"messages[0].content[0].input_audio.data", "data", 400},
		{"empty file", `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":[{"type":"file","file":{}}]}]}`,
			"messages[0].content[0].file", "file_data", 400},
		{"bad arguments", `{"model":"gemini-2.5-flash","messages":[{"role":"assistant","tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}`,
			"messages[0].tool_calls[0].function.arguments", "JSON object", 400},
		{"array arguments", `{"model":"gemini-2.5-flash","messages":[{"role":"assistant","tool_calls":[{"id":"1","function":{"name":"f","arguments":"[1]"}}]}]}`,
			"messages[0].tool_calls[0].function.arguments", "JSON object", 400},
		{"call without name", `{"model":"gemini-2.5-flash","messages":[{"role":"assistant","tool_calls":[{"id":"1","function":{"arguments":"{}"}}]}]}`,
			"messages[0].tool_calls[0].function.name", "Missing", 400},
		{"custom tool call", `{"model":"gemini-2.5-flash","messages":[{"role":"assistant","tool_calls":[{"id":"1","type":"custom","function":{"name":"f"}}]}]}`,
			"messages[0].tool_calls[0].type", "custom", 400},
		{"unknown tool_call_id", `{"model":"gemini-2.5-flash","messages":[{"role":"assistant","tool_calls":[{"id":"a","function":{"name":"f"}}]},{"role":"tool","tool_call_id":"b","content":"x"}]}`,
			"messages[1].tool_call_id", `"b"`, 400},
		{"missing tool_call_id", `{"model":"gemini-2.5-flash","messages":[{"role":"tool","content":"x"}]}`, "messages[0].tool_call_id", "Missing", 400},
		{"function without name", `{"model":"gemini-2.5-flash","messages":[{"role":"function","content":"x"}]}`, "messages[0].name", "Missing", 400},
		{"tool message image", `{"model":"gemini-2.5-flash","messages":[{"role":"assistant","tool_calls":[{"id":"a","function":{"name":"f"}}]},{"role":"tool","tool_call_id":"a","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}]}`,
			"messages[1].content[0].type", "only text", 400},
		{"stop number", `{"model":"gemini-2.5-flash","stop":5,` + user + `}`, "stop", "stop", 400},
		{"stop list of numbers", `{"model":"gemini-2.5-flash","stop":[5],` + user + `}`, "stop", "stop", 400},
		{"tool_choice word", `{"model":"gemini-2.5-flash","tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"sometimes",` + user + `}`,
			"tool_choice", "sometimes", 400},
		{"tool_choice unknown function", `{"model":"gemini-2.5-flash","tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}},` + user + `}`,
			"tool_choice.function.name", `"g"`, 400},
		{"tool_choice shape", `{"model":"gemini-2.5-flash","tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"allowed_tools"},` + user + `}`,
			"tool_choice", "expected", 400},
		{"tool type", `{"model":"gemini-2.5-flash","tools":[{"type":"web_search"}],` + user + `}`, "tools[0].type", "web_search", 400},
		{"tool without function", `{"model":"gemini-2.5-flash","tools":[{"type":"function"}],` + user + `}`, "tools[0].function", "Missing", 400},
		{"tool without name", `{"model":"gemini-2.5-flash","tools":[{"type":"function","function":{"description":"x"}}],` + user + `}`, "tools[0].function.name", "Missing", 400},
		{"parameters not object", `{"model":"gemini-2.5-flash","tools":[{"type":"function","function":{"name":"f","parameters":[1]}}],` + user + `}`,
			"tools[0].function.parameters", "JSON object", 400},
		{"response_format type", `{"model":"gemini-2.5-flash","response_format":{"type":"yaml"},` + user + `}`, "response_format.type", "yaml", 400},
		{"response schema not object", `{"model":"gemini-2.5-flash","response_format":{"type":"json_schema","json_schema":{"name":"x","schema":"no"}},` + user + `}`,
			"response_format.json_schema.schema", "JSON object", 400},
		{"reasoning_effort", `{"model":"gemini-2.5-flash","reasoning_effort":"extreme",` + user + `}`, "reasoning_effort", "extreme", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := translateFor(t, nil, tc.body)
			re, ok := err.(*requestError)
			if !ok {
				t.Fatalf("want a request error, got %v", err)
			}
			if re.status != tc.status || re.param != tc.param || !strings.Contains(re.msg, tc.msg) {
				t.Fatalf("got %d param %q: %s; want %d param %q containing %q", re.status, re.param, re.msg, tc.status, tc.param, tc.msg)
			}
		})
	}
}

// thinkingFor returns the thinkingConfig sent for model, as JSON ("" when none).
func thinkingFor(t *testing.T, env map[string]string, model, extra string) string {
	t.Helper()
	_, body, err := translateFor(t, env, `{"model":"`+model+`","messages":[{"role":"user","content":"x"}]`+extra+`}`)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		GenerationConfig struct {
			ThinkingConfig json.RawMessage `json:"thinkingConfig"`
		} `json:"generationConfig"`
	}
	_ = json.Unmarshal(body, &out)
	return string(out.GenerationConfig.ThinkingConfig)
}

func TestThinkingConfig(t *testing.T) {
	hidden := map[string]string{"SHOW_THINKING_PROCESS": "false"}
	budgets := map[string]string{"THINKING_BUDGET_MAP": `{"gemini-2.5-flash": 4096, "gemini-2.0-flash": 100}`}
	for _, tc := range []struct {
		name  string
		env   map[string]string
		model string
		extra string
		want  string
	}{
		{"shown by default", nil, "gemini-2.5-flash", "", `{"includeThoughts":true}`},
		{"hidden", hidden, "gemini-2.5-flash", "", ``},
		{"old model never", nil, "gemini-2.0-flash", `,"reasoning_effort":"high"`, ``},
		{"image model never", map[string]string{"IMAGE_MODELS": `["gemini-2.5-flash"]`}, "gemini-2.5-flash-image", "", ``},
		{"tts never", nil, "gemini-2.5-flash-preview-tts", `,"reasoning_effort":"low"`, ``},
		{"latest alias thinks", nil, "gemini-flash-latest", "", `{"includeThoughts":true}`},
		{"non-thinking flash", nil, "gemini-2.5-flash-non-thinking", `,"reasoning_effort":"high"`, `{"thinkingBudget":0}`},
		{"non-thinking pro", nil, "gemini-2.5-pro-non-thinking", "", `{"includeThoughts":true,"thinkingBudget":128}`},
		{"budget map by real name", budgets, "gemini-2.5-flash-search", "", `{"includeThoughts":true,"thinkingBudget":4096}`},
		{"map vouches for a model", budgets, "gemini-2.0-flash", "", `{"includeThoughts":true,"thinkingBudget":100}`},
		{"effort beats the map", budgets, "gemini-2.5-flash", `,"reasoning_effort":"medium"`, `{"includeThoughts":true,"thinkingBudget":8192}`},
		{"effort none flash", nil, "gemini-2.5-flash", `,"reasoning_effort":"none"`, `{"thinkingBudget":0}`},
		{"effort none pro", nil, "gemini-2.5-pro", `,"reasoning_effort":"none"`, `{"includeThoughts":true,"thinkingBudget":128}`},
		{"effort minimal", hidden, "gemini-2.5-flash-lite", `,"reasoning_effort":"minimal"`, `{"thinkingBudget":512}`},
		{"effort minimal pro", hidden, "gemini-2.5-pro", `,"reasoning_effort":"minimal"`, `{"thinkingBudget":128}`},
		{"effort low", hidden, "gemini-2.5-flash", `,"reasoning_effort":"low"`, `{"thinkingBudget":1024}`},
		{"effort high", hidden, "gemini-2.5-pro", `,"reasoning_effort":"HIGH"`, `{"thinkingBudget":24576}`},
		{"gemini 3 pro low", hidden, "gemini-3-pro-preview", `,"reasoning_effort":"minimal"`, `{"thinkingLevel":"LOW"}`},
		{"gemini 3 pro medium", hidden, "gemini-3-pro-preview", `,"reasoning_effort":"medium"`, `{"thinkingLevel":"HIGH"}`},
		{"gemini 3 flash none", hidden, "gemini-3-flash-preview", `,"reasoning_effort":"none"`, `{"thinkingLevel":"MINIMAL"}`},
		{"gemini 3 flash medium", nil, "gemini-3-flash-preview", `,"reasoning_effort":"medium"`, `{"includeThoughts":true,"thinkingLevel":"MEDIUM"}`},
		{"extra_body level", hidden, "gemini-3-flash-preview", `,"extra_body":{"google":{"thinking_config":{"thinking_level":"low"}}}`, `{"thinkingLevel":"LOW"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := thinkingFor(t, tc.env, tc.model, tc.extra); got != tc.want {
				t.Fatalf("thinkingConfig %s, want %s", got, tc.want)
			}
		})
	}
}

func TestToolChoiceModes(t *testing.T) {
	decls := `"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}}]`
	for choice, want := range map[string]string{
		`"none"`:     `{"functionCallingConfig":{"mode":"NONE"}}`,
		`"auto"`:     `{"functionCallingConfig":{"mode":"AUTO"}}`,
		`"required"`: `{"functionCallingConfig":{"mode":"ANY"}}`,
		`{"type":"function","function":{"name":"f"}}`: `{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}}`,
		`null`: ``,
	} {
		_, body, err := translateFor(t, nil, `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"x"}],`+decls+`,"tool_choice":`+choice+`}`)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			ToolConfig json.RawMessage `json:"toolConfig"`
		}
		_ = json.Unmarshal(body, &out)
		if string(out.ToolConfig) != want {
			t.Errorf("tool_choice %s → %s, want %s", choice, out.ToolConfig, want)
		}
	}
	// Without tools, tool_choice has nothing to configure.
	_, body, err := translateFor(t, nil, `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"x"}],"tool_choice":"required"}`)
	if err != nil || strings.Contains(string(body), "toolConfig") {
		t.Fatalf("%v %s", err, body)
	}
}

func TestFunctionResponseBody(t *testing.T) {
	for in, want := range map[string]string{
		`{"a": 1}`:    `{"content":{"a":1}}`,
		` {"a":[1]} `: `{"content":{"a":[1]}}`,
		`[1, 2]`:      `{"content":"[1, 2]"}`,
		`plain text`:  `{"content":"plain text"}`,
		`{broken`:     `{"content":"{broken"}`,
		``:            `{"content":""}`,
		`"quoted"`:    `{"content":"\"quoted\""}`,
	} {
		if got := string(translate.FunctionResponse(in)); got != want {
			t.Errorf("%q → %s, want %s", in, got, want)
		}
	}
}

func TestSplitMarkdownImages(t *testing.T) {
	parts := splitMarkdownImages("see ![x](https://h/x.png) before ![a](data:image/png;base64,AAAA) middle ![b](data:broken) end ](data:")
	got, _ := json.Marshal(parts)
	want := `[{"text":"see ![x](https://h/x.png) before"},{"inlineData":{"mimeType":"image/png","data":"AAAA"}},` +
		`{"text":" middle ![b](data:broken)"},{"text":"end ](data:"}]`
	if string(got) != want {
		t.Fatalf("%s\nwant %s", got, want)
	}
}

func TestCallArguments(t *testing.T) {
	for in, want := range map[string]string{
		`null`:                  `{}`,
		`""`:                    `{}`,
		`"  "`:                  `{}`,
		`"{\"a\": 1}"`:          `{"a":1}`,
		`{"a": {"b": [1]}}`:     `{"a":{"b":[1]}}`,
		`"{\"s\":\"<x>\"}"`:     `{"s":"<x>"}`,
		`"{\"a\":1} "`:          `{"a":1}`,
		`"{\"u\":\"\\u00e9\"}"`: `{"u":"\u00e9"}`,
	} {
		got, err := translate.CallArguments(json.RawMessage(in))
		if err != nil || string(got) != want {
			t.Errorf("%s → %s %v, want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{`"[1]"`, `"{"`, `5`, `"x"`, `[{}]`} {
		if _, err := translate.CallArguments(json.RawMessage(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
