package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gemgate/gemgate/internal/pace"
	"github.com/gemgate/gemgate/internal/translate"
)

// sseWriter writes OpenAI's event stream: "data: <json>\n\n" events, flushed one by one.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	ctx     context.Context
	pace    pace.Pacer
	buf     bytes.Buffer
	enc     *json.Encoder
	started bool
}

func newSSEWriter(w http.ResponseWriter, ctx context.Context, p pace.Pacer) *sseWriter {
	s := &sseWriter{w: w, rc: http.NewResponseController(w), ctx: ctx, pace: p}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false)
	return s
}

// begin sends the headers. nginx and similar proxies buffer responses unless told not to.
func (s *sseWriter) begin() {
	if s.started {
		return
	}
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	s.w.WriteHeader(http.StatusOK)
}

// send writes a chunk, paced when the optimizer is on; false means the client is gone.
func (s *sseWriter) send(c *chatChunk) bool {
	if text, ok := s.paceable(c); ok {
		return s.sendPaced(c, text)
	}
	return s.data(c)
}

// paceable reports a chunk that is one choice's text and nothing else.
func (s *sseWriter) paceable(c *chatChunk) (string, bool) {
	if !s.pace.Enabled || len(c.Choices) != 1 {
		return "", false
	}
	d := c.Choices[0].Delta
	if d.Content == nil || *d.Content == "" || d.ReasoningContent != nil || len(d.ToolCalls) > 0 || d.Role != "" ||
		c.Choices[0].FinishReason != nil || c.Choices[0].Logprobs != nil {
		return "", false
	}
	return *d.Content, true
}

func (s *sseWriter) sendPaced(c *chatChunk, text string) bool {
	pieces := s.pace.Pieces(text)
	pause := s.pace.Delay(utf8.RuneCountInString(text))
	piece := *c
	choice := c.Choices[0]
	piece.Choices = []chunkChoice{choice}
	for i, p := range pieces {
		if i > 0 && !s.sleep(pause) {
			return false
		}
		piece.Choices[0].Delta.Content = &p
		if !s.data(&piece) {
			return false
		}
	}
	return true
}

func (s *sseWriter) sleep(d time.Duration) bool { return pace.Sleep(s.ctx, d) }

// data writes one event.
func (s *sseWriter) data(v any) bool {
	s.begin()
	s.buf.Reset()
	s.buf.WriteString("data: ")
	if err := s.enc.Encode(v); err != nil {
		return false
	}
	s.buf.WriteByte('\n')
	return s.flush()
}

// comment writes an SSE comment, which every SSE client (openai-go, openai-python, browsers) skips: a
// keep-alive that cannot be mistaken for a chunk.
func (s *sseWriter) comment(text string) bool {
	s.begin()
	s.buf.Reset()
	s.buf.WriteString(": ")
	s.buf.WriteString(text)
	s.buf.WriteString("\n\n")
	return s.flush()
}

func (s *sseWriter) done() bool {
	s.begin()
	s.buf.Reset()
	s.buf.WriteString("data: [DONE]\n\n")
	return s.flush()
}

func (s *sseWriter) flush() bool {
	if _, err := s.w.Write(s.buf.Bytes()); err != nil {
		return false
	}
	return s.rc.Flush() == nil
}

// fail ends a stream that broke after it started: an error event in OpenAI's shape, then [DONE], so a
// client can tell a cut answer from a complete one. Nothing already sent is repeated.
func (s *sseWriter) fail(e ErrorBody) {
	if s.data(struct {
		Error ErrorBody `json:"error"`
	}{e}) {
		s.done()
	}
}

// finish sends the end of an answer: finish reasons, the usage chunk when asked for, [DONE].
func (s *sseWriter) finish(st *streamTranslator, includeUsage bool) {
	for _, c := range st.finish() {
		if !s.send(c) {
			return
		}
	}
	if includeUsage && !s.send(st.usageChunk()) {
		return
	}
	s.done()
}

// streamBreak describes an upstream stream that failed mid-way.
func streamBreak(err error) ErrorBody {
	code := "upstream_stream_broken"
	return ErrorBody{Message: translate.StreamBreak(err), Type: TypeServer, Code: &code}
}
