package fakeupstream

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
)

var (
	sseData       = []byte("data: ")
	sseEnd        = []byte("\r\n\r\n") // Google ends each event with CRLF CRLF
	arrayNext     = []byte("\n,\r\n")  // Google's separator between elements of a streamed JSON array
	arrayClose    = []byte("\n]")
	openAIEnd     = []byte("\n\n")
	openAIDone    = []byte("data: [DONE]\n\n")
	contentSSE    = "text/event-stream"
	errClientGone = errors.New("client went away")
)

func (s *Server) serveStream(c *call) {
	g := c.req.(*genRequest)
	if e := validateContents(g.Contents, "GenerateContentRequest"); e != nil {
		s.writeError(c, e)
		return
	}
	evs := newAnswer(c.model, g, c.b).events(s.chunks)
	if c.r.URL.Query().Get("alt") == "sse" {
		s.runStream(c, contentSSE, sseFrames(evs), nil)
		return
	}
	s.runStream(c, contentJSON, arrayFrames(evs), arrayClose)
}

func sseFrames(evs []genResponse) [][]byte {
	frames := make([][]byte, len(evs))
	for i := range evs {
		frames[i] = frame(sseData, &evs[i], sseEnd)
	}
	return frames
}

func arrayFrames(evs []genResponse) [][]byte {
	frames := make([][]byte, len(evs))
	for i := range evs {
		prefix := arrayNext
		if i == 0 {
			prefix = []byte{'['}
		}
		frames[i] = frame(prefix, &evs[i], nil)
	}
	return frames
}

func frame(prefix []byte, v any, suffix []byte) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	out := make([]byte, 0, len(prefix)+len(b)+len(suffix))
	out = append(out, prefix...)
	out = append(out, b...)
	return append(out, suffix...)
}

// runStream sends frames one by one, flushing each, and tail after the last. A client that leaves
// before the end is counted in Cancelled; StreamCut aborts the connection after the first frame.
func (s *Server) runStream(c *call, contentType string, frames [][]byte, tail []byte) {
	ctx := c.r.Context()
	h := c.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Vary", "Origin, X-Origin, Referer")
	c.w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(c.w)
	for i, f := range frames {
		if err := s.sendEvent(ctx, c.w, rc, i, f); err != nil {
			s.cancelled.Add(1)
			return
		}
		if c.b == StreamCut {
			// The idiomatic way to make net/http drop the connection without finishing the response.
			panic(http.ErrAbortHandler)
		}
	}
	if tail != nil && send(c.w, rc, tail) != nil {
		s.cancelled.Add(1)
	}
}

func (s *Server) sendEvent(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController, i int, f []byte) error {
	if i > 0 {
		if !wait(ctx, s.streamInterval) {
			return errClientGone
		}
		if hook := s.hook.Load(); hook != nil {
			(*hook)(ctx, i)
		}
		if ctx.Err() != nil {
			return errClientGone
		}
	}
	return send(w, rc, f)
}

func send(w http.ResponseWriter, rc *http.ResponseController, b []byte) error {
	if _, err := w.Write(b); err != nil {
		return err
	}
	if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
