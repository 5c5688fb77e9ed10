package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gemgate/gemgate/internal/auth"
	"github.com/gemgate/gemgate/internal/config"
	"github.com/gemgate/gemgate/internal/models"
	"github.com/gemgate/gemgate/internal/upstream"
)

// The pass-through relays requests to Google's own OpenAI-compatible endpoint ({BASE_URL}/openai/...)
// through the key pool. Bodies go out exactly as the client sent them: unlike the reference, no
// defaults are injected and no fields are dropped, so whatever Google's endpoint supports works.

func (h *Handler) passthroughModels(w http.ResponseWriter, r *http.Request) {
	resp, err := h.Exec.Do(r.Context(), upstream.Call{Method: http.MethodGet, Path: "openai/models", Bearer: true})
	if g := auth.GrantFrom(r.Context()); g != nil && err == nil && resp.StatusCode == http.StatusOK {
		resp.Body = allowedCompatModels(h.Settings(), resp.Body, g.Lists)
	}
	relayAnswer(w, resp, err)
}

// allowedCompatModels keeps the entries of Google's OpenAI-compatible model list that the token may
// use; a list it cannot read is sent on as it came.
func allowedCompatModels(snap *config.Snapshot, body []byte, allow func(...string) bool) []byte {
	var list map[string]json.RawMessage
	var data []map[string]json.RawMessage
	if json.Unmarshal(body, &list) != nil || json.Unmarshal(list["data"], &data) != nil {
		return body
	}
	kept := make([]map[string]json.RawMessage, 0, len(data))
	for _, m := range data {
		var id string
		_ = json.Unmarshal(m["id"], &id)
		if models.Listed(snap, strings.TrimPrefix(id, "models/"), allow) {
			kept = append(kept, m)
		}
	}
	enc, err := json.Marshal(kept)
	if err != nil {
		return body
	}
	list["data"] = enc
	out, err := json.Marshal(list)
	if err != nil {
		return body
	}
	return out
}

func (h *Handler) passthroughEmbeddings(w http.ResponseWriter, r *http.Request) {
	h.passthroughPost(w, r, "openai/embeddings")
}

func (h *Handler) passthroughChat(w http.ResponseWriter, r *http.Request) {
	h.passthroughPost(w, r, "openai/chat/completions")
}

func (h *Handler) passthroughPost(w http.ResponseWriter, r *http.Request, path string) {
	body, ok := readClientBody(w, r, h.Settings())
	if !ok {
		return
	}
	var head struct {
		Model  string          `json:"model"`
		Stream json.RawMessage `json:"stream"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		WriteError(w, http.StatusBadRequest, "We could not parse the JSON body of your request: "+err.Error(),
			TypeInvalidRequest, "", "")
		return
	}
	if snap := h.Settings(); path == "openai/chat/completions" && isImageChat(snap, head.Model) {
		h.passthroughImageChat(w, r, snap, body)
		return
	}
	call := upstream.Call{Path: path, Bearer: true, Body: body, Model: head.Model,
		Stream: string(bytes.TrimSpace(head.Stream)) == "true"}
	resp, err := h.Exec.Do(r.Context(), call)
	if err == nil && resp.Stream != nil {
		relayOpenAIStream(w, r, resp)
		return
	}
	relayAnswer(w, resp, err)
}

// relayAnswer sends a non-streamed answer: successes unchanged, errors as OpenAI error objects.
func relayAnswer(w http.ResponseWriter, resp *upstream.Response, err error) {
	switch {
	case err != nil:
		WriteUpstreamError(w, err)
	case resp.StatusCode >= 400:
		writeCompatError(w, resp)
	default:
		ct := resp.Header.Get("Content-Type")
		if ct == "" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(resp.Body)
	}
}

// writeCompatError relays an error of Google's compatible endpoint. It usually sends Google's
// envelope wrapped in a JSON array, which OpenAI SDKs cannot read, so that is unwrapped (by
// WriteClientError); an error already in OpenAI's shape goes through as is.
func writeCompatError(w http.ResponseWriter, resp *upstream.Response) {
	if isOpenAIError(resp.Body) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(resp.Body)
		return
	}
	WriteClientError(w, resp)
}

func isOpenAIError(body []byte) bool {
	var env struct {
		Error *struct {
			Message *string `json:"message"`
			Type    *string `json:"type"`
		} `json:"error"`
	}
	return json.Unmarshal(body, &env) == nil && env.Error != nil && env.Error.Message != nil && env.Error.Type != nil
}

// relayOpenAIStream copies an SSE stream read by read, flushing each, so every chunk reaches the client
// as soon as Google sends it. A stream that breaks after its first byte cannot be retried (the client
// has part of the answer), so it ends with an error event and [DONE], which OpenAI SDKs report as an
// error instead of taking the cut answer for a complete one.
func relayOpenAIStream(w http.ResponseWriter, r *http.Request, resp *upstream.Response) {
	defer resp.Stream.Close()
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = "text/event-stream"
	}
	hdr := w.Header()
	hdr.Set("Content-Type", ct)
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	var tail []byte // the last bytes sent, to know whether an event was left open
	for {
		n, err := resp.Stream.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil || rc.Flush() != nil {
				return
			}
			tail = lastBytes(tail, buf[:n])
		}
		if err == nil {
			continue
		}
		if err != io.EOF && r.Context().Err() == nil {
			writeStreamFailure(w, rc, err, tail)
		}
		return
	}
}

// lastBytes keeps the final four bytes of what was sent, enough to see an event's end ("\n\n" or
// "\r\n\r\n").
func lastBytes(prev, chunk []byte) []byte {
	if len(chunk) >= 4 {
		return append(prev[:0], chunk[len(chunk)-4:]...)
	}
	joined := append(prev, chunk...)
	return joined[max(0, len(joined)-4):]
}

func eventClosed(tail []byte) bool {
	return bytes.HasSuffix(tail, []byte("\n\n")) || bytes.HasSuffix(tail, []byte("\r\n\r\n"))
}

func writeStreamFailure(w http.ResponseWriter, rc *http.ResponseController, cause error, tail []byte) {
	msg := "The upstream stream broke off: " + cause.Error()
	if errors.Is(cause, io.ErrUnexpectedEOF) {
		msg = "The upstream stream ended unexpectedly."
	}
	code := "upstream_error"
	body, _ := json.Marshal(struct {
		Error ErrorBody `json:"error"`
	}{ErrorBody{Message: msg, Type: TypeUpstream, Code: &code}})
	var b strings.Builder
	if len(tail) > 0 && !eventClosed(tail) {
		// Close the event Google left half-written so the error event is read on its own.
		b.WriteString("\n\n")
	}
	b.WriteString("data: ")
	b.Write(body)
	b.WriteString("\n\ndata: [DONE]\n\n")
	_, _ = io.WriteString(w, b.String())
	_ = rc.Flush()
}
