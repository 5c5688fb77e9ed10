package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/pace"
	"github.com/gemgate/gemgate/internal/translate"
)

// stream200 is a 200-event answer as Google streams it: thoughts first, text deltas of about 60
// characters, usage on the last event.
func stream200() []byte {
	var buf bytes.Buffer
	for i := range 200 {
		parts := []map[string]any{{"text": fmt.Sprintf("This is delta number %03d of the streamed answer, quite usual. ", i)}}
		if i < 3 {
			parts = []map[string]any{{"text": "Thinking about the question. ", "thought": true}}
		}
		ev := map[string]any{"candidates": []map[string]any{{"content": map[string]any{"role": "model", "parts": parts}, "index": 0}},
			"modelVersion": "gemini-2.5-flash", "responseId": "resp-0123456789"}
		if i == 199 {
			ev["candidates"].([]map[string]any)[0]["finishReason"] = "STOP"
			ev["usageMetadata"] = map[string]any{"promptTokenCount": 100, "candidatesTokenCount": 3000, "totalTokenCount": 3200, "thoughtsTokenCount": 100}
		}
		b, _ := json.Marshal(ev)
		buf.WriteString("data: ")
		buf.Write(b)
		buf.WriteString("\r\n\r\n")
	}
	return buf.Bytes()
}

// chatDiscardWriter is a client that takes everything at once.
type chatDiscardWriter struct {
	h http.Header
	n int
}

func (d *chatDiscardWriter) Header() http.Header         { return d.h }
func (d *chatDiscardWriter) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
func (d *chatDiscardWriter) WriteHeader(int)             {}
func (d *chatDiscardWriter) Flush()                      {}

// BenchmarkTranslateStream200 is the stream side of a chat call: read 200 upstream SSE events and
// write them as OpenAI chunks, flushing each.
func BenchmarkTranslateStream200(b *testing.B) {
	body := stream200()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		w := &chatDiscardWriter{h: http.Header{}}
		o := testAnswerOptions(1)
		relayChat(context.Background(), w, bytes.NewReader(body), o, true, pace.Pacer{})
		if w.n == 0 {
			b.Fatal("nothing written")
		}
	}
}

// BenchmarkResponsesStream200 is the stream side of a Responses call: the 200 events of stream200
// (thoughts shown, so a reasoning item and a message) written as Responses events.
func BenchmarkResponsesStream200(b *testing.B) {
	var events []*gemini.GenerateContentResponse
	for data := range bytes.SplitSeq(bytes.TrimSpace(stream200()), []byte("\r\n\r\n")) {
		ev, err := translate.DecodeEvent(bytes.TrimPrefix(data, []byte("data: ")))
		if err != nil || ev == nil {
			b.Fatal("bad event", err)
		}
		events = append(events, ev)
	}
	req := &responsesRequest{Model: "gemini-2.5-flash", Stream: true}
	b.ReportAllocs()
	for b.Loop() {
		w := &chatDiscardWriter{h: http.Header{}}
		s := &responseSink{ra: newResponseAnswer(req, false, true), out: translate.NewSSEWriter(w), w: w}
		for _, ev := range events {
			s.Answer(translate.Item{Resp: ev})
		}
		s.End()
		if w.n == 0 {
			b.Fatal("nothing written")
		}
	}
}
