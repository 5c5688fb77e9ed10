package native

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/gemgate/gemgate/internal/gemini"
	"github.com/gemgate/gemgate/internal/reqlog"
	"github.com/gemgate/gemgate/internal/rpcstatus"
	"github.com/gemgate/gemgate/internal/upstream"
)

// relayBufferSize bounds one read of a stream. An open stream holds its buffer for as long as it
// lasts, so the size is memory per open stream; a larger event simply takes more than one read.
const relayBufferSize = 4 << 10

var relayBuffers = sync.Pool{New: func() any {
	b := make([]byte, relayBufferSize)
	return &b
}}

// relayStream copies a stream to the client read by read, flushing each one, so every event leaves as
// soon as Google sends it. A client that goes away ends the copy, and closing the upstream body cancels
// the upstream call.
func relayStream(w http.ResponseWriter, r *http.Request, resp *upstream.Response) {
	defer resp.Stream.Close()
	ct := resp.Header.Get("Content-Type")
	sse := strings.HasPrefix(ct, "text/event-stream")
	if ct == "" {
		ct = "application/json; charset=UTF-8"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx in front of gemgate must not buffer the stream either
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
	msg := "The upstream stream broke off: " + cause.Error()
	if errors.Is(cause, io.ErrUnexpectedEOF) {
		msg = "The upstream stream ended unexpectedly."
	}
	body, _ := json.Marshal(struct {
		Error rpcstatus.Status `json:"error"`
	}{rpcstatus.Status{Code: http.StatusBadGateway, Status: "UNAVAILABLE", Message: msg}})
	_, _ = w.Write([]byte("data: "))
	_, _ = w.Write(body)
	_, _ = w.Write([]byte("\r\n\r\n"))
	_ = rc.Flush()
}
