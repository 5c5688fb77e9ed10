package jsonvalid

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cases are inputs whose verdict is easy to get wrong; each is checked against json.Valid.
var cases = []string{
	``, ` `, `{}`, `[]`, ` {} `, `{`, `}`, `[`, `]`, `{]`, `[}`, `[1,]`, `{"a":1,}`, `{,}`, `[,1]`,
	`{"a"}`, `{"a":}`, `{"a" : 1 , "b" : [ 1 , 2 ] }`, `{1:2}`, `{"a":1 "b":2}`, `[1 2]`, `{"a":1}}`, `[[]]]`,
	`0`, `-0`, `-`, `01`, `-01`, `1.`, `1.5`, `.5`, `1e`, `1e5`, `1E+5`, `1e-05`, `1.5e+`, `+1`, `0x1`, `1 2`,
	`123456789012345678901234567890`, `1.0e400`, `-1.25E-3`, `0.`, `0e`, `0e1`, `-e1`,
	`true`, `false`, `null`, `tru`, `nul`, `truex`, `true1`, `nulll`, `True`, `NULL`, `[true,false,null]`,
	`""`, `"a"`, `"`, `"a`, `"\"`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\x"`, `"\u00e9"`, `"\u00E9"`, `"\u00g9"`,
	`"\u12"`, `"\u"`, `"\ud800"`, `"\ud800\udc00"`, "\"a\tb\"", "\"a\nb\"", "\"\x00\"", "\"\x1f\"", "\"\x7f\"",
	"\"\xff\xfe\"", "\"é\"", "\xef\xbb\xbf{}", "{}\x00", "\t\n\r {}\t\n\r", "\v{}", "\f{}",
	`{"candidates":[{"content":{"parts":[{"text":"hi"}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":3}}`,
	strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
	strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
	strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth),
	strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1),
	strings.Repeat("[", maxDepth+1),
	strings.Repeat("[", 70) + strings.Repeat(`{"a":[`, 30) + strings.Repeat("]}", 30) + strings.Repeat("]", 70),
	strings.Repeat("[", 70) + strings.Repeat(`{"a":[`, 30) + strings.Repeat("]}", 30) + strings.Repeat("}", 70),
}

func TestValidAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range cases {
		if got, want := Valid([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("Valid(%.60q) = %v, json.Valid says %v", c, got, want)
		}
	}
}

// The repository's JSON test data (requests, answers, streams' events) are each judged alike.
func TestValidAgreesOnTestdata(t *testing.T) {
	files, _ := filepath.Glob("../*/testdata/*.json")
	if len(files) == 0 {
		t.Skip("no testdata")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range [][]byte{b, b[:len(b)/2], b[len(b)/3:]} {
			if got, want := Valid(in), json.Valid(in); got != want {
				t.Errorf("%s (%d bytes): Valid = %v, json.Valid = %v", f, len(in), got, want)
			}
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

var answer = []byte(`{"candidates":[{"content":{"parts":[{"text":"Hello! I am doing well, thank you for asking. How can I help you today?"}],"role":"model"},"finishReason":"STOP","index":0,"safetyRatings":[{"category":"HARM_CATEGORY_SEXUALLY_EXPLICIT","probability":"NEGLIGIBLE"},{"category":"HARM_CATEGORY_HATE_SPEECH","probability":"NEGLIGIBLE"}]}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":18,"totalTokenCount":27,"promptTokensDetails":[{"modality":"TEXT","tokenCount":9}]},"modelVersion":"gemini-2.5-flash","responseId":"abc123"}`)

func BenchmarkValid(b *testing.B) {
	b.SetBytes(int64(len(answer)))
	for b.Loop() {
		_ = Valid(answer)
	}
}

func BenchmarkEncodingJSONValid(b *testing.B) {
	b.SetBytes(int64(len(answer)))
	for b.Loop() {
		_ = json.Valid(answer)
	}
}
