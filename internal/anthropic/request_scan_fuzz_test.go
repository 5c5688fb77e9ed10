package anthropic

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/translate"
)

var scanInputs = []string{
	`{"model":"gemini-2.5-flash","max_tokens":1024,"messages":[{"role":"user","content":"Hello there, how are you today?"}],"temperature":0.3}`,
	`{"model":"m","max_tokens":5,"system":"be brief","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":[{"type":"text","text":"c"}]}],"top_p":0.5,"top_k":3,"stream":true}`,
	`{"model":"m","max_tokens":5,"system":[{"type":"text","text":"s"}],"messages":[{"role":"system","content":"x"}],"metadata":{"user_id":"u"}}`,
	`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":null}]}`, `{"model":"m","max_tokens":null,"messages":[]}`,
	`{"model":"m","Max_tokens":5,"messages":[]}`, `{"model":"m","max_tokens":5,"max_tokens":6}`, `{"m\u006fdel":"m"}`,
	`{"model":"m","max_tokens":1e3}`, `{"model":"m","temperature":1e999}`, `{"model":"m","messages":[{"role":"user","content":"a","role":"x"}]}`,
	`{"model":"m","messages":[1]}`, `{"model":"m","messages":"x"}`, `[]`, `{"model":"m","stop_sequences":["a"]}`,
	`{"model":"m","max_tokens":5,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"\u00e9\n"}]}`,
	` { "model" : "m" , "max_tokens" : 5 , "messages" : [ { "role" : "user" , "content" : " a " } ] } `,
	`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"","extra":{"a":[null]}}]}`,
}

func TestScanRequestMatchesDecoding(t *testing.T) {
	for _, c := range scanInputs {
		checkScanRequest(t, []byte(c))
	}
	if _, ok := scanRequest([]byte(scanInputs[0])); !ok {
		t.Fatal("the usual request is not read in place")
	}
}

// FuzzScanRequest: where scanRequest reads a body, json.Unmarshal reads the same request, and both
// translate into the same Gemini body.
func FuzzScanRequest(f *testing.F) {
	for _, c := range scanInputs {
		f.Add([]byte(c))
	}
	f.Fuzz(checkScanRequest)
}

var scanSnap *config.Snapshot

func checkScanRequest(t *testing.T, body []byte) {
	got, ok := scanRequest(body)
	if !ok {
		return
	}
	var want messagesRequest
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatalf("scanRequest read %q, which the decoder refuses: %v", body, err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("scanRequest(%q):\n got %+v\nwant %+v", body, *got, want)
	}
	if scanSnap == nil {
		scanSnap = snapshot(t, map[string]string{"THINKING_BUDGET_MAP": `{"gemini-2.5-flash":1024}`})
	}
	model, err := translate.ResolveModel(scanSnap, geminiModel(scanSnap, got.Model))
	if err != nil {
		return
	}
	a, errA := translateRequest(scanSnap, model, got)
	b, errB := translateRequest(scanSnap, model, &want)
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
