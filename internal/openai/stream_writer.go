package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/translate"
)

// pacer is the stream optimizer (reference §9.7): it re-cuts text deltas into small pieces sent with a
// short pause, for a typewriter effect. Its parameters come from the request's settings snapshot, so a
// change in the admin panel applies to the next request (the reference read them once at start).
type pacer struct {
	enabled            bool
	minDelay, maxDelay time.Duration
	short, long, size  int
}

func newPacer(snap *config.Snapshot) pacer {
	return pacer{
		enabled:  config.StreamOptimizerEnabled.Get(snap),
		minDelay: seconds(config.StreamMinDelay.Get(snap)),
		maxDelay: seconds(config.StreamMaxDelay.Get(snap)),
		short:    max(config.StreamShortTextThreshold.Get(snap), 1),
		long:     max(config.StreamLongTextThreshold.Get(snap), 1),
		size:     max(config.StreamChunkSize.Get(snap), 1),
	}
}

func seconds(s float64) time.Duration {
	if s <= 0 || math.IsNaN(s) {
		return 0
	}
	return time.Duration(min(s, 10) * float64(time.Second))
}

// delay is the pause between pieces of a text of n characters: the longest for short texts, the
// shortest for long ones, interpolated logarithmically in between.
func (p pacer) delay(n int) time.Duration {
	switch {
	case n <= p.short:
		return p.maxDelay
	case n >= p.long || p.long <= p.short:
		return p.minDelay
	}
	frac := math.Log(float64(n)/float64(p.short)) / math.Log(float64(p.long)/float64(p.short))
	return p.maxDelay - time.Duration(frac*float64(p.maxDelay-p.minDelay))
}

// pieces cuts text into characters, or into size-character pieces when it is long.
func (p pacer) pieces(text string) []string {
	n := utf8.RuneCountInString(text)
	step := 1
	if n >= p.long {
		step = p.size
	}
	out := make([]string, 0, n/step+1)
	for len(text) > 0 {
		end, count := 0, 0
		for end < len(text) && count < step {
			_, w := utf8.DecodeRuneInString(text[end:])
			end += w
			count++
		}
		out = append(out, text[:end])
		text = text[end:]
	}
	return out
}

// sseWriter writes OpenAI's event stream: "data: <json>\n\n" events, flushed one by one.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	ctx     context.Context
	pace    pacer
	buf     bytes.Buffer
	enc     *json.Encoder
	started bool
}

func newSSEWriter(w http.ResponseWriter, ctx context.Context, pace pacer) *sseWriter {
	s := &sseWriter{w: w, rc: http.NewResponseController(w), ctx: ctx, pace: pace}
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
	if !s.pace.enabled || len(c.Choices) != 1 {
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
	pieces := s.pace.pieces(text)
	pause := s.pace.delay(utf8.RuneCountInString(text))
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

func (s *sseWriter) sleep(d time.Duration) bool {
	if d <= 0 {
		return s.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

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
