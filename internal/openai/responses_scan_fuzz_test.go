package openai

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/gemgate/gemgate/internal/translate"
)

var responsesScanInputs = []string{
	`{"model":"gemini-2.5-flash","input":[{"role":"user","content":"Hello there, how are you today?"}],"temperature":0.3}`,
	`{"model":"m","input":"hi","instructions":"be brief","stream":true,"store":false,"max_output_tokens":100,"top_p":0.9,"tool_choice":"auto"}`,
	`{"model":"m","input":"hi","previous_response_id":"resp_1"}`, `{"model":"m","input":null}`, `{"model":"m","store":null}`,
	`{"model":"m","Input":"x"}`, `{"model":"m","model":"n"}`, `{"mod\u0065l":"m"}`, `{"model":"m","max_output_tokens":1.0}`,
	`{"model":"m","reasoning":{"effort":"low"},"input":"x"}`, `{"model":"m","include":["reasoning.encrypted_content"]}`,
	`{"model":"m","tools":[{"type":"function","name":"f"}],"input":"x"}`, `[]`, `{"model":1}`, `{"temperature":"1"}`,
	` { "model" : "m" , "input" : [ ] , "metadata" : { "a" : null } } `,
	`{"model":"m","tools":null,"reasoning":null,"include":null}`, `{"model":"m","tools":[],"include":[]}`,
	`{"model":"m","tools":[{"type":"namespace","name":"n","description":"d","tools":[{"type":"function","name":"g","strict":true,"parameters":{"type":"object"}}]}]}`,
	`{"model":"m","tools":[{"TYPE":"function","Name":"f","parameters":null,"extra":1}],"Reasoning":{"EFFORT":"high","summary":"auto"}}`,
	`{"model":"m","tools":{"type":"function"}}`, `{"model":"m","tools":[1]}`, `{"model":"m","reasoning":"low"}`, `{"model":"m","include":[null,"x"]}`,
	`{"model":"m","tools":[{"type":"function","name":"f"}],"tools":[]}`, `{"model":"m","tools":[{"name":"\u00e9\ud800"}],"input":[{"role":"user","content":"tools"}]}`,
}

func TestScanResponsesRequestMatchesDecoding(t *testing.T) {
	for _, c := range responsesScanInputs {
		checkResponsesScan(t, []byte(c))
	}
	if !scanResponsesRequest([]byte(responsesScanInputs[0]), &responsesRequest{}, &translate.Scalars{}) {
		t.Fatal("the usual request is not read in place")
	}
}

// FuzzScanResponsesRequest: where scanResponsesRequest reads a body, json.Unmarshal reads the same
// request (everything after, the mapping onto a chat request included, reads that struct only).
func FuzzScanResponsesRequest(f *testing.F) {
	for _, c := range responsesScanInputs {
		f.Add([]byte(c))
	}
	f.Fuzz(checkResponsesScan)
}

func checkResponsesScan(t *testing.T, body []byte) {
	var got responsesRequest
	if !scanResponsesRequest(body, &got, &translate.Scalars{}) {
		return
	}
	var want responsesRequest
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatalf("scanResponsesRequest read %q, which the decoder refuses: %v", body, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("scanResponsesRequest(%q):\n got %+v\nwant %+v", body, got, want)
	}
}
