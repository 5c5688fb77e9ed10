package native

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"

	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/translate"
	"github.com/gemgate/gemgate/internal/upstream"
)

// relayBufferSize bounds one read of a stream. An open stream holds its buffer for as long as it
// lasts, so the size is memory per open stream; a larger event simply takes more than one read.
const relayBufferSize = 4 << 10

// Shared header values: replaced, never written in place.
var (
	noCache     = []string{"no-cache"}
	noBuffering = []string{"no"}
)

var relayBuffers = sync.Pool{New: func() any {
	b := make([]byte, relayBufferSize)
	return &b
}}

// relayStream copies a stream to the client read by read, flushing each one, so every event leaves as
// soon as Google sends it. A client that goes away ends the copy, and closing the upstream body cancels
// the upstream call.
func relayStream(w http.ResponseWriter, r *http.Request, resp *upstream.Response) {
	defer resp.Stream.Close()
	// The values are upstream's slice and shared ones, as in writeBody: Header.Set allocates one each.
	ct := resp.Header["Content-Type"]
	if len(ct) == 0 || ct[0] == "" {
		ct = jsonContentType
	} else if len(ct) > 1 {
		ct = ct[:1:1]
	}
	sse := strings.HasPrefix(ct[0], "text/event-stream")
	h := w.Header()
	h["Content-Type"] = ct
	h["Cache-Control"] = noCache
	h["X-Accel-Buffering"] = noBuffering // nginx in front of gemgate must not buffer the stream either
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	bp := relayBuffers.Get().(*[]byte)
	defer relayBuffers.Put(bp)
	buf := *bp
	var usage *gemini.UsageScanner
	if reqlog.From(r.Context()) != nil {
		usage = &gemini.UsageScanner{}
		defer func() {
			if u, ok := usage.Usage(); ok {
				reqlog.SetUsage(r.Context(), u)
			}
		}()
	}
	for {
		n, err := resp.Stream.Read(buf)
		if n > 0 && usage != nil {
			_, _ = usage.Write(buf[:n])
		}
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		}
		if err == nil {
			continue
		}
		if err != io.EOF && r.Context().Err() == nil && sse {
			writeStreamError(w, rc, err)
		}
		return
	}
}

// writeStreamError ends an SSE stream that broke after its first byte with an error event in Google's
// envelope, so a client can tell a cut answer from a complete one. Retrying is no longer possible: the
// client already has part of the answer.
func writeStreamError(w http.ResponseWriter, rc *http.ResponseController, cause error) {
	body, _ := json.Marshal(streamError(cause))
	_, _ = w.Write([]byte("data: "))
	_, _ = w.Write(body)
	_, _ = w.Write([]byte("\r\n\r\n"))
	_ = rc.Flush()
}

// streamError is the error event of a stream that failed after it started: Google's own error event
// as it came, or gemgate's account of the failure in Google's envelope.
func streamError(err error) any {
	var uf *translate.UpstreamFailure
	if errors.As(err, &uf) {
		return struct {
			Error rpcstatus.Status `json:"error"`
		}{uf.Status}
	}
	f := translate.Describe(err)
	st := rpcstatus.Status{Code: f.Status, Status: f.Code, Message: f.Message}
	if st.Status == "" {
		st.Status = "UNAVAILABLE"
	}
	return struct {
		Error rpcstatus.Status `json:"error"`
	}{st}
}

// streamEdited serves an SSE stream that the settings change (fake streaming, pacing, search sources)
// through the stream relay every API shares: Google's events go on as they came, only cut into paced
// pieces or given the sources, and a fake stream's wait is filled with empty text events, which the
// genai SDKs (unlike SSE comments) read as nothing.
func streamEdited(w http.ResponseWriter, r *http.Request, exec *upstream.Executor, call upstream.Call, st translate.StreamSettings, sources bool) {
	call.Path = strings.TrimSuffix(call.Path, ":streamGenerateContent") + ":generateContent"
	call.Query = maps.Clone(call.Query)
	call.Query.Del("alt") // the relay asks for SSE itself, and a fake stream for one JSON answer
	if !st.Fake {
		st.Heartbeat = 0 // Google's own stream passes as it comes
	}
	translate.Stream(r.Context(), exec, call, st, &streamSink{w: w, out: translate.NewSSEWriter(w).GoogleFraming(), sources: sources})
}

// keepAlive is an event with one empty text part: clients print nothing for it.
var keepAlive = []byte(`{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"index":0}]}`)

// streamSink writes Google's own events in Google's framing.
type streamSink struct {
	w       http.ResponseWriter
	out     *translate.SSEWriter
	sources bool
}

// Open sends the headers at once, as a relayed stream does.
func (s *streamSink) Open() bool {
	s.out.Begin()
	return true
}

func (s *streamSink) Answer(it translate.Item) bool {
	if s.sources {
		return s.out.Data(withSources(it.Raw))
	}
	return s.out.Data(it.Raw)
}

func (s *streamSink) Beat() bool { return s.out.Data(keepAlive) }

func (s *streamSink) End() { s.out.Begin() }

// Fail answers with Google's status and error while nothing is sent, else with an error event.
func (s *streamSink) Fail(err error) {
	var refused *translate.Refused
	switch {
	case s.out.Started():
		s.out.Event("", streamError(err))
	case errors.As(err, &refused):
		writeBody(s.w, refused.Resp)
	default:
		upstream.WriteError(s.w, err)
	}
}
