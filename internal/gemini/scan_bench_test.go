package gemini

import (
	"strings"
	"testing"
)

// The answers every non-streamed native call is checked on: gemgate-bench's (the fake's echo) and a
// longer one with a thought and a page of text.
var benchAnswers = map[string][]byte{
	"short": []byte(`{"candidates":[{"content":{"parts":[{"text":"echo: Hello there, how are you today?"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":10,"totalTokenCount":18,"promptTokensDetails":[{"modality":"TEXT","tokenCount":8}]},"modelVersion":"gemini-2.5-flash","responseId":"yyoT5MKlFweoifgIZCOH3SA"}`),
	"long": []byte(`{"candidates":[{"content":{"parts":[{"text":"` + strings.Repeat(`Thinking about \"it\", step by step. `, 20) +
		`","thought":true},{"text":"` + strings.Repeat(`Here is a line of the answer, with a quote \" and a tab\t. `, 40) +
		`"}],"role":"model"},"finishReason":"STOP","index":0,"safetyRatings":[{"category":"HARM_CATEGORY_HATE_SPEECH","probability":"NEGLIGIBLE"}]}],"usageMetadata":{"promptTokenCount":80,"candidatesTokenCount":400,"thoughtsTokenCount":120,"totalTokenCount":600},"modelVersion":"gemini-2.5-pro","responseId":"abcdefghijklmnop"}`),
}

// BenchmarkAnswerScans is what the native path reads of an answer the executor validated: whether it
// is empty, and its usage.
func BenchmarkAnswerScans(b *testing.B) {
	for _, name := range []string{"short", "long"} {
		body := benchAnswers[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if IsEmptyValidAnswer(body) {
					b.Fatal("empty")
				}
				if _, ok := UsageOfValid(body); !ok {
					b.Fatal("no usage")
				}
			}
		})
	}
}
