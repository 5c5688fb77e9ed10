package translate

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/rpcstatus"
)

var scanCases = []string{
	`{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1,"totalTokenCount":4,"promptTokensDetails":[{"modality":"TEXT","tokenCount":3}]},"modelVersion":"gemini-2.5-flash","responseId":"abc"}`,
	`{"candidates":[{"content":{"parts":[{"text":""}]},"finishReason":"STOP"}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"x","thought":true},{"text":"y"}]}}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"x","thought":true}]}}]}`,
	`{"candidates":[{"content":{"parts":[{"thoughtSignature":"abc"},{"thought":false}]}}]}`,
	`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"a":1}},"thoughtSignature":"s"}]}}]}`,
	`{"candidates":[{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"AAAA"}}]}}]}`,
	`{"candidates":[{"content":{"parts":[{"executableCode":{"language":"PYTHON","code":"1"}},{"codeExecutionResult":{"outcome":"OK"}}]}}]}`,
	`{"candidates":[{"content":{"parts":[{"videoMetadata":null}]}}]}`,
	`{"candidates":[{"content":{"parts":[{"unknown":1}]}}]}`,
	`{"candidates":[{"content":{"parts":[null]}}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"\u00e9\n"}]},"citationMetadata":{"citations":[]}}]}`,
	`{"candidates":[{"content":{"parts":[{"Text":"x"}]}}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"a","text":"b"}]}}]}`,
	`{"candidates":[{"content":{"parts":[{"te\u0078t":"a"}]}}]}`,
	`{"candidates":[{"index":1.0},{"index":-0},{"index":12345678901234567890}]}`,
	`{"candidates":[{"safetyRatings":[{"category":"X","probability":"LOW"}],"groundingMetadata":{"groundingChunks":[{"web":{"uri":"u"}}]},"avgLogprobs":"NaN"}]}`,
	`{"candidates":[{"avgLogprobs":-0.5,"logprobsResult":{"chosenCandidates":[{"token":"a","logProbability":-1}]}}]}`,
	`{"candidates":[],"promptFeedback":{"blockReason":"SAFETY"}}`,
	`{"candidates":[{"finishReason":"MAX_TOKENS"}]}`,
	`{"candidates":null}`, `{}`, `{"usageMetadata":{"promptTokenCount":"3"}}`,
	`{"usageMetadata":{"promptTokenCount":1},"usageMetadata":{"candidatesTokenCount":2}}`,
	`{"UsageMetadata":{"promptTokenCount":1}}`, `{"modelVersion":5}`, `{"modelVersion":"\ud800"}`,
	`{"error":{"code":429,"message":"x","status":"RESOURCE_EXHAUSTED"}}`, `{"candidates":[],"Error":null}`,
	`{"candidates":[{"content":{"parts":[{"text":"a"}]}}],"error":null}`,
	`[{"candidates":[]}]`, `null`, `"x"`, `{"candidates":`, ` {"candidates":[ ]} `,
}

func TestScanAnswerMatchesDecoding(t *testing.T) {
	for _, c := range scanCases {
		checkScan(t, []byte(c))
	}
	resp, empty, ok := scanAnswer([]byte(scanCases[0]))
	if !ok || empty || resp.Candidates[0].Content.Parts[0].Text != "Hi" || resp.UsageMetadata.TotalTokenCount != 4 {
		t.Fatalf("the usual answer is not read in place: %+v %v %v", resp, empty, ok)
	}
}

// FuzzScanAnswer: where scanAnswer reads an answer, it reads what json.Unmarshal does, and calls it
// empty when gemini.IsEmptyAnswer does.
func FuzzScanAnswer(f *testing.F) {
	for _, c := range scanCases {
		f.Add([]byte(c))
	}
	f.Fuzz(checkScan)
}

func checkScan(t *testing.T, body []byte) {
	checkEvent(t, body)
	got, empty, ok := scanAnswer(body)
	if json.Valid(body) {
		// The executor's valid-JSON shortcut must read what the validating scan reads.
		vgot, vempty, vok := scanValidAnswer(body)
		if vok != ok || vempty != empty || (ok && !sameAnswer(vgot, got)) {
			t.Fatalf("scanValidAnswer(%q) = %+v, %v, %v; scanAnswer %+v, %v, %v", body, vgot, vempty, vok, got, empty, ok)
		}
	}
	if !ok {
		return
	}
	var want gemini.GenerateContentResponse
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatalf("scanAnswer read %q, which json.Unmarshal refuses: %v", body, err)
	}
	if !sameAnswer(got, &want) {
		t.Fatalf("scanAnswer(%q) = %+v, json.Unmarshal %+v", body, got, &want)
	}
	if wantEmpty := gemini.IsEmptyAnswer(body); empty != wantEmpty {
		t.Fatalf("scanAnswer(%q) empty = %v, IsEmptyAnswer %v", body, empty, wantEmpty)
	}
}

// sameAnswer is reflect.DeepEqual with NaNs (a Double may hold one) equal to each other.
func sameAnswer(a, b *gemini.GenerateContentResponse) bool {
	unNaN(reflect.ValueOf(a))
	unNaN(reflect.ValueOf(b))
	return reflect.DeepEqual(a, b)
}

// unNaN replaces every NaN under v with a number no decoding gives.
func unNaN(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			unNaN(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			unNaN(v.Field(i))
		}
	case reflect.Slice:
		for i := range v.Len() {
			unNaN(v.Index(i))
		}
	case reflect.Float64:
		if math.IsNaN(v.Float()) {
			v.SetFloat(-1234.5)
		}
	}
}

// checkEvent: where scanEvent reads an event, DecodeEvent's decoder reads the same answer and no error.
func checkEvent(t *testing.T, data []byte) {
	got, ok := scanEvent(data)
	if !ok {
		return
	}
	var want struct {
		gemini.GenerateContentResponse
		Error *rpcstatus.Status `json:"error"`
	}
	if err := json.Unmarshal(data, &want); err != nil || want.Error != nil {
		t.Fatalf("scanEvent read %q, which the decoder reads as %v, %+v", data, err, want.Error)
	}
	if !sameAnswer(got, &want.GenerateContentResponse) {
		t.Fatalf("scanEvent(%q) = %+v, json.Unmarshal %+v", data, got, &want.GenerateContentResponse)
	}
}

// The scan's field lists are the JSON names of the types it fills: a field added to one of them must be
// read (or refused) by the scan too, or the scan would ignore a member the decoder fills.
func TestScanFieldsMatchTypes(t *testing.T) {
	for _, c := range []struct {
		typ    any
		fields []string
	}{
		{gemini.GenerateContentResponse{}, answerFields},
		{gemini.Candidate{}, candidateFields},
		{gemini.Content{}, contentFields},
		{gemini.Part{}, partFields},
		{gemini.UsageMetadata{}, usageFields},
	} {
		var names []string
		rt := reflect.TypeOf(c.typ)
		for i := range rt.NumField() {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			names = append(names, name)
		}
		if !reflect.DeepEqual(names, c.fields) {
			t.Errorf("%s has the JSON fields %q, the scan reads %q", rt.Name(), names, c.fields)
		}
	}
}
