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
// (thoughts shown, so a reasoning item and a message) written as Responses events, by the append
// encoder and by the encoders it replaced (responses_reference_test.go).
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
	sinks := map[string]func(w http.ResponseWriter) translate.Sink{
		"append": func(w http.ResponseWriter) translate.Sink {
			return newResponseSink(w, newResponseAnswer(req, false, true))
		},
		"reference": func(w http.ResponseWriter) translate.Sink {
			return &refSink{ra: newRefAnswer(req, false, true), out: translate.NewSSEWriter(w), w: w}
		},
	}
	for _, name := range []string{"append", "reference"} {
		b.Run("encoder="+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := &chatDiscardWriter{h: http.Header{}}
				s := sinks[name](w)
				for _, ev := range events {
					s.Answer(translate.Item{Resp: ev})
				}
				s.End()
				if w.n == 0 {
					b.Fatal("nothing written")
				}
			}
		})
	}
}

// BenchmarkResponsesAnswer is the answer side of a non-streamed Responses call: the usual answer
// (thoughts, text, usage) as a Response object, by the append encoder and by the encoders it replaced.
func BenchmarkResponsesAnswer(b *testing.B) {
	answer := &gemini.GenerateContentResponse{
		Candidates: []gemini.Candidate{{FinishReason: "STOP", Content: &gemini.Content{Role: "model", Parts: []gemini.Part{
			{Text: "The user greets me; answer kindly.", Thought: true}, {Text: "Hello! I am well, thank you. How can I help you today?"},
		}}}},
		UsageMetadata: &gemini.UsageMetadata{PromptTokenCount: 9, CandidatesTokenCount: 14, ThoughtsTokenCount: 30, TotalTokenCount: 53},
	}
	temp := 0.3
	req := &responsesRequest{Model: "gemini-2.5-flash", Temperature: &temp}
	b.Run("encoder=append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := &chatDiscardWriter{h: http.Header{}}
			ra := newResponseAnswer(req, false, true)
			ra.blocks.Whole(answer)
			status := ra.finalStatus()
			translate.WriteAppended(w, func(b []byte) []byte { return ra.appendObject(b, status, nil) })
		}
	})
	b.Run("encoder=reference", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := &chatDiscardWriter{h: http.Header{}}
			ra := newRefAnswer(req, false, true)
			ra.blocks.Whole(answer)
			writeChatJSON(w, ra.object(ra.finalStatus()))
		}
	})
}
