package openai

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/models"
)

var chatScanInputs = []string{
	`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"Hello there, how are you today?"}],"temperature":0.3}`,
	`{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi","name":"bob"}],"max_tokens":10,"top_p":1,"n":2,"seed":-7,"stop":["a",""],"stream":true}`,
	`{"model":"m","messages":[{"role":"tool","tool_call_id":"c1","content":"42"}],"tool_choice":"auto","logprobs":true,"top_logprobs":3}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"reasoning_effort":"low","presence_penalty":-0.5,"frequency_penalty":1e-3}`,
	`{"model":"m","messages":[{"role":"user","content":null}]}`, `{"model":"m","messages":[{"role":"user","content":"a","role":"system"}]}`,
	`{"Model":"m","messages":[]}`, `{"mod\u0065l":"m","messages":[{"role":"user","content":"a"}]}`,
	`{"model":"m","messages":[{"role":"assistant","content":"a","tool_calls":[]}]}`, `{"model":"m","temperature":1e400}`,
	`{"model":"m","max_tokens":1.5}`, `{"model":"m","max_tokens":12345678901234567890}`, `{"model":"m","n":null}`,
	`{"model":"m","user":"u","metadata":{"a":[1,2]},"store":false,"messages":[{"role":"us\u0065r","content":"\u00e9\n"}]}`,
	`{"model":"m","messages":[1]}`, `{"model":"m","messages":{}}`, `[]`, `"x"`, `{"model":5}`, `{"stream":"true"}`,
	`{"model":"m","tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"a"}]}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}],"stream_options":{"include_usage":true},"parallel_tool_calls":false}`,
	` { "model" : "m" , "messages" : [ { "role" : "user" , "content" : " a " } ] , "temperature" : -0 } `,
}

func TestScanChatRequestMatchesDecoding(t *testing.T) {
	for _, c := range chatScanInputs {
		checkChatScan(t, []byte(c))
	}
	if _, ok := scanChatRequest([]byte(chatScanInputs[0])); !ok {
		t.Fatal("the usual request is not read in place")
	}
}

// FuzzScanChatRequest: where scanChatRequest reads a body, json.Unmarshal reads the same request, and
// both translate into the same Gemini body.
func FuzzScanChatRequest(f *testing.F) {
	for _, c := range chatScanInputs {
		f.Add([]byte(c))
	}
	files, _ := filepath.Glob("testdata/translate/*.json")
	for _, file := range files {
		var tc translateCase
		if !strings.HasSuffix(file, ".golden.json") && json.Unmarshal(chatReadFile(f, file), &tc) == nil {
			f.Add([]byte(tc.Request))
		}
	}
	f.Fuzz(checkChatScan)
}

var chatScanSnap *config.Snapshot

func checkChatScan(t *testing.T, body []byte) {
	got, ok := scanChatRequest(body)
	if !ok {
		return
	}
	var want chatRequest
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatalf("scanChatRequest read %q, which the decoder refuses: %v", body, err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("scanChatRequest(%q):\n got %+v\nwant %+v", body, *got, want)
	}
	if chatScanSnap == nil {
		chatScanSnap = chatTestSnap(t, map[string]string{"THINKING_BUDGET_MAP": `{"gemini-2.5-flash":1024}`})
	}
	if got.Model == "" {
		return
	}
	a, errA := translateRequest(chatScanSnap, models.Resolve(chatScanSnap, got.Model), got)
	b, errB := translateRequest(chatScanSnap, models.Resolve(chatScanSnap, want.Model), &want)
	if (errA == nil) != (errB == nil) || errA != nil && errA.Error() != errB.Error() {
		t.Fatalf("translations of %q fail differently: %v / %v", body, errA, errB)
	}
	if errA != nil {
		return
	}
	ja, _ := json.Marshal(a.body)
	jb, _ := json.Marshal(b.body)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("translations of %q differ:\n%s\n%s", body, ja, jb)
	}
}
