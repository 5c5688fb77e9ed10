package gemini

import (
	"strings"
	"testing"

	"github.com/gemgate/gemgate/internal/reqlog"
)

const answer = `{"candidates":[{"content":{"parts":[{"text":"a \"usageMetadata\": {\"promptTokenCount\": 999} trap"},
{"functionCall":{"name":"f","args":{"usageMetadata":{"promptTokenCount":777}}}}],"role":"model"},"finishReason":"STOP"}],
"usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 34, "thoughtsTokenCount": 5, "cachedContentTokenCount": 2,
"totalTokenCount": 51, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 12}]}, "modelVersion": "gemini-2.5-flash"}`

var answerUsage = reqlog.Usage{Prompt: 12, Output: 34, Thoughts: 5, Cached: 2}

func TestUsageOf(t *testing.T) {
	if u, ok := UsageOf([]byte(answer)); !ok || u != answerUsage {
		t.Fatalf("UsageOf = %+v, %v", u, ok)
	}
	for _, body := range []string{`{"candidates":[]}`, `{"usageMetadata":null}`, `not json`, ``, `[{"usageMetadata":{}}]`} {
		if u, ok := UsageOf([]byte(body)); ok {
			t.Errorf("UsageOf(%q) = %+v, true", body, u)
		}
	}
}

func TestUsageScanner(t *testing.T) {
	event := func(text string, usage string) string {
		s := `{"candidates":[{"content":{"parts":[{"text":` + text + `}],"role":"model"}}]`
		if usage != "" {
			s += `,"usageMetadata":` + usage
		}
		return s + `,"modelVersion":"m"}`
	}
	sse := "data: " + event(`"Hel"`, `{"promptTokenCount":12,"candidatesTokenCount":1}`) + "\r\n\r\n" +
		"data: " + event(`"lo \"usageMetadata\":{\"promptTokenCount\":5} {"`, "") + "\r\n\r\n" +
		"data: " + strings.ReplaceAll(answer, "\n", "") + "\r\n\r\n"
	array := "[" + event(`"Hel"`, `{"promptTokenCount":1}`) + ",\r\n" + answer + "\n,\r\n" + event(`"!"`, "null") + "]"
	for name, stream := range map[string]string{"sse": sse, "array": array, "object": answer} {
		for _, chunk := range []int{1, 2, 7, 64, len(stream)} {
			var s UsageScanner
			for i := 0; i < len(stream); i += chunk {
				n, err := s.Write([]byte(stream[i:min(i+chunk, len(stream))]))
				if err != nil || n != min(chunk, len(stream)-i) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if u, ok := s.Usage(); !ok || u != answerUsage {
				t.Errorf("%s in chunks of %d: %+v, %v", name, chunk, u, ok)
			}
		}
	}
	var none UsageScanner
	_, _ = none.Write([]byte("data: " + event(`"x"`, "") + "\r\n\r\n"))
	if _, ok := none.Usage(); ok {
		t.Error("found usage in a stream without any")
	}
}

func BenchmarkUsageScanner(b *testing.B) {
	body := []byte("data: " + strings.ReplaceAll(answer, "\n", "") + "\r\n\r\n")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var s UsageScanner
		_, _ = s.Write(body)
	}
}
