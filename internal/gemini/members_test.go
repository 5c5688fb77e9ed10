package gemini

import (
	"bytes"
	"encoding/json"
	"testing"
)

var memberCases = []string{
	`{}`,
	` { } `,
	`{"a":1}`,
	`{"contents":[{"parts":[{"text":"}{][\"\\"}]}],"generationConfig":{"temperature":0.3}}`,
	"{\n\t\"a\" :\t\"x\" ,\r\n \"b\": [1, {\"c\": null}], \"d\": true, \"e\": -1.5e3 }",
	`{"a":1,"a":{"b":2}}`,
	`{"safety\u0053ettings":[],"tools":null}`,
	`{"tëxt":"ü","":""}`,
	`{"n":[[],{},[{}]],"s":"\u00e9\n"}`,
	"{\"0\xab\":\"\"}",
	`{"a\\":"\\","b":"\\\"","c\\\\":"x\\\\\\\"y\\\\","d":["\\\\",{"e\"":"\""}]}`,
}

// The scan must see exactly what decoding into map[string]json.RawMessage sees.
func TestMembersMatchDecoding(t *testing.T) {
	for _, c := range memberCases {
		checkMembers(t, []byte(c))
	}
}

func FuzzMembers(f *testing.F) {
	for _, c := range memberCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if IsObject(b) {
			checkMembers(t, b)
		}
	})
}

func checkMembers(t *testing.T, body []byte) {
	t.Helper()
	var want map[string]json.RawMessage
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatalf("%q: %v", body, err)
	}
	got := Object(Members(body, nil))
	names := map[string]bool{}
	for _, m := range got {
		names[m.Name()] = true
	}
	if len(names) != len(want) {
		t.Fatalf("%q: members %v, want %v", body, got, want)
	}
	for name, raw := range want {
		v, ok := got.Get(name)
		if !ok || !bytes.Equal(v, raw) {
			t.Errorf("%q: %q = %q, want %q", body, name, v, raw)
		}
	}
}

// emptyByMaps and usageByStruct are the straightforward decodings the scans replaced; the scans must
// agree with them on every input.
func emptyByMaps(body []byte) bool {
	var resp struct {
		Candidates []struct {
			Content struct {
				Parts []map[string]json.RawMessage `json:"parts"`
			} `json:"content"`
			FinishReason string `json:"finishReason"`
		} `json:"candidates"`
		PromptFeedback *struct {
			BlockReason string `json:"blockReason"`
		} `json:"promptFeedback"`
	}
	if json.Unmarshal(body, &resp) != nil {
		return false
	}
	if resp.PromptFeedback != nil && resp.PromptFeedback.BlockReason != "" {
		return false
	}
	if len(resp.Candidates) == 0 {
		return true
	}
	for _, c := range resp.Candidates {
		if c.FinishReason != "" && c.FinishReason != "STOP" {
			return false
		}
		for _, p := range c.Content.Parts {
			if usefulByMap(p) {
				return false
			}
		}
	}
	return true
}

func usefulByMap(p map[string]json.RawMessage) bool {
	if thought, ok := p["thought"]; ok && string(thought) == "true" {
		return false
	}
	if text, ok := p["text"]; ok {
		var s string
		return json.Unmarshal(text, &s) == nil && s != ""
	}
	for k := range p {
		if k != "thoughtSignature" && k != "thought" {
			return true
		}
	}
	return false
}

func usageByStruct(body []byte) (usageJSON, bool) {
	var v struct {
		UsageMetadata *usageJSON `json:"usageMetadata"`
	}
	if json.Unmarshal(body, &v) != nil || v.UsageMetadata == nil {
		return usageJSON{}, false
	}
	return *v.UsageMetadata, true
}

var answerCases = []string{
	`{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1}}`,
	`{"candidates":[{"content":{"parts":[{"text":""}]},"finishReason":"STOP"}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"x","thought":true}]}}]}`,
	`{"candidates":[{"content":{"parts":[{"thoughtSignature":"abc"},{"thought":false}]}}]}`,
	`{"candidates":[{"content":{"parts":[null,{"functionCall":{"name":"f"}}]}}]}`,
	`{"candidates":[{"content":{"parts":[{"text":null}]}}],"usageMetadata":null}`,
	`{"candidates":[{"content":{"parts":["text"]}}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"\u0000"}]}}]}`,
	`{"candidates":[],"promptFeedback":{"blockReason":"SAFETY"}}`,
	`{"candidates":[{"finishReason":"MAX_TOKENS"}]}`,
	`{"UsageMetadata":{"promptTokenCount":1},"usagemetadata":{"candidatesTokenCount":2}}`,
	`{"usageMetadata":{"promptTokenCount":1},"usageMetadata":null}`,
	`{"usageMetadata":5,"usageMetadata":{"promptTokenCount":1}}`,
	`{"usage\u004detadata":{"thoughtsTokenCount":4}}`,
	`[{"candidates":[]}]`, `null`, `"x"`, `{"candidates":`,
	// shapes the scans answer themselves or hand back to the decoder
	` null `, `{}`, `{"candidates":[]}`, `{"candidates":null,"promptFeedback":null}`, `{"candidates":5}`,
	`{"candidates":[null,{}]}`, `{"candidates":["x"]}`, `{"candidates":[{"content":null,"finishReason":null}]}`,
	`{"candidates":[{"content":[]}]}`, `{"candidates":[{"content":{"parts":{}}}]}`, `{"candidates":[{"finishReason":7}]}`,
	`{"candidates":[{"finishReason":"ST\u004fP"}]}`, `{"candidates":[{"finishReason":""}]}`,
	`{"candidates":[{"content":{"parts":[{"text":""}],"parts":[{"text":"x"}]}}]}`,
	`{"candidates":[{"content":{"parts":[{"text":"x"}]}}],"candidates":[{}]}`,
	`{"Candidates":[{"content":{"parts":[{"text":"x"}]}}]}`, `{"candidate\u0073":[]}`,
	`{"candidates":[{"CONTENT":{"parts":[{"text":"x"}]}}]}`, `{"candidates":[{"content":{"Parts":[{"text":"x"}]}}]}`,
	`{"promptFeedback":{"blockReason":""}}`, `{"promptFeedback":{"blockReason":5}}`, `{"promptFeedback":[]}`,
	`{"promptFeedback":{"blockReason":"SAFETY"},"promptFeedback":{}}`, `{"promptFeedback":{"BlockReason":"X"}}`,
	`{"candidates":[{"content":{"parts":[{"thought":true}]}}],"promptFeedback":{"blockReason":null}}`,
	`{"usageMetadata":{"promptTokenCount":9223372036854775807,"candidatesTokenCount":-9223372036854775808}}`,
	`{"usageMetadata":{"promptTokenCount":9223372036854775808}}`, `{"usageMetadata":{"promptTokenCount":1.0}}`,
	`{"usageMetadata":{"promptTokenCount":1e2}}`, `{"usageMetadata":{"promptTokenCount":"1"}}`,
	`{"usageMetadata":{"PROMPTTOKENCOUNT":4,"promptTokenCount":null,"cachedContentTokenCount":-0}}`,
	`{"usageMetadata":{"promptTokenCount":1},"usageMetadata":{"thoughtsTokenCount":2}}`, `{"usageMetadata":[]}`,
	`{"candidates":[{"content":{"parts":[{"text":"\\","thought\\":1},{"text":"\\\"}]}\\\\"}]}}],"usageMetadata":{"promptTokenCount":2}}`,
}

func TestAnswerScansMatchDecoding(t *testing.T) {
	for _, c := range answerCases {
		checkAnswer(t, []byte(c))
	}
}

func FuzzAnswerScans(f *testing.F) {
	for _, c := range answerCases {
		f.Add([]byte(c))
	}
	f.Fuzz(checkAnswer)
}

func checkAnswer(t *testing.T, body []byte) {
	if got, want := IsEmptyAnswer(body), emptyByMaps(body); got != want {
		t.Errorf("IsEmptyAnswer(%q) = %v, want %v", body, got, want)
	}
	u, ok := UsageOf(body)
	want, wantOK := usageByStruct(body)
	if ok != wantOK || (ok && u != want.usage()) {
		t.Errorf("UsageOf(%q) = %+v %v, want %+v %v", body, u, ok, want, wantOK)
	}
	if !json.Valid(body) {
		return
	}
	if got, want := IsEmptyValidAnswer(body), emptyByMaps(body); got != want {
		t.Errorf("IsEmptyValidAnswer(%q) = %v, want %v", body, got, want)
	}
	if u, ok := UsageOfValid(body); ok != wantOK || (ok && u != want.usage()) {
		t.Errorf("UsageOfValid(%q) = %+v %v, want %+v %v", body, u, ok, want, wantOK)
	}
}

// UnquoteString agrees with json.Unmarshal on any input, its shortcut included.
func FuzzUnquoteString(f *testing.F) {
	for _, c := range []string{`"plain"`, `""`, `"a\"b"`, `"\u00e9"`, "\"tab\there\"", "\"\xff\"", `"a"b"`, ` "x"`, `5`, `"`, `null`, `"héllo"`} {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := UnquoteString(raw)
		var want string
		wantErr := json.Unmarshal(raw, &want)
		if (err != nil) != (wantErr != nil) || got != want {
			t.Errorf("UnquoteString(%q) = %q, %v; json.Unmarshal: %q, %v", raw, got, err, want, wantErr)
		}
	})
}
