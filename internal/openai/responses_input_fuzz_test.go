package openai

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

var shortInputs = []string{
	`[{"role":"user","content":"Hello there"}]`,
	`[{"type":"message","role":"user","content":"a"},{"role":"assistant","content":"b","id":"msg_1"}]`,
	`[{"role":"user","content":null}]`, `[{"role":"user"}]`, `[]`, `[{"role":"","content":"x"}]`,
	`[{"role":"user","content":[{"type":"input_text","text":"x"}]}]`,
	`[{"role":"user","content":"a","role":"system"}]`, `[{"Role":"user","content":"a"}]`,
	`[{"ro\u006ce":"user","content":"a"}]`, `[{"role":"user","content":"\u00e9","extra":[1,{"a":null}]}]`,
	`[{"type":"function_call","call_id":"c","name":"f","arguments":"{}"}]`, `[{"type":"reasoning","id":"rs_1"}]`,
	`[{"role":5,"content":"a"}]`, `[{"role":"user","content":"a","type":null}]`, `[null]`, `["x"]`, `[1]`,
	`[{"role":"user","content":"a","id":7}]`, `[{"role":"user","content":{"a":1}}]`,
}

func TestShortMessagesMatchDecoding(t *testing.T) {
	for _, c := range shortInputs {
		checkShortMessages(t, []byte(c))
	}
	if _, ok := shortMessages([]byte(shortInputs[0]), nil); !ok {
		t.Fatal("a one-message input is not read in place")
	}
}

// FuzzShortMessages: where shortMessages reads an input, decoding it into items reads the same messages.
func FuzzShortMessages(f *testing.F) {
	for _, c := range shortInputs {
		f.Add([]byte(c))
	}
	f.Fuzz(checkShortMessages)
}

func checkShortMessages(t *testing.T, input []byte) {
	if !json.Valid(input) {
		return
	}
	got, ok := shortMessages(input, nil)
	if !ok {
		return
	}
	var items []inputItem
	err := json.Unmarshal(input, &items)
	if err != nil {
		t.Fatalf("shortMessages read %q, which the decoder refuses: %v", input, err)
	}
	var want []chatMessage
	signature := ""
	for i := range items {
		if want, err = itemMessages(want, &items[i], i, &signature); err != nil {
			t.Fatalf("shortMessages read %q, which itemMessages refuses: %v", input, err)
		}
	}
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("shortMessages(%q) = %+v, decoded %+v", input, got, want)
	}
}

// inputItemFields are inputItem's JSON names: a field added to inputItem must be refused (or read) by
// shortMessages too.
func TestInputItemFields(t *testing.T) {
	var names []string
	rt := reflect.TypeOf(inputItem{})
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	if !reflect.DeepEqual(names, inputItemFields) {
		t.Fatalf("inputItem has the JSON fields %q, shortMessages knows %q", names, inputItemFields)
	}
}
