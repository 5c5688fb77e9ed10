package translate

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// SSEWriter writes a server-sent event stream one event at a time, flushing each, so every event
// leaves as soon as it is written. The headers go out with the first event; until then the answer can
// still be an HTTP error.
type SSEWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	buf     bytes.Buffer
	enc     *json.Encoder
	end     string
	started bool
}

// NewSSEWriter writes to w, ending each event with "\n\n".
func NewSSEWriter(w http.ResponseWriter) *SSEWriter {
	return &SSEWriter{w: w, rc: http.NewResponseController(w), end: "\n\n"}
}

// GoogleFraming ends events with "\r\n\r\n", as Google ends its own.
func (s *SSEWriter) GoogleFraming() *SSEWriter {
	s.end = "\r\n\r\n"
	return s
}

// Started reports whether anything was sent.
func (s *SSEWriter) Started() bool { return s.started }

// Begin sends the headers. nginx and similar proxies buffer responses unless told not to.
func (s *SSEWriter) Begin() {
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

// Event writes v as JSON, under an "event:" line when name is set; false means the client is gone.
func (s *SSEWriter) Event(name string, v any) bool {
	if s.enc == nil { // made at the first use: writers given encoded events (EventData) need none
		s.enc = json.NewEncoder(&s.buf)
		s.enc.SetEscapeHTML(false)
	}
	s.head(name)
	if err := s.enc.Encode(v); err != nil {
		return false
	}
	s.buf.Truncate(s.buf.Len() - 1) // the encoder's newline
	return s.flush()
}

// EventData writes an event whose data is JSON already encoded (one line), as Event does.
func (s *SSEWriter) EventData(name string, data []byte) bool {
	s.head(name)
	s.buf.Write(data)
	return s.flush()
}

func (s *SSEWriter) head(name string) {
	s.buf.Reset()
	if name != "" {
		s.buf.WriteString("event: ")
		s.buf.WriteString(name)
		s.buf.WriteByte('\n')
	}
	s.buf.WriteString("data: ")
}

// Data writes an event whose data is raw.
func (s *SSEWriter) Data(raw []byte) bool {
	s.buf.Reset()
	s.buf.WriteString("data: ")
	s.buf.Write(raw)
	return s.flush()
}

// Comment writes an SSE comment, which OpenAI's SDKs (openai-go, openai-python) and browsers skip: a
// keep-alive that cannot be mistaken for an event. Google's genai SDKs do not skip comments.
func (s *SSEWriter) Comment(text string) bool {
	s.buf.Reset()
	s.buf.WriteString(": ")
	s.buf.WriteString(text)
	return s.flush()
}

func (s *SSEWriter) flush() bool {
	s.Begin()
	s.buf.WriteString(s.end)
	if _, err := s.w.Write(s.buf.Bytes()); err != nil {
		return false
	}
	return s.rc.Flush() == nil
}
